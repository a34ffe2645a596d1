//! The typed errors every loss returns for bad input.

use thiserror::Error;

/// What went wrong with a loss's input or configuration.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LossError {
    /// Two inputs that must agree in shape do not.
    #[error("shape mismatch: `{name}` has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The offending argument.
        name: &'static str,
        /// Its shape.
        actual: Vec<usize>,
        /// The shape it had to have.
        expected: Vec<usize>,
    },
    /// The batch has no rows.
    #[error("empty batch: `{name}` has no elements")]
    EmptyBatch {
        /// The offending argument.
        name: &'static str,
    },
    /// A hyperparameter lies outside its valid range.
    #[error("invalid hyperparameter `{name}` = {value}: must be {requirement}")]
    InvalidParameter {
        /// The parameter's name (as in the config).
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range, in words (e.g. "> 0", "in [0, 0.5)").
        requirement: &'static str,
    },
    /// The caller asked for a finiteness check and an input holds NaN or ±∞.
    #[error("non-finite input: `{name}` contains NaN or infinity")]
    NonFinite {
        /// The offending argument.
        name: &'static str,
    },
}
