//! Tokenizers: the [`Tokenizer`] trait, a built-in byte-level tokenizer and, with the
//! `hf-tokenizers` feature, HuggingFace `tokenizer.json` files.

mod base;
mod byte_level;
#[cfg(feature = "hf-tokenizers")]
mod hf;

pub use base::Tokenizer;
pub use byte_level::{ByteTokenizer, ByteTokenizerConfig};
#[cfg(feature = "hf-tokenizers")]
pub use hf::{HfTokenizer, HfTokenizerConfig};
