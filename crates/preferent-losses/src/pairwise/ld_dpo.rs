//! LD-DPO: length desensitisation of the sequence log-probs.

use burn::tensor::{backend::Backend, Bool, Tensor};

use super::base::invalid;
use crate::error::LossError;
use crate::logprobs::check_shape;

/// LD-DPO's sequence log-probs: the first `ℓ_p = min(|y_w|, |y_l|)` completion tokens count fully,
/// the "verbose" tail beyond them is down-weighted by α.
///
/// ```text
/// pos_t = Σ_{t' ≤ t} mask_{t'}          (1-based position among completion tokens)
/// lp    = Σ_{pos_t ≤ ℓ_p} logp_t + α·Σ_{pos_t > ℓ_p} logp_t
/// ```
///
/// Apply it to the policy **and** the reference per-token log-probs, then feed the results to
/// the DPO loss (TRL HEAD; legacy TRL applied it to the policy only). α = 1 recovers the plain
/// sums; TRL's `ld_alpha` has no default (off), the paper's range is `[0, 1]`.
///
/// # Shapes
/// `chosen_per_token: [B, Tw]`, `chosen_mask: [B, Tw]`, `rejected_per_token: [B, Tl]`,
/// `rejected_mask: [B, Tl]` → `([B], [B])` (chosen, rejected).
///
/// # Errors
/// [`LossError::ShapeMismatch`] for disagreeing shapes, [`LossError::EmptyBatch`] for `B = 0`,
/// [`LossError::InvalidParameter`] for α outside `[0, 1]`.
///
/// # References
/// Liu et al., "Length Desensitization in Directed Preference Optimization", arXiv 2409.06411,
/// Eq. 9; TRL `dpo_trainer.py::_compute_loss` (`ld_alpha`, HEAD `f2cd577`).
pub fn ld_dpo_logps<B: Backend>(
    chosen_per_token: Tensor<B, 2>,
    chosen_mask: Tensor<B, 2, Bool>,
    rejected_per_token: Tensor<B, 2>,
    rejected_mask: Tensor<B, 2, Bool>,
    alpha: f64,
) -> Result<(Tensor<B, 1>, Tensor<B, 1>), LossError> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(invalid("ld_alpha", alpha, "in [0, 1]"));
    }
    let [b, tw] = chosen_per_token.dims();
    let [bl, tl] = rejected_per_token.dims();
    check_shape("chosen_mask", &chosen_mask.dims(), &[b, tw])?;
    check_shape("rejected_per_token", &[bl], &[b])?;
    check_shape("rejected_mask", &rejected_mask.dims(), &[b, tl])?;
    if b == 0 {
        return Err(LossError::EmptyBatch {
            name: "chosen_per_token",
        });
    }
    let len_w = chosen_mask.clone().float().sum_dim(1);
    let len_l = rejected_mask.clone().float().sum_dim(1);
    let shared = len_w.clone().min_pair(len_l); // [B, 1]
    let split = |per_token: Tensor<B, 2>, mask: Tensor<B, 2, Bool>, t: usize| {
        let pos = mask.clone().float().cumsum(1);
        let limit = shared.clone().expand([b, t]);
        let head = pos
            .clone()
            .lower_equal(limit.clone())
            .bool_and(mask.clone());
        let tail = pos.greater(limit).bool_and(mask);
        let head_sum = (per_token.clone() * head.float()).sum_dim(1).reshape([b]);
        let tail_sum = (per_token * tail.float()).sum_dim(1).reshape([b]);
        head_sum + tail_sum.mul_scalar(alpha)
    };
    Ok((
        split(chosen_per_token, chosen_mask, tw),
        split(rejected_per_token, rejected_mask, tl),
    ))
}
