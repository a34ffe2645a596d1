//! A thin training state over burn's optimiser and scheduler: one call per step.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::{AdamWConfig, GradientsParams, LearningRate, Optimizer, SimpleOptimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;

/// burn's `AdamWConfig` with the given weight decay and global-norm gradient clipping.
///
/// Betas (0.9, 0.999) and ε = 1e-5 are burn's defaults; `clip_norm = None` disables clipping.
/// Clipping is done by burn's optimiser (`GradientClippingConfig::Norm`), per parameter tensor.
pub fn adamw(weight_decay: f32, clip_norm: Option<f32>) -> AdamWConfig {
    AdamWConfig::new()
        .with_weight_decay(weight_decay)
        .with_grad_clipping(clip_norm.map(GradientClippingConfig::Norm))
}

/// Model + burn optimiser + burn LR scheduler + step counter + data seed.
///
/// The training loop stays with the caller (compute a loss from `trainer.model`, then
/// [`Trainer::apply`]); everything needed for an exact resume is here and is written by
/// [`Trainer::save`] / read by [`Trainer::load`]. Per-step randomness should come from
/// [`Trainer::step_seed`], which depends only on `(seed, step)`, so a resumed run draws the same
/// batches as an uninterrupted one.
///
/// # Example
/// ```text
/// let mut tr = Trainer::new(model, adamw(0.0, Some(1.0)).init(), sched, 42);
/// for _ in 0..steps {
///     let batch = make_batch(tr.step_seed());
///     let loss = tr.model.lm_loss(batch.tokens, batch.mask);
///     tr.apply(loss);
/// }
/// ```
pub struct Trainer<B, M, O, S>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: SimpleOptimizer<B::InnerBackend>,
    S: LrScheduler,
{
    /// The model being trained.
    pub model: M,
    /// burn's optimiser adaptor (e.g. from [`AdamWConfig::init`]).
    pub optim: OptimizerAdaptor<O, M, B>,
    /// burn LR scheduler.
    pub scheduler: S,
    /// Number of optimiser steps taken.
    pub step: usize,
    /// Seed from which per-step randomness is derived.
    pub seed: u64,
}

impl<B, M, O, S> Trainer<B, M, O, S>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: SimpleOptimizer<B::InnerBackend>,
    S: LrScheduler,
{
    /// Starts at step 0.
    pub fn new(model: M, optim: OptimizerAdaptor<O, M, B>, scheduler: S, seed: u64) -> Self {
        super::materialize(&model);
        Self {
            model,
            optim,
            scheduler,
            step: 0,
            seed,
        }
    }

    /// Back-propagates `loss`, advances the scheduler and takes one optimiser step.
    /// Returns the learning rate used.
    pub fn apply(&mut self, loss: Tensor<B, 1>) -> LearningRate {
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let lr = self.scheduler.step();
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.step += 1;
        lr
    }

    /// A seed for this step's randomness (SplitMix64 of `seed` and `step`).
    pub fn step_seed(&self) -> u64 {
        splitmix64(self.seed ^ splitmix64(self.step as u64))
    }
}

/// SplitMix64 finaliser (Steele et al. 2014): a cheap, well-mixed 64-bit hash.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
