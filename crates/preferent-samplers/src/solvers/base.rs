//! The solver trait, step outputs with their Gaussian transition, and the sampling loop.

use crate::error::{SamplerError, SamplerResult};
use burn::tensor::{backend::Backend, Distribution, Tensor};

/// Reduction over the non-batch dimensions of a per-element log-probability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Sum over all non-batch elements (the exact log-density of the whole sample).
    Sum,
    /// Mean over all non-batch elements (DDPO/D3PO convention, scale-free in image size).
    Mean,
}

/// The Gaussian transition `p(x_next | x) = N(mean, std² I)` of one stochastic step.
///
/// `mean` is a tensor built from the model output, so gradients flow through it on an autodiff
/// backend; `std` is a host scalar of the schedule.
///
/// # Shapes
/// `mean: [batch, …]`.
#[derive(Debug, Clone)]
pub struct GaussianTransition<B: Backend, const D: usize> {
    /// Mean of the next sample.
    pub mean: Tensor<B, D>,
    /// Standard deviation of the next sample (isotropic).
    pub std: f64,
}

impl<B: Backend, const D: usize> GaussianTransition<B, D> {
    /// Log-probability of `x_next` per batch item.
    ///
    /// ```text
    /// log p = Σ_or_mean_i [ −(x_i − μ_i)²/(2 std²) − log std − ½ log 2π ]
    /// ```
    ///
    /// # Shapes
    /// `x_next: [batch, …]` like `mean`; returns `[batch]`.
    ///
    /// # Errors
    /// [`SamplerError::ShapeMismatch`] if the shapes differ; [`SamplerError::DegenerateTransition`]
    /// if `std` is 0 (the final step onto σ = 0).
    ///
    /// # References
    /// DDPO (arXiv:2305.13301) eq. (4); D3PO (arXiv:2311.13231) §4.
    pub fn log_prob(
        &self,
        x_next: &Tensor<B, D>,
        reduction: Reduction,
    ) -> SamplerResult<Tensor<B, 1>> {
        check_shape("x_next", &x_next.dims(), &self.mean.dims())?;
        if !(self.std > 0.0 && self.std.is_finite()) {
            return Err(SamplerError::DegenerateTransition);
        }
        let dims = self.mean.dims();
        let b = dims[0];
        let n: usize = dims[1..].iter().product();
        let diff = x_next.clone() - self.mean.clone();
        let per = diff
            .powi_scalar(2)
            .mul_scalar(-0.5 / (self.std * self.std))
            .sub_scalar(self.std.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln());
        let flat: Tensor<B, 2> = per.reshape([b, n]);
        let red = match reduction {
            Reduction::Sum => flat.sum_dim(1),
            Reduction::Mean => flat.mean_dim(1),
        };
        Ok(red.reshape([b]))
    }
}

/// What one call of [`Solver::step`] returns.
#[derive(Debug, Clone)]
pub struct StepOutput<B: Backend, const D: usize> {
    /// The sample at the next grid point.
    pub prev_sample: Tensor<B, D>,
    /// The x₀ prediction the step used, where the solver forms one.
    pub pred_original_sample: Option<Tensor<B, D>>,
    /// The Gaussian transition for stochastic steps (`None` for deterministic ones).
    pub transition: Option<GaussianTransition<B, D>>,
}

/// One solver step per model evaluation, for every sampler in this crate.
///
/// Designed around its hardest member, the stateful multistep DPM-Solver: `step` takes
/// `&mut self` because solvers keep a history of converted model outputs (and Heun/singlestep
/// solvers keep their anchor sample). Time is whatever [`Solver::timesteps`] lists: an integer
/// training timestep (stored as `f64`), a continuous `t`, or σ for EDM solvers. Every schedule
/// scalar is on the host; a step launches only tensor arithmetic, never a device read.
///
/// The loop is
/// ```text
/// for i in step_index .. timesteps.len():
///     out = model(scale_model_input(x), timesteps[i])
///     x   = step(out, x, noise).prev_sample
/// ```
/// which [`sample`] implements.
///
/// # Shapes
/// Samples and model outputs: `[batch, …]` with identical shapes.
pub trait Solver<B: Backend, const D: usize> {
    /// Model input times, one per model evaluation, in sampling order.
    fn timesteps(&self) -> &[f64];

    /// The index into [`Solver::timesteps`] of the next step.
    fn step_index(&self) -> usize;

    /// Starts sampling at step `index` (img2img / diffusers `set_begin_index`); clears history.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] if `index ≥ timesteps().len()`.
    fn set_begin_index(&mut self, index: usize) -> SamplerResult<()>;

    /// Resets to step 0 with an empty history.
    fn reset(&mut self) {
        // Index 0 always exists for a built solver.
        let _ = self.set_begin_index(0);
    }

    /// The nominal order of the solver.
    fn order(&self) -> usize;

    /// Whether steps inject noise.
    fn is_stochastic(&self) -> bool;

    /// Standard deviation of the initial noise (1 for VP solvers, σ_max for EDM).
    fn init_noise_sigma(&self) -> f64 {
        1.0
    }

    /// Scales the sample before it is passed to the model (identity for VP solvers).
    fn scale_model_input(&self, sample: Tensor<B, D>) -> Tensor<B, D> {
        sample
    }

    /// Forward-noises clean data to the grid point of step `index`: `α x₀ + σ n`.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] or [`SamplerError::ShapeMismatch`].
    fn add_noise(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        index: usize,
    ) -> SamplerResult<Tensor<B, D>>;

    /// Advances `sample` from `timesteps()[step_index()]` to the next grid point.
    ///
    /// `noise` is used by stochastic steps (a standard normal of the sample's shape); when it is
    /// `None` the solver draws it with `Tensor::random`. Deterministic steps ignore it.
    ///
    /// # Errors
    /// [`SamplerError::ShapeMismatch`] for mismatched shapes, [`SamplerError::PastEnd`] after the
    /// last step.
    fn step(
        &mut self,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>>;
}

/// Progress report handed to the [`sample`] callback after every step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Index of the step just taken.
    pub step: usize,
    /// Total number of steps in the schedule.
    pub total: usize,
    /// The model time of the step just taken.
    pub t: f64,
}

/// `Err(PastEnd)` unless `index < len`: the bounds check of every `set_begin_index` and `step`.
pub(crate) fn check_index(index: usize, len: usize) -> SamplerResult<()> {
    if index >= len {
        return Err(SamplerError::PastEnd { index, len });
    }
    Ok(())
}

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

/// `x_t = α_t·x₀ + σ_t·ε` at grid point `index` of a VP grid (`len` = number of timesteps, for the
/// error message); shared by every VP solver's [`Solver::add_noise`].
pub(crate) fn vp_add_noise<B: Backend, const D: usize>(
    grid: &[crate::schedule::GridPoint],
    len: usize,
    original: Tensor<B, D>,
    noise: Tensor<B, D>,
    index: usize,
) -> SamplerResult<Tensor<B, D>> {
    check_shape("noise", &noise.dims(), &original.dims())?;
    let p = grid
        .get(index)
        .ok_or(SamplerError::PastEnd { index, len })?;
    Ok(original.mul_scalar(p.alpha) + noise.mul_scalar(p.sigma))
}

pub(crate) fn standard_normal<B: Backend, const D: usize>(
    like: &Tensor<B, D>,
    noise: Option<Tensor<B, D>>,
) -> SamplerResult<Tensor<B, D>> {
    match noise {
        Some(n) => {
            check_shape("noise", &n.dims(), &like.dims())?;
            Ok(n)
        }
        None => Ok(Tensor::random(
            like.shape(),
            Distribution::Normal(0.0, 1.0),
            &like.device(),
        )),
    }
}

/// Runs the solver from its current step to the end.
///
/// `model(x, t)` returns the prediction the solver was configured for (ε, x₀, v or score).
/// Stochastic solvers draw their noise with `Tensor::random`; use [`sample_with_noise`] to inject
/// it. `callback` runs after every step.
///
/// # Shapes
/// `x: [batch, …]`; returns the same shape.
///
/// # Errors
/// Whatever [`Solver::step`] returns.
pub fn sample<B, const D: usize, S, M, C>(
    solver: &mut S,
    model: M,
    x: Tensor<B, D>,
    callback: C,
) -> SamplerResult<Tensor<B, D>>
where
    B: Backend,
    S: Solver<B, D> + ?Sized,
    M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
    C: FnMut(Progress),
{
    sample_with_noise(solver, model, x, |_| None, callback)
}

/// [`sample`] with injected noise: `noise(step)` supplies the standard normal for that step
/// (`None` lets the solver draw it).
///
/// # Shapes
/// `x: [batch, …]`; returns the same shape.
///
/// # Errors
/// Whatever [`Solver::step`] returns.
pub fn sample_with_noise<B, const D: usize, S, M, N, C>(
    solver: &mut S,
    model: M,
    mut x: Tensor<B, D>,
    mut noise: N,
    mut callback: C,
) -> SamplerResult<Tensor<B, D>>
where
    B: Backend,
    S: Solver<B, D> + ?Sized,
    M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
    N: FnMut(usize) -> Option<Tensor<B, D>>,
    C: FnMut(Progress),
{
    let total = solver.timesteps().len();
    while solver.step_index() < total {
        let i = solver.step_index();
        let t = solver.timesteps()[i];
        let out = model(&solver.scale_model_input(x.clone()), t);
        let z = if solver.is_stochastic() {
            noise(i)
        } else {
            None
        };
        x = solver.step(out, x, z)?.prev_sample;
        callback(Progress { step: i, total, t });
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    // scipy (tests/reference/logprob_reference.py):
    //   norm(loc=mean, scale=0.3).logpdf(x).sum(axis=1) / .mean(axis=1)
    const LOGPROB_SUM: [f64; 2] = [-1.929931457757473, -0.8743759022019175];
    const LOGPROB_MEAN: [f64; 2] = [-0.9649657288787366, -0.43718795110095876];

    #[test]
    fn gaussian_log_prob_matches_scipy() {
        let d = device();
        let tr = GaussianTransition {
            mean: tensor::<TestBackend, 2>(&[0.5, -1.0, 0.0, 2.0], [2, 2], &d),
            std: 0.3,
        };
        let x = tensor::<TestBackend, 2>(&[0.2, -0.4, 0.1, 2.5], [2, 2], &d);
        let s = to_vec(tr.log_prob(&x, Reduction::Sum).unwrap());
        let m = to_vec(tr.log_prob(&x, Reduction::Mean).unwrap());
        assert_close(&s, &LOGPROB_SUM, 1e-5, 1e-5);
        assert_close(&m, &LOGPROB_MEAN, 1e-5, 1e-5);
        let det = GaussianTransition {
            mean: x.clone(),
            std: 0.0,
        };
        assert_eq!(
            det.log_prob(&x, Reduction::Sum).unwrap_err(),
            SamplerError::DegenerateTransition
        );
    }
}
