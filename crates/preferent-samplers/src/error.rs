//! Typed errors for sampler configuration and stepping.

use thiserror::Error;

/// Everything that can go wrong when building a schedule or solver, or when stepping one.
///
/// Bad user input (step counts, orders, shapes, option combinations) is always reported through
/// this enum; the crate never panics on it.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SamplerError {
    /// `num_inference_steps` was 0 or larger than the number of training timesteps.
    #[error("num_inference_steps = {steps} is invalid: must be in 1..={max}")]
    InvalidStepCount {
        /// The requested number of steps.
        steps: usize,
        /// The largest allowed number (the number of training timesteps).
        max: usize,
    },
    /// The solver order is not supported by this solver/algorithm combination.
    #[error("solver order {order} is not supported here: {reason}")]
    UnsupportedOrder {
        /// The requested order.
        order: usize,
        /// Why it is not supported.
        reason: &'static str,
    },
    /// Two options that cannot be combined were both set, or an option value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The beta schedule is invalid (empty, out of (0, 1), or non-finite).
    #[error("invalid beta schedule: {0}")]
    InvalidBetas(String),
    /// Custom timesteps were empty, out of range or not strictly decreasing.
    #[error("invalid timesteps: {0}")]
    InvalidTimesteps(String),
    /// Two tensors that must have the same shape do not.
    #[error("shape mismatch: {what} has shape {actual:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Which tensor was wrong.
        what: &'static str,
        /// Its shape.
        actual: Vec<usize>,
        /// The shape it should have.
        expected: Vec<usize>,
    },
    /// `step` was called after the last step of the schedule.
    #[error("step index {index} is past the end of the schedule ({len} steps)")]
    PastEnd {
        /// The step index that was requested.
        index: usize,
        /// The number of steps in the schedule.
        len: usize,
    },
    /// A sample (or another value the sampler produced) holds a NaN or ±∞.
    #[error("non-finite values in the {what} after step {step}")]
    NonFinite {
        /// What was not finite.
        what: &'static str,
        /// The first step after which it was seen.
        step: usize,
    },
    /// The log-probability was requested for a deterministic (zero-variance) transition.
    #[error("the transition is deterministic (std = 0); its log-probability is undefined")]
    DegenerateTransition,
}

/// `Result` with [`SamplerError`].
pub type SamplerResult<T> = std::result::Result<T, SamplerError>;

/// `Err(ShapeMismatch)` unless `actual == expected`: the one shape check of the crate.
pub(crate) fn check_shape(
    what: &'static str,
    actual: &[usize],
    expected: &[usize],
) -> SamplerResult<()> {
    if actual != expected {
        return Err(SamplerError::ShapeMismatch {
            what,
            actual: actual.to_vec(),
            expected: expected.to_vec(),
        });
    }
    Ok(())
}
