//! Euler ODE sampler in EDM's σ parameterisation.

use super::base::{check_index, check_shape, Solver, StepOutput};
use crate::error::{SamplerError, SamplerResult};
use crate::prediction::PredictionType;
use crate::schedule::karras_sigmas;
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use std::marker::PhantomData;

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
        if !(self.sigma_min > 0.0 && self.sigma_min < self.sigma_max && self.rho > 0.0) {
            return Err(SamplerError::InvalidConfig(format!(
                "need 0 < sigma_min ({}) < sigma_max ({}) and rho ({}) > 0",
                self.sigma_min, self.sigma_max, self.rho
            )));
        }
        if !matches!(
            self.prediction_type,
            PredictionType::Sample | PredictionType::Epsilon
        ) {
            return Err(SamplerError::InvalidConfig(
                "EDM solvers take a denoiser (Sample) or Epsilon output".into(),
            ));
        }
        let mut s = if steps == 1 {
            vec![self.sigma_max]
        } else {
            karras_sigmas(steps, self.sigma_min, self.sigma_max, self.rho)
        };
        s.push(0.0);
        Ok(s)
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
#[derive(Debug)]
pub struct EulerEdm<B: Backend, const D: usize> {
    config: EdmConfig,
    sigmas: Vec<f64>,
    step_index: usize,
    _b: PhantomData<(B, [(); D])>,
}

impl<B: Backend, const D: usize> EulerEdm<B, D> {
    /// Karras sigmas with `steps` steps.
    ///
    /// # Errors
    /// See [`EdmConfig::sigmas`].
    pub fn new(config: EdmConfig, steps: usize) -> SamplerResult<Self> {
        let sigmas = config.sigmas(steps)?;
        Ok(Self {
            config,
            sigmas,
            step_index: 0,
            _b: PhantomData,
        })
    }

    /// User sigmas (decreasing, the last may be 0).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] unless ≥ 2 finite, strictly decreasing, non-negative
    /// values.
    pub fn with_sigmas(config: EdmConfig, sigmas: Vec<f64>) -> SamplerResult<Self> {
        check_sigmas(&sigmas)?;
        Ok(Self {
            config,
            sigmas,
            step_index: 0,
            _b: PhantomData,
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

impl<B: Backend, const D: usize> Solver<B, D> for EulerEdm<B, D> {
    fn timesteps(&self) -> &[f64] {
        &self.sigmas[..self.sigmas.len() - 1]
    }

    fn step_index(&self) -> usize {
        self.step_index
    }

    fn set_begin_index(&mut self, index: usize) -> SamplerResult<()> {
        check_index(index, self.sigmas.len() - 1)?;
        self.step_index = index;
        Ok(())
    }

    fn order(&self) -> usize {
        1
    }

    fn is_stochastic(&self) -> bool {
        false
    }

    fn init_noise_sigma(&self) -> f64 {
        self.sigmas[0]
    }

    fn add_noise(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        index: usize,
    ) -> SamplerResult<Tensor<B, D>> {
        check_shape("noise", &noise.dims(), &original.dims())?;
        let s = *self.sigmas.get(index).ok_or(SamplerError::PastEnd {
            index,
            len: self.sigmas.len() - 1,
        })?;
        Ok(original + noise.mul_scalar(s))
    }

    fn step(
        &mut self,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        _noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let i = self.step_index;
        check_index(i, self.sigmas.len() - 1)?;
        check_shape("model_output", &model_output.dims(), &sample.dims())?;
        let (s, s_next) = (self.sigmas[i], self.sigmas[i + 1]);
        let den = denoised(self.config.prediction_type, model_output, &sample, s);
        // x + (s_next − s)(x − D)/s = (s_next/s)·x + (1 − s_next/s)·D
        let r = s_next / s;
        let prev = sample.mul_scalar(r) + den.clone().mul_scalar(1.0 - r);
        self.step_index += 1;
        Ok(StepOutput {
            prev_sample: prev,
            pred_original_sample: Some(den),
            transition: None,
        })
    }
}
