//! Heun's second-order ODE sampler in EDM's σ parameterisation.

use super::base::{Prior, Solver, SolverSpec, StepOutput};
use super::euler_edm::{check_sigmas, denoised, EdmConfig};
use crate::error::{SamplerError, SamplerResult};
use crate::schedule::TimeGrid;
use burn::tensor::{backend::Backend, Tensor};

/// EDM's deterministic Heun sampler (Algorithm 1 with S_churn = 0).
///
/// ```text
/// d_i = (x_i − D(x_i; σ_i))/σ_i;  x̃ = x_i + (σ_{i+1} − σ_i) d_i
/// if σ_{i+1} > 0:  d' = (x̃ − D(x̃; σ_{i+1}))/σ_{i+1};  x_{i+1} = x_i + (σ_{i+1} − σ_i)(d_i + d')/2
/// else:            x_{i+1} = x̃
/// ```
/// Every step consumes one model evaluation, so [`Sampler::timesteps`](super::Sampler::timesteps) lists
/// `σ_0, σ_1, σ_1, σ_2, σ_2, …, σ_{N−1}` (2N − 1 evaluations when the last sigma is 0), as
/// diffusers' `HeunDiscreteScheduler` does.
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// Karras et al. (arXiv:2206.00364) Algorithm 1; k-diffusion `sample_heun`.
#[derive(Debug, Clone)]
pub struct HeunEdm {
    config: EdmConfig,
    sigmas: Vec<f64>,
    grid: TimeGrid,
    /// (sigma index, is-correction-stage) per evaluation.
    plan: Vec<(usize, bool)>,
    /// The prior of `x_T`; `None` is `N(0, σ_0² I)`.
    prior: Option<Prior>,
}

/// The state of [`HeunEdm`] between its predictor and corrector evaluations: the sample the
/// interval started from and its slope `d_i`.
#[derive(Debug, Clone)]
pub struct HeunState<B: Backend, const D: usize> {
    first: Option<(Tensor<B, D>, Tensor<B, D>)>,
}

impl<B: Backend, const D: usize> Default for HeunState<B, D> {
    fn default() -> Self {
        Self { first: None }
    }
}

impl HeunEdm {
    /// Karras sigmas with `steps` steps.
    ///
    /// # Errors
    /// See [`EdmConfig::sigmas`].
    pub fn new(config: EdmConfig, steps: usize) -> SamplerResult<Self> {
        let sigmas = config.sigmas(steps)?;
        Self::build(config, sigmas)
    }

    /// User sigmas (strictly decreasing, the last may be 0).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for invalid sigmas; [`SamplerError::InvalidConfig`]
    /// for an unsupported prediction type.
    pub fn with_sigmas(config: EdmConfig, sigmas: Vec<f64>) -> SamplerResult<Self> {
        config.validate_prediction()?;
        check_sigmas(&sigmas)?;
        Self::build(config, sigmas)
    }

    fn build(config: EdmConfig, sigmas: Vec<f64>) -> SamplerResult<Self> {
        let mut plan = Vec::new();
        for i in 0..sigmas.len() - 1 {
            plan.push((i, false));
            if sigmas[i + 1] > 0.0 {
                plan.push((i, true));
            }
        }
        let evaluations = plan
            .iter()
            .map(|&(i, corr)| if corr { i + 1 } else { i })
            .collect();
        Ok(Self {
            grid: EdmConfig::time_grid(&sigmas, evaluations)?,
            config,
            sigmas,
            plan,
            prior: None,
        })
    }

    /// The same solver starting from another prior (PFGM++'s heavy-tailed `x_T`:
    /// [`crate::pfgmpp::pfgmpp_heun`]). The step rule is unchanged; only
    /// [`SolverSpec::prior`] (and so `init_noise_sigma`) changes.
    pub fn with_prior(mut self, prior: Prior) -> Self {
        self.prior = Some(prior);
        self
    }

    /// The `N + 1` sigmas.
    pub fn sigmas(&self) -> &[f64] {
        &self.sigmas
    }
}

impl SolverSpec for HeunEdm {
    fn time_grid(&self) -> &TimeGrid {
        &self.grid
    }

    fn order(&self) -> usize {
        2
    }

    fn is_stochastic(&self) -> bool {
        false
    }

    fn prior(&self) -> Prior {
        self.prior.unwrap_or(Prior::Gaussian {
            std: self.sigmas[0],
        })
    }

    /// Only predictor stages: a correction needs the predictor's state.
    fn can_begin_at(&self, index: usize) -> bool {
        self.plan.get(index).is_some_and(|&(_, corr)| !corr)
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for HeunEdm {
    type State = HeunState<B, D>;

    fn step(
        &self,
        state: &mut HeunState<B, D>,
        k: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        _noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let (i, corr) = self.plan[k];
        let (s, s_next) = (self.sigmas[i], self.sigmas[i + 1]);
        let p = self.config.prediction_type;
        let out = if !corr {
            let den = denoised(p, model_output, &sample, s);
            let d = (sample.clone() - den.clone()).mul_scalar(1.0 / s);
            let x_pred = sample.clone() + d.clone().mul_scalar(s_next - s);
            if s_next > 0.0 {
                state.first = Some((sample, d));
            }
            StepOutput {
                prev_sample: x_pred,
                pred_original_sample: Some(den),
                transition: None,
            }
        } else {
            let (x_i, d) = state.first.take().ok_or(SamplerError::InvalidConfig(
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
        Ok(out)
    }
}
