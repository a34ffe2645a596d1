//! Length-normalised DPO ("DPO w/ LN", Tülu 3).

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

/// DPO on length-averaged scores.
///
/// ```text
/// ℓ = −log σ( β·( s_w / max(|y_w|, 1) − s_l / max(|y_l|, 1) ) )
/// ```
///
/// Default (TRL): β = 0.1 (Tülu 3 used β = 5 with this loss).
///
/// # Shapes
/// `chosen_scores, rejected_scores, chosen_lengths, rejected_lengths: [B]` → `[B]`.
///
/// # References
/// Lambert et al., "Tülu 3", arXiv 2411.15124, §5.4; Meng et al., SimPO, arXiv 2405.14734,
/// Table 6 ("DPO w/ LN"); TRL PR #5406 (`sigmoid_norm`).
pub fn sigmoid_norm_loss<B: Backend>(
    chosen_scores: Tensor<B, 1>,
    rejected_scores: Tensor<B, 1>,
    chosen_lengths: Tensor<B, 1>,
    rejected_lengths: Tensor<B, 1>,
    beta: f64,
) -> Tensor<B, 1> {
    let h = chosen_scores / chosen_lengths.clamp_min(1.0)
        - rejected_scores / rejected_lengths.clamp_min(1.0);
    log_sigmoid(h.mul_scalar(beta)).neg()
}
