//! SPPO with hard preference probabilities.

use burn::tensor::{backend::Backend, Tensor};

/// SPPO (hard): squared regression of each score onto `±1/(2β)`.
///
/// ```text
/// ℓ = (s_w − 1/(2β))² + (s_l + 1/(2β))²
/// ```
///
/// The paper's soft form uses PairRM win probabilities P; this is the hard version with P = 1
/// for the winner and 0 for the loser, as in TRL. Default (TRL): β = 0.1.
///
/// # Shapes
/// `chosen_scores, rejected_scores: [B]` → `[B]`.
///
/// # References
/// Wu et al., "Self-Play Preference Optimization", arXiv 2405.00675, Eq. 4.7; TRL
/// `dpo_trainer.py` (`sppo_hard`).
pub fn sppo_hard_loss<B: Backend>(
    chosen_scores: Tensor<B, 1>,
    rejected_scores: Tensor<B, 1>,
    beta: f64,
) -> Tensor<B, 1> {
    let half = 0.5 / beta;
    chosen_scores.sub_scalar(half).powi_scalar(2) + rejected_scores.add_scalar(half).powi_scalar(2)
}
