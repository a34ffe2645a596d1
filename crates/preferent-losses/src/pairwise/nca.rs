//! NCA: noise-contrastive alignment for pairs.

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

/// NCA (pairwise): absolute (not relative) likelihood targets on each response's reward.
///
/// ```text
/// ρ_w = β·s_w,  ρ_l = β·s_l
/// ℓ = −log σ(ρ_w) − ½·log σ(−ρ_w) − ½·log σ(−ρ_l)
/// ```
///
/// Default (TRL): β = 0.1.
///
/// # Shapes
/// `chosen_scores, rejected_scores: [B]` → `[B]`.
///
/// # References
/// Chen et al., "Noise Contrastive Alignment of LMs with Explicit Rewards", arXiv 2402.05369;
/// TRL `dpo_trainer.py` (`nca_pair`).
pub fn nca_pair_loss<B: Backend>(
    chosen_scores: Tensor<B, 1>,
    rejected_scores: Tensor<B, 1>,
    beta: f64,
) -> Tensor<B, 1> {
    let rw = chosen_scores.mul_scalar(beta);
    let rl = rejected_scores.mul_scalar(beta);
    log_sigmoid(rw.clone()).neg()
        - log_sigmoid(rw.neg()).mul_scalar(0.5)
        - log_sigmoid(rl.neg()).mul_scalar(0.5)
}
