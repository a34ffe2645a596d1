//! The [`Tokenizer`] trait.

use crate::error::DataError;

/// Turns text into token ids and back.
pub trait Tokenizer: Send + Sync {
    /// Appends the ids of `text` (no special tokens) to `out`.
    fn encode_into(&self, text: &str, out: &mut Vec<u32>);

    /// The ids of `text` (no special tokens).
    fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len());
        self.encode_into(text, &mut out);
        out
    }

    /// Decodes ids back to text; special tokens are skipped.
    fn decode(&self, ids: &[u32]) -> Result<String, DataError>;

    /// Number of distinct ids (ids are `0..vocab_size`).
    fn vocab_size(&self) -> usize;

    /// Beginning-of-sequence id, prepended to prompts when present.
    fn bos_id(&self) -> Option<u32>;

    /// End-of-sequence id, appended to completions when present.
    fn eos_id(&self) -> Option<u32>;

    /// Padding id.
    fn pad_id(&self) -> u32;
}
