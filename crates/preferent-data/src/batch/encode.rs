//! Tokenising records into prompt / completion ids (template applied, BOS / EOS added).

use crate::error::DataError;
use crate::jsonl::ChatTemplate;
use crate::records::{PairRecord, RankedRecord, Text, UnpairedRecord};
use crate::tokenizer::Tokenizer;

/// A tokenised pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedPair {
    /// `[BOS] ++ prompt` ids.
    pub prompt: Vec<u32>,
    /// `chosen ++ [EOS]` ids.
    pub chosen: Vec<u32>,
    /// `rejected ++ [EOS]` ids.
    pub rejected: Vec<u32>,
}

/// A tokenised unpaired (KTO) record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedUnpaired {
    /// `[BOS] ++ prompt` ids.
    pub prompt: Vec<u32>,
    /// `completion ++ [EOS]` ids.
    pub completion: Vec<u32>,
    /// Desirable?
    pub label: bool,
}

/// A tokenised ranked record, responses best first.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedRanked {
    /// `[BOS] ++ prompt` ids.
    pub prompt: Vec<u32>,
    /// `response ++ [EOS]` ids, best first.
    pub responses: Vec<Vec<u32>>,
    /// Preference value of each response in the same order (score, or `−rank`).
    pub preferences: Vec<f64>,
}

/// A tokenizer with a chat template: turns records into ids.
///
/// Prompts become `[BOS] ++ encode(template.prompt(p))` (BOS if the tokenizer has one),
/// completions `encode(template.completion(c)) ++ [EOS]` (EOS if it has one), as TRL's
/// `DPOTrainer.tokenize_row` does.
#[derive(Debug, Clone)]
pub struct Encoder<T, C> {
    /// The tokenizer.
    pub tokenizer: T,
    /// The chat template for conversational records.
    pub template: C,
}

impl<T: Tokenizer, C: ChatTemplate> Encoder<T, C> {
    /// Combines a tokenizer and a template.
    pub fn new(tokenizer: T, template: C) -> Self {
        Self {
            tokenizer,
            template,
        }
    }

    /// Prompt ids.
    ///
    /// # Errors
    /// [`DataError::Tokenize`] when the tokenizer cannot encode the text.
    pub fn prompt(&self, text: &Text) -> Result<Vec<u32>, DataError> {
        let mut out = Vec::with_capacity(text.content_len() + 2);
        out.extend(self.tokenizer.bos_id());
        match text {
            Text::Plain(s) => self.tokenizer.encode_into(s, &mut out)?,
            _ => self
                .tokenizer
                .encode_into(&self.template.prompt(text), &mut out)?,
        }
        Ok(out)
    }

    /// Completion ids.
    ///
    /// # Errors
    /// [`DataError::Tokenize`] when the tokenizer cannot encode the text.
    pub fn completion(&self, text: &Text) -> Result<Vec<u32>, DataError> {
        let mut out = Vec::with_capacity(text.content_len() + 2);
        match text {
            Text::Plain(s) => self.tokenizer.encode_into(s, &mut out)?,
            _ => self
                .tokenizer
                .encode_into(&self.template.completion(text), &mut out)?,
        }
        out.extend(self.tokenizer.eos_id());
        Ok(out)
    }

    /// Tokenises a pair.
    ///
    /// # Errors
    /// [`DataError::Tokenize`] when the tokenizer cannot encode a text.
    pub fn pair(&self, r: &PairRecord) -> Result<EncodedPair, DataError> {
        Ok(EncodedPair {
            prompt: self.prompt(&r.prompt)?,
            chosen: self.completion(&r.chosen)?,
            rejected: self.completion(&r.rejected)?,
        })
    }

    /// Tokenises an unpaired record.
    ///
    /// # Errors
    /// [`DataError::Tokenize`] when the tokenizer cannot encode a text.
    pub fn unpaired(&self, r: &UnpairedRecord) -> Result<EncodedUnpaired, DataError> {
        Ok(EncodedUnpaired {
            prompt: self.prompt(&r.prompt)?,
            completion: self.completion(&r.completion)?,
            label: r.label,
        })
    }

    /// Tokenises a ranked record, ordering responses best first.
    ///
    /// # Errors
    /// [`DataError::Tokenize`] when the tokenizer cannot encode a text.
    pub fn ranked(&self, r: &RankedRecord) -> Result<EncodedRanked, DataError> {
        let order = r.order_best_first();
        Ok(EncodedRanked {
            prompt: self.prompt(&r.prompt)?,
            responses: order
                .iter()
                .map(|&i| self.completion(&r.responses[i].response))
                .collect::<Result<_, _>>()?,
            preferences: order.iter().map(|&i| r.preference(i)).collect(),
        })
    }
}
