//! Flow-matching Euler sampler (diffusers `FlowMatchEulerDiscreteScheduler`; SD3, Flux).

use super::base::{required_noise, GaussianTransition, Solver, SolverSpec, StepOutput};
use crate::error::{SamplerError, SamplerResult};
use crate::schedule::linspace_pub as linspace;
use crate::schedule::{GridPoint, TimeGrid, TimeKind};
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// How sigmas are shifted towards the noisy end (diffusers `shift` / `use_dynamic_shifting` with
/// `time_shift_type`).
///
/// ```text
/// Static { s }:       σ ← s·σ / (1 + (s − 1)·σ)
/// Exponential { μ }:  σ ← e^μ / (e^μ + (1/σ − 1))
/// Linear { μ }:       σ ← μ / (μ + (1/σ − 1))
/// ```
/// Flux computes μ from the image's token count (`calculate_shift` in its diffusers pipeline:
/// μ = 0.5 + (1.15 − 0.5)·(L − 256)/(4096 − 256) by default).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum FlowTimeShift {
    /// A fixed shift (`shift`; 1 = none, SD3 uses 3). Applied at construction and again to the
    /// inference sigmas, as diffusers does (the two only differ at the low end).
    Static {
        /// The shift `s > 0`.
        shift: f64,
    },
    /// Resolution-dependent exponential shift (`use_dynamic_shifting`, `"exponential"`).
    Exponential {
        /// `μ` (`mu` of `set_timesteps`).
        mu: f64,
    },
    /// Resolution-dependent linear shift (`"linear"`).
    Linear {
        /// `μ > 0`.
        mu: f64,
    },
}

impl FlowTimeShift {
    fn apply(self, s: f64) -> f64 {
        match self {
            Self::Static { shift } => shift * s / (1.0 + (shift - 1.0) * s),
            Self::Exponential { mu } => mu.exp() / (mu.exp() + (1.0 / s - 1.0)),
            Self::Linear { mu } => mu / (mu + (1.0 / s - 1.0)),
        }
    }

    fn valid(self) -> bool {
        match self {
            Self::Static { shift } => shift.is_finite() && shift > 0.0,
            Self::Exponential { mu } => mu.is_finite(),
            Self::Linear { mu } => mu.is_finite() && mu > 0.0,
        }
    }
}

/// Configuration of [`FlowMatchEuler`]; defaults are diffusers'
/// `FlowMatchEulerDiscreteScheduler` defaults.
///
/// # References
/// diffusers `scheduling_flow_match_euler_discrete.py` (`__init__`, `set_timesteps`).
#[derive(Config, Debug)]
pub struct FlowMatchEulerConfig {
    /// Training timesteps `N` (model time = σ·N). Default 1000.
    #[config(default = 1000)]
    pub num_train_timesteps: usize,
    /// Sigma shift. Default `Static { shift: 1.0 }` (none).
    #[config(default = "FlowTimeShift::Static { shift: 1.0 }")]
    pub time_shift: FlowTimeShift,
    /// Stretch the shifted sigmas so the last one equals this (LTX-Video's `shift_terminal`).
    /// Default none.
    #[config(default = "None")]
    pub shift_terminal: Option<f64>,
    /// Stochastic sampling: `x' = (1 − σ')·x̂₀ + σ'·z` instead of the ODE step. Default false.
    #[config(default = false)]
    pub stochastic_sampling: bool,
}

impl FlowMatchEulerConfig {
    /// The `steps + 1` sigmas (last 0) and `steps` model times `σ·N`.
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`] for 0 steps or `N = 0`; [`SamplerError::InvalidConfig`]
    /// for an invalid shift or `shift_terminal ∉ (0, 1)`.
    pub fn schedule(&self, steps: usize) -> SamplerResult<(Vec<f64>, Vec<f64>)> {
        let n = self.num_train_timesteps;
        if steps == 0 || n == 0 {
            return Err(SamplerError::InvalidStepCount {
                steps,
                max: usize::MAX,
            });
        }
        if !self.time_shift.valid() {
            return Err(SamplerError::InvalidConfig(format!(
                "invalid flow time shift {:?}",
                self.time_shift
            )));
        }
        if let Some(z) = self.shift_terminal {
            if !(z > 0.0 && z < 1.0) {
                return Err(SamplerError::InvalidConfig(format!(
                    "shift_terminal must be in (0, 1), got {z}"
                )));
            }
        }
        let nf = n as f64;
        // Training sigmas t/N for t = N … 1, statically shifted (dynamic shifts are not applied
        // here, as in diffusers); their ends bound the inference grid.
        let train = |t: f64| match self.time_shift {
            FlowTimeShift::Static { .. } => self.time_shift.apply(t / nf),
            _ => t / nf,
        };
        let (s_max, s_min) = (train(nf), train(1.0));
        let mut sigmas: Vec<f64> = linspace(s_max * nf, s_min * nf, steps)
            .into_iter()
            .map(|t| self.time_shift.apply(t / nf))
            .collect();
        if let Some(z) = self.shift_terminal {
            let last = 1.0 - sigmas[steps - 1];
            let scale = last / (1.0 - z);
            for s in &mut sigmas {
                *s = 1.0 - (1.0 - *s) / scale;
            }
        }
        let timesteps = sigmas.iter().map(|s| s * nf).collect();
        sigmas.push(0.0);
        Ok((sigmas, timesteps))
    }
}

/// Euler on the flow-matching ODE `dx/dσ = u(x, σ)` over `x = (1 − σ)·x₀ + σ·ε`:
///
/// ```text
/// x_{i+1} = x_i + (σ_{i+1} − σ_i)·u(x_i, σ_i·N)                      (ODE)
/// x̂₀ = x_i − σ_i·u,   x_{i+1} = (1 − σ_{i+1})·x̂₀ + σ_{i+1}·z          (stochastic_sampling)
/// ```
///
/// The model returns the flow velocity `u = ε − x₀`
/// ([`PredictionType::Flow`](crate::prediction::PredictionType::Flow)). The ODE step equals
/// first-order DPM-Solver++ on [`SigmaSpacing::Flow`](crate::schedule::SigmaSpacing::Flow)
/// grids. The stochastic step exposes its Gaussian transition (mean `(1 − σ')·x̂₀`, std `σ'`).
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// Liu et al., "Flow Straight and Fast" (arXiv:2209.03003); Esser et al., SD3 (arXiv:2403.03206);
/// diffusers `FlowMatchEulerDiscreteScheduler.step`.
#[derive(Debug, Clone)]
pub struct FlowMatchEuler {
    config: FlowMatchEulerConfig,
    sigmas: Vec<f64>,
    grid: TimeGrid,
}

impl FlowMatchEuler {
    /// A sampler with `steps` steps.
    ///
    /// # Errors
    /// As [`FlowMatchEulerConfig::schedule`].
    pub fn new(config: FlowMatchEulerConfig, steps: usize) -> SamplerResult<Self> {
        let (sigmas, timesteps) = config.schedule(steps)?;
        // (1 − σ)·x₀ + σ·n at every point (diffusers `scale_noise`); the end point is σ = 0.
        let points = sigmas
            .iter()
            .enumerate()
            .map(|(i, &s)| GridPoint::from_flow_sigma(timesteps.get(i).copied().unwrap_or(0.0), s))
            .collect();
        Ok(Self {
            grid: TimeGrid::new(TimeKind::TrainingStep, points)?,
            config,
            sigmas,
        })
    }

    /// The `steps + 1` sigmas, the last 0.
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }
}

impl SolverSpec for FlowMatchEuler {
    fn time_grid(&self) -> &TimeGrid {
        &self.grid
    }

    fn order(&self) -> usize {
        1
    }

    fn is_stochastic(&self) -> bool {
        self.config.stochastic_sampling
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for FlowMatchEuler {
    type State = ();

    fn step(
        &self,
        _state: &mut (),
        i: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let (s, s_next) = (self.sigmas[i], self.sigmas[i + 1]);
        let out = if self.config.stochastic_sampling {
            let z = required_noise(noise)?;
            let x0 = sample - model_output.mul_scalar(s);
            let mean = x0.clone().mul_scalar(1.0 - s_next);
            StepOutput {
                prev_sample: mean.clone() + z.mul_scalar(s_next),
                pred_original_sample: Some(x0),
                transition: Some(GaussianTransition { mean, std: s_next }),
            }
        } else {
            StepOutput {
                prev_sample: sample + model_output.mul_scalar(s_next - s),
                pred_original_sample: None,
                transition: None,
            }
        };
        Ok(out)
    }
}
