//! DDPM ancestral sampling (strided), as diffusers' `DDPMScheduler` with `fixed_small` variance.

use super::base::{required_noise, GaussianTransition, Solver, SolverSpec, StepOutput};
use crate::error::{SamplerError, SamplerResult};
use crate::prediction::{to_x0, PredictionType};
use crate::schedule::{
    ddim_timesteps, DiscreteScheduleConfig, GridPoint, TimeGrid, TimeKind, TimestepSpacing,
};
use crate::thresholding::{dynamic_threshold, ThresholdingConfig};
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Configuration of [`Ddpm`]; defaults are diffusers' `DDPMScheduler` defaults
/// (`clip_sample=True`, `variance_type="fixed_small"`, leading spacing).
///
/// # References
/// diffusers `scheduling_ddpm.py`.
#[derive(Config, Debug)]
pub struct DdpmConfig {
    /// Training noise schedule.
    #[config(default = "DiscreteScheduleConfig::new()")]
    pub schedule: DiscreteScheduleConfig,
    /// Clamp x₀ to `[−clip_sample_range, clip_sample_range]` (default true).
    #[config(default = true)]
    pub clip_sample: bool,
    /// Clamp range (default 1).
    #[config(default = 1.0)]
    pub clip_sample_range: f64,
    /// What the model predicts (default ε).
    #[config(default = "PredictionType::Epsilon")]
    pub prediction_type: PredictionType,
    /// Dynamic thresholding (takes precedence over `clip_sample`; default off).
    #[config(default = "None")]
    pub thresholding: Option<ThresholdingConfig>,
    /// Timestep spacing (default leading).
    #[config(default = "TimestepSpacing::Leading")]
    pub timestep_spacing: TimestepSpacing,
    /// Offset added to leading-spaced timesteps (default 0).
    #[config(default = 0)]
    pub steps_offset: usize,
}

/// Ancestral DDPM sampling with the posterior `q(x_prev | x_t, x̂₀)`.
///
/// ```text
/// α'_t = ᾱ_t/ᾱ_prev,  β'_t = 1 − α'_t
/// μ = √ᾱ_prev β'_t/(1−ᾱ_t) · x̂₀ + √α'_t (1−ᾱ_prev)/(1−ᾱ_t) · x_t
/// σ² = max((1−ᾱ_prev)/(1−ᾱ_t) · β'_t, 1e-20)   (0 at t = 0)
/// x_prev = μ + σ z
/// ```
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// Ho et al., DDPM (arXiv:2006.11239) eqs. (6)–(7); diffusers `DDPMScheduler.step`.
#[derive(Debug, Clone)]
pub struct Ddpm {
    config: DdpmConfig,
    grid: TimeGrid,
    /// Where each step lands (diffusers' `prev_timestep`).
    to: Vec<GridPoint>,
}

impl Ddpm {
    /// diffusers schedule with `num_inference_steps` steps.
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`], [`SamplerError::InvalidBetas`],
    /// [`SamplerError::InvalidTimesteps`] when `steps_offset` pushes a timestep to `N_train`
    /// or beyond.
    pub fn new(config: DdpmConfig, num_inference_steps: usize) -> SamplerResult<Self> {
        let s = config.schedule.init()?;
        let n_train = s.len();
        let ts = ddim_timesteps(
            config.timestep_spacing,
            n_train,
            num_inference_steps,
            config.steps_offset,
        )?;
        if let Some(&t) = ts.iter().find(|&&t| t >= 0 && t as usize >= n_train) {
            return Err(SamplerError::InvalidTimesteps(format!(
                "timestep {t} is outside 0..{n_train} (steps_offset = {} pushes it past the \
                 schedule)",
                config.steps_offset
            )));
        }
        let ratio = (n_train / num_inference_steps) as i64;
        let ac = |t: i64| {
            if t >= 0 {
                s.alphas_cumprod()[t as usize]
            } else {
                1.0
            }
        };
        let mut points: Vec<GridPoint> = ts
            .iter()
            .map(|&t| GridPoint::from_alpha_cumprod(t as f64, ac(t)))
            .collect();
        let to: Vec<GridPoint> = ts
            .iter()
            .map(|&t| GridPoint::from_alpha_cumprod((t - ratio) as f64, ac(t - ratio)))
            .collect();
        points.push(to[to.len() - 1]);
        Ok(Self {
            grid: TimeGrid::new(TimeKind::TrainingStep, points)?,
            to,
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DdpmConfig {
        &self.config
    }
}

impl SolverSpec for Ddpm {
    fn time_grid(&self) -> &TimeGrid {
        &self.grid
    }

    fn order(&self) -> usize {
        1
    }

    fn is_stochastic(&self) -> bool {
        true
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for Ddpm {
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
        let alpha_step = a_t / a_prev;
        let beta_step = 1.0 - alpha_step;
        let mut x0 = to_x0(
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
        let cx0 = a_prev.sqrt() * beta_step / (1.0 - a_t);
        let cxt = alpha_step.sqrt() * (1.0 - a_prev) / (1.0 - a_t);
        let mean = x0.clone().mul_scalar(cx0) + sample.clone().mul_scalar(cxt);
        let std = if p.t > 0.0 {
            ((1.0 - a_prev) / (1.0 - a_t) * beta_step).max(1e-20).sqrt()
        } else {
            0.0
        };
        let (prev, transition) = if std > 0.0 {
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
