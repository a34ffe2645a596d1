//! HuggingFace `tokenizers` (a `tokenizer.json`) behind the [`Tokenizer`] trait.
//!
//! Available with the `hf-tokenizers` feature. The `tokenizers` crate is built with its default
//! features off and `fancy-regex` on (pure Rust: no Oniguruma C build, no progress bars, no HTTP
//! download), so it builds offline from crates.io alone.

use std::path::Path;

use crate::error::DataError;
use crate::tokenizer::Tokenizer;

/// Which tokens of a `tokenizer.json` play BOS / EOS / PAD.
///
/// `tokenizer.json` does not say; transformers keeps these names in `tokenizer_config.json`
/// (`bos_token`, `eos_token`, `pad_token`). Copy them from there.
#[derive(burn::config::Config, Debug)]
pub struct HfTokenizerConfig {
    /// BOS token prepended to prompts (e.g. `"<s>"`), or none. Default: none.
    pub bos_token: Option<String>,
    /// EOS token appended to completions (e.g. `"</s>"`, `"<|im_end|>"`), or none. Default: none.
    pub eos_token: Option<String>,
    /// Padding token. Default: none, in which case the EOS token pads, as TRL does
    /// (`tokenizer.pad_token = tokenizer.eos_token`) when a tokenizer has no pad token.
    pub pad_token: Option<String>,
}

/// A HuggingFace tokenizer loaded from `tokenizer.json`.
///
/// Encodes without the post-processor's special tokens (`add_special_tokens = false`) — BOS / EOS
/// are added by [`Encoder`](crate::Encoder) from [`HfTokenizerConfig`], as TRL's `DPOTrainer`
/// does — and decodes with `skip_special_tokens = true`.
///
/// ```no_run
/// use preferent_data::{HfTokenizer, HfTokenizerConfig, Tokenizer};
/// let config = HfTokenizerConfig::new()
///     .with_eos_token(Some("</s>".into()))
///     .with_bos_token(Some("<s>".into()));
/// let tok = HfTokenizer::from_file("tokenizer.json", &config)?;
/// let ids = tok.encode("hello world")?;
/// # Ok::<(), preferent_data::DataError>(())
/// ```
#[derive(Clone)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    bos: Option<u32>,
    eos: Option<u32>,
    pad: u32,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("vocab_size", &self.inner.get_vocab_size(true))
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("pad", &self.pad)
            .finish()
    }
}

impl HfTokenizer {
    /// Loads `tokenizer.json` from `path`.
    ///
    /// # Errors
    /// [`DataError::Io`] if the file cannot be read, [`DataError::Tokenize`] if it is not a valid
    /// tokenizer, [`DataError::InvalidConfig`] if a configured special token is not in its
    /// vocabulary or no pad token can be chosen.
    pub fn from_file(
        path: impl AsRef<Path>,
        config: &HfTokenizerConfig,
    ) -> Result<Self, DataError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path.display(), e))?;
        Self::from_bytes(&bytes, config).map_err(|e| match e {
            DataError::Tokenize(m) => DataError::Tokenize(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parses the contents of a `tokenizer.json`.
    ///
    /// # Errors
    /// As [`HfTokenizer::from_file`], without the I/O case.
    pub fn from_bytes(json: &[u8], config: &HfTokenizerConfig) -> Result<Self, DataError> {
        let inner = tokenizers::Tokenizer::from_bytes(json)
            .map_err(|e| DataError::Tokenize(format!("invalid tokenizer.json: {e}")))?;
        Self::from_tokenizer(inner, config)
    }

    /// Wraps an already-built `tokenizers::Tokenizer`.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] if a configured special token is not in the vocabulary, or
    /// neither `pad_token` nor `eos_token` is set.
    pub fn from_tokenizer(
        inner: tokenizers::Tokenizer,
        config: &HfTokenizerConfig,
    ) -> Result<Self, DataError> {
        let id = |role: &str, token: &Option<String>| -> Result<Option<u32>, DataError> {
            match token {
                None => Ok(None),
                Some(t) => inner.token_to_id(t).map(Some).ok_or_else(|| {
                    DataError::InvalidConfig(format!(
                        "{role} token {t:?} is not in the tokenizer's vocabulary"
                    ))
                }),
            }
        };
        let bos = id("bos", &config.bos_token)?;
        let eos = id("eos", &config.eos_token)?;
        let pad = id("pad", &config.pad_token)?.or(eos).ok_or_else(|| {
            DataError::InvalidConfig(
                "no pad token: set `pad_token` (or `eos_token`, which then pads)".into(),
            )
        })?;
        Ok(Self {
            inner,
            bos,
            eos,
            pad,
        })
    }

    /// The wrapped `tokenizers::Tokenizer`.
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

impl Tokenizer for HfTokenizer {
    fn encode_into(&self, text: &str, out: &mut Vec<u32>) -> Result<(), DataError> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| DataError::Tokenize(format!("cannot encode {:?}: {e}", preview(text))))?;
        out.extend_from_slice(enc.get_ids());
        Ok(())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, DataError> {
        let size = self.vocab_size();
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= size) {
            return Err(DataError::Decode { id });
        }
        self.inner
            .decode(ids, true)
            .map_err(|e| DataError::Tokenize(format!("cannot decode: {e}")))
    }

    fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    fn pad_id(&self) -> u32 {
        self.pad
    }
}

/// The first 40 characters of `text`, for error messages.
fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(40).collect();
    if p.len() < text.len() {
        p.push('…');
    }
    p
}
