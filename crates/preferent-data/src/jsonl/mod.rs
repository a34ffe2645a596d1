//! JSONL in TRL's standard and conversational conventions: streaming reader, writer, chat
//! templates.

mod reader;
mod strict;
mod template;
mod writer;

pub use reader::{read_jsonl, JsonlReader, JsonlReaderConfig, LineError, ReadPolicy, ReadReport};
pub use template::{ChatMlTemplate, ChatTemplate};
pub use writer::{write_jsonl, JsonlWriter};
