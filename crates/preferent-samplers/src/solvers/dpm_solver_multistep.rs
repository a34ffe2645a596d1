//! Multistep DPM-Solver / DPM-Solver++ (orders 1–3), ODE and SDE variants.

use super::base::{
    check_index, check_shape, standard_normal, GaussianTransition, Solver, StepOutput,
};
use super::dpm_common::{
    check_grid, combine, convert_model_output, discrete_grid, multistep_coefficients, safe_order,
    DiscreteGridOptions, DpmAlgorithm, DpmSolverType, FinalSigmas, ThirdOrderRule,
};
use crate::error::{SamplerError, SamplerResult};
use crate::prediction::PredictionType;
use crate::schedule::{DiscreteScheduleConfig, GridPoint, SigmaSpacing, TimestepSpacing};
use crate::thresholding::ThresholdingConfig;
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Configuration of [`DpmSolverMultistep`]; defaults are diffusers'
/// `DPMSolverMultistepScheduler` defaults.
///
/// # References
/// diffusers `scheduling_dpmsolver_multistep.py` (`__init__` signature); DPM-Solver++
/// (arXiv:2211.01095) recommends order 2 for guided sampling, 3 for unconditional.
#[derive(Config, Debug)]
pub struct DpmSolverMultistepConfig {
    /// Training noise schedule (ignored by [`DpmSolverMultistep::from_grid`]).
    #[config(default = "DiscreteScheduleConfig::new()")]
    pub schedule: DiscreteScheduleConfig,
    /// Solver order, 1–3 (default 2).
    #[config(default = 2)]
    pub solver_order: usize,
    /// What the model predicts (default ε).
    #[config(default = "PredictionType::Epsilon")]
    pub prediction_type: PredictionType,
    /// Dynamic thresholding of x₀ (default off).
    #[config(default = "None")]
    pub thresholding: Option<ThresholdingConfig>,
    /// Algorithm (default DPM-Solver++).
    #[config(default = "DpmAlgorithm::DpmSolverPlusPlus")]
    pub algorithm_type: DpmAlgorithm,
    /// Second-order rule (default midpoint).
    #[config(default = "DpmSolverType::Midpoint")]
    pub solver_type: DpmSolverType,
    /// D₂ weight of the third-order update (default diffusers', see [`ThirdOrderRule`]).
    #[config(default = "ThirdOrderRule::Diffusers")]
    pub third_order_rule: ThirdOrderRule,
    /// Use lower orders for the last steps when fewer than 15 steps (default true).
    #[config(default = true)]
    pub lower_order_final: bool,
    /// Force a first-order last step (default false).
    #[config(default = false)]
    pub euler_at_final: bool,
    /// Sigma spacing (default: interpolate at the spaced timesteps).
    #[config(default = "SigmaSpacing::Timesteps")]
    pub sigma_spacing: SigmaSpacing,
    /// Last sigma of the discrete schedule (default zero).
    #[config(default = "FinalSigmas::Zero")]
    pub final_sigmas_type: FinalSigmas,
    /// Drop training timesteps whose λ is below this (None = −∞, the default).
    #[config(default = "None")]
    pub lambda_min_clipped: Option<f64>,
    /// Timestep spacing (default linspace).
    #[config(default = "TimestepSpacing::Linspace")]
    pub timestep_spacing: TimestepSpacing,
    /// Offset added to leading-spaced timesteps (default 0).
    #[config(default = 0)]
    pub steps_offset: usize,
}

impl DpmSolverMultistepConfig {
    fn validate(&self) -> SamplerResult<()> {
        if !(1..=3).contains(&self.solver_order) {
            return Err(SamplerError::UnsupportedOrder {
                order: self.solver_order,
                reason: "DPM-Solver multistep supports orders 1, 2 and 3",
            });
        }
        if self.algorithm_type == DpmAlgorithm::SdeDpmSolver && self.solver_order == 3 {
            return Err(SamplerError::UnsupportedOrder {
                order: 3,
                reason: "sde-dpmsolver has no third-order update (diffusers leaves it undefined)",
            });
        }
        Ok(())
    }

    fn grid_options(&self) -> DiscreteGridOptions<'_> {
        DiscreteGridOptions {
            schedule: &self.schedule,
            timestep_spacing: self.timestep_spacing,
            sigma_spacing: self.sigma_spacing,
            final_sigmas: self.final_sigmas_type,
            lambda_min_clipped: self.lambda_min_clipped,
            steps_offset: self.steps_offset,
        }
    }

    fn check_final(&self, last_sigma_zero: bool) -> SamplerResult<()> {
        if last_sigma_zero && !self.algorithm_type.predicts_x0() {
            return Err(SamplerError::InvalidConfig(
                "a final sigma of zero needs a data-prediction (++) algorithm; use \
                 FinalSigmas::SigmaMin with DPM-Solver (v1)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Multistep DPM-Solver / DPM-Solver++ over a grid of `N + 1` points.
///
/// Step `i` integrates from grid point `i` to `i + 1` with order
/// ```text
/// lof = i = N−1 ∧ (euler_at_final ∨ (lower_order_final ∧ N < 15) ∨ σ_N = 0)
/// los = i = N−2 ∧ lower_order_final ∧ N < 15
/// order = 1                    if solver_order = 1 ∨ warm-up < 1 ∨ lof
///       = 2                    if solver_order = 2 ∨ warm-up < 2 ∨ los
///       = 3                    otherwise
/// ```
/// using the coefficient table in the [`crate::solvers`] module docs, and additionally
/// drops to a lower order when a λ-spacing is zero or infinite (duplicated timesteps, σ_t = 0)
/// where diffusers would return inf/NaN.
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// DPM-Solver++ (arXiv:2211.01095) Algorithm 2; DPM-Solver (arXiv:2206.00927);
/// SDE-DPM-Solver++ (Lu et al. 2022, arXiv:2211.01095 App. B; diffusers);
/// diffusers `DPMSolverMultistepScheduler.step`.
#[derive(Debug)]
pub struct DpmSolverMultistep<B: Backend, const D: usize> {
    config: DpmSolverMultistepConfig,
    timesteps: Vec<f64>,
    grid: Vec<GridPoint>,
    history: Vec<Option<Tensor<B, D>>>,
    lower_order_nums: usize,
    step_index: usize,
}

impl<B: Backend, const D: usize> DpmSolverMultistep<B, D> {
    /// Discrete diffusers schedule with `num_inference_steps` steps.
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`], [`SamplerError::UnsupportedOrder`],
    /// [`SamplerError::InvalidConfig`], [`SamplerError::InvalidBetas`].
    pub fn new(
        config: DpmSolverMultistepConfig,
        num_inference_steps: usize,
    ) -> SamplerResult<Self> {
        config.validate()?;
        let (timesteps, grid) =
            discrete_grid(&config.grid_options(), Some(num_inference_steps), None)?;
        Self::build(config, timesteps, grid)
    }

    /// Discrete schedule on user-chosen training timesteps (non-increasing, in `0..N`).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] and the errors of [`Self::new`].
    pub fn with_timesteps(
        config: DpmSolverMultistepConfig,
        timesteps: &[i64],
    ) -> SamplerResult<Self> {
        config.validate()?;
        let (timesteps, grid) = discrete_grid(&config.grid_options(), None, Some(timesteps))?;
        Self::build(config, timesteps, grid)
    }

    /// Any grid of `N + 1` points (continuous time, other schedules); the model is called at
    /// `grid[i].t` for `i < N`. Schedule-related config fields are ignored.
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for a grid with fewer than 2 points or invalid α/σ.
    pub fn from_grid(
        config: DpmSolverMultistepConfig,
        grid: Vec<GridPoint>,
    ) -> SamplerResult<Self> {
        config.validate()?;
        check_grid(&grid)?;
        let timesteps = grid[..grid.len() - 1].iter().map(|p| p.t).collect();
        Self::build(config, timesteps, grid)
    }

    fn build(
        config: DpmSolverMultistepConfig,
        timesteps: Vec<f64>,
        grid: Vec<GridPoint>,
    ) -> SamplerResult<Self> {
        config.check_final(grid.last().map(|p| p.sigma == 0.0).unwrap_or(false))?;
        let order = config.solver_order;
        Ok(Self {
            config,
            timesteps,
            grid,
            history: vec![None; order],
            lower_order_nums: 0,
            step_index: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DpmSolverMultistepConfig {
        &self.config
    }

    /// The `N + 1` grid points (the last one is the end point, never passed to the model).
    pub fn grid(&self) -> &[GridPoint] {
        &self.grid
    }

    /// The order the next step will use (after warm-up and final-step rules).
    pub fn next_order(&self) -> usize {
        self.order_for(self.step_index)
    }

    fn order_for(&self, i: usize) -> usize {
        let c = &self.config;
        let n = self.timesteps.len();
        let last_zero = self.grid[n].sigma == 0.0;
        let lof = i + 1 == n && (c.euler_at_final || (c.lower_order_final && n < 15) || last_zero);
        let los = i + 2 == n && c.lower_order_final && n < 15;
        let order = if c.solver_order == 1 || self.lower_order_nums < 1 || lof {
            1
        } else if c.solver_order == 2 || self.lower_order_nums < 2 || los {
            2
        } else {
            3
        };
        let pts: Vec<GridPoint> = (0..order.min(i + 1)).map(|k| self.grid[i - k]).collect();
        safe_order(order, &pts, &self.grid[i + 1])
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for DpmSolverMultistep<B, D> {
    fn timesteps(&self) -> &[f64] {
        &self.timesteps
    }

    fn step_index(&self) -> usize {
        self.step_index
    }

    fn set_begin_index(&mut self, index: usize) -> SamplerResult<()> {
        check_index(index, self.timesteps.len())?;
        self.step_index = index;
        self.lower_order_nums = 0;
        self.history.iter_mut().for_each(|h| *h = None);
        Ok(())
    }

    fn order(&self) -> usize {
        self.config.solver_order
    }

    fn is_stochastic(&self) -> bool {
        self.config.algorithm_type.is_sde()
    }

    fn add_noise(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        index: usize,
    ) -> SamplerResult<Tensor<B, D>> {
        super::base::vp_add_noise(&self.grid, self.timesteps.len(), original, noise, index)
    }

    fn step(
        &mut self,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let i = self.step_index;
        let n = self.timesteps.len();
        check_index(i, n)?;
        check_shape("model_output", &model_output.dims(), &sample.dims())?;
        let c = &self.config;
        let m = convert_model_output(
            c.algorithm_type,
            c.prediction_type,
            c.thresholding.as_ref(),
            model_output,
            &sample,
            &self.grid[i],
        );
        let order = self.order_for(i);
        self.history.remove(0);
        self.history.push(Some(m.clone()));
        let k = self.history.len();
        let hist: Vec<&Tensor<B, D>> = (0..order)
            .filter_map(|j| self.history[k - 1 - j].as_ref())
            .collect();
        let pts: Vec<GridPoint> = (0..order).map(|j| self.grid[i - j]).collect();
        let coef = multistep_coefficients(
            c.algorithm_type,
            c.solver_type,
            c.third_order_rule,
            order,
            &pts,
            &self.grid[i + 1],
        );
        let mean = combine(sample.clone(), &coef, &hist);
        let (prev, transition) = if c.algorithm_type.is_sde() {
            let z = standard_normal(&sample, noise)?;
            let prev = mean.clone() + z.mul_scalar(coef.noise);
            (
                prev,
                Some(GaussianTransition {
                    mean,
                    std: coef.noise,
                }),
            )
        } else {
            (mean, None)
        };
        if self.lower_order_nums < c.solver_order {
            self.lower_order_nums += 1;
        }
        self.step_index += 1;
        let pred_x0 = if c.algorithm_type.predicts_x0() {
            Some(m)
        } else {
            None
        };
        Ok(StepOutput {
            prev_sample: prev,
            pred_original_sample: pred_x0,
            transition,
        })
    }
}
