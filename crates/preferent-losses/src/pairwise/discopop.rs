//! DiscoPOP: the LLM-discovered log-ratio-modulated loss.

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

/// DiscoPOP: a blend of the logistic (DPO) and exponential losses, mixed by `σ(z/τ)`.
///
/// ```text
/// z = β·(s_w − s_l),  m = σ(z/τ)
/// ℓ = −log σ(z)·(1 − m) + e^{−z}·m
/// ```
///
/// Computed as `−log σ(z)·exp(log σ(−z/τ)) + exp(−z + log σ(z/τ))`, which equals TRL's
/// expression wherever TRL's is finite and stays finite where TRL's `e^{−z}·m` gives `∞·0`
/// (z ≲ −88 in f32). Default (TRL `discopop_tau`): τ = 0.05.
///
/// # Shapes
/// `delta_score: [B]` → `[B]`.
///
/// # References
/// Chris Lu et al., "Discovering Preference Optimization Algorithms with and for LLMs",
/// arXiv 2406.08414, Eq. 5; TRL `dpo_trainer.py` (`discopop`).
pub fn discopop_loss<B: Backend>(delta_score: Tensor<B, 1>, beta: f64, tau: f64) -> Tensor<B, 1> {
    let z = delta_score.mul_scalar(beta);
    let zt = z.clone().div_scalar(tau);
    let logistic = log_sigmoid(z.clone()).neg() * log_sigmoid(zt.clone().neg()).exp();
    let exponential = (z.neg() + log_sigmoid(zt)).exp();
    logistic + exponential
}
