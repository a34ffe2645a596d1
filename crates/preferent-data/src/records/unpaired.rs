//! Unpaired binary feedback (KTO): (prompt, completion, label).

use serde_json::Value;

use crate::error::RecordProblem;
use crate::records::base::into_object;
use crate::records::meta::require;
use crate::records::text::check_convention;
use crate::records::{Record, RecordMeta, Text};

/// One completion with a thumbs-up (`label = true`, desirable) or thumbs-down label.
///
/// JSONL (TRL "unpaired preference" type):
/// ```text
/// {"prompt": "...", "completion": "...", "label": true}
/// ```
///
/// # References
/// KTO, arXiv:2402.01306; TRL `KTOTrainer` dataset format.
#[derive(Debug, Clone, PartialEq)]
pub struct UnpairedRecord {
    /// The prompt.
    pub prompt: Text,
    /// The completion.
    pub completion: Text,
    /// `true` if the completion is desirable.
    pub label: bool,
    /// Id, tags, metadata.
    pub meta: RecordMeta,
}

impl UnpairedRecord {
    /// A standard-convention record with empty metadata.
    pub fn new(prompt: impl Into<Text>, completion: impl Into<Text>, label: bool) -> Self {
        Self {
            prompt: prompt.into(),
            completion: completion.into(),
            label,
            meta: RecordMeta::default(),
        }
    }
}

impl Record for UnpairedRecord {
    const KIND: &'static str = "unpaired";

    fn from_json(value: Value) -> Result<Self, RecordProblem> {
        let obj = into_object(value)?;
        let prompt = Text::from_json(require(&obj, "prompt")?, "prompt")?;
        let completion = Text::from_json(require(&obj, "completion")?, "completion")?;
        check_convention([&prompt, &completion])?;
        let label = match require(&obj, "label")? {
            Value::Bool(b) => *b,
            _ => {
                return Err(RecordProblem::WrongType {
                    field: "label".into(),
                    expected: "a boolean",
                })
            }
        };
        let meta = RecordMeta::from_json(obj, &["prompt", "completion", "label"])?;
        Ok(Self {
            prompt,
            completion,
            label,
            meta,
        })
    }

    fn to_json(&self) -> Value {
        let mut obj = self.meta.to_json();
        obj.insert("prompt".into(), self.prompt.to_json());
        obj.insert("completion".into(), self.completion.to_json());
        obj.insert("label".into(), Value::Bool(self.label));
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
            self.completion.to_json(),
            Value::Bool(self.label),
        ]);
        serde_json::to_writer(out, &v).expect("writing JSON to a Vec cannot fail");
    }
}
