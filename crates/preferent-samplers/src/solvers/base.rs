//! The solver family: the [`Solver`] trait, the [`Sampler`] driver that owns the step position,
//! step outputs with their Gaussian transition, priors, trajectories and the sampling loop.
//!
//! # Design
//! A [`Solver`] is immutable: its configuration and its typed [`TimeGrid`]. What a multistep or
//! Heun solver remembers between steps (model-output history, the anchor sample) is its
//! [`Solver::State`], passed in explicitly, so
//! - a step can be *proposed* without being committed ([`Sampler::peek`]; SPO branches several
//!   candidates from one `x_t`), and a solver or a sampler can be cloned mid-run;
//! - stored steps can be re-scored under another model ([`Trajectory::rescore`]; D3PO/SPO's
//!   policy and frozen reference);
//! - the step position, bounds and shape checks, noise drawing, `set_begin_index` and forward
//!   noising are written once, in [`Sampler`] and [`TimeGrid`], not in every solver.

pub(crate) use crate::error::check_shape;
use crate::error::{SamplerError, SamplerResult};
use crate::schedule::{GridPoint, TimeGrid};
use burn::tensor::{backend::Backend, Bool, Distribution, ElementConversion, Shape, Tensor};
use std::fmt::Debug;
use std::marker::PhantomData;

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

/// What one step returns.
#[derive(Debug, Clone)]
pub struct StepOutput<B: Backend, const D: usize> {
    /// The sample at the next grid point.
    pub prev_sample: Tensor<B, D>,
    /// The x₀ prediction the step used, where the solver forms one.
    pub pred_original_sample: Option<Tensor<B, D>>,
    /// The Gaussian transition for stochastic steps (`None` for deterministic ones).
    pub transition: Option<GaussianTransition<B, D>>,
}

impl<B: Backend, const D: usize> StepOutput<B, D> {
    /// A detached on-device indicator: `[true]` when `prev_sample` holds a NaN or ±∞.
    ///
    /// Nothing is read back: check it on your own schedule (every N steps, or once at the end,
    /// as [`Sampler::sample`] does) instead of forcing a device sync per step.
    pub fn non_finite(&self) -> Tensor<B, 1, Bool> {
        non_finite(&self.prev_sample)
    }
}

/// `[true]` iff `x` holds a NaN or ±∞: `Σ 0·x` is NaN exactly then (and cannot overflow).
pub(crate) fn non_finite<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Tensor<B, 1, Bool> {
    x.clone().detach().mul_scalar(0.0).sum().is_nan()
}

/// The distribution of the initial sample `x_T` a solver starts from.
///
/// Every sample is `[batch, …]`; `N` below is the number of coordinates of one row
/// (`numel / batch`), the data dimension of PFGM++.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Prior {
    /// `N(0, std² I)`: std 1 for VP and flow solvers (diffusers `init_noise_sigma = 1`), σ_max
    /// for EDM.
    Gaussian {
        /// The standard deviation.
        std: f64,
    },
    /// PFGM++'s prior: its perturbation kernel at `σ_max` around 0, unclipped (the official
    /// sampler's `rand_beta_prime`, which unlike training does not clip the Beta draw).
    ///
    /// ```text
    /// x_T = R·u,   u uniform on the unit sphere S^{N−1}   (u = g/‖g‖, g ~ N(0, I_N))
    /// R = σ_max·√D·√X,   X ~ BetaPrime(N/2, D/2)
    ///   (X = B/(1−B), B ~ Beta(N/2, D/2); equivalently X = G_N/G_D, G_k ~ Gamma(k/2, 1))
    /// density ∝ 1/(‖x‖² + r²)^{(N+D)/2} with r = σ_max·√D
    /// per-coordinate RMS = √(E‖x_T‖²/N) = σ_max·√(D/(D−2))   (D > 2; +∞ for D ≤ 2)
    /// ```
    /// As D → ∞ this tends to `N(0, σ_max² I)`, EDM's prior.
    ///
    /// # References
    /// Xu et al., PFGM++ (arXiv:2302.04265) §3 (perturbation kernel, r = σ√D alignment);
    /// Newbeeer/pfgmpp `generate.py:208-231` (`rand_beta_prime`, unclipped torch `Beta`).
    Pfgmpp {
        /// σ_max of the aligned EDM schedule (the kernel's r is `σ_max·√D`).
        sigma_max: f64,
        /// The augmentation dimension D (the official `--aug_dim`, ≥ 2).
        aug_dim: usize,
    },
}

impl Prior {
    /// The prior's per-coordinate standard deviation (diffusers `init_noise_sigma`): `std` for
    /// the Gaussian prior; the per-coordinate RMS `σ_max·√(D/(D−2))` for PFGM++ (`+∞` for
    /// `D ≤ 2`, where E‖x_T‖² diverges).
    pub fn std(&self) -> f64 {
        match *self {
            Prior::Gaussian { std } => std,
            Prior::Pfgmpp { sigma_max, aug_dim } => crate::pfgmpp::prior_rms(sigma_max, aug_dim),
        }
    }

    /// Draws `x_T` with burn's random stream on `device`.
    ///
    /// For PFGM++ the radius comes from a second standard normal `h ~ N(0, I_D)` per row:
    /// `x_T = σ_max·√D·g/‖h‖` with `g ~ N(0, I)` of `shape`, which is exactly `R·u` above
    /// (`‖g‖²/‖h‖² ~ BetaPrime(N/2, D/2)`, independent of `g/‖g‖`). Use
    /// [`Prior::sample_seeded`] for the same `x_T` on every backend.
    ///
    /// # Shapes
    /// Returns `shape` (`[batch, …]`).
    pub fn sample<B: Backend, const D: usize>(
        &self,
        shape: [usize; D],
        device: &B::Device,
    ) -> Tensor<B, D> {
        match *self {
            Prior::Gaussian { std } => {
                Tensor::random(Shape::new(shape), Distribution::Normal(0.0, std), device)
            }
            Prior::Pfgmpp { .. } => {
                let g = Tensor::random(Shape::new(shape), Distribution::Normal(0.0, 1.0), device);
                self.from_standard_normal(g)
            }
        }
    }

    /// Maps standard-normal noise `n` to a prior sample, so a caller who builds noise on the
    /// host gets the same `x_T` on every backend: `std·n` for the Gaussian prior.
    ///
    /// For PFGM++, `n` fixes the direction `n/‖n‖` and the radius needs `D` more normals per
    /// row, drawn here with burn's random stream (`x_T = σ_max·√D·n/‖h‖`, `h ~ N(0, I_D)`), so
    /// the result is *not* host-reproducible; [`Prior::sample_seeded`] is.
    ///
    /// # Shapes
    /// `noise: [batch, …]`; returns the same shape.
    pub fn from_standard_normal<B: Backend, const D: usize>(
        &self,
        noise: Tensor<B, D>,
    ) -> Tensor<B, D> {
        match *self {
            Prior::Gaussian { std } => noise.mul_scalar(std),
            Prior::Pfgmpp { sigma_max, aug_dim } => {
                crate::pfgmpp::prior_from_device_normal(noise, sigma_max, aug_dim)
            }
        }
    }

    /// Draws `x_T` entirely on the host from a seeded `StdRng` and uploads it, so the same seed
    /// gives the same `x_T` (up to the f32 upload) on every backend.
    ///
    /// ```text
    /// Gaussian:  x_T = std·g
    /// PFGM++:    x_T = σ_max·√D·√(G_N/G_D)·g/‖g‖,  G_k ~ Gamma(k/2, 1) per row
    /// ```
    /// with `g ~ N(0, I)` per row (the Gammas are drawn after the row's normals).
    ///
    /// # Shapes
    /// Returns `shape` (`[batch, …]`).
    ///
    /// # Errors
    /// [`SamplerError::InvalidConfig`] for a PFGM++ prior with `aug_dim = 0` or a row with no
    /// coordinates.
    pub fn sample_seeded<B: Backend, const D: usize>(
        &self,
        shape: [usize; D],
        seed: u64,
        device: &B::Device,
    ) -> SamplerResult<Tensor<B, D>> {
        let values = match *self {
            Prior::Gaussian { std } => crate::pfgmpp::host_gaussian(&shape, std, seed),
            Prior::Pfgmpp { sigma_max, aug_dim } => {
                crate::pfgmpp::host_prior(&shape, sigma_max, aug_dim, seed)?
            }
        };
        let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        Ok(Tensor::from_data(
            burn::tensor::TensorData::new(data, shape),
            device,
        ))
    }
}

/// What a solver is, independent of the backend: its typed grid, order, stochasticity, prior and
/// where it may start. The supertrait of [`Solver`]; import it to read a bare solver's
/// [`SolverSpec::timesteps`] without naming a backend.
pub trait SolverSpec: Clone + Debug + Send + Sync {
    /// The typed time grid: grid points, the model time of every evaluation, and what those
    /// times are.
    fn time_grid(&self) -> &TimeGrid;

    /// Model times, one per model evaluation, in sampling order.
    fn timesteps(&self) -> &[f64] {
        self.time_grid().model_times()
    }

    /// The nominal order of the solver.
    fn order(&self) -> usize;

    /// Whether steps inject noise.
    fn is_stochastic(&self) -> bool;

    /// The distribution of `x_T` (default `N(0, I)`).
    fn prior(&self) -> Prior {
        Prior::Gaussian { std: 1.0 }
    }

    /// Whether sampling may start at evaluation `index` (img2img). Default: every evaluation;
    /// Heun refuses its correction stages.
    fn can_begin_at(&self, index: usize) -> bool {
        index < self.time_grid().len()
    }
}

/// A diffusion ODE/SDE solver: an immutable configuration with its [`TimeGrid`]
/// ([`SolverSpec`]), plus the pure step rule from evaluation `k` to the next point.
///
/// Designed for its hardest members: multistep DPM-Solver keeps a history of converted model
/// outputs and Heun keeps its predictor sample — both live in [`Solver::State`], which
/// [`Solver::step`] updates and the [`Sampler`] driver owns. Everything a step needs from the
/// schedule is a host scalar; a step launches only tensor arithmetic, never a device read.
///
/// Implementors write the update only. [`Sampler`] checks the step index against the grid, the
/// model-output and noise shapes, and draws the standard normal a stochastic step needs, so
/// `step` may assume `index < time_grid().len()`, equal shapes, and `noise = Some(z)` whenever
/// [`SolverSpec::is_stochastic`] is true.
///
/// # Shapes
/// Samples and model outputs: `[batch, …]` with identical shapes.
pub trait Solver<B: Backend, const D: usize>: SolverSpec {
    /// What the solver remembers between steps (`()` for one-step solvers). `Default` is the
    /// empty history of a fresh run.
    type State: Clone + Debug + Default + Send + Sync;

    /// Scales the sample before it is passed to the model at evaluation `index` (identity by
    /// default).
    fn scale_model_input(&self, sample: Tensor<B, D>, _index: usize) -> Tensor<B, D> {
        sample
    }

    /// Advances `sample` from evaluation `index` to the next point, updating `state`.
    ///
    /// # Errors
    /// Solver-specific inconsistencies (e.g. a Heun correction without its predictor).
    fn step(
        &self,
        state: &mut Self::State,
        index: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>>;
}

/// Progress report handed to the sampling-loop callback after every step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Index of the step just taken.
    pub step: usize,
    /// Total number of steps in the schedule.
    pub total: usize,
    /// The model time of the step just taken.
    pub t: f64,
}

/// The driver around a [`Solver`]: it owns the step position and the solver's state, and is the
/// one place that checks bounds and shapes, draws noise, and runs the sampling loop.
///
/// ```text
/// sampler = Sampler::new(solver)
/// for k in step_index() .. len():
///     out = model(scale_model_input(x), timesteps()[k])
///     x   = step(out, x, noise).prev_sample
/// ```
/// which [`Sampler::sample`] implements. `Sampler` is `Clone` (tensors are reference-counted,
/// so a clone is cheap): clone-then-step equals step.
///
/// # Example
/// ```
/// use burn::backend::Flex;
/// use burn::tensor::Tensor;
/// use preferent_samplers::solvers::{DpmSolverMultistep, DpmSolverMultistepConfig, Sampler};
///
/// let solver = DpmSolverMultistep::new(DpmSolverMultistepConfig::new(), 10).unwrap();
/// let mut sampler = Sampler::<Flex, 2, _>::new(solver);
/// let x_t: Tensor<Flex, 2> = Tensor::ones([2, 3], &Default::default());
/// let x0 = sampler.sample(|x: &Tensor<Flex, 2>, _t| x.zeros_like(), x_t, |_| {}).unwrap();
/// assert_eq!(x0.dims(), [2, 3]);
/// assert_eq!(sampler.step_index(), 10);
/// ```
#[derive(Debug, Clone)]
pub struct Sampler<B: Backend, const D: usize, S: Solver<B, D>> {
    solver: S,
    state: S::State,
    index: usize,
    _b: PhantomData<B>,
}

impl<B: Backend, const D: usize, S: Solver<B, D>> Sampler<B, D, S> {
    /// A sampler at step 0 with an empty history.
    pub fn new(solver: S) -> Self {
        Self {
            solver,
            state: S::State::default(),
            index: 0,
            _b: PhantomData,
        }
    }

    /// The solver.
    pub fn solver(&self) -> &S {
        &self.solver
    }

    /// The solver's state (its history) before the next step.
    pub fn state(&self) -> &S::State {
        &self.state
    }

    /// Gives the solver back.
    pub fn into_solver(self) -> S {
        self.solver
    }

    /// The typed time grid.
    pub fn time_grid(&self) -> &TimeGrid {
        self.solver.time_grid()
    }

    /// Model times, one per model evaluation, in sampling order.
    pub fn timesteps(&self) -> &[f64] {
        self.solver.time_grid().model_times()
    }

    /// Number of steps (model evaluations) of a full run.
    pub fn len(&self) -> usize {
        self.solver.time_grid().len()
    }

    /// Always false: a built grid has at least one step.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The index of the next step.
    pub fn step_index(&self) -> usize {
        self.index
    }

    /// Whether every step has been taken.
    pub fn is_done(&self) -> bool {
        self.index >= self.len()
    }

    /// The model time of the next step, `None` when done.
    pub fn next_time(&self) -> Option<f64> {
        self.timesteps().get(self.index).copied()
    }

    /// The grid point of the next step, `None` when done.
    pub fn next_point(&self) -> Option<GridPoint> {
        self.solver.time_grid().point(self.index)
    }

    /// Starts sampling at step `index` (img2img / diffusers `set_begin_index`); clears history.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] if `index ≥ len()` or the solver cannot start there.
    pub fn set_begin_index(&mut self, index: usize) -> SamplerResult<()> {
        if !self.solver.can_begin_at(index) {
            return Err(SamplerError::PastEnd {
                index,
                len: self.len(),
            });
        }
        self.index = index;
        self.state = S::State::default();
        Ok(())
    }

    /// Resets to step 0 with an empty history.
    pub fn reset(&mut self) {
        self.index = 0;
        self.state = S::State::default();
    }

    /// The nominal order of the solver.
    pub fn order(&self) -> usize {
        self.solver.order()
    }

    /// Whether steps inject noise.
    pub fn is_stochastic(&self) -> bool {
        self.solver.is_stochastic()
    }

    /// The distribution of `x_T`.
    pub fn prior(&self) -> Prior {
        self.solver.prior()
    }

    /// Standard deviation of the initial noise (diffusers `init_noise_sigma`).
    pub fn init_noise_sigma(&self) -> f64 {
        self.solver.prior().std()
    }

    /// Scales the sample before it is passed to the model at the next step.
    pub fn scale_model_input(&self, sample: Tensor<B, D>) -> Tensor<B, D> {
        self.solver.scale_model_input(sample, self.index)
    }

    /// Forward-noises clean data to the grid point of step `index`: `α x₀ + σ n`.
    ///
    /// # Shapes
    /// `original`, `noise`: `[batch, …]`; returns the same shape.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] or [`SamplerError::ShapeMismatch`].
    pub fn add_noise(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        index: usize,
    ) -> SamplerResult<Tensor<B, D>> {
        self.solver.time_grid().add_noise(original, noise, index)
    }

    /// Forward-noises row `b` to step `indices[b]` (one t per batch row).
    ///
    /// # Shapes
    /// `original`, `noise`: `[batch, …]`; `indices.len() = batch`.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] or [`SamplerError::ShapeMismatch`].
    pub fn add_noise_rows(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        indices: &[usize],
    ) -> SamplerResult<Tensor<B, D>> {
        self.solver
            .time_grid()
            .add_noise_rows(original, noise, indices)
    }

    /// What the next step would give, without committing it (position and history unchanged).
    ///
    /// `noise` as in [`Sampler::step`]; with `None` a stochastic solver draws fresh noise.
    ///
    /// # Errors
    /// As [`Sampler::step`].
    pub fn peek(
        &self,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let mut state = self.state.clone();
        self.transition(&mut state, self.index, model_output, sample, noise)
    }

    /// Advances `sample` from `timesteps()[step_index()]` to the next grid point and commits it.
    ///
    /// `noise` is the standard normal of a stochastic step (the sample's shape); when it is
    /// `None` the sampler draws it with `Tensor::random`. Deterministic steps ignore it.
    ///
    /// # Errors
    /// [`SamplerError::ShapeMismatch`] for mismatched shapes, [`SamplerError::PastEnd`] after the
    /// last step.
    pub fn step(
        &mut self,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let mut state = std::mem::take(&mut self.state);
        let out = self.transition(&mut state, self.index, model_output, sample, noise);
        if out.is_ok() {
            self.index += 1;
        }
        self.state = state;
        out
    }

    /// The checked transition of step `index` from `state`.
    fn transition(
        &self,
        state: &mut S::State,
        index: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let len = self.len();
        if index >= len {
            return Err(SamplerError::PastEnd { index, len });
        }
        check_shape("model_output", &model_output.dims(), &sample.dims())?;
        let noise = if self.solver.is_stochastic() {
            Some(standard_normal(&sample, noise)?)
        } else {
            None
        };
        self.solver.step(state, index, model_output, sample, noise)
    }

    /// Runs from the current step to the end; `callback` runs after every step.
    ///
    /// `model(x, t)` returns the prediction the solver was configured for (ε, x₀, v, score or
    /// flow). Stochastic solvers draw their noise with `Tensor::random`; use
    /// [`Sampler::sample_with_noise`] to inject it.
    ///
    /// # Shapes
    /// `x: [batch, …]`; returns the same shape.
    ///
    /// # Errors
    /// Whatever [`Sampler::step`] returns; [`SamplerError::NonFinite`] if the final sample holds
    /// a NaN or ±∞ (one device read per run, after the last step).
    pub fn sample<M, C>(
        &mut self,
        model: M,
        x: Tensor<B, D>,
        callback: C,
    ) -> SamplerResult<Tensor<B, D>>
    where
        M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
        C: FnMut(Progress),
    {
        self.sample_with_noise(model, x, |_| None, callback)
    }

    /// [`Sampler::sample`] with injected noise: `noise(step)` supplies the standard normal for
    /// that step (`None` lets the sampler draw it).
    ///
    /// # Shapes
    /// `x: [batch, …]`; returns the same shape.
    ///
    /// # Errors
    /// As [`Sampler::sample`].
    pub fn sample_with_noise<M, N, C>(
        &mut self,
        model: M,
        mut x: Tensor<B, D>,
        mut noise: N,
        mut callback: C,
    ) -> SamplerResult<Tensor<B, D>>
    where
        M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
        N: FnMut(usize) -> Option<Tensor<B, D>>,
        C: FnMut(Progress),
    {
        let total = self.len();
        let mut guard = FiniteGuard::default();
        while self.index < total {
            let i = self.index;
            let t = self.timesteps()[i];
            let out = model(&self.scale_model_input(x.clone()), t);
            guard.watch(&out);
            let z = if self.is_stochastic() { noise(i) } else { None };
            x = self.step(out, x, z)?.prev_sample;
            callback(Progress { step: i, total, t });
        }
        guard.watch(&x.clone().mul_scalar(0.0));
        if guard.tripped() {
            return Err(SamplerError::NonFinite {
                what: "model output or sample",
                step: total.saturating_sub(1),
            });
        }
        Ok(x)
    }

    /// Runs to the end like [`Sampler::sample_with_noise`] and records every step: the input
    /// sample, the model output's step result, the noise, and the solver state it started from —
    /// everything [`Trajectory::rescore`] needs to recompute a step's transition under another
    /// model (D3PO/SPO's policy and reference).
    ///
    /// Stochastic steps always record the noise they used (drawn here when `noise` gives
    /// `None`), so a re-scored step reproduces its sample exactly.
    ///
    /// # Shapes
    /// `x: [batch, …]`; every recorded tensor has that shape.
    ///
    /// # Errors
    /// As [`Sampler::sample`]; [`SamplerError::NonFinite`] names the first step whose output is
    /// not finite.
    pub fn sample_trajectory<M, N, C>(
        &mut self,
        model: M,
        mut x: Tensor<B, D>,
        mut noise: N,
        mut callback: C,
    ) -> SamplerResult<Trajectory<B, D, S>>
    where
        M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
        N: FnMut(usize) -> Option<Tensor<B, D>>,
        C: FnMut(Progress),
    {
        let total = self.len();
        let mut steps = Vec::with_capacity(total.saturating_sub(self.index));
        let mut guard = FiniteGuard::default();
        while self.index < total {
            let i = self.index;
            let t = self.timesteps()[i];
            let state = self.state.clone();
            let out = model(&self.scale_model_input(x.clone()), t);
            guard.watch(&out);
            let z = if self.is_stochastic() {
                Some(standard_normal(&x, noise(i))?)
            } else {
                None
            };
            let step = self.step(out.clone(), x.clone(), z.clone())?;
            let next = step.prev_sample.clone();
            steps.push(TrajectoryStep {
                index: i,
                t,
                sample: x,
                next: next.clone(),
                noise: z,
                model_output: out,
                output: step,
                state,
            });
            x = next;
            callback(Progress { step: i, total, t });
        }
        guard.watch(&x.clone().mul_scalar(0.0));
        if guard.tripped() {
            // Only on failure: find the first step whose output is not finite.
            let first = steps
                .iter()
                .position(|s| {
                    read_flag(non_finite(&s.model_output)) || read_flag(s.output.non_finite())
                })
                .unwrap_or(steps.len().saturating_sub(1));
            return Err(SamplerError::NonFinite {
                what: "model output or sample",
                step: steps.get(first).map_or(0, |s| s.index),
            });
        }
        Ok(Trajectory {
            steps,
            sample: x,
            solver: self.solver.clone(),
        })
    }
}

/// One recorded step of a [`Trajectory`].
#[derive(Debug, Clone)]
pub struct TrajectoryStep<B: Backend, const D: usize, S: Solver<B, D>> {
    /// The step (evaluation) index.
    pub index: usize,
    /// The model time of the step.
    pub t: f64,
    /// `x_t`, the sample the step started from.
    pub sample: Tensor<B, D>,
    /// `x_next`, the sample it produced.
    pub next: Tensor<B, D>,
    /// The standard normal a stochastic step used (`None` for deterministic steps).
    pub noise: Option<Tensor<B, D>>,
    /// The model output the step used.
    pub model_output: Tensor<B, D>,
    /// The step's output (x₀ prediction, Gaussian transition).
    pub output: StepOutput<B, D>,
    /// The solver state the step started from.
    pub state: S::State,
}

/// A whole sampling run: every step, the final sample, and the solver that produced it.
#[derive(Debug, Clone)]
pub struct Trajectory<B: Backend, const D: usize, S: Solver<B, D>> {
    /// The steps in sampling order.
    pub steps: Vec<TrajectoryStep<B, D, S>>,
    /// The final sample.
    pub sample: Tensor<B, D>,
    /// The solver (configuration and grid) of the run.
    pub solver: S,
}

impl<B: Backend, const D: usize, S: Solver<B, D>> Trajectory<B, D, S> {
    /// Recomputes step `k` with another model's output at the same `x_t`, from the same state and
    /// with the same noise (for re-scoring under a policy or a frozen reference).
    ///
    /// # Shapes
    /// `model_output` like the recorded sample.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] for `k ≥ steps.len()`; [`SamplerError::ShapeMismatch`].
    pub fn rescore(&self, k: usize, model_output: Tensor<B, D>) -> SamplerResult<StepOutput<B, D>> {
        let s = self.steps.get(k).ok_or(SamplerError::PastEnd {
            index: k,
            len: self.steps.len(),
        })?;
        check_shape("model_output", &model_output.dims(), &s.sample.dims())?;
        self.solver.step(
            &mut s.state.clone(),
            s.index,
            model_output,
            s.sample.clone(),
            s.noise.clone(),
        )
    }

    /// `log p(x_next | x_t)` of recorded step `k` under another model's output: the transition of
    /// [`Trajectory::rescore`] evaluated at the recorded `x_next`.
    ///
    /// # Shapes
    /// Returns `[batch]`.
    ///
    /// # Errors
    /// [`SamplerError::DegenerateTransition`] for a deterministic step; as
    /// [`Trajectory::rescore`].
    pub fn log_prob(
        &self,
        k: usize,
        model_output: Tensor<B, D>,
        reduction: Reduction,
    ) -> SamplerResult<Tensor<B, 1>> {
        let out = self.rescore(k, model_output)?;
        let tr = out.transition.ok_or(SamplerError::DegenerateTransition)?;
        tr.log_prob(&self.steps[k].next, reduction)
    }
}

/// A running on-device sum of everything a sampling loop watches: NaN or ±∞ anywhere makes it
/// non-finite, and it is read once, after the loop (no per-step device sync; one reduction per
/// model output). A sum of finite values can only overflow for magnitudes near `f32::MAX / n`,
/// which no diffusion model produces; a false alarm there is preferred to a silent NaN.
struct FiniteGuard<B: Backend> {
    acc: Option<Tensor<B, 1>>,
}

impl<B: Backend> Default for FiniteGuard<B> {
    fn default() -> Self {
        Self { acc: None }
    }
}

impl<B: Backend> FiniteGuard<B> {
    fn watch<const D: usize>(&mut self, x: &Tensor<B, D>) {
        let s = x.clone().detach().sum();
        self.acc = Some(match self.acc.take() {
            Some(a) => a + s,
            None => s,
        });
    }

    fn tripped(self) -> bool {
        self.acc.is_some_and(|a| {
            let v = a.into_scalar().elem::<f64>();
            !v.is_finite()
        })
    }
}

fn read_flag<B: Backend>(flag: Tensor<B, 1, Bool>) -> bool {
    // Through an integer: backends store booleans differently (wgpu as u32).
    flag.int().into_scalar().elem::<i64>() != 0
}

/// The noise a stochastic step needs: `noise` if given (shape-checked), else a fresh draw.
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

/// The noise of a stochastic solver's step, which [`Sampler`] always supplies.
pub(crate) fn required_noise<B: Backend, const D: usize>(
    noise: Option<Tensor<B, D>>,
) -> SamplerResult<Tensor<B, D>> {
    noise.ok_or_else(|| {
        SamplerError::InvalidConfig("a stochastic step was called without its noise".into())
    })
}

/// Runs the sampler from its current step to the end ([`Sampler::sample`] as a free function).
///
/// # Shapes
/// `x: [batch, …]`; returns the same shape.
///
/// # Errors
/// As [`Sampler::sample`].
pub fn sample<B, const D: usize, S, M, C>(
    sampler: &mut Sampler<B, D, S>,
    model: M,
    x: Tensor<B, D>,
    callback: C,
) -> SamplerResult<Tensor<B, D>>
where
    B: Backend,
    S: Solver<B, D>,
    M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
    C: FnMut(Progress),
{
    sampler.sample(model, x, callback)
}

/// [`Sampler::sample_with_noise`] as a free function.
///
/// # Shapes
/// `x: [batch, …]`; returns the same shape.
///
/// # Errors
/// As [`Sampler::sample`].
pub fn sample_with_noise<B, const D: usize, S, M, N, C>(
    sampler: &mut Sampler<B, D, S>,
    model: M,
    x: Tensor<B, D>,
    noise: N,
    callback: C,
) -> SamplerResult<Tensor<B, D>>
where
    B: Backend,
    S: Solver<B, D>,
    M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
    N: FnMut(usize) -> Option<Tensor<B, D>>,
    C: FnMut(Progress),
{
    sampler.sample_with_noise(model, x, noise, callback)
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

    #[test]
    fn non_finite_flag_catches_nan_and_inf_but_not_large_values() {
        let d = device();
        let big = tensor::<TestBackend, 2>(&[3e38, 3e38, -3e38, 1.0], [2, 2], &d);
        assert!(!read_flag(non_finite(&big)));
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let x = tensor::<TestBackend, 2>(&[0.0, bad, 1.0, 2.0], [2, 2], &d);
            assert!(read_flag(non_finite(&x)), "{bad}");
        }
    }
}
