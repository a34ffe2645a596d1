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
    /// A loss variant needs an input that the caller did not supply.
    #[error("missing input `{name}`: {reason}")]
    MissingInput {
        /// The missing argument.
        name: &'static str,
        /// Which setting needs it.
        reason: &'static str,
    },
    /// An index (e.g. a token label) lies outside its valid range.
    #[error("index out of range in `{name}`: {value} is not in [0, {bound})")]
    IndexOutOfRange {
        /// The offending argument.
        name: &'static str,
        /// The offending value.
        value: i64,
        /// The exclusive upper bound.
        bound: usize,
    },
    /// A string does not name a known variant (e.g. an unknown TRL `loss_type`).
    #[error("unknown {kind} `{value}`")]
    UnknownVariant {
        /// What was being parsed (e.g. "DPO loss_type").
        kind: &'static str,
        /// The string given.
        value: String,
    },
    /// An input value lies outside the domain the loss is defined on (e.g. a mean log-prob that
    /// is not negative, target weights that are not a distribution, too few valid list entries).
    #[error("input out of domain: `{name}` at index {index}: must be {requirement}")]
    OutOfDomain {
        /// The offending argument.
        name: &'static str,
        /// The first offending index (flat element index, or row for per-row requirements).
        index: usize,
        /// The requirement, in words.
        requirement: &'static str,
    },
}
