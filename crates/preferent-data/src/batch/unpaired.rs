//! Unpaired (KTO) collation: one row per record, labels, optional mismatched KL rows.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{backend::Backend, Bool, Int, Tensor, TensorData};

use crate::batch::encode::{EncodedUnpaired, Encoder};
use crate::batch::pair::CollatorConfig;
use crate::batch::sequences::{int_tensor, HostSequences};
use crate::batch::truncation::{truncate, TruncationStats};
use crate::error::DataError;
use crate::jsonl::ChatTemplate;
use crate::records::UnpairedRecord;
use crate::tokenizer::Tokenizer;

/// A collated unpaired batch on the host (see [`UnpairedBatch`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUnpairedBatch {
    /// Records kept, `B`.
    pub num_records: usize,
    /// Input positions of the kept records.
    pub kept: Vec<usize>,
    /// `B` rows `prompt_i ++ completion_i`.
    pub sequences: HostSequences,
    /// `B` labels (true = desirable).
    pub labels: Vec<bool>,
    /// KL rows `prompt_i ++ completion_{(i−1) mod B}` when requested.
    pub kl_sequences: Option<HostSequences>,
    /// What truncation cut or dropped (KL rows not counted).
    pub stats: TruncationStats,
}

/// An unpaired (KTO) batch on a device.
///
/// ```text
/// row i    = prompt_i ++ completion_i ++ PAD…
/// KL row i = prompt_i ++ completion_{(i−1) mod B} ++ PAD…   (mismatched pairs for z_ref)
/// ```
///
/// # Shapes
/// - `input_ids`, `attention_mask`, `completion_mask`: `[B, T]` (Int); `lengths`: `[B]`
/// - `labels`: `[B]` (Bool)
/// - `kl_*`: `[B, T_kl]` when requested
///
/// # References
/// KTO, arXiv:2402.01306; TRL `KTOTrainer` (`_get_kl_dataset` rotates completions by one).
#[derive(Debug, Clone)]
pub struct UnpairedBatch<B: Backend> {
    /// Token ids.
    pub input_ids: Tensor<B, 2, Int>,
    /// 1 on real tokens.
    pub attention_mask: Tensor<B, 2, Int>,
    /// 1 exactly on completion tokens.
    pub completion_mask: Tensor<B, 2, Int>,
    /// Real tokens per row.
    pub lengths: Tensor<B, 1, Int>,
    /// Desirable?
    pub labels: Tensor<B, 1, Bool>,
    /// Mismatched KL rows.
    pub kl: Option<KlRows<B>>,
    /// Input positions of the kept records.
    pub kept: Vec<usize>,
    /// What truncation cut or dropped.
    pub stats: TruncationStats,
}

/// KTO's mismatched rows `prompt_i ++ completion_{(i−1) mod B}`.
///
/// # Shapes
/// All `[B, T_kl]` (Int).
#[derive(Debug, Clone)]
pub struct KlRows<B: Backend> {
    /// Token ids.
    pub input_ids: Tensor<B, 2, Int>,
    /// 1 on real tokens.
    pub attention_mask: Tensor<B, 2, Int>,
    /// 1 exactly on completion tokens.
    pub completion_mask: Tensor<B, 2, Int>,
}

impl HostUnpairedBatch {
    /// Moves the batch onto `device`.
    pub fn to_device<B: Backend>(&self, device: &B::Device) -> UnpairedBatch<B> {
        let s = &self.sequences;
        let shape = [s.rows, s.width];
        UnpairedBatch {
            input_ids: int_tensor(&s.input_ids, shape, device),
            attention_mask: int_tensor(&s.attention_mask, shape, device),
            completion_mask: int_tensor(&s.completion_mask, shape, device),
            lengths: int_tensor(&s.lengths, [s.rows], device),
            labels: Tensor::from_data(
                TensorData::new(self.labels.clone(), [self.labels.len()]),
                device,
            ),
            kl: self.kl_sequences.as_ref().map(|k| {
                let shape = [k.rows, k.width];
                KlRows {
                    input_ids: int_tensor(&k.input_ids, shape, device),
                    attention_mask: int_tensor(&k.attention_mask, shape, device),
                    completion_mask: int_tensor(&k.completion_mask, shape, device),
                }
            }),
            kept: self.kept.clone(),
            stats: self.stats,
        }
    }
}

/// Collates tokenised unpaired records; records whose completion keeps no token are dropped
/// and counted. With `kl_rows`, also builds mismatched rows (completion of the previous kept
/// record; truncated the same way, never dropped).
pub fn collate_unpaired(
    items: &[EncodedUnpaired],
    config: &CollatorConfig,
    pad_id: u32,
    kl_rows: bool,
) -> Result<HostUnpairedBatch, DataError> {
    let mut stats = TruncationStats::default();
    let mut kept = Vec::with_capacity(items.len());
    let mut rows = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let k = truncate(it.prompt.len(), it.completion.len(), &config.truncation);
        if k.completion.is_empty() {
            stats.dropped_records += 1;
            continue;
        }
        if k.cut > 0 {
            stats.truncated_sequences += 1;
            stats.truncated_tokens += k.cut;
        }
        kept.push(i);
        rows.push((&it.prompt[k.prompt], &it.completion[k.completion]));
    }
    if kept.is_empty() {
        return Err(DataError::EmptyBatch {
            items: items.len(),
            dropped: stats.dropped_records,
        });
    }
    let kl_sequences = kl_rows.then(|| {
        let n = kept.len();
        let kl: Vec<(&[u32], &[u32])> = (0..n)
            .map(|i| {
                let p = &items[kept[i]].prompt;
                let c = &items[kept[(i + n - 1) % n]].completion;
                let k = truncate(p.len(), c.len(), &config.truncation);
                (&p[k.prompt], &c[k.completion])
            })
            .collect();
        HostSequences::build(&kl, pad_id, config.pad_to_multiple_of)
    });
    Ok(HostUnpairedBatch {
        num_records: kept.len(),
        labels: kept.iter().map(|&i| items[i].label).collect(),
        kept,
        sequences: HostSequences::build(&rows, pad_id, config.pad_to_multiple_of),
        kl_sequences,
        stats,
    })
}

/// Tokenises and collates [`UnpairedRecord`]s; implements burn's [`Batcher`].
#[derive(Debug, Clone)]
pub struct UnpairedCollator<T, C> {
    /// Tokenizer and template.
    pub encoder: Encoder<T, C>,
    /// Truncation and padding.
    pub config: CollatorConfig,
    /// Build mismatched KL rows (KTO's reference point estimate).
    pub kl_rows: bool,
}

impl<T: Tokenizer, C: ChatTemplate> UnpairedCollator<T, C> {
    /// A collator.
    pub fn new(encoder: Encoder<T, C>, config: CollatorConfig, kl_rows: bool) -> Self {
        Self {
            encoder,
            config,
            kl_rows,
        }
    }

    /// Tokenises and collates on the host.
    pub fn collate_records(
        &self,
        items: &[UnpairedRecord],
    ) -> Result<HostUnpairedBatch, DataError> {
        let enc: Vec<_> = items
            .iter()
            .map(|r| self.encoder.unpaired(r))
            .collect::<Result<_, _>>()?;
        collate_unpaired(
            &enc,
            &self.config,
            self.encoder.tokenizer.pad_id(),
            self.kl_rows,
        )
    }
}

impl<B, T, C> Batcher<B, UnpairedRecord, Result<UnpairedBatch<B>, DataError>>
    for UnpairedCollator<T, C>
where
    B: Backend,
    T: Tokenizer,
    C: ChatTemplate,
{
    fn batch(
        &self,
        items: Vec<UnpairedRecord>,
        device: &B::Device,
    ) -> Result<UnpairedBatch<B>, DataError> {
        Ok(self.collate_records(&items)?.to_device(device))
    }
}
