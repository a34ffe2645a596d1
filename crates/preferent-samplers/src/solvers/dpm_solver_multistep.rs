//! Multistep DPM-Solver / DPM-Solver++ (orders 1–3), ODE and SDE variants.

use super::base::{required_noise, GaussianTransition, Solver, SolverSpec, StepOutput};
use super::dpm_common::{
    check_grid, combine, convert_model_output, discrete_grid, multistep_coefficients, safe_order,
    DiscreteGridOptions, DpmAlgorithm, DpmSolverType, FinalSigmas, ThirdOrderRule,
};
use crate::error::{SamplerError, SamplerResult};
use crate::prediction::PredictionType;
use crate::schedule::{
    DiscreteScheduleConfig, GridPoint, SigmaSpacing, TimeGrid, TimeKind, TimestepSpacing,
};
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
#[derive(Debug, Clone)]
pub struct DpmSolverMultistep {
    config: DpmSolverMultistepConfig,
    grid: TimeGrid,
}

/// The history of [`DpmSolverMultistep`]: converted model outputs, newest last, and how many
/// steps have been taken since the start (diffusers `lower_order_nums`).
#[derive(Debug, Clone)]
pub struct MultistepState<B: Backend, const D: usize> {
    history: Vec<Tensor<B, D>>,
    lower_order_nums: usize,
}

impl<B: Backend, const D: usize> Default for MultistepState<B, D> {
    fn default() -> Self {
        Self {
            history: Vec::new(),
            lower_order_nums: 0,
        }
    }
}

impl<B: Backend, const D: usize> MultistepState<B, D> {
    /// Number of converted model outputs held (at most the solver order).
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// Whether no model output is held yet.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }
}

impl DpmSolverMultistep {
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
        let (_, grid) = discrete_grid(&config.grid_options(), Some(num_inference_steps), None)?;
        Self::build(config, TimeKind::TrainingStep, grid)
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
        let (_, grid) = discrete_grid(&config.grid_options(), None, Some(timesteps))?;
        Self::build(config, TimeKind::TrainingStep, grid)
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
        Self::build(config, TimeKind::Continuous, grid)
    }

    fn build(
        config: DpmSolverMultistepConfig,
        kind: TimeKind,
        grid: Vec<GridPoint>,
    ) -> SamplerResult<Self> {
        config.check_final(grid.last().map(|p| p.sigma == 0.0).unwrap_or(false))?;
        Ok(Self {
            config,
            grid: TimeGrid::new(kind, grid)?,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DpmSolverMultistepConfig {
        &self.config
    }

    /// The `N + 1` grid points (the last one is the end point, never passed to the model).
    pub fn grid(&self) -> &[GridPoint] {
        self.grid.points()
    }

    /// The order step `i` uses after `lower_order_nums` earlier steps of this run (warm-up and
    /// final-step rules, lowered for unusable λ-spacings).
    pub fn order_at(&self, i: usize, lower_order_nums: usize) -> usize {
        let c = &self.config;
        let grid = self.grid.points();
        let n = grid.len() - 1;
        let last_zero = grid[n].sigma == 0.0;
        let lof = i + 1 == n && (c.euler_at_final || (c.lower_order_final && n < 15) || last_zero);
        let los = i + 2 == n && c.lower_order_final && n < 15;
        let order = if c.solver_order == 1 || lower_order_nums < 1 || lof {
            1
        } else if c.solver_order == 2 || lower_order_nums < 2 || los {
            2
        } else {
            3
        };
        let pts: Vec<GridPoint> = (0..order.min(i + 1)).map(|k| grid[i - k]).collect();
        safe_order(order, &pts, &grid[i + 1])
    }
}

impl SolverSpec for DpmSolverMultistep {
    fn time_grid(&self) -> &TimeGrid {
        &self.grid
    }

    fn order(&self) -> usize {
        self.config.solver_order
    }

    fn is_stochastic(&self) -> bool {
        self.config.algorithm_type.is_sde()
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for DpmSolverMultistep {
    type State = MultistepState<B, D>;

    fn step(
        &self,
        state: &mut MultistepState<B, D>,
        i: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let c = &self.config;
        let grid = self.grid.points();
        let m = convert_model_output(
            c.algorithm_type,
            c.prediction_type,
            c.thresholding.as_ref(),
            model_output,
            &sample,
            &grid[i],
        );
        // Lower the order when the history is shorter (a run started at a later index).
        let order = self
            .order_at(i, state.lower_order_nums)
            .min(state.len() + 1);
        if state.history.len() == c.solver_order {
            state.history.remove(0);
        }
        state.history.push(m.clone());
        let k = state.history.len();
        let hist: Vec<&Tensor<B, D>> = (0..order).map(|j| &state.history[k - 1 - j]).collect();
        let pts: Vec<GridPoint> = (0..order).map(|j| grid[i - j]).collect();
        let coef = multistep_coefficients(
            c.algorithm_type,
            c.solver_type,
            c.third_order_rule,
            order,
            &pts,
            &grid[i + 1],
        );
        let mean = combine(sample, &coef, &hist);
        let (prev, transition) = if c.algorithm_type.is_sde() {
            let z = required_noise(noise)?;
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
        if state.lower_order_nums < c.solver_order {
            state.lower_order_nums += 1;
        }
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
