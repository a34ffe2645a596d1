//! Heun's second-order ODE sampler in EDM's σ parameterisation.

use super::base::{check_shape, Solver, StepOutput};
use super::euler_edm::{check_sigmas, denoised, EdmConfig};
use crate::error::{SamplerError, SamplerResult};
use burn::tensor::{backend::Backend, Tensor};

/// EDM's deterministic Heun sampler (Algorithm 1 with S_churn = 0).
///
/// ```text
/// d_i = (x_i − D(x_i; σ_i))/σ_i;  x̃ = x_i + (σ_{i+1} − σ_i) d_i
/// if σ_{i+1} > 0:  d' = (x̃ − D(x̃; σ_{i+1}))/σ_{i+1};  x_{i+1} = x_i + (σ_{i+1} − σ_i)(d_i + d')/2
/// else:            x_{i+1} = x̃
/// ```
/// Every [`Solver::step`] consumes one model evaluation, so [`Solver::timesteps`] lists
/// `σ_0, σ_1, σ_1, σ_2, σ_2, …, σ_{N−1}` (2N − 1 evaluations when the last sigma is 0), as
/// diffusers' `HeunDiscreteScheduler` does.
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// Karras et al. (arXiv:2206.00364) Algorithm 1; k-diffusion `sample_heun`.
#[derive(Debug)]
pub struct HeunEdm<B: Backend, const D: usize> {
    config: EdmConfig,
    sigmas: Vec<f64>,
    times: Vec<f64>,
    /// (sigma index, is-correction-stage) per evaluation.
    plan: Vec<(usize, bool)>,
    step_index: usize,
    first: Option<(Tensor<B, D>, Tensor<B, D>)>,
}

impl<B: Backend, const D: usize> HeunEdm<B, D> {
    /// Karras sigmas with `steps` steps.
    ///
    /// # Errors
    /// See [`EdmConfig::sigmas`].
    pub fn new(config: EdmConfig, steps: usize) -> SamplerResult<Self> {
        let sigmas = config.sigmas(steps)?;
        Ok(Self::build(config, sigmas))
    }

    /// User sigmas (strictly decreasing, the last may be 0).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for invalid sigmas.
    pub fn with_sigmas(config: EdmConfig, sigmas: Vec<f64>) -> SamplerResult<Self> {
        check_sigmas(&sigmas)?;
        Ok(Self::build(config, sigmas))
    }

    fn build(config: EdmConfig, sigmas: Vec<f64>) -> Self {
        let mut plan = Vec::new();
        for i in 0..sigmas.len() - 1 {
            plan.push((i, false));
            if sigmas[i + 1] > 0.0 {
                plan.push((i, true));
            }
        }
        let times = plan
            .iter()
            .map(|&(i, corr)| if corr { sigmas[i + 1] } else { sigmas[i] })
            .collect();
        Self {
            config,
            sigmas,
            times,
            plan,
            step_index: 0,
            first: None,
        }
    }

    /// The `N + 1` sigmas.
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for HeunEdm<B, D> {
    fn timesteps(&self) -> &[f64] {
        &self.times
    }

    fn step_index(&self) -> usize {
        self.step_index
    }

    fn set_begin_index(&mut self, index: usize) -> SamplerResult<()> {
        if index >= self.plan.len() || self.plan[index].1 {
            return Err(SamplerError::PastEnd {
                index,
                len: self.plan.len(),
            });
        }
        self.step_index = index;
        self.first = None;
        Ok(())
    }

    fn order(&self) -> usize {
        2
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
        let s = self
            .times
            .get(index)
            .copied()
            .ok_or(SamplerError::PastEnd {
                index,
                len: self.plan.len(),
            })?;
        Ok(original + noise.mul_scalar(s))
    }

    fn step(
        &mut self,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        _noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let k = self.step_index;
        if k >= self.plan.len() {
            return Err(SamplerError::PastEnd {
                index: k,
                len: self.plan.len(),
            });
        }
        check_shape("model_output", &model_output.dims(), &sample.dims())?;
        let (i, corr) = self.plan[k];
        let (s, s_next) = (self.sigmas[i], self.sigmas[i + 1]);
        let p = self.config.prediction_type;
        let out = if !corr {
            let den = denoised(p, model_output, &sample, s);
            let d = (sample.clone() - den.clone()).mul_scalar(1.0 / s);
            let x_pred = sample.clone() + d.clone().mul_scalar(s_next - s);
            if s_next > 0.0 {
                self.first = Some((sample, d));
            }
            StepOutput {
                prev_sample: x_pred,
                pred_original_sample: Some(den),
                transition: None,
            }
        } else {
            let (x_i, d) = self.first.take().ok_or(SamplerError::InvalidConfig(
                "Heun correction stage without a predictor stage".into(),
            ))?;
            let den = denoised(p, model_output, &sample, s_next);
            let d2 = (sample - den.clone()).mul_scalar(1.0 / s_next);
            let prev = x_i + (d + d2).mul_scalar(0.5 * (s_next - s));
            StepOutput {
                prev_sample: prev,
                pred_original_sample: Some(den),
                transition: None,
            }
        };
        self.step_index += 1;
        Ok(out)
    }
}
