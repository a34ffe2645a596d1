//! DDIM (η-family of non-Markovian samplers), as diffusers' `DDIMScheduler`.

use super::base::{required_noise, GaussianTransition, Solver, SolverSpec, StepOutput};
use crate::error::{SamplerError, SamplerResult};
use crate::prediction::{to_epsilon, to_x0, x0_to_epsilon, PredictionType};
use crate::schedule::{
    ddim_timesteps, DiscreteSchedule, DiscreteScheduleConfig, GridPoint, TimeGrid, TimeKind,
    TimestepSpacing,
};
use crate::thresholding::{dynamic_threshold, ThresholdingConfig};
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Configuration of [`Ddim`]; defaults are diffusers' `DDIMScheduler` defaults.
///
/// # References
/// diffusers `scheduling_ddim.py` (`clip_sample=True`, `set_alpha_to_one=True`,
/// `timestep_spacing="leading"`); η defaults to 0 (deterministic DDIM, arXiv:2010.02502).
#[derive(Config, Debug)]
pub struct DdimConfig {
    /// Training noise schedule.
    #[config(default = "DiscreteScheduleConfig::new()")]
    pub schedule: DiscreteScheduleConfig,
    /// η: 0 = deterministic DDIM, 1 = DDPM-like posterior variance.
    #[config(default = 0.0)]
    pub eta: f64,
    /// Clamp x₀ to `[−clip_sample_range, clip_sample_range]` (default true).
    #[config(default = true)]
    pub clip_sample: bool,
    /// Clamp range (default 1).
    #[config(default = 1.0)]
    pub clip_sample_range: f64,
    /// Use ᾱ = 1 after the last step (default true) instead of ᾱ_0.
    #[config(default = true)]
    pub set_alpha_to_one: bool,
    /// Offset added to leading-spaced timesteps (default 0).
    #[config(default = 0)]
    pub steps_offset: usize,
    /// What the model predicts (default ε).
    #[config(default = "PredictionType::Epsilon")]
    pub prediction_type: PredictionType,
    /// Dynamic thresholding (takes precedence over `clip_sample`; default off).
    #[config(default = "None")]
    pub thresholding: Option<ThresholdingConfig>,
    /// Timestep spacing (default leading).
    #[config(default = "TimestepSpacing::Leading")]
    pub timestep_spacing: TimestepSpacing,
    /// Recompute ε from the clipped x₀ (default false).
    #[config(default = false)]
    pub use_clipped_model_output: bool,
}

/// DDIM.
///
/// ```text
/// x̂₀ = prediction → x₀ (clipped or thresholded),  ε̂ = prediction → ε
/// σ_η² = η² · (1−ᾱ_prev)/(1−ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)
/// x_prev = √ᾱ_prev x̂₀ + √(1 − ᾱ_prev − σ_η²) ε̂ + σ_η z
/// ```
/// The step from timestep `t` goes to `t − N_train/n` (diffusers' `prev_timestep`, also for
/// linspace/trailing spacing) or, past 0, to ᾱ = 1 (`set_alpha_to_one`) or ᾱ_0. With η > 0 the
/// step exposes its [`GaussianTransition`].
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// Song et al., DDIM (arXiv:2010.02502) eq. (12) and (16); diffusers `DDIMScheduler.step`.
#[derive(Debug, Clone)]
pub struct Ddim {
    config: DdimConfig,
    schedule: Option<DiscreteSchedule>,
    grid: TimeGrid,
    /// Where each step lands (diffusers' `prev_timestep`, not always the next grid point).
    to: Vec<GridPoint>,
}

impl Ddim {
    fn final_alpha_cumprod(config: &DdimConfig, s: &DiscreteSchedule) -> f64 {
        if config.set_alpha_to_one {
            1.0
        } else {
            s.alphas_cumprod()[0]
        }
    }

    /// diffusers schedule with `num_inference_steps` steps.
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`], [`SamplerError::InvalidBetas`],
    /// [`SamplerError::InvalidConfig`] (negative η), [`SamplerError::InvalidTimesteps`] when
    /// `steps_offset` pushes a timestep to `N_train` or beyond (diffusers raises there too).
    pub fn new(config: DdimConfig, num_inference_steps: usize) -> SamplerResult<Self> {
        Self::validate(&config)?;
        let s = config.schedule.init()?;
        let n_train = s.len();
        let ts = ddim_timesteps(
            config.timestep_spacing,
            n_train,
            num_inference_steps,
            config.steps_offset,
        )?;
        let ratio = (n_train / num_inference_steps) as i64;
        let prevs: Vec<i64> = ts.iter().map(|&t| t - ratio).collect();
        Self::build(config, s, &ts, &prevs)
    }

    /// User-chosen timesteps (non-increasing, in `0..N`); each step goes to the next listed
    /// timestep and the last one to the final ᾱ.
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] and the errors of [`Self::new`].
    pub fn with_timesteps(config: DdimConfig, timesteps: &[i64]) -> SamplerResult<Self> {
        Self::validate(&config)?;
        let s = config.schedule.init()?;
        if timesteps.is_empty()
            || timesteps.iter().any(|&t| t < 0 || t as usize >= s.len())
            || timesteps.windows(2).any(|w| w[1] > w[0])
        {
            return Err(SamplerError::InvalidTimesteps(format!(
                "need a non-empty, non-increasing list in 0..{}",
                s.len()
            )));
        }
        let mut prevs: Vec<i64> = timesteps[1..].to_vec();
        prevs.push(-1);
        Self::build(config, s, timesteps, &prevs)
    }

    /// Any grid of `N + 1` points (ᾱ = α² at each point; `α² + σ² = 1` is assumed); the model
    /// is called at `grid[i].t` ([`TimeKind::Continuous`]).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for fewer than 2 points or α ∉ (0, 1].
    pub fn from_grid(config: DdimConfig, grid: Vec<GridPoint>) -> SamplerResult<Self> {
        Self::validate(&config)?;
        if grid.len() < 2 || grid.iter().any(|p| !(p.alpha > 0.0 && p.alpha <= 1.0)) {
            return Err(SamplerError::InvalidTimesteps(
                "a DDIM grid needs ≥ 2 points with 0 < α ≤ 1".into(),
            ));
        }
        let to = grid[1..].to_vec();
        Ok(Self {
            grid: TimeGrid::new(TimeKind::Continuous, grid)?,
            to,
            config,
            schedule: None,
        })
    }

    fn validate(c: &DdimConfig) -> SamplerResult<()> {
        if !(c.eta >= 0.0 && c.eta.is_finite()) {
            return Err(SamplerError::InvalidConfig(format!(
                "eta = {} must be ≥ 0",
                c.eta
            )));
        }
        Ok(())
    }

    fn build(
        config: DdimConfig,
        s: DiscreteSchedule,
        ts: &[i64],
        prevs: &[i64],
    ) -> SamplerResult<Self> {
        let fin = Self::final_alpha_cumprod(&config, &s);
        if let Some(&t) = ts.iter().find(|&&t| t >= 0 && t as usize >= s.len()) {
            return Err(SamplerError::InvalidTimesteps(format!(
                "timestep {t} is outside 0..{} (steps_offset = {} pushes it past the schedule)",
                s.len(),
                config.steps_offset
            )));
        }
        let ac = |t: i64| {
            if t >= 0 {
                s.alphas_cumprod()[t as usize]
            } else {
                fin
            }
        };
        let mut points: Vec<GridPoint> = ts
            .iter()
            .map(|&t| GridPoint::from_alpha_cumprod(t as f64, ac(t)))
            .collect();
        let to: Vec<GridPoint> = prevs
            .iter()
            .map(|&t| GridPoint::from_alpha_cumprod(t as f64, ac(t)))
            .collect();
        points.push(to[to.len() - 1]);
        Ok(Self {
            grid: TimeGrid::new(TimeKind::TrainingStep, points)?,
            to,
            config,
            schedule: Some(s),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DdimConfig {
        &self.config
    }

    /// DDIM posterior variance between training timesteps `t` and `prev` (diffusers
    /// `_get_variance`; `prev < 0` uses the final ᾱ). `None` for grid-built solvers.
    ///
    /// ```text
    /// (1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)
    /// ```
    pub fn variance(&self, t: usize, prev: i64) -> Option<f64> {
        let s = self.schedule.as_ref()?;
        let a_t = *s.alphas_cumprod().get(t)?;
        let a_p = if prev >= 0 {
            *s.alphas_cumprod().get(prev as usize)?
        } else {
            Self::final_alpha_cumprod(&self.config, s)
        };
        Some(ddim_variance(a_t, a_p))
    }
}

/// `(1 − ᾱ_prev)/(1 − ᾱ_t) · (1 − ᾱ_t/ᾱ_prev)`, the DDPM posterior variance between two
/// (possibly non-adjacent) timesteps.
pub fn ddim_variance(alpha_cumprod_t: f64, alpha_cumprod_prev: f64) -> f64 {
    (1.0 - alpha_cumprod_prev) / (1.0 - alpha_cumprod_t)
        * (1.0 - alpha_cumprod_t / alpha_cumprod_prev)
}

impl SolverSpec for Ddim {
    fn time_grid(&self) -> &TimeGrid {
        &self.grid
    }

    fn order(&self) -> usize {
        1
    }

    fn is_stochastic(&self) -> bool {
        self.config.eta > 0.0
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for Ddim {
    type State = ();

    fn step(
        &self,
        _state: &mut (),
        i: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let c = &self.config;
        let (p, q) = (self.grid.points()[i], self.to[i]);
        let (a_t, a_prev) = (p.alpha_cumprod(), q.alpha_cumprod());
        let mut x0 = to_x0(
            c.prediction_type,
            model_output.clone(),
            sample.clone(),
            p.alpha,
            p.sigma,
        );
        let mut eps = to_epsilon(
            c.prediction_type,
            model_output,
            sample.clone(),
            p.alpha,
            p.sigma,
        );
        if let Some(th) = &c.thresholding {
            x0 = dynamic_threshold(x0, th.ratio, th.sample_max_value);
        } else if c.clip_sample {
            // clamp_min + clamp_max: two cheap passes; burn-flex's fused `clamp` is ~2× slower.
            x0 = x0
                .clamp_min(-c.clip_sample_range)
                .clamp_max(c.clip_sample_range);
        }
        if c.use_clipped_model_output {
            eps = x0_to_epsilon(x0.clone(), sample.clone(), p.alpha, p.sigma);
        }
        let std = c.eta * ddim_variance(a_t, a_prev).max(0.0).sqrt();
        let dir = (1.0 - a_prev - std * std).max(0.0).sqrt();
        let mean = x0.clone().mul_scalar(a_prev.sqrt()) + eps.mul_scalar(dir);
        let (prev, transition) = if c.eta > 0.0 {
            let z = required_noise(noise)?;
            (
                mean.clone() + z.mul_scalar(std),
                Some(GaussianTransition { mean, std }),
            )
        } else {
            (mean, None)
        };
        Ok(StepOutput {
            prev_sample: prev,
            pred_original_sample: Some(x0),
            transition,
        })
    }
}
