//! A thin training state over burn's optimiser and scheduler: one call per step.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::{AdamWConfig, GradientsParams, LearningRate, Optimizer, SimpleOptimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Int, Tensor};

use crate::error::{invalid, Error};

/// "No non-finite loss since the last check" in [`Guard::first_bad`].
const NO_BAD_STEP: i64 = i32::MAX as i64;

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
/// With [`Trainer::with_nonfinite_check`], a NaN or ±∞ loss stops training with
/// [`Error::NonFiniteLoss`] (step and batch seed) at the next scheduled check, the trainer back
/// at its last good state — without a per-step device sync.
///
/// # Example
/// ```text
/// let mut tr = Trainer::new(model, adamw(0.0, Some(1.0)).init(), sched, 42)
///     .with_nonfinite_check(50)?;
/// for _ in 0..steps {
///     let batch = make_batch(tr.step_seed());
///     let loss = tr.model.lm_loss(batch.tokens, batch.mask)?;
///     tr.try_apply(loss)?; // Err(NonFiniteLoss { step, batch_seed, .. }) on a NaN loss
/// }
/// tr.check_finite()?; // the steps since the last scheduled check
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
    /// The non-finite loss check, when enabled ([`Trainer::with_nonfinite_check`]).
    pub(crate) guard: Option<Guard<B, M, O, S>>,
}

/// State of the non-finite loss check.
pub(crate) struct Guard<B, M, O, S>
where
    B: AutodiffBackend,
    M: AutodiffModule<B>,
    O: SimpleOptimizer<B::InnerBackend>,
    S: LrScheduler,
{
    /// Check every this many steps.
    every: usize,
    /// On the device, detached: the first step since the last check whose loss was NaN or ±∞
    /// ([`NO_BAD_STEP`] if none); `None` before the first step after a check.
    first_bad: Option<Tensor<B::InnerBackend, 1, Int>>,
    /// Model, optimiser and scheduler at the last check that passed.
    good: (M, OptimizerAdaptor<O, M, B>, S, usize),
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
            guard: None,
        }
    }

    /// Turns on the non-finite loss check: every step records, on the device and detached, whether
    /// its loss was NaN or ±∞ (no host sync); every `every` steps [`Trainer::try_apply`] reads
    /// that one flag back (the only sync) and, if a loss since the last check was non-finite,
    /// restores the model, optimiser, scheduler and step counter to the last check that passed
    /// and returns [`Error::NonFiniteLoss`] naming the first bad step and its batch seed
    /// ([`Trainer::step_seed`] at that step). A NaN therefore never trains on unnoticed, and the
    /// state the trainer is left in is the last good one (save it, or fix the data and go on).
    ///
    /// The trainer keeps one extra copy of the model and optimiser state (the last good one).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `every` is 0.
    pub fn with_nonfinite_check(mut self, every: usize) -> crate::Result<Self> {
        if every == 0 {
            return Err(invalid("every", every, "must be at least 1"));
        }
        self.guard = Some(Guard {
            every,
            first_bad: None,
            good: self.snapshot(),
        });
        Ok(self)
    }

    fn snapshot(&self) -> (M, OptimizerAdaptor<O, M, B>, S, usize) {
        (
            self.model.clone(),
            self.optim.clone(),
            self.scheduler.clone(),
            self.step,
        )
    }

    /// [`Trainer::apply`], then, with the non-finite check on
    /// ([`Trainer::with_nonfinite_check`]), the check when the step count reaches a multiple of
    /// its interval.
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] as [`Trainer::check_finite`].
    pub fn try_apply(&mut self, loss: Tensor<B, 1>) -> crate::Result<LearningRate> {
        let lr = self.apply(loss);
        if matches!(&self.guard, Some(g) if self.step.is_multiple_of(g.every)) {
            self.check_finite()?;
        }
        Ok(lr)
    }

    /// Runs the non-finite check now (e.g. before [`Trainer::save`] or at the end of training);
    /// a no-op when the check is off. One device-to-host read.
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] if a loss since the last check was NaN or ±∞; the model,
    /// optimiser, scheduler and step are then back at the last check that passed.
    pub fn check_finite(&mut self) -> crate::Result<()> {
        let Some(guard) = &mut self.guard else {
            return Ok(());
        };
        let Some(first) = guard.first_bad.take() else {
            return Ok(());
        };
        let first: i64 = first.into_scalar().elem();
        if first >= NO_BAD_STEP {
            guard.good = (
                self.model.clone(),
                self.optim.clone(),
                self.scheduler.clone(),
                self.step,
            );
            return Ok(());
        }
        let (model, optim, scheduler, step) = guard.good.clone();
        self.model = model;
        self.optim = optim;
        self.scheduler = scheduler;
        self.step = step;
        let bad = first as usize;
        Err(Error::NonFiniteLoss {
            step: bad,
            batch_seed: self.seed_at(bad),
            restored_step: step,
        })
    }

    /// Back-propagates `loss`, advances the scheduler and takes one optimiser step.
    /// Returns the learning rate used.
    ///
    /// With the non-finite check on, the step's finiteness is recorded on the device (no sync);
    /// use [`Trainer::try_apply`] to have it checked on schedule.
    pub fn apply(&mut self, loss: Tensor<B, 1>) -> LearningRate {
        if let Some(guard) = &mut self.guard {
            let v = loss.clone().inner();
            let device = v.device();
            // x − x is NaN exactly when x is NaN or ±∞.
            let bad = (v.clone() - v).is_nan();
            let step = Tensor::<B::InnerBackend, 1, Int>::full(bad.dims(), NO_BAD_STEP, &device)
                .mask_fill(bad, self.step as i64)
                .min();
            guard.first_bad = Some(match guard.first_bad.take() {
                Some(prev) => prev.min_pair(step),
                None => step,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        let lr = self.scheduler.step();
        self.model = self.optim.step(lr, self.model.clone(), grads);
        self.step += 1;
        lr
    }

    /// A seed for this step's randomness (SplitMix64 of `seed` and `step`).
    pub fn step_seed(&self) -> u64 {
        self.seed_at(self.step)
    }

    /// [`Trainer::step_seed`] at step `step`.
    fn seed_at(&self, step: usize) -> u64 {
        splitmix64(self.seed ^ splitmix64(step as u64))
    }
}

/// SplitMix64 finaliser (Steele et al. 2014): a cheap, well-mixed 64-bit hash.
pub(crate) fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
