//! The direct path: full log-softmax over the vocabulary, then gather.

use burn::tensor::{activation::log_softmax, backend::Backend, Bool, Int, Tensor};

use super::base::{checked_labels, finish, SequenceLogProbs};
use crate::error::LossError;

/// Per-token and per-sequence log-probs of `labels` under `logits`, via a full log-softmax.
///
/// ```text
/// logp[b, t] = mask[b, t] · ( logits[b, t, y] − log Σ_v exp(logits[b, t, v]) ),  y = labels[b, t]
/// sum[b]     = Σ_t logp[b, t]          mean[b] = sum[b] / max(Σ_t mask[b, t], 1)
/// ```
///
/// Labels must already be aligned with the logits (see
/// [`shift_for_next_token`](super::shift_for_next_token)). Labels at masked positions are ignored
/// (they may hold `-100`). The log-softmax is max-shifted (stable in f32). This path materialises
/// a `[B, T, V]` tensor; use [`sequence_logprobs_chunked`](super::sequence_logprobs_chunked) or
/// [`sequence_logprobs_fused`](super::sequence_logprobs_fused) when that does not fit.
///
/// # Shapes
/// `logits: [B, T, V]`, `labels: [B, T]`, `mask: [B, T]` (true on completion tokens) →
/// [`SequenceLogProbs`] with `[B, T]` and `[B]` fields.
///
/// # Errors
/// [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], and
/// [`LossError::IndexOutOfRange`] for an unmasked label outside `[0, V)`.
///
/// # References
/// TRL `trl/trainer/utils.py::selective_log_softmax` (bf16 branch: log-softmax then gather).
pub fn sequence_logprobs<B: Backend>(
    logits: Tensor<B, 3>,
    labels: Tensor<B, 2, Int>,
    mask: Tensor<B, 2, Bool>,
) -> Result<SequenceLogProbs<B>, LossError> {
    let [b, t, v] = logits.dims();
    let labels = checked_labels(labels, &mask, b, t, v)?;
    let raw = log_softmax(logits, 2)
        .gather(2, labels.unsqueeze_dim(2))
        .reshape([b, t]);
    Ok(finish(raw, mask))
}
