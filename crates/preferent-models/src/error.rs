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
    /// A sequence argument is unusable (e.g. prompts of different lengths, or longer than the
    /// context).
    #[error("sequence error: {0}")]
    Sequence(String),
    /// A token id outside the model's vocabulary `0..vocab_size`, typically from a tokenizer
    /// whose special ids (BOS/EOS/PAD) the model was not built for.
    #[error(
        "token id {id} at row {row}, position {position} is outside the model's vocabulary \
         0..{vocab_size} (build the model with the tokenizer's vocab_size)"
    )]
    TokenOutOfRange {
        /// The offending id.
        id: i64,
        /// Its batch row.
        row: usize,
        /// Its position in the row.
        position: usize,
        /// The model's vocabulary size.
        vocab_size: usize,
    },
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
    /// A training loss was NaN or ±∞ (found by the trainer's scheduled check,
    /// [`Trainer::with_nonfinite_check`](crate::train::Trainer::with_nonfinite_check)).
    #[error(
        "non-finite loss at step {step} (batch seed {batch_seed:#018x}); model, optimiser and \
         scheduler restored to step {restored_step}"
    )]
    NonFiniteLoss {
        /// The first step (0-based, as [`Trainer::step`](crate::train::Trainer::step) before it)
        /// whose loss was not finite.
        step: usize,
        /// [`Trainer::step_seed`](crate::train::Trainer::step_seed) at that step: the seed its
        /// batch was drawn from.
        batch_seed: u64,
        /// The step the trainer was restored to (the last check that passed).
        restored_step: usize,
    },
    /// A model weight holds NaN or ±∞: refused on [`Trainer::save`](crate::train::Trainer::save)
    /// (nothing is written) and on [`Trainer::load`](crate::train::Trainer::load).
    #[error("{path}: parameter #{index} (shape {shape:?}, module-visit order) holds NaN or ±∞")]
    NonFiniteParameter {
        /// The weights file (written or read).
        path: String,
        /// Index of the parameter in module-visit order.
        index: usize,
        /// Its shape.
        shape: Vec<usize>,
    },
    /// A checkpoint could not be written or read.
    #[error("checkpoint error: {0}")]
    Checkpoint(String),
    /// A loss rejected its input (the shared preference-loss vocabulary).
    #[error(transparent)]
    Loss(#[from] preferent_losses::LossError),
    /// A data file, record or batch was rejected.
    #[error(transparent)]
    Data(#[from] preferent_data::DataError),
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
