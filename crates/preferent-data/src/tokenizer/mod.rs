//! Tokenizers: the [`Tokenizer`] trait and a built-in byte-level tokenizer.

mod base;
mod byte_level;

pub use base::Tokenizer;
pub use byte_level::{ByteTokenizer, ByteTokenizerConfig};
