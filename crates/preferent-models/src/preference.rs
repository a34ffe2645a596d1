//! The preference glue: from a collated [`PairBatch`] to the inputs of every pairwise loss in
//! one call — TRL's `concatenated_forward`.
//!
//! ```text
//! logits      = model(input_ids)                       [2B, T, V]   (chosen rows first)
//! (s, y, m)   = shift_for_next_token(logits, ids, completion_mask)
//! logps       = sequence_logprobs{,_chunked}(s, y, m)  sum / mean / token counts, [2B]
//! chosen      = rows 0..B,  rejected = rows B..2B
//! ```
//! [`PairLogProbs`] then builds each loss family's typed batch: [`PairwiseBatch`] (with token
//! counts as lengths; reference from a frozen model or from preferent-data's
//! [`RefLogpCache`]), [`SimpoBatch`], [`OrpoBatch`].
//!
//! # References
//! TRL `trl/trainer/dpo_trainer.py::concatenated_forward` (chosen first, then rejected) and
//! `DataCollatorForPreference`.

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor};
use preferent_data::{PairBatch, RefLogpCache};
use preferent_losses::logprobs::{
    sequence_logprobs, sequence_logprobs_chunked, shift_for_next_token, SequenceLogProbs,
};
use preferent_losses::orpo::OrpoBatch;
use preferent_losses::pairwise::PairwiseBatch;
use preferent_losses::simpo::SimpoBatch;

use crate::{ByteLm, Result};

/// A causal language model: next-token logits for a batch of token ids.
pub trait CausalLm<B: Backend> {
    /// Logits `[N, T, V]` for token ids `[N, T]`.
    ///
    /// # Errors
    /// The model's typed errors on ids or shapes it cannot take.
    fn logits(&self, tokens: Tensor<B, 2, Int>) -> Result<Tensor<B, 3>>;
}

impl<B: Backend> CausalLm<B> for ByteLm<B> {
    fn logits(&self, tokens: Tensor<B, 2, Int>) -> Result<Tensor<B, 3>> {
        self.try_forward(tokens)
    }
}

/// How sequence log-probs are computed from the logits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogProbPath {
    /// Full log-softmax then gather ([`sequence_logprobs`]).
    Direct,
    /// Row blocks of `rows` (bounded temporaries; [`sequence_logprobs_chunked`]; on CPU
    /// `preferent_losses::logprobs::cpu_chunk_rows(V)` is a good block).
    Chunked {
        /// Rows (of `T − 1` positions) per block.
        rows: usize,
    },
}

/// Per-sequence log-probs of a pair batch, split into chosen and rejected.
///
/// # Shapes
/// Every field `[B]`.
#[derive(Debug, Clone)]
pub struct PairLogProbs<B: Backend> {
    /// Summed completion log-probs of the chosen rows.
    pub chosen: Tensor<B, 1>,
    /// Summed completion log-probs of the rejected rows.
    pub rejected: Tensor<B, 1>,
    /// Length-averaged log-probs of the chosen rows (SimPO, ORPO).
    pub chosen_mean: Tensor<B, 1>,
    /// Length-averaged log-probs of the rejected rows.
    pub rejected_mean: Tensor<B, 1>,
    /// Completion tokens per chosen row, as floats.
    pub chosen_tokens: Tensor<B, 1>,
    /// Completion tokens per rejected row, as floats.
    pub rejected_tokens: Tensor<B, 1>,
}

/// TRL's concatenated forward: one model call over the `2B` rows of `batch`, log-probs with the
/// batch's own completion mask, split back into chosen and rejected.
///
/// # Shapes
/// `batch.input_ids: [2B, T]` → [`PairLogProbs`] with `[B]` fields.
///
/// # Errors
/// The model's errors (e.g. [`Error::TokenOutOfRange`](crate::Error::TokenOutOfRange) for a
/// model not built for the tokenizer's vocabulary); [`Error::Loss`](crate::Error::Loss) for an
/// empty batch, `T < 2` or mismatched masks.
pub fn pair_logprobs<B: Backend, M: CausalLm<B>>(
    model: &M,
    batch: &PairBatch<B>,
    path: LogProbPath,
) -> Result<PairLogProbs<B>> {
    let logits = model.logits(batch.input_ids.clone())?;
    let mask = batch.completion_mask.clone().equal_elem(1);
    let a = shift_for_next_token(logits, batch.input_ids.clone(), mask)?;
    let lp = match path {
        LogProbPath::Direct => sequence_logprobs(a.scores, a.labels, a.mask)?,
        LogProbPath::Chunked { rows } => {
            sequence_logprobs_chunked(a.scores, a.labels, a.mask, rows)?
        }
    };
    Ok(split(lp, batch.num_pairs))
}

fn split<B: Backend>(lp: SequenceLogProbs<B>, pairs: usize) -> PairLogProbs<B> {
    let (c, r) = (0..pairs, pairs..2 * pairs);
    PairLogProbs {
        chosen: lp.sum.clone().slice([c.clone()]),
        rejected: lp.sum.slice([r.clone()]),
        chosen_mean: lp.mean.clone().slice([c.clone()]),
        rejected_mean: lp.mean.slice([r.clone()]),
        chosen_tokens: lp.token_counts.clone().slice([c]),
        rejected_tokens: lp.token_counts.slice([r]),
    }
}

impl<B: AutodiffBackend> PairLogProbs<B> {
    /// Moves log-probs computed on the inner backend (a frozen reference evaluated without a
    /// graph, e.g. [`frozen_reference`](crate::train::frozen_reference)) next to the policy's, on
    /// the autodiff backend; they carry no gradient.
    pub fn from_inner(inner: PairLogProbs<B::InnerBackend>) -> Self {
        Self {
            chosen: Tensor::from_inner(inner.chosen),
            rejected: Tensor::from_inner(inner.rejected),
            chosen_mean: Tensor::from_inner(inner.chosen_mean),
            rejected_mean: Tensor::from_inner(inner.rejected_mean),
            chosen_tokens: Tensor::from_inner(inner.chosen_tokens),
            rejected_tokens: Tensor::from_inner(inner.rejected_tokens),
        }
    }
}

impl<B: Backend> PairLogProbs<B> {
    /// Detached copy (for a reference computed with the policy's own graph-building backend).
    pub fn detach(self) -> Self {
        Self {
            chosen: self.chosen.detach(),
            rejected: self.rejected.detach(),
            chosen_mean: self.chosen_mean.detach(),
            rejected_mean: self.rejected_mean.detach(),
            chosen_tokens: self.chosen_tokens.detach(),
            rejected_tokens: self.rejected_tokens.detach(),
        }
    }

    /// The DPO family's batch: these (policy) log-probs against `reference` (a frozen model's
    /// [`PairLogProbs`], detached here), with completion token counts as lengths (IPO,
    /// `sigmoid_norm`, `sft`, RPO need them).
    pub fn pairwise(&self, reference: &PairLogProbs<B>) -> PairwiseBatch<B> {
        PairwiseBatch::new(
            self.chosen.clone(),
            self.rejected.clone(),
            reference.chosen.clone().detach(),
            reference.rejected.clone().detach(),
        )
        .with_lengths(self.chosen_tokens.clone(), self.rejected_tokens.clone())
    }

    /// The DPO family's batch against cached reference log-probs: `cache.gather(batch.kept)`
    /// (the dataset positions of the batch's pairs, fingerprint-checked when the cache was
    /// loaded).
    ///
    /// # Errors
    /// [`Error::Data`](crate::Error::Data) for an index outside the cache or a non-finite
    /// cached value.
    pub fn pairwise_cached(
        &self,
        cache: &RefLogpCache,
        dataset_indices: &[usize],
    ) -> Result<PairwiseBatch<B>> {
        let (rc, rr) = cache.gather::<B>(dataset_indices, &self.chosen.device())?;
        Ok(
            PairwiseBatch::new(self.chosen.clone(), self.rejected.clone(), rc, rr)
                .with_lengths(self.chosen_tokens.clone(), self.rejected_tokens.clone()),
        )
    }

    /// Reference-free DPO-family batch (`log π_ref = 0`), with lengths.
    pub fn pairwise_reference_free(&self) -> PairwiseBatch<B> {
        PairwiseBatch::reference_free(self.chosen.clone(), self.rejected.clone())
            .with_lengths(self.chosen_tokens.clone(), self.rejected_tokens.clone())
    }

    /// SimPO's batch (length-averaged log-probs).
    pub fn simpo(&self) -> SimpoBatch<B> {
        SimpoBatch {
            chosen_avg_logps: self.chosen_mean.clone(),
            rejected_avg_logps: self.rejected_mean.clone(),
        }
    }

    /// ORPO's batch (length-averaged log-probs; the NLL term as `−mean ā_w`).
    pub fn orpo(&self) -> OrpoBatch<B> {
        OrpoBatch {
            chosen_avg_logps: self.chosen_mean.clone(),
            rejected_avg_logps: self.rejected_mean.clone(),
            nll_chosen: None,
        }
    }
}
