//! Sequence log-probabilities: the machinery under every preference loss.
//!
//! Three paths give the same numbers (values and gradients), differing only in memory:
//!
//! | path | input | materialises |
//! |---|---|---|
//! | [`sequence_logprobs`] | logits `[B, T, V]` | a full `[B, T, V]` log-softmax |
//! | [`sequence_logprobs_chunked`] | logits `[B, T, V]` | one `[rows, V]` block at a time |
//! | [`sequence_logprobs_fused`] | hidden `[B, T, H]` + LM head `[V, H]` | one `[rows, V]` logits block at a time; never the full logits |
//! | [`sequence_logprobs_fused_autodiff`] | as fused, on `Autodiff<B>` | as fused, **and** the backward pass recomputes each block instead of keeping it |
//!
//! Under autodiff, the plain chunked and fused paths keep each block's activations for the
//! backward pass (about one logits' worth in total); [`sequence_logprobs_fused_autodiff`] keeps
//! only one logsumexp per row, which is what makes training with large vocabularies fit.
//!
//! All three expect labels that are **already aligned** with the scores (the score at position
//! `t` predicts `labels[t]`). Causal LMs predict the *next* token; [`shift_for_next_token`] turns
//! raw `(logits, input_ids, completion_mask)` into aligned triples the way TRL does
//! (`logits[:, :-1]`, `input_ids[:, 1:]`, `completion_mask[:, 1:]`).

mod base;
mod chunked;
mod direct;
mod fused;
mod fused_autodiff;

pub(crate) use base::{check_shape, checked_labels};
pub use base::{
    cpu_chunk_rows, shift_for_next_token, NextTokenAlignment, SequenceLogProbs, CPU_CHUNK_BYTES,
    DEFAULT_CHUNK_ROWS,
};
pub use chunked::sequence_logprobs_chunked;
pub use direct::sequence_logprobs;
pub use fused::sequence_logprobs_fused;
pub use fused_autodiff::sequence_logprobs_fused_autodiff;

#[cfg(test)]
mod tests;
