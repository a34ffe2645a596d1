//! WPO: weighting off-policy preference pairs by their probability under the current policy.

use burn::tensor::{backend::Backend, Bool, Int, Tensor};

use crate::error::LossError;
use crate::logprobs::DEFAULT_CHUNK_ROWS;
use crate::numerics::logsumexp;

/// WPO's per-sequence log-weight, detached: the mean over completion tokens of the token
/// log-prob normalised by the policy's own "sampling" probability mass.
///
/// ```text
/// a = (1/max(|y|,1)) · Σ_t mask_t · ( log p_t(y_t) − log Σ_v p_t(v)² )
/// log Σ_v p_t(v)² = logsumexp(2·z_t) − 2·logsumexp(z_t)
/// weight(pair) = exp(a_w + a_l)      (applied to every loss type by the DPO loss)
/// ```
///
/// Computed block by block over `(batch, time)` rows (no `[B, T, V]` temporary). TRL HEAD applies
/// no clamp; legacy TRL clamped the pair weight at 1. The result is detached, as in TRL.
///
/// # Shapes
/// `logits: [B, T, V]` (already aligned, see
/// [`shift_for_next_token`](crate::logprobs::shift_for_next_token)), `labels, mask: [B, T]` →
/// `[B]`.
///
/// # Errors
/// As [`sequence_logprobs`](crate::logprobs::sequence_logprobs).
///
/// # References
/// Zhou et al., "WPO: Enhancing RLHF with Weighted Preference Optimization", arXiv 2406.11827,
/// Eq. 2; TRL `dpo_trainer.py` (`use_weighting`, HEAD `f2cd577`).
pub fn wpo_log_weights<B: Backend>(
    logits: Tensor<B, 3>,
    labels: Tensor<B, 2, Int>,
    mask: Tensor<B, 2, Bool>,
) -> Result<Tensor<B, 1>, LossError> {
    let [b, t, v] = logits.dims();
    let labels = crate::logprobs::checked_labels(labels, &mask, b, t, v)?;
    let n = b * t;
    let flat = logits.detach().reshape([n, v]);
    let flat_labels = labels.reshape([n, 1]);
    let mut blocks = Vec::new();
    let mut start = 0;
    while start < n {
        let end = (start + DEFAULT_CHUNK_ROWS).min(n);
        let x = flat.clone().slice([start..end, 0..v]);
        // shift by the row max first: every term below is then O(log V), not O(|logit|)
        let x = x.clone() - x.max_dim(1);
        let y = flat_labels.clone().slice([start..end, 0..1]);
        // log p(y) − (lse(2x) − 2 lse(x)) = x_y + lse(x) − lse(2x)
        let lse1 = logsumexp(x.clone(), 1);
        let lse2 = logsumexp(x.clone().mul_scalar(2.0), 1);
        blocks.push(x.gather(1, y) + lse1 - lse2);
        start = end;
    }
    let per_token = Tensor::cat(blocks, 0)
        .reshape([b, t])
        .mask_fill(mask.clone().bool_not(), 0.0);
    let counts = mask.float().sum_dim(1).reshape([b]).clamp_min(1.0);
    Ok((per_token.sum_dim(1).reshape([b]) / counts).detach())
}
