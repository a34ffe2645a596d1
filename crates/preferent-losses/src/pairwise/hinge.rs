//! SLiC's hinge loss.

use burn::tensor::{activation::relu, backend::Backend, Tensor};

/// SLiC (reference-normalised, as TRL's `hinge`): a hinge on the score margin.
///
/// ```text
/// ℓ = max(0, 1 − β·(s_w − s_l))
/// ```
///
/// SLiC-HF's margin δ corresponds to `1/β`. Default (TRL): β = 0.1.
///
/// # Shapes
/// `delta_score: [B]` → `[B]`.
///
/// # References
/// Zhao et al., SLiC-HF, arXiv 2305.10425, Eq. 1; TRL `dpo_trainer.py` (`hinge`).
pub fn hinge_loss<B: Backend>(delta_score: Tensor<B, 1>, beta: f64) -> Tensor<B, 1> {
    relu(delta_score.mul_scalar(-beta).add_scalar(1.0))
}
