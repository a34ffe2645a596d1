//! Right-padded host-side sequence rows shared by every batch kind.

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

/// Right-padded rows of token ids with their masks, on the host.
///
/// Row `r` holds `prompt_r ++ completion_r` followed by `pad_id` up to `width`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSequences {
    /// Number of rows.
    pub rows: usize,
    /// Padded length `T`.
    pub width: usize,
    /// `[rows, width]` token ids, row-major.
    pub input_ids: Vec<i64>,
    /// `[rows, width]`: 1 on real tokens, 0 on padding.
    pub attention_mask: Vec<i64>,
    /// `[rows, width]`: 1 exactly on completion tokens.
    pub completion_mask: Vec<i64>,
    /// `[rows]`: real tokens per row.
    pub lengths: Vec<i64>,
    /// `[rows]`: prompt tokens per row.
    pub prompt_lengths: Vec<i64>,
}

impl HostSequences {
    /// Pads `(prompt, completion)` rows to a common width (rounded up to a multiple of
    /// `pad_to_multiple_of` when given).
    pub fn build(
        rows: &[(&[u32], &[u32])],
        pad_id: u32,
        pad_to_multiple_of: Option<usize>,
    ) -> Self {
        let mut width = rows
            .iter()
            .map(|(p, c)| p.len() + c.len())
            .max()
            .unwrap_or(0);
        if let Some(m) = pad_to_multiple_of.filter(|&m| m > 1) {
            width = width.div_ceil(m) * m;
        }
        let n = rows.len() * width;
        let mut out = Self {
            rows: rows.len(),
            width,
            input_ids: vec![i64::from(pad_id); n],
            attention_mask: vec![0; n],
            completion_mask: vec![0; n],
            lengths: Vec::with_capacity(rows.len()),
            prompt_lengths: Vec::with_capacity(rows.len()),
        };
        for (r, (p, c)) in rows.iter().enumerate() {
            let base = r * width;
            for (k, &t) in p.iter().chain(c.iter()).enumerate() {
                out.input_ids[base + k] = i64::from(t);
                out.attention_mask[base + k] = 1;
            }
            for k in p.len()..p.len() + c.len() {
                out.completion_mask[base + k] = 1;
            }
            out.lengths.push((p.len() + c.len()) as i64);
            out.prompt_lengths.push(p.len() as i64);
        }
        out
    }

    /// Row `r` of the ids (padding included).
    pub fn row(&self, r: usize) -> &[i64] {
        &self.input_ids[r * self.width..(r + 1) * self.width]
    }
}

/// An Int tensor of shape `shape` from host values.
pub(crate) fn int_tensor<B: Backend, const D: usize>(
    values: &[i64],
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}
