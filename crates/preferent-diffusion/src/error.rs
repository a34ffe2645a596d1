//! Typed errors of the diffusion-alignment losses.

use thiserror::Error;

/// What went wrong with a diffusion-alignment loss's input or configuration.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DiffusionError {
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
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range, in words.
        requirement: &'static str,
    },
}
