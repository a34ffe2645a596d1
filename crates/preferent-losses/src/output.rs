//! The common return type of every loss: a differentiable scalar plus detached metrics.

use burn::tensor::{backend::Backend, Tensor};

/// A loss value together with the metrics that TRL would log for it.
///
/// `loss` is a one-element tensor that carries gradients; everything in `metrics` is detached
/// (host `f64` values or detached tensors), so logging never extends the autodiff graph.
#[derive(Debug, Clone)]
pub struct LossOutput<B: Backend, M> {
    /// The scalar loss (shape `[1]`), differentiable with respect to the inputs.
    pub loss: Tensor<B, 1>,
    /// Detached metrics (rewards, margins, accuracies, …).
    pub metrics: M,
}
