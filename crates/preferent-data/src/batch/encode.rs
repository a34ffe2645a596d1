//! Tokenising records into prompt / completion ids (template applied, BOS / EOS added).

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
    pub fn prompt(&self, text: &Text) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.content_len() + 2);
        out.extend(self.tokenizer.bos_id());
        match text {
            Text::Plain(s) => self.tokenizer.encode_into(s, &mut out),
            _ => self
                .tokenizer
                .encode_into(&self.template.prompt(text), &mut out),
        }
        out
    }

    /// Completion ids.
    pub fn completion(&self, text: &Text) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.content_len() + 2);
        match text {
            Text::Plain(s) => self.tokenizer.encode_into(s, &mut out),
            _ => self
                .tokenizer
                .encode_into(&self.template.completion(text), &mut out),
        }
        out.extend(self.tokenizer.eos_id());
        out
    }

    /// Tokenises a pair.
    pub fn pair(&self, r: &PairRecord) -> EncodedPair {
        EncodedPair {
            prompt: self.prompt(&r.prompt),
            chosen: self.completion(&r.chosen),
            rejected: self.completion(&r.rejected),
        }
    }

    /// Tokenises an unpaired record.
    pub fn unpaired(&self, r: &UnpairedRecord) -> EncodedUnpaired {
        EncodedUnpaired {
            prompt: self.prompt(&r.prompt),
            completion: self.completion(&r.completion),
            label: r.label,
        }
    }

    /// Tokenises a ranked record, ordering responses best first.
    pub fn ranked(&self, r: &RankedRecord) -> EncodedRanked {
        let order = r.order_best_first();
        EncodedRanked {
            prompt: self.prompt(&r.prompt),
            responses: order
                .iter()
                .map(|&i| self.completion(&r.responses[i].response))
                .collect(),
            preferences: order.iter().map(|&i| r.preference(i)).collect(),
        }
    }
}
