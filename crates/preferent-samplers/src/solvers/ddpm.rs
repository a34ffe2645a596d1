//! DDPM ancestral sampling (strided), as diffusers' `DDPMScheduler` with `fixed_small` variance.

use super::base::{
    check_index, check_shape, standard_normal, GaussianTransition, Solver, StepOutput,
};
use crate::error::SamplerResult;
use crate::prediction::{to_x0, PredictionType};
use crate::schedule::{ddim_timesteps, DiscreteScheduleConfig, GridPoint, TimestepSpacing};
use crate::thresholding::{dynamic_threshold, ThresholdingConfig};
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use std::marker::PhantomData;

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
#[derive(Debug)]
pub struct Ddpm<B: Backend, const D: usize> {
    config: DdpmConfig,
    timesteps: Vec<f64>,
    from: Vec<GridPoint>,
    to: Vec<GridPoint>,
    step_index: usize,
    _b: PhantomData<(B, [(); D])>,
}

impl<B: Backend, const D: usize> Ddpm<B, D> {
    /// diffusers schedule with `num_inference_steps` steps.
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`](crate::SamplerError::InvalidStepCount), [`SamplerError::InvalidBetas`](crate::SamplerError::InvalidBetas).
    pub fn new(config: DdpmConfig, num_inference_steps: usize) -> SamplerResult<Self> {
        let s = config.schedule.init()?;
        let n_train = s.len();
        let ts = ddim_timesteps(
            config.timestep_spacing,
            n_train,
            num_inference_steps,
            config.steps_offset,
        )?;
        let ratio = (n_train / num_inference_steps) as i64;
        let ac = |t: i64| {
            if t >= 0 {
                s.alphas_cumprod()[(t as usize).min(n_train - 1)]
            } else {
                1.0
            }
        };
        Ok(Self {
            timesteps: ts.iter().map(|&t| t as f64).collect(),
            from: ts
                .iter()
                .map(|&t| GridPoint::from_alpha_cumprod(t as f64, ac(t)))
                .collect(),
            to: ts
                .iter()
                .map(|&t| GridPoint::from_alpha_cumprod((t - ratio) as f64, ac(t - ratio)))
                .collect(),
            config,
            step_index: 0,
            _b: PhantomData,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DdpmConfig {
        &self.config
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for Ddpm<B, D> {
    fn timesteps(&self) -> &[f64] {
        &self.timesteps
    }

    fn step_index(&self) -> usize {
        self.step_index
    }

    fn set_begin_index(&mut self, index: usize) -> SamplerResult<()> {
        check_index(index, self.timesteps.len())?;
        self.step_index = index;
        Ok(())
    }

    fn order(&self) -> usize {
        1
    }

    fn is_stochastic(&self) -> bool {
        true
    }

    fn add_noise(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        index: usize,
    ) -> SamplerResult<Tensor<B, D>> {
        super::base::vp_add_noise(&self.from, self.timesteps.len(), original, noise, index)
    }

    fn step(
        &mut self,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let i = self.step_index;
        check_index(i, self.timesteps.len())?;
        check_shape("model_output", &model_output.dims(), &sample.dims())?;
        let c = &self.config;
        let (p, q) = (self.from[i], self.to[i]);
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
        let std = if self.timesteps[i] > 0.0 {
            ((1.0 - a_prev) / (1.0 - a_t) * beta_step).max(1e-20).sqrt()
        } else {
            0.0
        };
        let (prev, transition) = if std > 0.0 {
            let z = standard_normal(&sample, noise)?;
            (
                mean.clone() + z.mul_scalar(std),
                Some(GaussianTransition { mean, std }),
            )
        } else {
            (mean, None)
        };
        self.step_index += 1;
        Ok(StepOutput {
            prev_sample: prev,
            pred_original_sample: Some(x0),
            transition,
        })
    }
}
