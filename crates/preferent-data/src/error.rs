//! Typed errors of preferent-data.

use std::fmt;
use std::sync::Arc;

/// What is wrong with one record (one JSONL line), independent of where it was read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecordProblem {
    /// The line is not valid UTF-8.
    #[error("line is not valid UTF-8")]
    InvalidUtf8,
    /// The line is longer than the reader's `max_line_bytes` limit.
    #[error("line longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// The line is not valid JSON: the parser's message, ending in `at column C` (the 1-based
    /// byte column within the line; the line itself is the record's, see [`DataError::Record`]).
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// The line is JSON but not an object.
    #[error("record is not a JSON object")]
    NotAnObject,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    MissingField(String),
    /// A field has the wrong JSON type.
    #[error("field `{field}`: expected {expected}")]
    WrongType {
        /// Field name (dotted path for nested fields, e.g. `responses[2].score`).
        field: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// Standard (string) and conversational (message list) fields are mixed in one record.
    #[error("record mixes standard (string) and conversational (message list) fields")]
    MixedConventions,
    /// A ranked record has fewer than two responses, or responses without score or rank.
    #[error("invalid ranking: {0}")]
    InvalidRanking(String),
    /// A conversational message whose role is not one of
    /// [`KNOWN_ROLES`](crate::records::KNOWN_ROLES) (e.g. the typo `"asistant"`).
    #[error("field `{field}`: unknown role `{role}` (expected one of: {})", crate::records::KNOWN_ROLES.join(", "))]
    UnknownRole {
        /// Dotted path of the message's role, e.g. `chosen[1].role`.
        field: String,
        /// The role given.
        role: String,
    },
    /// A JSON object (at any depth) has the same key twice. Records are rejected rather than
    /// taking one of the values silently.
    #[error("duplicate key `{key}` at column {column}")]
    DuplicateKey {
        /// The repeated key.
        key: String,
        /// 1-based byte column of the line at which the parser noticed the repeat (just after the
        /// second occurrence's value).
        column: usize,
    },
    /// A numeric field that cannot be stored faithfully (NaN or ±∞: JSON has no such numbers).
    #[error("field `{field}`: non-finite value {value}")]
    NonFinite {
        /// Dotted path of the field, e.g. `responses[1].score`.
        field: String,
        /// The value.
        value: f64,
    },
}

/// Any error raised by preferent-data.
///
/// `Clone` (the I/O source is shared through an [`Arc`]) so that a batcher's
/// `Result<Batch, DataError>` output meets the `Clone` bound of burn's `DataLoaderBuilder`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DataError {
    /// A malformed record, with the file and 1-based line number it came from.
    #[error("{file}:{line}: {problem}")]
    Record {
        /// The file name (or a label such as `<memory>` for in-memory readers).
        file: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        problem: RecordProblem,
    },
    /// An I/O error while reading or writing `file`.
    #[error("{file}: I/O error: {source}")]
    Io {
        /// The file concerned.
        file: String,
        /// The underlying error (shared, so that the error is `Clone`).
        #[source]
        source: Arc<std::io::Error>,
    },
    /// A safetensors file could not be read or written, or lacks an expected tensor.
    #[error("{file}: safetensors: {problem}")]
    Safetensors {
        /// The file concerned.
        file: String,
        /// What went wrong.
        problem: String,
    },
    /// Tensor-shaped data whose length does not match its declared shape.
    #[error("shape mismatch for `{what}`: expected {expected} values, got {got}")]
    Shape {
        /// Which array.
        what: String,
        /// Expected element count.
        expected: usize,
        /// Actual element count.
        got: usize,
    },
    /// A NaN or ±∞ in numeric data that is stored to or read from disk (a reference log-prob
    /// cache, an image-pair file: caught on write and on read) or handed to a collator.
    #[error("{file}: non-finite value {value} in `{tensor}` at index {index}")]
    NonFinite {
        /// The file concerned (`<memory>` for in-memory data, `<batch>` for a collator's input).
        file: String,
        /// The tensor (or array) holding the value, e.g. `ref_chosen_logps`.
        tensor: String,
        /// Flat index of the value in that tensor; for a reference cache, the pair (record)
        /// index in dataset order.
        index: usize,
        /// The value (NaN, `inf` or `-inf`).
        value: f32,
    },
    /// A reference log-prob cache whose fingerprint does not match the dataset.
    #[error("stale reference cache: dataset fingerprint {expected:016x}, cache fingerprint {found:016x}")]
    StaleCache {
        /// Fingerprint of the dataset in hand.
        expected: u64,
        /// Fingerprint stored in the cache.
        found: u64,
    },
    /// An invalid argument or configuration value.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A batch with no rows: no items were given, or truncation dropped every item.
    #[error("empty batch: {items} items given, {dropped} dropped for having no completion token left after truncation")]
    EmptyBatch {
        /// Items given to the collator.
        items: usize,
        /// Items dropped by truncation.
        dropped: usize,
    },
    /// A Parquet file that cannot be decoded (not Parquet, corrupt, or an unsupported codec).
    #[error("{file}: parquet: {problem}")]
    Parquet {
        /// The file concerned.
        file: String,
        /// What went wrong.
        problem: String,
    },
    /// Text that a tokenizer cannot encode, or ids it cannot decode (message from the tokenizer).
    #[error("tokenizer: {0}")]
    Tokenize(String),
    /// Token ids that a tokenizer cannot decode.
    #[error("cannot decode token id {id}")]
    Decode {
        /// The offending id.
        id: u32,
    },
}

impl DataError {
    /// Builds an [`DataError::Io`] for `file`.
    pub fn io(file: impl fmt::Display, source: std::io::Error) -> Self {
        DataError::Io {
            file: file.to_string(),
            source: Arc::new(source),
        }
    }

    /// The [`RecordProblem`] if this is a per-record error.
    pub fn problem(&self) -> Option<&RecordProblem> {
        match self {
            DataError::Record { problem, .. } => Some(problem),
            _ => None,
        }
    }
}
