//! Pairwise preference records: (prompt, chosen, rejected).

use serde_json::Value;

use crate::error::RecordProblem;
use crate::records::base::into_object;
use crate::records::implicit::extract_prompt;
use crate::records::meta::require;
use crate::records::text::check_convention;
use crate::records::{Convention, Record, RecordMeta, Text};

/// Metadata key holding the chosen response's score when a pair came from a ranked record.
pub const SCORE_CHOSEN_KEY: &str = "score_chosen";
/// Metadata key holding the rejected response's score when a pair came from a ranked record.
pub const SCORE_REJECTED_KEY: &str = "score_rejected";
/// Metadata key holding the chosen response's rank when a pair came from a rank-only record.
pub const RANK_CHOSEN_KEY: &str = "rank_chosen";
/// Metadata key holding the rejected response's rank when a pair came from a rank-only record.
pub const RANK_REJECTED_KEY: &str = "rank_rejected";

/// A pairwise preference: `chosen` is preferred over `rejected` for `prompt`.
///
/// JSONL (TRL "preference" type, explicit prompt), standard:
/// ```text
/// {"prompt": "...", "chosen": "...", "rejected": "..."}
/// ```
/// conversational:
/// ```text
/// {"prompt": [{"role": "user", "content": "..."}],
///  "chosen": [{"role": "assistant", "content": "..."}], "rejected": [...]}
/// ```
/// `score_chosen` / `score_rejected` (UltraFeedback-binarized columns) stay in metadata and are
/// read by [`PairRecord::score_gap`]. Records without `prompt` (TRL's implicit-prompt form,
/// `{"chosen": "The sky is blue.", "rejected": "The sky is green."}`) are split by
/// [`crate::records::extract_prompt`]; they are written back in the explicit form.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRecord {
    /// The prompt.
    pub prompt: Text,
    /// The preferred completion.
    pub chosen: Text,
    /// The dispreferred completion.
    pub rejected: Text,
    /// Id, tags, metadata.
    pub meta: RecordMeta,
}

impl PairRecord {
    /// A standard-convention pair with empty metadata.
    pub fn new(
        prompt: impl Into<Text>,
        chosen: impl Into<Text>,
        rejected: impl Into<Text>,
    ) -> Self {
        Self {
            prompt: prompt.into(),
            chosen: chosen.into(),
            rejected: rejected.into(),
            meta: RecordMeta::default(),
        }
    }

    /// The convention of the record (all three fields share it).
    pub fn convention(&self) -> Convention {
        self.prompt.convention()
    }

    /// The preference gap: `score_chosen − score_rejected` from metadata when both are numbers,
    /// else `rank_rejected − rank_chosen`, else `None`.
    pub fn score_gap(&self) -> Option<f64> {
        let m = &self.meta.metadata;
        let get = |k: &str| m.get(k).and_then(serde_json::Value::as_f64);
        match (get(SCORE_CHOSEN_KEY), get(SCORE_REJECTED_KEY)) {
            (Some(c), Some(r)) => Some(c - r),
            _ => Some(get(RANK_REJECTED_KEY)? - get(RANK_CHOSEN_KEY)?),
        }
    }

    /// Swaps chosen and rejected (and their scores / ranks, if present).
    pub fn swap(&mut self) {
        std::mem::swap(&mut self.chosen, &mut self.rejected);
        for (a, b) in [
            (SCORE_CHOSEN_KEY, SCORE_REJECTED_KEY),
            (RANK_CHOSEN_KEY, RANK_REJECTED_KEY),
        ] {
            let c = self.meta.metadata.remove(a);
            let r = self.meta.metadata.remove(b);
            if let Some(r) = r {
                self.meta.metadata.insert(a.into(), r);
            }
            if let Some(c) = c {
                self.meta.metadata.insert(b.into(), c);
            }
        }
    }
}

impl Record for PairRecord {
    const KIND: &'static str = "pair";

    fn from_json(value: Value) -> Result<Self, RecordProblem> {
        let obj = into_object(value)?;
        let chosen = Text::from_json(require(&obj, "chosen")?, "chosen")?;
        let rejected = Text::from_json(require(&obj, "rejected")?, "rejected")?;
        let (prompt, chosen, rejected) = match obj.get("prompt") {
            Some(p) => (Text::from_json(p, "prompt")?, chosen, rejected),
            None => extract_prompt(&chosen, &rejected)?,
        };
        check_convention([&prompt, &chosen, &rejected])?;
        let meta = RecordMeta::from_json(obj, &["prompt", "chosen", "rejected"])?;
        Ok(Self {
            prompt,
            chosen,
            rejected,
            meta,
        })
    }

    fn to_json(&self) -> Value {
        let mut obj = self.meta.to_json();
        obj.insert("prompt".into(), self.prompt.to_json());
        obj.insert("chosen".into(), self.chosen.to_json());
        obj.insert("rejected".into(), self.rejected.to_json());
        Value::Object(obj)
    }

    fn meta(&self) -> &RecordMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut RecordMeta {
        &mut self.meta
    }

    fn write_content(&self, out: &mut Vec<u8>) {
        let v = Value::Array(vec![
            self.prompt.to_json(),
            self.chosen.to_json(),
            self.rejected.to_json(),
        ]);
        serde_json::to_writer(out, &v).expect("writing JSON to a Vec cannot fail");
    }
}
