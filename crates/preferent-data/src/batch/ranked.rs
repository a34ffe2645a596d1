//! Ranked collation for Plackett–Luce: `[B, K, T]`, responses best first.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::batch::encode::{EncodedRanked, Encoder};
use crate::batch::pair::CollatorConfig;
use crate::batch::sequences::{int_tensor, HostSequences};
use crate::batch::truncation::{truncate, TruncationStats};
use crate::error::DataError;
use crate::jsonl::ChatTemplate;
use crate::records::RankedRecord;
use crate::tokenizer::Tokenizer;

/// A collated ranked batch on the host (see [`RankedBatch`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HostRankedBatch {
    /// Records kept, `B`.
    pub num_records: usize,
    /// Responses per record after padding, `K` (the most any kept record has).
    pub k: usize,
    /// Input positions of the kept records.
    pub kept: Vec<usize>,
    /// `B·K` rows; row `b·K + j` is `prompt_b ++ response_{b,j}` (best first), all-PAD for
    /// padded responses.
    pub sequences: HostSequences,
    /// `[B·K]`: 1 for real responses, 0 for padding.
    pub response_mask: Vec<i64>,
    /// `[B·K]`: preference value (score, or `−rank`), 0 for padding.
    pub preferences: Vec<f32>,
    /// What truncation cut or dropped.
    pub stats: TruncationStats,
}

/// A ranked batch on a device, responses ordered best first as Plackett–Luce expects.
///
/// ```text
/// input_ids[b, j] = prompt_b ++ response_{b, π_b(j)} ++ PAD…,  π_b = best-first order
/// ```
///
/// # Shapes
/// - `input_ids`, `attention_mask`, `completion_mask`: `[B, K, T]` (Int)
/// - `lengths`, `response_mask`: `[B, K]` (Int); `preferences`: `[B, K]` (Float)
///
/// # References
/// Plackett–Luce for preference optimisation: DPO paper arXiv:2305.18290 App. A.3.
#[derive(Debug, Clone)]
pub struct RankedBatch<B: Backend> {
    /// Token ids.
    pub input_ids: Tensor<B, 3, Int>,
    /// 1 on real tokens.
    pub attention_mask: Tensor<B, 3, Int>,
    /// 1 exactly on completion tokens.
    pub completion_mask: Tensor<B, 3, Int>,
    /// Real tokens per row.
    pub lengths: Tensor<B, 2, Int>,
    /// 1 for real responses.
    pub response_mask: Tensor<B, 2, Int>,
    /// Preference values.
    pub preferences: Tensor<B, 2>,
    /// Input positions of the kept records.
    pub kept: Vec<usize>,
    /// What truncation cut or dropped.
    pub stats: TruncationStats,
}

impl HostRankedBatch {
    /// Moves the batch onto `device`.
    pub fn to_device<B: Backend>(&self, device: &B::Device) -> RankedBatch<B> {
        let s = &self.sequences;
        let (b, k) = (self.num_records, self.k);
        let shape = [b, k, s.width];
        RankedBatch {
            input_ids: int_tensor(&s.input_ids, shape, device),
            attention_mask: int_tensor(&s.attention_mask, shape, device),
            completion_mask: int_tensor(&s.completion_mask, shape, device),
            lengths: int_tensor(&s.lengths, [b, k], device),
            response_mask: int_tensor(&self.response_mask, [b, k], device),
            preferences: Tensor::from_data(
                TensorData::new(self.preferences.clone(), [b, k]),
                device,
            ),
            kept: self.kept.clone(),
            stats: self.stats,
        }
    }
}

/// Collates tokenised ranked records; a record any of whose responses keeps no completion
/// token is dropped and counted.
///
/// # Errors
/// [`DataError::Shape`] for an item with a preference count other than its response count,
/// [`DataError::NonFinite`] for a NaN or ±∞ preference, [`DataError::EmptyBatch`] when nothing
/// is left.
pub fn collate_ranked(
    items: &[EncodedRanked],
    config: &CollatorConfig,
    pad_id: u32,
) -> Result<HostRankedBatch, DataError> {
    let mut stats = TruncationStats::default();
    let mut kept = Vec::new();
    let mut per_record: Vec<Vec<(&[u32], &[u32])>> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if it.preferences.len() != it.responses.len() {
            return Err(DataError::Shape {
                what: format!("preferences of ranked item {i}"),
                expected: it.responses.len(),
                got: it.preferences.len(),
            });
        }
        if let Some(j) = it.preferences.iter().position(|p| !p.is_finite()) {
            return Err(DataError::NonFinite {
                file: "<batch>".into(),
                tensor: format!("preferences of ranked item {i}"),
                index: j,
                value: it.preferences[j] as f32,
            });
        }
        let ks: Vec<_> = it
            .responses
            .iter()
            .map(|r| truncate(it.prompt.len(), r.len(), &config.truncation))
            .collect();
        if ks.is_empty() || ks.iter().any(|k| k.completion.is_empty()) {
            stats.dropped_records += 1;
            continue;
        }
        for k in &ks {
            if k.cut > 0 {
                stats.truncated_sequences += 1;
                stats.truncated_tokens += k.cut;
            }
        }
        kept.push(i);
        per_record.push(
            ks.into_iter()
                .zip(&it.responses)
                .map(|(k, r)| (&it.prompt[k.prompt], &r[k.completion]))
                .collect(),
        );
    }
    if kept.is_empty() {
        return Err(DataError::EmptyBatch {
            items: items.len(),
            dropped: stats.dropped_records,
        });
    }
    let k = per_record.iter().map(Vec::len).max().unwrap_or(0);
    let empty: &[u32] = &[];
    let mut rows = Vec::with_capacity(kept.len() * k);
    let mut response_mask = Vec::with_capacity(kept.len() * k);
    let mut preferences = Vec::with_capacity(kept.len() * k);
    for (rec, &i) in per_record.iter().zip(&kept) {
        for j in 0..k {
            match rec.get(j) {
                Some(&row) => {
                    rows.push(row);
                    response_mask.push(1);
                    preferences.push(items[i].preferences[j] as f32);
                }
                None => {
                    rows.push((empty, empty));
                    response_mask.push(0);
                    preferences.push(0.0);
                }
            }
        }
    }
    Ok(HostRankedBatch {
        num_records: kept.len(),
        k,
        kept,
        sequences: HostSequences::build(&rows, pad_id, config.pad_to_multiple_of),
        response_mask,
        preferences,
        stats,
    })
}

/// Tokenises and collates [`RankedRecord`]s; implements burn's [`Batcher`].
#[derive(Debug, Clone)]
pub struct RankedCollator<T, C> {
    /// Tokenizer and template.
    pub encoder: Encoder<T, C>,
    /// Truncation and padding.
    pub config: CollatorConfig,
}

impl<T: Tokenizer, C: ChatTemplate> RankedCollator<T, C> {
    /// A collator.
    pub fn new(encoder: Encoder<T, C>, config: CollatorConfig) -> Self {
        Self { encoder, config }
    }

    /// Tokenises and collates on the host.
    pub fn collate_records(&self, items: &[RankedRecord]) -> Result<HostRankedBatch, DataError> {
        let enc: Vec<_> = items
            .iter()
            .map(|r| self.encoder.ranked(r))
            .collect::<Result<_, _>>()?;
        collate_ranked(&enc, &self.config, self.encoder.tokenizer.pad_id())
    }
}

impl<B, T, C> Batcher<B, RankedRecord, Result<RankedBatch<B>, DataError>> for RankedCollator<T, C>
where
    B: Backend,
    T: Tokenizer,
    C: ChatTemplate,
{
    fn batch(
        &self,
        items: Vec<RankedRecord>,
        device: &B::Device,
    ) -> Result<RankedBatch<B>, DataError> {
        Ok(self.collate_records(&items)?.to_device(device))
    }
}
