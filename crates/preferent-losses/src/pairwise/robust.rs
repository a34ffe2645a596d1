//! rDPO: DPO made unbiased under label flips.

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

/// Robust DPO: an unbiased estimate of the clean DPO loss when labels flip with rate ε < ½.
///
/// ```text
/// z = β·(s_w − s_l)
/// ℓ = [ −(1−ε)·log σ(z) + ε·log σ(−z) ] / (1 − 2ε)
/// ```
///
/// With ε = 0 this is DPO. The loss is unbounded below (as βΔ → ∞, ℓ ≈ −εβΔ/(1−2ε)). ε must lie
/// in `[0, 0.5)` (checked by [`DpoConfig::validate`](super::DpoConfig::validate)); TRL's docs
/// suggest 0.1, default 0.
///
/// # Shapes
/// `delta_score: [B]` → `[B]`.
///
/// # References
/// Chowdhury, Kini, Natarajan, "Provably Robust DPO", arXiv 2403.00409, Eq. 8; TRL
/// `dpo_trainer.py` (`robust`).
pub fn robust_loss<B: Backend>(
    delta_score: Tensor<B, 1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<B, 1> {
    let z = delta_score.mul_scalar(beta);
    let eps = label_smoothing;
    (log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps)) + log_sigmoid(z.neg()).mul_scalar(eps))
        .div_scalar(1.0 - 2.0 * eps)
}
