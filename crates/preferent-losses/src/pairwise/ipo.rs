//! IPO, length-normalised as TRL computes it.

use burn::tensor::{backend::Backend, Tensor};

/// IPO: squared regression of the length-averaged score margin onto `1/(2β)`.
///
/// ```text
/// h = s_w / max(|y_w|, 1) − s_l / max(|y_l|, 1)
/// ℓ = (h − 1/(2β))²
/// ```
///
/// β plays the role of the paper's τ. The paper's Eq. 17 uses summed log-ratios; TRL divides by
/// the completion length (confirmed with the IPO authors, per TRL's comment). **Version trap:**
/// TRL HEAD divides the *score* `s(r)` by the length, while legacy TRL (≤ v0.23) divided the
/// log-probs themselves before the loss and also logged length-averaged rewards. For reverse
/// KL the loss values agree; preferent follows HEAD (and logs summed rewards, as HEAD does).
///
/// # Shapes
/// `chosen_scores, rejected_scores, chosen_lengths, rejected_lengths: [B]` → `[B]`.
///
/// # References
/// Azar et al., "A General Theoretical Paradigm…" (IPO), arXiv 2310.12036, Eq. 17; TRL
/// `dpo_trainer.py` (`ipo`, HEAD `f2cd577`).
pub fn ipo_loss<B: Backend>(
    chosen_scores: Tensor<B, 1>,
    rejected_scores: Tensor<B, 1>,
    chosen_lengths: Tensor<B, 1>,
    rejected_lengths: Tensor<B, 1>,
    beta: f64,
) -> Tensor<B, 1> {
    let h = chosen_scores / chosen_lengths.clamp_min(1.0)
        - rejected_scores / rejected_lengths.clamp_min(1.0);
    h.sub_scalar(1.0 / (2.0 * beta)).powi_scalar(2)
}
