//! The common return type of every loss: a differentiable scalar, detached metrics, and a
//! detached non-finite indicator.

use burn::tensor::{backend::Backend, Bool, Tensor};

/// A loss value together with the metrics that TRL would log for it.
///
/// `loss` is a one-element tensor that carries gradients; `metrics` are detached tensors (read
/// them on demand, e.g. every N steps, with their `read()` / [`LossMetrics::to_log`]: one device
/// transfer), so neither logging nor the finiteness check forces a device sync per step.
///
/// [`LossMetrics::to_log`]: crate::base::LossMetrics::to_log
#[derive(Debug, Clone)]
pub struct LossOutput<B: Backend, M> {
    /// The scalar loss (shape `[1]`), differentiable with respect to the inputs.
    pub loss: Tensor<B, 1>,
    /// Detached metrics (rewards, margins, accuracies, …).
    pub metrics: M,
    /// Detached `[1]` indicator: `true` when any input of the loss or the loss itself holds a
    /// NaN or ±∞. Computed on the device; read it on your own schedule (the trainer stops or
    /// skips the step on it).
    pub non_finite: Tensor<B, 1, Bool>,
}

impl<B: Backend, M> LossOutput<B, M> {
    /// Builds the output, with the indicator over everything `watch` saw plus the loss.
    pub fn new(loss: Tensor<B, 1>, metrics: M, watch: FiniteWatch<B>) -> Self {
        let non_finite = watch.watch(&loss).finish();
        Self {
            loss,
            metrics,
            non_finite,
        }
    }

    /// Reads [`LossOutput::non_finite`] back to the host (one device sync).
    pub fn is_non_finite(&self) -> bool {
        self.non_finite
            .clone()
            .int()
            .into_data()
            .iter::<i64>()
            .any(|v| v != 0)
    }
}

/// Accumulates an on-device "something was NaN or ±∞" flag over several tensors.
///
/// Each watched tensor adds `Σ 0·x` to a running `[1]` sum, which is NaN exactly when some
/// element is NaN or ±∞ (and, unlike `Σ x`, cannot overflow). Nothing is read back.
#[derive(Debug, Clone)]
pub struct FiniteWatch<B: Backend> {
    acc: Option<Tensor<B, 1>>,
}

impl<B: Backend> Default for FiniteWatch<B> {
    fn default() -> Self {
        Self { acc: None }
    }
}

impl<B: Backend> FiniteWatch<B> {
    /// An empty watch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tensor to the watch (detached; one multiply and one sum on the device).
    pub fn watch<const D: usize>(mut self, t: &Tensor<B, D>) -> Self {
        let s = t.clone().detach().mul_scalar(0.0).sum();
        self.acc = Some(match self.acc.take() {
            Some(a) => a + s,
            None => s,
        });
        self
    }

    /// Adds an optional tensor.
    pub fn watch_opt<const D: usize>(self, t: Option<&Tensor<B, D>>) -> Self {
        match t {
            Some(t) => self.watch(t),
            None => self,
        }
    }

    /// The `[1]` indicator (`false` when nothing was watched).
    pub fn finish(self) -> Tensor<B, 1, Bool> {
        match self.acc {
            Some(a) => a.is_nan(),
            None => Tensor::<B, 1>::zeros([1], &Default::default()).is_nan(),
        }
    }
}
