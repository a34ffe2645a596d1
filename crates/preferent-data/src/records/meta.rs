//! Per-record id, tags and free metadata, shared by every record type.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::RecordProblem;

/// Optional id, tags and free metadata of a record, kept through round trips.
///
/// In JSONL, `id` is a top-level string, `tags` a top-level object of string values (e.g.
/// `{"topic": "weapons", "attack_style": "role-play"}`, as safety sets such as Egida carry), and
/// every other top-level key the record type does not know lands in [`RecordMeta::metadata`] and
/// is written back at top level.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordMeta {
    /// Optional record id.
    pub id: Option<String>,
    /// Tag name → tag value.
    pub tags: BTreeMap<String, String>,
    /// Every unknown top-level key, verbatim.
    pub metadata: Map<String, Value>,
}

impl RecordMeta {
    /// Takes `id`, `tags` and leaves the remaining keys (minus `known`) as metadata.
    pub(crate) fn from_json(
        mut obj: Map<String, Value>,
        known: &[&str],
    ) -> Result<Self, RecordProblem> {
        let id = match obj.remove("id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(_) => {
                return Err(RecordProblem::WrongType {
                    field: "id".into(),
                    expected: "a string or number",
                })
            }
        };
        let mut tags = BTreeMap::new();
        match obj.remove("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (k, v) in map {
                    match v {
                        Value::String(s) => {
                            tags.insert(k, s);
                        }
                        _ => {
                            return Err(RecordProblem::WrongType {
                                field: format!("tags.{k}"),
                                expected: "a string",
                            })
                        }
                    }
                }
            }
            Some(_) => {
                return Err(RecordProblem::WrongType {
                    field: "tags".into(),
                    expected: "an object of string values",
                })
            }
        }
        for k in known {
            obj.remove(*k);
        }
        Ok(Self {
            id,
            tags,
            metadata: obj,
        })
    }

    /// Writes `id`, `tags` and metadata into `obj` (record fields are inserted after, so they win).
    pub(crate) fn to_json(&self) -> Map<String, Value> {
        let mut obj = self.metadata.clone();
        if let Some(id) = &self.id {
            obj.insert("id".into(), Value::String(id.clone()));
        }
        if !self.tags.is_empty() {
            obj.insert(
                "tags".into(),
                Value::Object(
                    self.tags
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect(),
                ),
            );
        }
        obj
    }

    /// Moves the named top-level metadata keys with string values into [`RecordMeta::tags`]
    /// (e.g. a dataset whose `topic` column should become a tag). Returns how many moved.
    pub fn promote_to_tags(&mut self, keys: &[&str]) -> usize {
        let mut moved = 0;
        for key in keys {
            if let Some(Value::String(s)) = self.metadata.get(*key) {
                self.tags.insert((*key).to_string(), s.clone());
                self.metadata.remove(*key);
                moved += 1;
            }
        }
        moved
    }
}

/// Takes a required field out of `obj`.
pub(crate) fn require<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
) -> Result<&'a Value, RecordProblem> {
    obj.get(field)
        .ok_or_else(|| RecordProblem::MissingField(field.to_string()))
}
