//! Text in either TRL convention: a plain string (standard) or a list of chat messages
//! (conversational).

use serde_json::{Map, Value};

use crate::error::RecordProblem;

/// The roles a conversational message may have: OpenAI's and HuggingFace chat templates'
/// `system`, `developer`, `user`, `assistant`, `tool`, `function`, and Llama 3's `ipython`.
///
/// Anything else (e.g. the typo `"asistant"`) is rejected when a record is read
/// ([`RecordProblem::UnknownRole`]) rather than rendered by a chat template as an unknown
/// speaker and trained on.
pub const KNOWN_ROLES: &[&str] = &[
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
    "ipython",
];

/// One chat message of a conversational record (`{"role": ..., "content": ...}`).
///
/// Keys other than `role` and `content` (e.g. `name`) are kept in [`Message::extra`] and written
/// back on round trips.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Speaker role, one of [`KNOWN_ROLES`] in records read from JSONL or Parquet.
    pub role: String,
    /// Message text.
    pub content: String,
    /// Any other keys of the message object, kept verbatim.
    pub extra: Map<String, Value>,
}

impl Message {
    /// A message with no extra keys.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            content: content.into(),
            extra: Map::new(),
        }
    }
}

/// Which of TRL's two dataset conventions a record uses.
///
/// # References
/// TRL docs, "Dataset formats and types" (`trl/data_utils.py::is_conversational`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Convention {
    /// Text fields are plain strings.
    Standard,
    /// Text fields are lists of `{role, content}` messages.
    Conversational,
}

/// A text field: a plain string or a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    /// Standard convention: a plain string.
    Plain(String),
    /// Conversational convention: a list of messages.
    Conversation(Vec<Message>),
}

impl Text {
    /// The convention this text follows.
    pub fn convention(&self) -> Convention {
        match self {
            Text::Plain(_) => Convention::Standard,
            Text::Conversation(_) => Convention::Conversational,
        }
    }

    /// Total number of content bytes (for statistics and capacity hints).
    pub fn content_len(&self) -> usize {
        match self {
            Text::Plain(s) => s.len(),
            Text::Conversation(m) => m.iter().map(|m| m.content.len()).sum(),
        }
    }

    /// Parses a JSON value as text; `field` names it in errors.
    ///
    /// # Errors
    /// [`RecordProblem::WrongType`] / [`RecordProblem::MissingField`] for a value that is neither
    /// a string nor a list of `{role, content}` objects; [`RecordProblem::UnknownRole`] for a
    /// message whose role is not in [`KNOWN_ROLES`].
    pub fn from_json(value: &Value, field: &str) -> Result<Self, RecordProblem> {
        match value {
            Value::String(s) => Ok(Text::Plain(s.clone())),
            Value::Array(items) => {
                let mut messages = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let obj = item.as_object().ok_or_else(|| RecordProblem::WrongType {
                        field: format!("{field}[{i}]"),
                        expected: "a message object {role, content}",
                    })?;
                    let get = |key: &str| -> Result<String, RecordProblem> {
                        match obj.get(key) {
                            Some(Value::String(s)) => Ok(s.clone()),
                            Some(_) => Err(RecordProblem::WrongType {
                                field: format!("{field}[{i}].{key}"),
                                expected: "a string",
                            }),
                            None => Err(RecordProblem::MissingField(format!("{field}[{i}].{key}"))),
                        }
                    };
                    let role = get("role")?;
                    if !KNOWN_ROLES.contains(&role.as_str()) {
                        return Err(RecordProblem::UnknownRole {
                            field: format!("{field}[{i}].role"),
                            role,
                        });
                    }
                    let content = get("content")?;
                    let extra = obj
                        .iter()
                        .filter(|(k, _)| k.as_str() != "role" && k.as_str() != "content")
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    messages.push(Message {
                        role,
                        content,
                        extra,
                    });
                }
                Ok(Text::Conversation(messages))
            }
            _ => Err(RecordProblem::WrongType {
                field: field.to_string(),
                expected: "a string or a list of messages",
            }),
        }
    }

    /// The JSON form written by [`crate::jsonl::JsonlWriter`].
    pub fn to_json(&self) -> Value {
        match self {
            Text::Plain(s) => Value::String(s.clone()),
            Text::Conversation(messages) => Value::Array(
                messages
                    .iter()
                    .map(|m| {
                        let mut obj = m.extra.clone();
                        obj.insert("role".into(), Value::String(m.role.clone()));
                        obj.insert("content".into(), Value::String(m.content.clone()));
                        Value::Object(obj)
                    })
                    .collect(),
            ),
        }
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Self {
        Text::Plain(s.to_string())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Self {
        Text::Plain(s)
    }
}

/// Checks that all given texts follow one convention.
pub(crate) fn check_convention<'a>(
    texts: impl IntoIterator<Item = &'a Text>,
) -> Result<Convention, RecordProblem> {
    let mut conv = None;
    for t in texts {
        match conv {
            None => conv = Some(t.convention()),
            Some(c) if c != t.convention() => return Err(RecordProblem::MixedConventions),
            _ => {}
        }
    }
    Ok(conv.unwrap_or(Convention::Standard))
}
