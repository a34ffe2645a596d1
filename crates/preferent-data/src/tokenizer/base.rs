//! The [`Tokenizer`] trait.

use crate::error::DataError;

/// Turns text into token ids and back.
pub trait Tokenizer: Send + Sync {
    /// Appends the ids of `text` (no special tokens) to `out`.
    ///
    /// # Errors
    /// [`DataError::Tokenize`] when the tokenizer cannot encode `text` (e.g. a word-level
    /// vocabulary without an unknown token); the built-in [`ByteTokenizer`](crate::ByteTokenizer)
    /// never fails.
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<(), DataError>;

    /// The ids of `text` (no special tokens).
    ///
    /// # Errors
    /// As [`Tokenizer::encode_into`].
    fn encode(&self, text: &str) -> Result<Vec<u32>, DataError> {
        let mut out = Vec::with_capacity(text.len());
        self.encode_into(text, &mut out)?;
        Ok(out)
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
