//! The error type of preferent-models.

/// Everything that can go wrong in preferent-models on user input or I/O.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is outside its valid range.
    #[error("invalid config: {field} = {value} ({reason})")]
    InvalidConfig {
        /// Name of the offending field.
        field: &'static str,
        /// The value that was given, formatted.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// A tensor argument has the wrong shape.
    #[error("shape mismatch for {what}: expected {expected}, got {got:?}")]
    Shape {
        /// Which argument.
        what: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape that was given.
        got: Vec<usize>,
    },
    /// A token id is not below the vocabulary size, or a sequence is longer than the context.
    #[error("sequence error: {0}")]
    Sequence(String),
    /// Reading or writing a file failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A data file could not be parsed.
    #[error("parse error in {what}: {reason}")]
    Parse {
        /// Which file or record.
        what: String,
        /// What was wrong.
        reason: String,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint error: {0}")]
    Checkpoint(String),
}

/// Convenience alias.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid(
    field: &'static str,
    value: impl std::fmt::Display,
    reason: &'static str,
) -> Error {
    Error::InvalidConfig {
        field,
        value: value.to_string(),
        reason,
    }
}
