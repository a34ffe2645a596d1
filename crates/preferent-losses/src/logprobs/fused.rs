//! The fused path: LM head and log-softmax together, one block of rows at a time.

use burn::tensor::{backend::Backend, Bool, Int, Tensor};

use super::base::{block_logprobs, check_shape, checked_labels, finish, SequenceLogProbs};
use crate::error::LossError;

/// Log-probs straight from final hidden states and the LM-head weight, never forming the full
/// `[B, T, V]` logits (Liger-style fused linear + log-softmax).
///
/// ```text
/// for each block Hc of rows (Hc: [rows, H]):
///     Z    = Hc · Wᵀ + b                 ([rows, V], the only logits ever alive)
///     logp = Z[y] − logsumexp_v(Z)       (max-shifted)
/// ```
///
/// Same numbers as computing `logits = hidden · Wᵀ + b` and calling
/// [`sequence_logprobs`](super::sequence_logprobs) (values and gradients with respect to
/// `hidden`, `weight` and `bias`; the tests check all of them). Align hidden states with
/// [`shift_for_next_token`](super::shift_for_next_token) first (it accepts `[B, T, H]` too).
/// As with the chunked path, under autodiff the graph keeps one `[rows, V]` block per chunk for
/// the backward pass.
///
/// # Shapes
/// `hidden: [B, T, H]`, `weight: [V, H]` (PyTorch's `lm_head.weight` layout), `bias: [V]`,
/// `labels: [B, T]`, `mask: [B, T]` → [`SequenceLogProbs`].
///
/// # Errors
/// As [`sequence_logprobs_chunked`](super::sequence_logprobs_chunked), plus
/// [`LossError::ShapeMismatch`] for a weight or bias that does not fit `hidden`.
///
/// # References
/// Liger-Kernel `src/liger_kernel/chunked_loss/fused_linear_preference.py`; TRL issue #7063.
pub fn sequence_logprobs_fused<B: Backend>(
    hidden: Tensor<B, 3>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    labels: Tensor<B, 2, Int>,
    mask: Tensor<B, 2, Bool>,
    chunk_rows: usize,
) -> Result<SequenceLogProbs<B>, LossError> {
    if chunk_rows == 0 {
        return Err(LossError::InvalidParameter {
            name: "chunk_rows",
            value: 0.0,
            requirement: ">= 1",
        });
    }
    let [b, t, h] = hidden.dims();
    let [v, wh] = weight.dims();
    check_shape("weight", &[v, wh], &[v, h])?;
    if let Some(bias) = &bias {
        check_shape("bias", &bias.dims(), &[v])?;
    }
    let labels = checked_labels(labels, &mask, b, t, v)?;
    let n = b * t;
    let flat = hidden.reshape([n, h]);
    let flat_labels = labels.reshape([n, 1]);
    let weight_t = weight.transpose();
    let bias = bias.map(|b| b.reshape([1, v]));
    let mut blocks = Vec::with_capacity(n.div_ceil(chunk_rows));
    let mut start = 0;
    while start < n {
        let end = (start + chunk_rows).min(n);
        let hc = flat.clone().slice([start..end, 0..h]);
        let mut z = hc.matmul(weight_t.clone());
        if let Some(bias) = &bias {
            z = z + bias.clone();
        }
        let y = flat_labels.clone().slice([start..end, 0..1]);
        blocks.push(block_logprobs(z, y));
        start = end;
    }
    let raw = Tensor::cat(blocks, 0).reshape([b, t]);
    Ok(finish(raw, mask))
}
