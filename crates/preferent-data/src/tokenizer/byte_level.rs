//! A byte-level tokenizer: one id per UTF-8 byte plus three special ids.

use crate::error::DataError;
use crate::tokenizer::Tokenizer;

/// Byte-level tokenizer settings.
#[derive(burn::config::Config, Debug)]
pub struct ByteTokenizerConfig {
    /// Prepend BOS to prompts. Default: true.
    #[config(default = true)]
    pub add_bos: bool,
    /// Append EOS to completions (TRL appends `eos_token` to chosen/rejected). Default: true.
    #[config(default = true)]
    pub add_eos: bool,
}

/// Byte-level tokenizer: ids `0..=255` are the UTF-8 bytes, then BOS = 256, EOS = 257,
/// PAD = 258 (vocabulary 259).
///
/// ```text
/// encode("hé") = [0x68, 0xC3, 0xA9]
/// ```
#[derive(Debug, Clone)]
pub struct ByteTokenizer {
    add_bos: bool,
    add_eos: bool,
}

impl ByteTokenizer {
    /// BOS id.
    pub const BOS: u32 = 256;
    /// EOS id.
    pub const EOS: u32 = 257;
    /// PAD id.
    pub const PAD: u32 = 258;

    /// Builds the tokenizer from its config.
    pub fn new(config: &ByteTokenizerConfig) -> Self {
        Self {
            add_bos: config.add_bos,
            add_eos: config.add_eos,
        }
    }
}

impl Default for ByteTokenizer {
    fn default() -> Self {
        Self::new(&ByteTokenizerConfig::new())
    }
}

impl Tokenizer for ByteTokenizer {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<(), DataError> {
        out.extend(text.bytes().map(u32::from));
        Ok(())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, DataError> {
        let mut bytes = Vec::with_capacity(ids.len());
        for &id in ids {
            match id {
                0..=255 => bytes.push(id as u8),
                Self::BOS | Self::EOS | Self::PAD => {}
                _ => return Err(DataError::Decode { id }),
            }
        }
        String::from_utf8(bytes).map_err(|e| {
            let bad = e.utf8_error().valid_up_to();
            DataError::Decode {
                id: u32::from(e.as_bytes()[bad]),
            }
        })
    }

    fn vocab_size(&self) -> usize {
        259
    }

    fn bos_id(&self) -> Option<u32> {
        self.add_bos.then_some(Self::BOS)
    }

    fn eos_id(&self) -> Option<u32> {
        self.add_eos.then_some(Self::EOS)
    }

    fn pad_id(&self) -> u32 {
        Self::PAD
    }
}
