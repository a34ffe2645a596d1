//! Typed errors of the RL objectives.

use thiserror::Error;

/// What went wrong with an RL objective's input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RlError {
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
    /// The batch has no rows or no steps.
    #[error("empty batch: `{name}` has no elements")]
    EmptyBatch {
        /// The offending argument.
        name: &'static str,
    },
    /// A set-function value or gain is NaN or infinite.
    #[error("non-finite value in `{name}` at index {index}")]
    NonFinite {
        /// The offending argument.
        name: &'static str,
        /// Where the first non-finite value sits (flattened).
        index: usize,
    },
}
