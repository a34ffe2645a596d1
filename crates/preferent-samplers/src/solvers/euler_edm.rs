//! Euler ODE sampler in EDM's σ parameterisation.

use super::base::{Prior, Solver, SolverSpec, StepOutput};
use crate::error::{SamplerError, SamplerResult};
use crate::prediction::PredictionType;
use crate::schedule::{karras_sigmas, GridPoint, TimeGrid, TimeKind};
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Configuration of the EDM solvers ([`EulerEdm`], [`crate::solvers::HeunEdm`]).
///
/// Defaults: σ_min = 0.002, σ_max = 80, ρ = 7 (EDM, arXiv:2206.00364 Table 1), denoiser (x₀)
/// output.
#[derive(Config, Debug)]
pub struct EdmConfig {
    /// Smallest nonzero sigma.
    #[config(default = 0.002)]
    pub sigma_min: f64,
    /// Largest sigma (initial noise std).
    #[config(default = 80.0)]
    pub sigma_max: f64,
    /// Karras ρ.
    #[config(default = 7.0)]
    pub rho: f64,
    /// What the model returns: `Sample` (the denoiser D(x; σ), default) or `Epsilon`
    /// (D = x − σ ε). Other types are rejected.
    #[config(default = "PredictionType::Sample")]
    pub prediction_type: PredictionType,
}

impl EdmConfig {
    /// Karras sigmas for `steps` steps with a trailing 0 (`steps + 1` values).
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`] for 0 steps; [`SamplerError::InvalidConfig`] for
    /// `0 < σ_min < σ_max` violated, ρ ≤ 0 or an unsupported prediction type.
    pub fn sigmas(&self, steps: usize) -> SamplerResult<Vec<f64>> {
        if steps == 0 {
            return Err(SamplerError::InvalidStepCount {
                steps,
                max: usize::MAX,
            });
        }
        self.validate()?;
        let mut s = if steps == 1 {
            vec![self.sigma_max]
        } else {
            karras_sigmas(steps, self.sigma_min, self.sigma_max, self.rho)
        };
        s.push(0.0);
        Ok(s)
    }

    /// Checks `0 < σ_min < σ_max`, ρ > 0 and the prediction type (also for user sigmas, which
    /// ignore σ_min/σ_max/ρ but not the prediction type).
    ///
    /// # Errors
    /// [`SamplerError::InvalidConfig`] naming the offending field.
    pub fn validate(&self) -> SamplerResult<()> {
        self.validate_prediction()?;
        if !(self.sigma_min > 0.0 && self.sigma_min < self.sigma_max && self.rho > 0.0) {
            return Err(SamplerError::InvalidConfig(format!(
                "need 0 < sigma_min ({}) < sigma_max ({}) and rho ({}) > 0",
                self.sigma_min, self.sigma_max, self.rho
            )));
        }
        Ok(())
    }

    pub(crate) fn validate_prediction(&self) -> SamplerResult<()> {
        if !matches!(
            self.prediction_type,
            PredictionType::Sample | PredictionType::Epsilon
        ) {
            return Err(SamplerError::InvalidConfig(format!(
                "EDM solvers take a denoiser (Sample) or Epsilon output, got {:?}",
                self.prediction_type
            )));
        }
        Ok(())
    }

    /// The EDM time grid of `sigmas`: `(t, α, σ) = (σ_i, 1, σ_i)` (VE: `x = x₀ + σ n`).
    pub(crate) fn time_grid(sigmas: &[f64], evaluations: Vec<usize>) -> SamplerResult<TimeGrid> {
        let points = sigmas
            .iter()
            .map(|&s| GridPoint {
                t: s,
                alpha: 1.0,
                sigma: s,
            })
            .collect();
        TimeGrid::with_evaluations(TimeKind::Sigma, points, evaluations)
    }
}

pub(crate) fn denoised<B: Backend, const D: usize>(
    p: PredictionType,
    out: Tensor<B, D>,
    x: &Tensor<B, D>,
    sigma: f64,
) -> Tensor<B, D> {
    match p {
        PredictionType::Epsilon => x.clone() - out.mul_scalar(sigma),
        // `EdmConfig::validate` admits only Epsilon and Sample.
        _ => out,
    }
}

/// Euler's method on the EDM probability-flow ODE `dx/dσ = (x − D(x; σ))/σ` (VE, `x = x₀ + σ n`).
///
/// ```text
/// d = (x − D)/σ_i;  x_{i+1} = x + (σ_{i+1} − σ_i)·d
/// ```
/// The model is called with `t = σ` and the raw `x` (apply EDM's `c_in`/`c_skip` preconditioning
/// inside the model).
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// Karras et al. (arXiv:2206.00364) Alg. 1 without the Heun correction; k-diffusion
/// `sample_euler`.
#[derive(Debug, Clone)]
pub struct EulerEdm {
    config: EdmConfig,
    sigmas: Vec<f64>,
    grid: TimeGrid,
}

impl EulerEdm {
    /// Karras sigmas with `steps` steps.
    ///
    /// # Errors
    /// See [`EdmConfig::sigmas`].
    pub fn new(config: EdmConfig, steps: usize) -> SamplerResult<Self> {
        let sigmas = config.sigmas(steps)?;
        Self::build(config, sigmas)
    }

    /// User sigmas (decreasing, the last may be 0).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] unless ≥ 2 finite, strictly decreasing, non-negative
    /// values; [`SamplerError::InvalidConfig`] for an unsupported prediction type.
    pub fn with_sigmas(config: EdmConfig, sigmas: Vec<f64>) -> SamplerResult<Self> {
        config.validate_prediction()?;
        check_sigmas(&sigmas)?;
        Self::build(config, sigmas)
    }

    fn build(config: EdmConfig, sigmas: Vec<f64>) -> SamplerResult<Self> {
        let grid = EdmConfig::time_grid(&sigmas, (0..sigmas.len() - 1).collect())?;
        Ok(Self {
            config,
            sigmas,
            grid,
        })
    }

    /// The `N + 1` sigmas.
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }
}

pub(crate) fn check_sigmas(s: &[f64]) -> SamplerResult<()> {
    if s.len() < 2
        || s.iter().any(|v| !(v.is_finite() && *v >= 0.0))
        || s.windows(2).any(|w| w[1] >= w[0])
    {
        return Err(SamplerError::InvalidTimesteps(
            "sigmas must be ≥ 2 finite, non-negative, strictly decreasing values".into(),
        ));
    }
    Ok(())
}

impl SolverSpec for EulerEdm {
    fn time_grid(&self) -> &TimeGrid {
        &self.grid
    }

    fn order(&self) -> usize {
        1
    }

    fn is_stochastic(&self) -> bool {
        false
    }

    fn prior(&self) -> Prior {
        Prior::Gaussian {
            std: self.sigmas[0],
        }
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for EulerEdm {
    type State = ();

    fn step(
        &self,
        _state: &mut (),
        i: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        _noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let (s, s_next) = (self.sigmas[i], self.sigmas[i + 1]);
        let den = denoised(self.config.prediction_type, model_output, &sample, s);
        // x + (s_next − s)(x − D)/s = (s_next/s)·x + (1 − s_next/s)·D
        let r = s_next / s;
        let prev = sample.mul_scalar(r) + den.clone().mul_scalar(1.0 - r);
        Ok(StepOutput {
            prev_sample: prev,
            pred_original_sample: Some(den),
            transition: None,
        })
    }
}
