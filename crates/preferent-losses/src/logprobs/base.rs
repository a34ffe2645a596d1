//! Shared types and validation of the log-prob paths.

use burn::tensor::{backend::Backend, Bool, ElementConversion, Int, Tensor};

use crate::error::LossError;

/// Default number of flattened `(batch, time)` rows per chunk for the chunked and fused paths.
///
/// At `V = 32000` (f32) one block of 128 rows is 16 MiB, 1/32 of the 500 MiB logits of a
/// `B = 8, T = 512` batch. The path keeps about two blocks alive at once: measured peak extra
/// resident memory (Flex, no autodiff, `benches/logprobs.rs` memory probe) was 0.126× the logits
/// at 256 rows and 0.032× at 64 rows, against 1.0× for the direct path.
pub const DEFAULT_CHUNK_ROWS: usize = 128;

/// Block size in bytes that [`cpu_chunk_rows`] aims for: 512 KiB of f32 logits.
///
/// Small enough that a block, its shifted copy and its `exp` stay in a CPU core's L2 cache
/// between the passes of the chunked path, and that the allocator recycles the blocks instead of
/// mapping and unmapping pages for each.
pub const CPU_CHUNK_BYTES: usize = 512 * 1024;

/// Rows per chunk for the chunked path on a CPU backend: `max(1, CPU_CHUNK_BYTES / (4·V))`.
///
/// At `V = 32000` this is 4 rows (500 KiB per block). Measured on `Flex` (1 thread, release,
/// 8×512×32000, 2-core Xeon with AVX-512, 2026-11-28): 4 rows ≈ 550 ms per call against
/// 975–1110 ms at [`DEFAULT_CHUNK_ROWS`] = 128 (16 MiB blocks, which leave the cache and make
/// glibc's allocator trim and re-fault pages between ops; with glibc's trim and mmap thresholds
/// raised, 128 rows take ≈ 640 ms and 4 rows ≈ 530 ms). Peak extra memory also shrinks with the
/// block. On GPU backends each op is a kernel launch, so use large blocks there
/// ([`DEFAULT_CHUNK_ROWS`] or more; `docs/gpu.md` measured 1024 rows).
///
/// `vocab = 0` gives the same as `vocab = 1`.
pub fn cpu_chunk_rows(vocab: usize) -> usize {
    (CPU_CHUNK_BYTES / (4 * vocab.max(1))).max(1)
}

/// Per-token and per-sequence log-probabilities of the completion tokens.
///
/// # Shapes
/// - `per_token`: `[B, T]`, `log π(label_t | ·)` on completion tokens and exactly `0` elsewhere.
/// - `sum`, `mean`, `token_counts`: `[B]`. `mean = sum / max(token_counts, 1)` (TRL clamps the
///   count at 1 the same way).
#[derive(Debug, Clone)]
pub struct SequenceLogProbs<B: Backend> {
    /// Per-token log-probabilities, zero outside the completion mask.
    pub per_token: Tensor<B, 2>,
    /// Per-sequence sum over completion tokens (TRL's `logps`).
    pub sum: Tensor<B, 1>,
    /// Per-sequence mean over completion tokens (SimPO's / IPO's length-averaged log-prob).
    pub mean: Tensor<B, 1>,
    /// Number of completion tokens per sequence, as floats.
    pub token_counts: Tensor<B, 1>,
}

/// Scores (logits or hidden states), labels and mask aligned for next-token prediction.
#[derive(Debug, Clone)]
pub struct NextTokenAlignment<B: Backend> {
    /// `scores[:, :-1]`: `[B, T-1, D]` (logits with `D = V`, or hidden states with `D = H`).
    pub scores: Tensor<B, 3>,
    /// `input_ids[:, 1:]`: `[B, T-1]`.
    pub labels: Tensor<B, 2, Int>,
    /// `completion_mask[:, 1:]`: `[B, T-1]`.
    pub mask: Tensor<B, 2, Bool>,
}

/// Aligns a causal LM's outputs with the tokens they predict (TRL's shift-by-one convention).
///
/// The score at position `t` predicts token `t + 1`, so the last score and the first token are
/// dropped, and the mask follows the labels:
///
/// ```text
/// scores' = scores[:, :-1]      labels = input_ids[:, 1:]      mask' = completion_mask[:, 1:]
/// ```
///
/// `scores` may be logits `[B, T, V]` (for [`sequence_logprobs`](super::sequence_logprobs) /
/// [`sequence_logprobs_chunked`](super::sequence_logprobs_chunked)) or final hidden states
/// `[B, T, H]` (for [`sequence_logprobs_fused`](super::sequence_logprobs_fused)).
///
/// # Shapes
/// `scores: [B, T, D]`, `input_ids: [B, T]`, `completion_mask: [B, T]` → `[B, T-1, D]`,
/// `[B, T-1]`, `[B, T-1]`.
///
/// # Errors
/// [`LossError::ShapeMismatch`] if the leading dimensions disagree; [`LossError::EmptyBatch`] if
/// `B = 0` or `T < 2` (nothing left to predict).
///
/// # References
/// TRL `trl/trainer/dpo_trainer.py::_compute_loss` (`shift_logits`, `shift_labels`).
pub fn shift_for_next_token<B: Backend>(
    scores: Tensor<B, 3>,
    input_ids: Tensor<B, 2, Int>,
    completion_mask: Tensor<B, 2, Bool>,
) -> Result<NextTokenAlignment<B>, LossError> {
    let [b, t, d] = scores.dims();
    check_shape("input_ids", &input_ids.dims(), &[b, t])?;
    check_shape("completion_mask", &completion_mask.dims(), &[b, t])?;
    if b == 0 || t < 2 || d == 0 {
        return Err(LossError::EmptyBatch { name: "scores" });
    }
    Ok(NextTokenAlignment {
        scores: scores.slice([0..b, 0..t - 1, 0..d]),
        labels: input_ids.slice([0..b, 1..t]),
        mask: completion_mask.slice([0..b, 1..t]),
    })
}

pub(crate) fn check_shape(
    name: &'static str,
    actual: &[usize],
    expected: &[usize],
) -> Result<(), LossError> {
    if actual != expected {
        return Err(LossError::ShapeMismatch {
            name,
            actual: actual.to_vec(),
            expected: expected.to_vec(),
        });
    }
    Ok(())
}

/// Validates labels and mask against `[b, t]` and vocabulary `v`; returns labels with the masked
/// positions set to 0 (so that ignore indices such as `-100` never reach `gather`).
pub(crate) fn checked_labels<B: Backend>(
    labels: Tensor<B, 2, Int>,
    mask: &Tensor<B, 2, Bool>,
    b: usize,
    t: usize,
    v: usize,
) -> Result<Tensor<B, 2, Int>, LossError> {
    check_shape("labels", &labels.dims(), &[b, t])?;
    check_shape("mask", &mask.dims(), &[b, t])?;
    if b == 0 || t == 0 {
        return Err(LossError::EmptyBatch { name: "labels" });
    }
    if v == 0 {
        return Err(LossError::EmptyBatch { name: "vocabulary" });
    }
    let safe = labels.mask_fill(mask.clone().bool_not(), 0);
    let lo: i64 = safe.clone().min().into_scalar().elem();
    let hi: i64 = safe.clone().max().into_scalar().elem();
    if lo < 0 {
        return Err(LossError::IndexOutOfRange {
            name: "labels",
            value: lo,
            bound: v,
        });
    }
    if hi >= v as i64 {
        return Err(LossError::IndexOutOfRange {
            name: "labels",
            value: hi,
            bound: v,
        });
    }
    Ok(safe)
}

/// Masks raw per-token log-probs and reduces them per sequence.
pub(crate) fn finish<B: Backend>(
    raw: Tensor<B, 2>,
    mask: Tensor<B, 2, Bool>,
) -> SequenceLogProbs<B> {
    let [b, _] = raw.dims();
    let per_token = raw.mask_fill(mask.clone().bool_not(), 0.0);
    let token_counts = mask.float().sum_dim(1).reshape([b]);
    let sum = per_token.clone().sum_dim(1).reshape([b]);
    let mean = sum.clone() / token_counts.clone().clamp_min(1.0);
    SequenceLogProbs {
        per_token,
        sum,
        mean,
        token_counts,
    }
}

/// `x[label] − logsumexp(x)` row-wise for one `[rows, V]` block with `[rows, 1]` labels.
///
/// Both terms are taken after the (detached) max shift, so that for logits of magnitude ~1000
/// the f32 subtraction does not lose the small difference between two large numbers.
pub(crate) fn block_logprobs<B: Backend>(
    block: Tensor<B, 2>,
    labels: Tensor<B, 2, Int>,
) -> Tensor<B, 2> {
    let shifted = block.clone() - block.detach().max_dim(1);
    let log_norm = shifted.clone().exp().sum_dim(1).log();
    shifted.gather(1, labels) - log_norm
}
