//! Pair collation: `[prompt+chosen ; prompt+rejected]`, right-padded, with completion masks.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{backend::Backend, Int, Tensor};

use crate::batch::encode::{EncodedPair, Encoder};
use crate::batch::sequences::{int_tensor, HostSequences};
use crate::batch::truncation::{truncate, TruncationConfig, TruncationStats};
use crate::error::DataError;
use crate::jsonl::ChatTemplate;
use crate::records::PairRecord;
use crate::tokenizer::Tokenizer;

/// Collator settings shared by pair, unpaired and ranked collators.
#[derive(burn::config::Config, Debug)]
pub struct CollatorConfig {
    /// Truncation (TRL HEAD defaults: max_length 1024, keep start, no prompt limit).
    #[config(default = "TruncationConfig::new()")]
    pub truncation: TruncationConfig,
    /// Round the padded length up to a multiple of this (none by default).
    pub pad_to_multiple_of: Option<usize>,
}

/// A collated pair batch on the host (see [`PairBatch`] for the layout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPairBatch {
    /// Pairs kept, `B`.
    pub num_pairs: usize,
    /// Input positions of the kept pairs (dropped ones are missing).
    pub kept: Vec<usize>,
    /// `2B` rows: rows `0..B` are prompt+chosen, rows `B..2B` prompt+rejected.
    pub sequences: HostSequences,
    /// What truncation cut or dropped.
    pub stats: TruncationStats,
}

/// A pair batch on a device, laid out as preferent-losses (and TRL) consume it.
///
/// ```text
/// row i      = prompt_i ++ chosen_i   ++ PAD…     (i < B)
/// row B + i  = prompt_i ++ rejected_i ++ PAD…
/// completion_mask[r, t] = 1  ⇔  t is a completion token of row r
/// ```
///
/// # Shapes
/// - `input_ids`, `attention_mask`, `completion_mask`: `[2B, T]` (Int)
/// - `lengths`, `prompt_lengths`: `[2B]` (Int)
///
/// # References
/// TRL `DataCollatorForPreference` and `DPOTrainer.concatenated_forward` (chosen first).
#[derive(Debug, Clone)]
pub struct PairBatch<B: Backend> {
    /// Token ids, right-padded with the tokenizer's PAD id.
    pub input_ids: Tensor<B, 2, Int>,
    /// 1 on real tokens.
    pub attention_mask: Tensor<B, 2, Int>,
    /// 1 exactly on completion tokens.
    pub completion_mask: Tensor<B, 2, Int>,
    /// Real tokens per row.
    pub lengths: Tensor<B, 1, Int>,
    /// Prompt tokens per row.
    pub prompt_lengths: Tensor<B, 1, Int>,
    /// `B`.
    pub num_pairs: usize,
    /// Input positions of the kept pairs.
    pub kept: Vec<usize>,
    /// What truncation cut or dropped.
    pub stats: TruncationStats,
}

impl HostPairBatch {
    /// Moves the batch onto `device`.
    pub fn to_device<B: Backend>(&self, device: &B::Device) -> PairBatch<B> {
        let s = &self.sequences;
        let shape = [s.rows, s.width];
        PairBatch {
            input_ids: int_tensor(&s.input_ids, shape, device),
            attention_mask: int_tensor(&s.attention_mask, shape, device),
            completion_mask: int_tensor(&s.completion_mask, shape, device),
            lengths: int_tensor(&s.lengths, [s.rows], device),
            prompt_lengths: int_tensor(&s.prompt_lengths, [s.rows], device),
            num_pairs: self.num_pairs,
            kept: self.kept.clone(),
            stats: self.stats,
        }
    }
}

/// Collates tokenised pairs on the host.
///
/// Each of `prompt ++ chosen` and `prompt ++ rejected` is truncated on its own
/// ([`truncate`]); a pair whose chosen or rejected completion keeps no token is dropped and
/// counted (TRL drops such examples). Errors with [`DataError::EmptyBatch`] if nothing is left.
pub fn collate_pairs(
    items: &[EncodedPair],
    config: &CollatorConfig,
    pad_id: u32,
) -> Result<HostPairBatch, DataError> {
    let mut stats = TruncationStats::default();
    let mut kept = Vec::with_capacity(items.len());
    let mut chosen_rows = Vec::with_capacity(items.len());
    let mut rejected_rows = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let kc = truncate(it.prompt.len(), it.chosen.len(), &config.truncation);
        let kr = truncate(it.prompt.len(), it.rejected.len(), &config.truncation);
        if kc.completion.is_empty() || kr.completion.is_empty() {
            stats.dropped_records += 1;
            continue;
        }
        for k in [&kc, &kr] {
            if k.cut > 0 {
                stats.truncated_sequences += 1;
                stats.truncated_tokens += k.cut;
            }
        }
        kept.push(i);
        chosen_rows.push((&it.prompt[kc.prompt], &it.chosen[kc.completion]));
        rejected_rows.push((&it.prompt[kr.prompt], &it.rejected[kr.completion]));
    }
    if kept.is_empty() {
        return Err(DataError::EmptyBatch {
            items: items.len(),
            dropped: stats.dropped_records,
        });
    }
    chosen_rows.extend(rejected_rows);
    Ok(HostPairBatch {
        num_pairs: kept.len(),
        kept,
        sequences: HostSequences::build(&chosen_rows, pad_id, config.pad_to_multiple_of),
        stats,
    })
}

/// Tokenises and collates [`PairRecord`]s into [`PairBatch`]es; implements burn's
/// [`Batcher`] for records and for pre-tokenised [`EncodedPair`]s.
#[derive(Debug, Clone)]
pub struct PairCollator<T, C> {
    /// Tokenizer and template.
    pub encoder: Encoder<T, C>,
    /// Truncation and padding.
    pub config: CollatorConfig,
}

impl<T: Tokenizer, C: ChatTemplate> PairCollator<T, C> {
    /// A collator.
    pub fn new(encoder: Encoder<T, C>, config: CollatorConfig) -> Self {
        Self { encoder, config }
    }

    /// Tokenises and collates records on the host.
    pub fn collate_records(&self, items: &[PairRecord]) -> Result<HostPairBatch, DataError> {
        let enc: Vec<EncodedPair> = items
            .iter()
            .map(|r| self.encoder.pair(r))
            .collect::<Result<_, _>>()?;
        self.collate_encoded(&enc)
    }

    /// Collates pre-tokenised pairs on the host.
    pub fn collate_encoded(&self, items: &[EncodedPair]) -> Result<HostPairBatch, DataError> {
        collate_pairs(items, &self.config, self.encoder.tokenizer.pad_id())
    }
}

impl<B, T, C> Batcher<B, PairRecord, Result<PairBatch<B>, DataError>> for PairCollator<T, C>
where
    B: Backend,
    T: Tokenizer,
    C: ChatTemplate,
{
    fn batch(&self, items: Vec<PairRecord>, device: &B::Device) -> Result<PairBatch<B>, DataError> {
        Ok(self.collate_records(&items)?.to_device(device))
    }
}

impl<B, T, C> Batcher<B, EncodedPair, Result<PairBatch<B>, DataError>> for PairCollator<T, C>
where
    B: Backend,
    T: Tokenizer,
    C: ChatTemplate,
{
    fn batch(
        &self,
        items: Vec<EncodedPair>,
        device: &B::Device,
    ) -> Result<PairBatch<B>, DataError> {
        Ok(self.collate_encoded(&items)?.to_device(device))
    }
}
