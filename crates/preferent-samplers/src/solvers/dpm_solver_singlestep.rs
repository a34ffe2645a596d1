//! Singlestep DPM-Solver / DPM-Solver++ (orders 1–3) as diffusers implements it.

use super::base::{required_noise, GaussianTransition, Solver, SolverSpec, StepOutput};
use super::dpm_common::{
    check_grid, combine, convert_model_output, discrete_grid, safe_order, singlestep_coefficients,
    DiscreteGridOptions, DpmAlgorithm, DpmSolverType, FinalSigmas,
};
use crate::error::{SamplerError, SamplerResult};
use crate::prediction::PredictionType;
use crate::schedule::{
    DiscreteScheduleConfig, GridPoint, SigmaSpacing, TimeGrid, TimeKind, TimestepSpacing,
};
use crate::thresholding::ThresholdingConfig;
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Configuration of [`DpmSolverSinglestep`]; defaults are diffusers'
/// `DPMSolverSinglestepScheduler` defaults (`lower_order_final=False`,
/// `final_sigmas_type="zero"`, linspace timesteps).
///
/// # References
/// diffusers `scheduling_dpmsolver_singlestep.py`.
#[derive(Config, Debug)]
pub struct DpmSolverSinglestepConfig {
    /// Training noise schedule (ignored by [`DpmSolverSinglestep::from_grid`]).
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
    /// Lower the order of the final block (default false; forced on when `N % order ≠ 0` or the
    /// final sigma is zero, as in diffusers).
    #[config(default = false)]
    pub lower_order_final: bool,
    /// Sigma spacing (default: interpolate at linspace timesteps).
    #[config(default = "SigmaSpacing::Timesteps")]
    pub sigma_spacing: SigmaSpacing,
    /// Last sigma (default zero).
    #[config(default = "FinalSigmas::Zero")]
    pub final_sigmas_type: FinalSigmas,
    /// Drop training timesteps whose λ is below this (None = −∞).
    #[config(default = "None")]
    pub lambda_min_clipped: Option<f64>,
}

/// diffusers' `get_order_list`.
///
/// ```text
/// lower_order_final, order 3:  N%3=0: [1,2,3]·(N/3−1)+[1,2]+[1];  N%3=1: [1,2,3]·⌊N/3⌋+[1];
///                              N%3=2: [1,2,3]·⌊N/3⌋+[1,2]
/// lower_order_final, order 2:  even: [1,2]·(N/2−1)+[1,1];  odd: [1,2]·⌊N/2⌋+[1]
/// otherwise                    [1,2,3]·(N/3) or [1,2]·(N/2) or [1]·N
/// ```
pub fn singlestep_order_list(steps: usize, order: usize, lower_order_final: bool) -> Vec<usize> {
    let rep = |pat: &[usize], k: usize| -> Vec<usize> {
        pat.iter().copied().cycle().take(pat.len() * k).collect()
    };
    let mut v = match (order, lower_order_final) {
        (3, true) => match steps % 3 {
            0 => [
                rep(&[1, 2, 3], (steps / 3).saturating_sub(1)),
                vec![1, 2, 1],
            ]
            .concat(),
            1 => [rep(&[1, 2, 3], steps / 3), vec![1]].concat(),
            _ => [rep(&[1, 2, 3], steps / 3), vec![1, 2]].concat(),
        },
        (2, true) => {
            if steps.is_multiple_of(2) {
                [rep(&[1, 2], (steps / 2).saturating_sub(1)), vec![1, 1]].concat()
            } else {
                [rep(&[1, 2], steps / 2), vec![1]].concat()
            }
        }
        (3, false) => rep(&[1, 2, 3], steps / 3),
        (2, false) => rep(&[1, 2], steps / 2),
        _ => vec![1; steps],
    };
    v.truncate(steps);
    v
}

/// Singlestep DPM-Solver: each order-k block re-anchors at the sample where it started and uses
/// the k model outputs evaluated inside the block (intermediate points are grid timesteps).
///
/// ```text
/// order_i = order_list[i], lowered while fewer than order_i outputs exist
/// order_i = 1  ⇒ anchor ← x_i
/// x_{i+1} = c_x·anchor + Σ_k c_k m_k (+ noise)   with anchor point s_{order−1}
/// ```
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// DPM-Solver (arXiv:2206.00927) Alg. 1–2; DPM-Solver++ (arXiv:2211.01095) Alg. 1; diffusers
/// `DPMSolverSinglestepScheduler.step`.
#[derive(Debug, Clone)]
pub struct DpmSolverSinglestep {
    config: DpmSolverSinglestepConfig,
    grid: TimeGrid,
    order_list: Vec<usize>,
}

/// The state of [`DpmSolverSinglestep`]: the model outputs of the current block (newest last)
/// and the block's anchor sample.
#[derive(Debug, Clone)]
pub struct SinglestepState<B: Backend, const D: usize> {
    history: Vec<Tensor<B, D>>,
    anchor: Option<Tensor<B, D>>,
}

impl<B: Backend, const D: usize> Default for SinglestepState<B, D> {
    fn default() -> Self {
        Self {
            history: Vec::new(),
            anchor: None,
        }
    }
}

impl DpmSolverSinglestep {
    fn validate(c: &DpmSolverSinglestepConfig) -> SamplerResult<()> {
        if !(1..=3).contains(&c.solver_order) {
            return Err(SamplerError::UnsupportedOrder {
                order: c.solver_order,
                reason: "DPM-Solver singlestep supports orders 1, 2 and 3",
            });
        }
        if c.algorithm_type.is_sde() && c.solver_order == 3 {
            return Err(SamplerError::UnsupportedOrder {
                order: 3,
                reason: "the singlestep SDE variants have no third-order update",
            });
        }
        Ok(())
    }

    fn options(c: &DpmSolverSinglestepConfig) -> DiscreteGridOptions<'_> {
        DiscreteGridOptions {
            schedule: &c.schedule,
            timestep_spacing: TimestepSpacing::Linspace,
            sigma_spacing: c.sigma_spacing,
            final_sigmas: c.final_sigmas_type,
            lambda_min_clipped: c.lambda_min_clipped,
            steps_offset: 0,
        }
    }

    /// Discrete diffusers schedule with `num_inference_steps` steps.
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`], [`SamplerError::UnsupportedOrder`],
    /// [`SamplerError::InvalidConfig`], [`SamplerError::InvalidBetas`].
    pub fn new(
        config: DpmSolverSinglestepConfig,
        num_inference_steps: usize,
    ) -> SamplerResult<Self> {
        Self::validate(&config)?;
        let (_, grid) = discrete_grid(&Self::options(&config), Some(num_inference_steps), None)?;
        Self::build(config, TimeKind::TrainingStep, grid)
    }

    /// Discrete schedule on user-chosen training timesteps.
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] and the errors of [`Self::new`].
    pub fn with_timesteps(
        config: DpmSolverSinglestepConfig,
        timesteps: &[i64],
    ) -> SamplerResult<Self> {
        Self::validate(&config)?;
        let (_, grid) = discrete_grid(&Self::options(&config), None, Some(timesteps))?;
        Self::build(config, TimeKind::TrainingStep, grid)
    }

    /// Any grid of `N + 1` points; the model is called at `grid[i].t`.
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for an invalid grid.
    pub fn from_grid(
        config: DpmSolverSinglestepConfig,
        grid: Vec<GridPoint>,
    ) -> SamplerResult<Self> {
        Self::validate(&config)?;
        check_grid(&grid)?;
        Self::build(config, TimeKind::Continuous, grid)
    }

    fn build(
        config: DpmSolverSinglestepConfig,
        kind: TimeKind,
        grid: Vec<GridPoint>,
    ) -> SamplerResult<Self> {
        let n = grid.len() - 1;
        let last_zero = grid[n].sigma == 0.0;
        if last_zero && !config.algorithm_type.predicts_x0() {
            return Err(SamplerError::InvalidConfig(
                "a final sigma of zero needs a data-prediction (++) algorithm".into(),
            ));
        }
        let lof = config.lower_order_final || !n.is_multiple_of(config.solver_order) || last_zero;
        let mut order_list = singlestep_order_list(n, config.solver_order, lof);
        if last_zero {
            if let Some(l) = order_list.last_mut() {
                *l = 1;
            }
        }
        Ok(Self {
            config,
            grid: TimeGrid::new(kind, grid)?,
            order_list,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &DpmSolverSinglestepConfig {
        &self.config
    }

    /// The `N + 1` grid points.
    pub fn grid(&self) -> &[GridPoint] {
        self.grid.points()
    }

    /// The per-step order list (before lowering for missing history).
    pub fn order_list(&self) -> &[usize] {
        &self.order_list
    }
}

impl SolverSpec for DpmSolverSinglestep {
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

impl<B: Backend, const D: usize> Solver<B, D> for DpmSolverSinglestep {
    type State = SinglestepState<B, D>;

    fn step(
        &self,
        state: &mut SinglestepState<B, D>,
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
        if state.history.len() == c.solver_order {
            state.history.remove(0);
        }
        state.history.push(m.clone());
        let k = state.history.len();
        let mut order = self.order_list[i];
        while order > 1 && (k < order || state.anchor.is_none()) {
            order -= 1;
        }
        let pts: Vec<GridPoint> = (0..order).map(|j| grid[i - j]).collect();
        order = safe_order(order, &pts, &grid[i + 1]);
        if order == 1 {
            state.anchor = Some(sample.clone());
        }
        let anchor = state.anchor.clone().unwrap_or(sample);
        let hist: Vec<&Tensor<B, D>> = (0..order).map(|j| &state.history[k - 1 - j]).collect();
        let coef = singlestep_coefficients(
            c.algorithm_type,
            c.solver_type,
            order,
            &pts[..order],
            &grid[i + 1],
        );
        let mean = combine(anchor, &coef, &hist);
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

#[cfg(test)]
mod tests {
    use super::*;

    // diffusers get_order_list, evaluated in Python:
    //   order 2, N=10, lof → [1,2,1,2,1,2,1,2,1,1];  order 3, N=8, lof → [1,2,3,1,2,3,1,2]
    //   order 3, N=9, lof → [1,2,3,1,2,3,1,2,1];     order 2, N=10, no lof → [1,2]*5
    #[test]
    fn order_lists_match_diffusers() {
        assert_eq!(
            singlestep_order_list(10, 2, true),
            vec![1, 2, 1, 2, 1, 2, 1, 2, 1, 1]
        );
        assert_eq!(
            singlestep_order_list(8, 3, true),
            vec![1, 2, 3, 1, 2, 3, 1, 2]
        );
        assert_eq!(
            singlestep_order_list(9, 3, true),
            vec![1, 2, 3, 1, 2, 3, 1, 2, 1]
        );
        assert_eq!(singlestep_order_list(10, 2, false), [1, 2].repeat(5));
        assert_eq!(singlestep_order_list(1, 2, true), vec![1]);
    }
}
