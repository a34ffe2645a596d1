//! UniPC: the unified predictor–corrector multistep solver (UniP-p + UniC-p, B(h) variants
//! bh1/bh2, orders 1–3), diffusers `UniPCMultistepScheduler` on the discrete grids of the
//! DPM-Solver port, plus the official repository's `denoise_to_zero`.
//!
//! # References
//! Zhao et al., "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of Diffusion
//! Models" (arXiv:2302.04867), §3: UniC-p, UniP-p, the B(h) choices and the order-raising
//! result for UniC (equation and algorithm numbers were not checked against the paper here;
//! the code citations below are exact); wl-zhao/UniPC `uni_pc.py` (`multistep_uni_pc_bh_update`,
//! `sample`, `denoise_to_zero_fn`); diffusers `scheduling_unipc_multistep.py` (`step`,
//! `multistep_uni_p_bh_update`, `multistep_uni_c_bh_update`, `set_timesteps`).

use super::base::{Solver, SolverSpec, StepOutput};
use super::dpm_common::{
    check_grid, combine, convert_model_output, discrete_grid_variant, safe_order, Coefficients,
    DiscreteGridOptions, DpmAlgorithm, FinalSigmas, GridVariant,
};
use super::dpm_solver_multistep::{DpmSolverMultistep, DpmSolverMultistepConfig, MultistepState};
use crate::error::{SamplerError, SamplerResult};
use crate::phi::{phi1, phi2, phi3};
use crate::prediction::PredictionType;
use crate::schedule::{
    DiscreteScheduleConfig, GridPoint, SigmaSpacing, TimeGrid, TimeKind, TimestepSpacing,
};
use crate::thresholding::ThresholdingConfig;
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// The B(h) of UniPC's update (diffusers `solver_type`, official `variant`).
///
/// ```text
/// hh = −h (data prediction) or h (noise prediction),   h = λ_t − λ_s
/// Bh1:  B(h) = hh
/// Bh2:  B(h) = e^{hh} − 1
/// ```
///
/// # References
/// arXiv:2302.04867 §3 (B₁(h) = h, B₂(h) = eʰ − 1); `uni_pc.py:509-512`; diffusers
/// `multistep_uni_p_bh_update`. The official default is `Bh1` (`UniPC(variant='bh1')`, also the
/// score_sde example config); diffusers defaults to `Bh2`, recommended for guided sampling.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum UniPcVariant {
    /// `B(h) = hh` (official default; recommended for unconditional sampling).
    Bh1,
    /// `B(h) = expm1(hh)` (diffusers default; recommended for guided sampling).
    Bh2,
}

/// Configuration of [`UniPc`]; defaults are diffusers' `UniPCMultistepScheduler.__init__`
/// defaults (diffusers@58eb52c `scheduling_unipc_multistep.py:199-231`).
///
/// | field | default | diffusers |
/// |---|---|---|
/// | `schedule` | 1000 linear betas 1e-4 → 0.02 | `num_train_timesteps`, `beta_*`, `trained_betas`, `rescale_betas_zero_snr` |
/// | `solver_order` | 2 | `solver_order=2` |
/// | `prediction_type` | ε | `prediction_type="epsilon"` |
/// | `thresholding` | off | `thresholding=False` (ratio 0.995, max 1.0) |
/// | `predict_x0` | true | `predict_x0=True` |
/// | `solver_type` | bh2 | `solver_type="bh2"` |
/// | `lower_order_final` | true | `lower_order_final=True` |
/// | `disable_corrector` | `[]` | `disable_corrector=[]` |
/// | `solver_p` | none (UniP) | `solver_p=None` |
/// | `sigma_spacing` | timesteps | `use_karras/exponential/flow_sigmas=False`, `flow_shift=1.0` |
/// | `flow_karras_sigmas` | false | `use_flow_sigmas` and `use_karras_sigmas` both true |
/// | `sigma_min`, `sigma_max` | none | `sigma_min=None`, `sigma_max=None` |
/// | `timestep_spacing` | linspace | `timestep_spacing="linspace"` |
/// | `steps_offset` | 0 | `steps_offset=0` |
/// | `final_sigmas_type` | zero | `final_sigmas_type="zero"` |
/// | `denoise_to_zero` | false | — (official `sample(denoise_to_zero=False)`) |
///
/// [`UniPcConfig::official`] gives the official repository's solver defaults instead (bh1).
/// Not ported: `use_beta_sigmas` (the DPM-Solver port has no beta sigmas either),
/// `use_dynamic_shifting` / `shift_terminal` (see [`crate::solvers::FlowMatchEuler`]).
///
/// # References
/// diffusers `scheduling_unipc_multistep.py` (`__init__`, `set_timesteps`); arXiv:2302.04867.
#[derive(Config, Debug)]
pub struct UniPcConfig {
    /// Training noise schedule (ignored by [`UniPc::from_grid`]).
    #[config(default = "DiscreteScheduleConfig::new()")]
    pub schedule: DiscreteScheduleConfig,
    /// Solver order p of UniP-p (1–3, default 2); UniC-p then has order p + 1.
    #[config(default = 2)]
    pub solver_order: usize,
    /// What the model predicts (default ε).
    #[config(default = "PredictionType::Epsilon")]
    pub prediction_type: PredictionType,
    /// Dynamic thresholding of x₀ (default off). Also applied with `predict_x0 = false` (through
    /// x₀ → ε, as DPM-Solver does), where diffusers' UniPC silently ignores it.
    #[config(default = "None")]
    pub thresholding: Option<ThresholdingConfig>,
    /// Integrate the data prediction x₀ (default true, "UniPC with data prediction"); false
    /// integrates the noise prediction ε.
    #[config(default = true)]
    pub predict_x0: bool,
    /// B(h) variant (default [`UniPcVariant::Bh2`], diffusers; the official default is bh1).
    #[config(default = "UniPcVariant::Bh2")]
    pub solver_type: UniPcVariant,
    /// Lower the order on the last steps: `p_i = min(solver_order, N − i)` (default true; unlike
    /// DPM-Solver there is no `N < 15` gate).
    #[config(default = true)]
    pub lower_order_final: bool,
    /// Steps whose predictor output is *not* corrected (diffusers `disable_corrector`: step `i`
    /// skips UniC when `i − 1` is listed). Default empty.
    #[config(default = "Vec::new()")]
    pub disable_corrector: Vec<usize>,
    /// A DPM-Solver predictor replacing UniP (diffusers `solver_p`; default none = UniP). It is
    /// stepped on UniPC's grid with the raw model output and the corrected sample (as diffusers
    /// does, so its ε → x₀ conversion sees the corrected sample), with its own history; its schedule
    /// and spacing fields are ignored (diffusers builds its grid from its own config with the
    /// same step count, which is the same grid when the configs agree). SDE algorithms are
    /// rejected (UniPC is deterministic).
    #[config(default = "None")]
    pub solver_p: Option<DpmSolverMultistepConfig>,
    /// Sigma spacing (default: interpolate at the spaced timesteps). [`SigmaSpacing::Flow`] uses
    /// UniPC's flow sigmas `shift(linspace(1, 1/N, n+1)[:-1])` with `σ₀ = 1 − 10⁻⁶`.
    #[config(default = "SigmaSpacing::Timesteps")]
    pub sigma_spacing: SigmaSpacing,
    /// With [`SigmaSpacing::Flow`]: Karras sigmas mapped to flow sigmas `s/(1 + s)` (the shift
    /// is not applied, as in diffusers). Default false.
    #[config(default = false)]
    pub flow_karras_sigmas: bool,
    /// σ_min of Karras / Lu / exponential / flow-Karras sigmas (default: the schedule's).
    #[config(default = "None")]
    pub sigma_min: Option<f64>,
    /// σ_max of Karras / Lu / exponential / flow-Karras sigmas (default: the schedule's).
    #[config(default = "None")]
    pub sigma_max: Option<f64>,
    /// Timestep spacing (default linspace).
    #[config(default = "TimestepSpacing::Linspace")]
    pub timestep_spacing: TimestepSpacing,
    /// Offset added to leading-spaced timesteps (default 0).
    #[config(default = 0)]
    pub steps_offset: usize,
    /// Last sigma of the discrete schedule (default zero). `SigmaMin` appends the training σ_min
    /// for timestep spacing and repeats the last sigma otherwise (diffusers), which makes the
    /// last step a no-op `h = 0` step for Karras, Lu, exponential and flow sigmas.
    #[config(default = "FinalSigmas::Zero")]
    pub final_sigmas_type: FinalSigmas,
    /// After the last step, evaluate the model once more at the end point and return its x₀
    /// prediction (official `sample(denoise_to_zero=True)`; one extra NFE, so the grid has
    /// `N + 1` evaluations). Needs a final σ > 0. Default false.
    #[config(default = false)]
    pub denoise_to_zero: bool,
}

impl UniPcConfig {
    /// The official repository's solver defaults: bh1 with data prediction
    /// (`UniPC(algorithm_type="data_prediction", variant='bh1')`, `uni_pc.py:237-247`), ending
    /// at the training σ_min like the official `sample(t_end=1/N)`; `denoise_to_zero` off as in
    /// `sample`. Everything else as [`UniPcConfig::new`].
    pub fn official() -> Self {
        Self::new()
            .with_solver_type(UniPcVariant::Bh1)
            .with_final_sigmas_type(FinalSigmas::SigmaMin)
    }

    fn validate(&self) -> SamplerResult<()> {
        if !(1..=3).contains(&self.solver_order) {
            return Err(SamplerError::UnsupportedOrder {
                order: self.solver_order,
                reason: "UniPC supports orders 1, 2 and 3",
            });
        }
        let bounds = [self.sigma_min, self.sigma_max];
        if bounds
            .iter()
            .flatten()
            .any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(SamplerError::InvalidConfig(format!(
                "sigma_min = {:?} and sigma_max = {:?} must be finite and > 0",
                self.sigma_min, self.sigma_max
            )));
        }
        if let (Some(lo), Some(hi)) = (self.sigma_min, self.sigma_max) {
            if lo >= hi {
                return Err(SamplerError::InvalidConfig(format!(
                    "sigma_min = {lo} must be below sigma_max = {hi}"
                )));
            }
        }
        let is_flow = matches!(self.sigma_spacing, SigmaSpacing::Flow { .. });
        if self.flow_karras_sigmas && !is_flow {
            return Err(SamplerError::InvalidConfig(
                "flow_karras_sigmas needs SigmaSpacing::Flow".into(),
            ));
        }
        let uses_bounds = matches!(
            self.sigma_spacing,
            SigmaSpacing::Karras | SigmaSpacing::Lu | SigmaSpacing::Exponential
        ) || self.flow_karras_sigmas;
        if bounds.iter().any(Option::is_some) && !uses_bounds {
            return Err(SamplerError::InvalidConfig(
                "sigma_min / sigma_max apply only to Karras, Lu, exponential or flow-Karras sigmas"
                    .into(),
            ));
        }
        if let Some(p) = &self.solver_p {
            if p.algorithm_type.is_sde() {
                return Err(SamplerError::InvalidConfig(
                    "solver_p must be a deterministic DPM-Solver (not an SDE variant)".into(),
                ));
            }
        }
        Ok(())
    }

    fn grid_options(&self) -> DiscreteGridOptions<'_> {
        DiscreteGridOptions {
            schedule: &self.schedule,
            timestep_spacing: self.timestep_spacing,
            sigma_spacing: self.sigma_spacing,
            final_sigmas: self.final_sigmas_type,
            lambda_min_clipped: None,
            steps_offset: self.steps_offset,
        }
    }

    fn grid_variant(&self) -> GridVariant {
        GridVariant {
            sigma_min: self.sigma_min,
            sigma_max: self.sigma_max,
            unipc: true,
            flow_karras: self.flow_karras_sigmas,
        }
    }

    fn algorithm(&self) -> DpmAlgorithm {
        if self.predict_x0 {
            DpmAlgorithm::DpmSolverPlusPlus
        } else {
            DpmAlgorithm::DpmSolver
        }
    }
}

/// Multistep UniPC over a grid of `N + 1` points (UniP-p predictor, UniC-p corrector).
///
/// Step `i` (model output at point `s₀ = i`, target `t = i + 1`; `m` the converted outputs,
/// newest `m₀`) runs, as diffusers' `step` does:
/// ```text
/// 1. UniC  (if i > 0, i − 1 ∉ disable_corrector, and the previous step was taken in this run)
///          corrects x_i from x_{i−1} with order p_{i−1}, reusing m_i (no extra NFE):
///          x_i ← x̃_i − c·B(h)·(Σ_{k<p} ρᶜ_k D1_k + ρᶜ_p (m_i − m₀))
/// 2. p_i = min(solver_order, N − i) if lower_order_final else solver_order;  p_i ≤ steps taken + 1
/// 3. UniP  x_{i+1} = x̃_{i+1} − c·B(h)·Σ_{k<p} ρᵖ_k D1_k        (or solver_p's step)
///
/// with, for the interval s₀ → t and history points s_k (k = 1 … p−1):
///   h = λ_t − λ_{s₀},  r_k = (λ_{s_k} − λ_{s₀})/h,  D1_k = (m_k − m₀)/r_k,  hh = ∓h (x₀ / ε)
///   x̃ = (σ_t/σ_{s₀}) x − α_t (e^{hh} − 1) m₀        (data prediction;  c = α_t)
///   x̃ = (α_t/α_{s₀}) x − σ_t (e^{hh} − 1) m₀        (noise prediction; c = σ_t)
///   b_j = j!·(hh·φ_{j+1}(hh))/B(h),  R_{jk} = r_k^{j−1}  (r_p = 1)
///   ρᵖ = [½] for p = 2, else solve(R[:p−1, :p−1], b[:p−1]);   ρᶜ = [½] for p = 1, else solve(R, b)
/// ```
///
/// # Where this differs from diffusers (it stays finite where diffusers does not)
/// - `b_j` is computed from φ-functions (series near 0), finite at `h = 0` (Karras', Lu's,
///   exponential and flow sigmas with `final_sigmas_type = SigmaMin` repeat the last σ; diffusers
///   forms `0/0` there, harmless only while that vector is unused).
/// - A D1 term is added only when there is one: diffusers' bh1 onto a final σ = 0 computes
///   `−α_t·B(h)·0` with `B(h) = hh = −∞`, i.e. NaN, by construction (diffusers' default
///   `final_sigmas_type = "zero"` with `solver_type = "bh1"`); here that step is `x = m₀` (x₀).
/// - The step onto σ = 0 is always first order (diffusers with `lower_order_final = false` divides
///   by `r_k = 0`), and orders drop when a λ-spacing is zero or infinite (duplicated timesteps).
///   Noise prediction onto σ = 0 uses `σ_t(e^h − 1) = α_t σ_s/α_s − σ_t` (exact), giving
///   `x = α_t x̂₀` where diffusers forms `0·∞`.
/// - A singular UniP/UniC system (possible only on a degenerate user grid) lowers the order
///   instead of returning NaN.
///
/// With `denoise_to_zero` the grid has one more evaluation, at the end point `N`, whose step
/// returns the model's x₀ prediction there (official `denoise_to_zero_fn`; the last predictor
/// output is not corrected first, as in the official `sample`).
///
/// # Shapes
/// Samples and model outputs `[batch, …]`.
///
/// # References
/// arXiv:2302.04867 §3 (UniC-p, UniP-p, multistep UniPC-p; numbers unchecked, see the module
/// docs); wl-zhao/UniPC `uni_pc.py:471-588` (`multistep_uni_pc_bh_update`),
/// `:590-677` (`sample`); diffusers@58eb52c `scheduling_unipc_multistep.py`: `step` (:1153,
/// corrector rule :1188, order rule :1209-1213), `multistep_uni_p_bh_update` (:833, the bh1
/// NaN at :950), `multistep_uni_c_bh_update` (:962), `set_timesteps` (:318, flow σ₀ at :440).
#[derive(Debug, Clone)]
pub struct UniPc {
    config: UniPcConfig,
    grid: TimeGrid,
    solver_p: Option<DpmSolverMultistep>,
}

/// The history of [`UniPc`]: converted model outputs (newest last), the number of steps taken in
/// this run (diffusers `lower_order_nums`), the sample before the last predictor and that
/// predictor's order (what UniC needs), and `solver_p`'s own history.
///
/// # Shapes
/// Every stored tensor has the sample's shape `[batch, …]`.
#[derive(Debug, Clone)]
pub struct UniPcState<B: Backend, const D: usize> {
    history: Vec<Tensor<B, D>>,
    lower_order_nums: usize,
    last_sample: Option<Tensor<B, D>>,
    this_order: usize,
    predictor: MultistepState<B, D>,
}

impl<B: Backend, const D: usize> Default for UniPcState<B, D> {
    fn default() -> Self {
        Self {
            history: Vec::new(),
            lower_order_nums: 0,
            last_sample: None,
            this_order: 1,
            predictor: MultistepState::default(),
        }
    }
}

impl<B: Backend, const D: usize> UniPcState<B, D> {
    /// Number of converted model outputs held (at most the solver order).
    pub fn len(&self) -> usize {
        self.history.len()
    }

    /// Whether no model output is held yet.
    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// The order of the last predictor step (the order its corrector will use).
    pub fn this_order(&self) -> usize {
        self.this_order
    }

    /// Whether the next step will have a predictor output to correct.
    pub fn has_last_sample(&self) -> bool {
        self.last_sample.is_some()
    }
}

impl UniPc {
    /// Discrete diffusers schedule with `num_inference_steps` steps.
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`], [`SamplerError::UnsupportedOrder`],
    /// [`SamplerError::InvalidConfig`], [`SamplerError::InvalidBetas`].
    pub fn new(config: UniPcConfig, num_inference_steps: usize) -> SamplerResult<Self> {
        config.validate()?;
        let (_, grid) = discrete_grid_variant(
            &config.grid_options(),
            &config.grid_variant(),
            Some(num_inference_steps),
            None,
        )?;
        Self::build(config, TimeKind::TrainingStep, grid)
    }

    /// Discrete schedule on user-chosen training timesteps (non-increasing, in `0..N`; needs
    /// `SigmaSpacing::Timesteps`).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] and the errors of [`Self::new`].
    pub fn with_timesteps(config: UniPcConfig, timesteps: &[i64]) -> SamplerResult<Self> {
        config.validate()?;
        let (_, grid) = discrete_grid_variant(
            &config.grid_options(),
            &config.grid_variant(),
            None,
            Some(timesteps),
        )?;
        Self::build(config, TimeKind::TrainingStep, grid)
    }

    /// Any grid of `N + 1` points (continuous time, other schedules); the model is called at
    /// `grid[i].t` for `i < N` (and at `grid[N].t` with `denoise_to_zero`). Schedule-related
    /// config fields are ignored.
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for a grid with fewer than 2 points or invalid α/σ;
    /// the configuration errors of [`Self::new`].
    pub fn from_grid(config: UniPcConfig, grid: Vec<GridPoint>) -> SamplerResult<Self> {
        config.validate()?;
        check_grid(&grid)?;
        Self::build(config, TimeKind::Continuous, grid)
    }

    fn build(config: UniPcConfig, kind: TimeKind, grid: Vec<GridPoint>) -> SamplerResult<Self> {
        let n = grid.len().saturating_sub(1);
        let last_zero = grid.last().is_some_and(|p| p.sigma == 0.0);
        if config.denoise_to_zero && last_zero {
            return Err(SamplerError::InvalidConfig(
                "denoise_to_zero needs a final sigma > 0 (FinalSigmas::SigmaMin): the last step \
                 already lands on sigma = 0"
                    .into(),
            ));
        }
        let solver_p = match &config.solver_p {
            Some(p) => Some(DpmSolverMultistep::from_grid(p.clone(), grid.clone())?),
            None => None,
        };
        let evaluations = if config.denoise_to_zero {
            (0..=n).collect()
        } else {
            (0..n).collect()
        };
        Ok(Self {
            config,
            grid: TimeGrid::with_evaluations(kind, grid, evaluations)?,
            solver_p,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &UniPcConfig {
        &self.config
    }

    /// The `N + 1` grid points (the last one is the end point).
    pub fn grid(&self) -> &[GridPoint] {
        self.grid.points()
    }

    /// The UniP order of step `i < N` after `lower_order_nums` earlier steps of this run
    /// (warm-up and final-step rules, lowered for unusable λ-spacings and σ_t = 0).
    pub fn order_at(&self, i: usize, lower_order_nums: usize) -> usize {
        let pts = self.grid.points();
        let n = pts.len() - 1;
        if i >= n {
            return 1;
        }
        let p = self.nominal_order(i, lower_order_nums);
        let hist: Vec<GridPoint> = (0..p.min(i + 1)).map(|k| pts[i - k]).collect();
        safe_order(p, &hist, &pts[i + 1])
    }

    /// diffusers' `this_order` of step `i`.
    fn nominal_order(&self, i: usize, lower_order_nums: usize) -> usize {
        let c = &self.config;
        let n = self.grid.points().len() - 1;
        let p = if c.lower_order_final {
            c.solver_order.min(n - i)
        } else {
            c.solver_order
        };
        p.min(lower_order_nums + 1).max(1)
    }

    /// UniC of step `i`: corrects `sample` (= x_i from the predictor of step `i − 1`).
    fn correct<B: Backend, const D: usize>(
        &self,
        state: &UniPcState<B, D>,
        i: usize,
        m_t: &Tensor<B, D>,
        sample: Tensor<B, D>,
    ) -> Tensor<B, D> {
        let Some(last) = state.last_sample.clone() else {
            return sample;
        };
        let pts = self.grid.points();
        let k = state.history.len();
        let p = state.this_order.min(k).min(i).max(1);
        // points s₀ = i − 1, s_j = i − 1 − j; target t = i
        let hist_pts: Vec<GridPoint> = (0..p).map(|j| pts[i - 1 - j]).collect();
        let p = safe_order(p, &hist_pts, &pts[i]);
        let c = uni_coefficients(
            self.config.solver_type,
            self.config.predict_x0,
            p,
            &hist_pts[..p],
            &pts[i],
            true,
        );
        let hist: Vec<&Tensor<B, D>> = (0..c.order).map(|j| &state.history[k - 1 - j]).collect();
        let x = combine(last, &c.lin, &hist);
        if c.model_t != 0.0 {
            x + m_t.clone().mul_scalar(c.model_t)
        } else {
            x
        }
    }

    /// UniP of step `i` from the (corrected) sample, with the history already holding `m_i`.
    fn predict<B: Backend, const D: usize>(
        &self,
        state: &UniPcState<B, D>,
        i: usize,
        order: usize,
        sample: Tensor<B, D>,
    ) -> Tensor<B, D> {
        let pts = self.grid.points();
        let k = state.history.len();
        let p = order.min(k).min(i + 1).max(1);
        let hist_pts: Vec<GridPoint> = (0..p).map(|j| pts[i - j]).collect();
        let p = safe_order(p, &hist_pts, &pts[i + 1]);
        let c = uni_coefficients(
            self.config.solver_type,
            self.config.predict_x0,
            p,
            &hist_pts[..p],
            &pts[i + 1],
            false,
        );
        let hist: Vec<&Tensor<B, D>> = (0..c.order).map(|j| &state.history[k - 1 - j]).collect();
        combine(sample, &c.lin, &hist)
    }
}

/// Host coefficients of one UniP or UniC update:
/// `x_new = lin.x·x + Σ_k lin.m[k]·m_k + model_t·m_t` (m₀ newest).
#[derive(Debug, Clone, Copy, PartialEq)]
struct UniCoefficients {
    lin: Coefficients,
    model_t: f64,
    /// The order actually used (≤ the requested one).
    order: usize,
}

/// `n!`.
fn factorial(n: usize) -> f64 {
    (2..=n).map(|k| k as f64).product()
}

/// `φ₄(z) = (eᶻ − 1 − z − z²/2 − z³/6)/z⁴`, series for `|z| < 0.5`, `φ₄(0) = 1/24`.
fn phi4(z: f64) -> f64 {
    if z.abs() < 0.5 {
        // Σ_{j≥0} zʲ/(j+4)!, summed from the smallest term.
        let mut terms = [0.0f64; 20];
        let mut term = 1.0 / 24.0;
        for (j, slot) in terms.iter_mut().enumerate() {
            *slot = term;
            term *= z / (j + 5) as f64;
        }
        terms.iter().rev().sum()
    } else if z.is_infinite() {
        if z > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        (phi3(z) - 1.0 / 6.0) / z
    }
}

/// `φ_k(z)` for `k = 1 … 4`.
fn phi_k(k: usize, z: f64) -> f64 {
    match k {
        1 => phi1(z),
        2 => phi2(z),
        3 => phi3(z),
        _ => phi4(z),
    }
}

/// Solves the `n × n` system `a·x = b` (n ≤ 3) by Gaussian elimination with partial pivoting;
/// `None` when it is singular or not finite.
fn solve_small(mut a: [[f64; 3]; 3], mut b: [f64; 3], n: usize) -> Option<[f64; 3]> {
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        let scale = (0..n).map(|j| a[piv][j].abs()).fold(0.0, f64::max);
        let pivot_ok = a[piv][col].is_finite() && a[piv][col].abs() > 1e-12 * scale;
        if !pivot_ok {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let pivot_row = a[col];
        for row in col + 1..n {
            let f = a[row][col] / pivot_row[col];
            for (v, p) in a[row][col..n].iter_mut().zip(&pivot_row[col..n]) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; 3];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|j| a[row][j] * x[j]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().take(n).all(|v| v.is_finite()).then_some(x)
}

fn usable(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// UniP (`corrector = false`) or UniC (`corrector = true`) coefficients of order `order` from
/// `pts = [s₀, s₁, …]` (newest first, at least `order` of them) to `t`.
///
/// The requested order is lowered when the system is unusable: UniC of order ≥ 2 needs a usable
/// `h`, and a singular Vandermonde system falls back to the next lower order.
fn uni_coefficients(
    variant: UniPcVariant,
    predict_x0: bool,
    order: usize,
    pts: &[GridPoint],
    t: &GridPoint,
    corrector: bool,
) -> UniCoefficients {
    let s0 = &pts[0];
    let (ls0, lt) = (s0.lambda(), t.lambda());
    let h = lt - ls0;
    let hh = if predict_x0 { -h } else { h };
    let (scale, x) = if predict_x0 {
        (t.alpha, t.sigma / s0.sigma)
    } else {
        (t.sigma, t.alpha / s0.alpha)
    };
    // −scale·(e^{hh} − 1), the coefficient of m₀ in x̃; noise prediction onto σ = 0 uses
    // σ_t(e^h − 1) = α_t σ_s/α_s − σ_t.
    let m0_base = if !predict_x0 && t.sigma == 0.0 {
        -(t.alpha * s0.sigma / s0.alpha)
    } else {
        -scale * hh.exp_m1()
    };
    let mut order = order.min(pts.len()).max(1);
    if corrector && order >= 2 && !(usable(h) && lt.is_finite()) {
        order = 1;
    }
    loop {
        let mut lin = Coefficients {
            x,
            m: [m0_base, 0.0, 0.0],
            noise: 0.0,
        };
        let mut model_t = 0.0;
        let n_d1 = order - 1;
        if n_d1 == 0 && !corrector {
            return UniCoefficients {
                lin,
                model_t,
                order,
            };
        }
        let b_h = match variant {
            UniPcVariant::Bh1 => hh,
            UniPcVariant::Bh2 => hh.exp_m1(),
        };
        // b_j = j!·hh·φ_{j+1}(hh)/B(h), j = 1 … order
        let b: Vec<f64> = (1..=order)
            .map(|j| {
                let phi = phi_k(j + 1, hh);
                factorial(j)
                    * match variant {
                        UniPcVariant::Bh1 => phi,
                        UniPcVariant::Bh2 => phi / phi1(hh),
                    }
            })
            .collect();
        // r_k and 1/r_k = h/(λ_{s_k} − λ_{s₀}), k = 1 … order − 1
        let r: Vec<f64> = (1..order).map(|k| (pts[k].lambda() - ls0) / h).collect();
        let inv_r: Vec<f64> = (1..order).map(|k| h / (pts[k].lambda() - ls0)).collect();
        let rho: Option<Vec<f64>> = if corrector {
            if order == 1 {
                Some(vec![0.5])
            } else {
                let mut rks = r.clone();
                rks.push(1.0);
                let mut a = [[0.0; 3]; 3];
                for (j, row) in a.iter_mut().enumerate().take(order) {
                    for (k, v) in row.iter_mut().enumerate().take(order) {
                        *v = rks[k].powi(j as i32);
                    }
                }
                let mut bb = [0.0; 3];
                bb[..order].copy_from_slice(&b);
                solve_small(a, bb, order).map(|x| x[..order].to_vec())
            }
        } else if order == 2 {
            Some(vec![0.5])
        } else {
            let mut a = [[0.0; 3]; 3];
            for (j, row) in a.iter_mut().enumerate().take(n_d1) {
                for (k, v) in row.iter_mut().enumerate().take(n_d1) {
                    *v = r[k].powi(j as i32);
                }
            }
            let mut bb = [0.0; 3];
            bb[..n_d1].copy_from_slice(&b[..n_d1]);
            solve_small(a, bb, n_d1).map(|x| x[..n_d1].to_vec())
        };
        let Some(rho) = rho else {
            order -= 1;
            continue;
        };
        // x_new = x̃ − scale·B(h)·(Σ_k ρ_k (m_k − m₀)/r_k [+ ρ_last (m_t − m₀)])
        let f = scale * b_h;
        for k in 0..n_d1 {
            let w = f * rho[k] * inv_r[k];
            lin.m[k + 1] -= w;
            lin.m[0] += w;
        }
        if corrector {
            let w = f * rho[n_d1];
            model_t -= w;
            lin.m[0] += w;
        }
        let finite =
            lin.x.is_finite() && lin.m.iter().all(|v| v.is_finite()) && model_t.is_finite();
        if !finite && order > 1 {
            order -= 1;
            continue;
        }
        return UniCoefficients {
            lin,
            model_t,
            order,
        };
    }
}

impl SolverSpec for UniPc {
    fn time_grid(&self) -> &TimeGrid {
        &self.grid
    }

    fn order(&self) -> usize {
        self.config.solver_order
    }

    fn is_stochastic(&self) -> bool {
        false
    }
}

impl<B: Backend, const D: usize> Solver<B, D> for UniPc {
    type State = UniPcState<B, D>;

    fn step(
        &self,
        state: &mut UniPcState<B, D>,
        i: usize,
        model_output: Tensor<B, D>,
        sample: Tensor<B, D>,
        _noise: Option<Tensor<B, D>>,
    ) -> SamplerResult<StepOutput<B, D>> {
        let c = &self.config;
        let pts = self.grid.points();
        let n = pts.len() - 1;
        if i >= n {
            // denoise_to_zero: the x₀ prediction at the end point.
            let x0 = convert_model_output(
                DpmAlgorithm::DpmSolverPlusPlus,
                c.prediction_type,
                c.thresholding.as_ref(),
                model_output,
                &sample,
                &pts[n],
            );
            return Ok(StepOutput {
                prev_sample: x0.clone(),
                pred_original_sample: Some(x0),
                transition: None,
            });
        }
        let m_t = convert_model_output(
            c.algorithm(),
            c.prediction_type,
            c.thresholding.as_ref(),
            model_output.clone(),
            &sample,
            &pts[i],
        );
        let use_corrector =
            i > 0 && !c.disable_corrector.contains(&(i - 1)) && state.last_sample.is_some();
        let sample = if use_corrector {
            self.correct(state, i, &m_t, sample)
        } else {
            sample
        };
        if state.history.len() >= c.solver_order {
            state.history.remove(0);
        }
        state.history.push(m_t.clone());
        let order = self.nominal_order(i, state.lower_order_nums);
        state.this_order = order;
        state.last_sample = Some(sample.clone());
        let prev = match &self.solver_p {
            Some(p) => {
                Solver::<B, D>::step(p, &mut state.predictor, i, model_output, sample, None)?
                    .prev_sample
            }
            None => self.predict(state, i, order, sample),
        };
        if state.lower_order_nums < c.solver_order {
            state.lower_order_nums += 1;
        }
        Ok(StepOutput {
            prev_sample: prev,
            pred_original_sample: c.predict_x0.then_some(m_t),
            transition: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp(t: f64, ve: f64) -> GridPoint {
        GridPoint::from_ve_sigma(t, ve)
    }

    #[test]
    fn phi4_matches_closed_form_and_limit() {
        assert!((phi4(0.0) - 1.0 / 24.0).abs() < 1e-16);
        for z in [-3.0f64, -0.7, 0.6, 2.0] {
            let closed = (z.exp_m1() - z - z * z / 2.0 - z * z * z / 6.0) / z.powi(4);
            assert!((phi4(z) - closed).abs() < 1e-12 * closed.abs(), "{z}");
        }
        let z: f64 = 0.5 - 1e-12;
        let closed = (z.exp_m1() - z - z * z / 2.0 - z * z * z / 6.0) / z.powi(4);
        assert!((phi4(z) - closed).abs() < 1e-11);
        assert_eq!(phi4(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn b_vector_equals_diffusers_recurrence() {
        // diffusers: h_phi_k = expm1(hh)/hh − 1; b_i = h_phi_k·i!/B_h; h_phi_k ← h_phi_k/hh − 1/(i+1)!
        for &hh in &[-1.3f64, -0.4, -0.05, 0.3, 1.1] {
            for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
                let bh = match variant {
                    UniPcVariant::Bh1 => hh,
                    UniPcVariant::Bh2 => hh.exp_m1(),
                };
                let mut hpk = hh.exp_m1() / hh - 1.0;
                let mut fact = 1.0;
                for i in 1..=3usize {
                    let want = hpk * fact / bh;
                    let phi = phi_k(i + 1, hh);
                    let got = factorial(i)
                        * match variant {
                            UniPcVariant::Bh1 => phi,
                            UniPcVariant::Bh2 => phi / phi1(hh),
                        };
                    assert!((got - want).abs() < 1e-9, "{variant:?} hh={hh} i={i}");
                    fact *= (i + 1) as f64;
                    hpk = hpk / hh - 1.0 / fact;
                }
            }
        }
    }

    #[test]
    fn small_solver_solves_and_detects_singularity() {
        let a = [[1.0, 1.0, 1.0], [-0.5, -1.2, 1.0], [0.25, 1.44, 1.0]];
        let x = solve_small(a, [1.0, 2.0, 3.0], 3).unwrap();
        for (row, rhs) in a.iter().zip([1.0, 2.0, 3.0]) {
            let v: f64 = row.iter().zip(&x).map(|(p, q)| p * q).sum();
            assert!((v - rhs).abs() < 1e-12);
        }
        let sing = [[1.0, 1.0, 0.0], [2.0, 2.0, 0.0], [0.0; 3]];
        assert!(solve_small(sing, [1.0, 2.0, 0.0], 2).is_none());
    }

    #[test]
    fn final_step_onto_zero_is_finite_for_both_variants_and_predictions() {
        let pts = [vp(1.0, 0.5), vp(2.0, 0.8), vp(3.0, 1.2)];
        let end = GridPoint::from_ve_sigma(0.0, 0.0);
        for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
            for x0 in [true, false] {
                let c = uni_coefficients(variant, x0, 1, &pts, &end, false);
                assert!(c.lin.x.is_finite() && c.lin.m.iter().all(|v| v.is_finite()));
                if x0 {
                    // x = m₀ exactly
                    assert_eq!((c.lin.x, c.lin.m[0]), (0.0, 1.0));
                } else {
                    // x = α_t/α_s (x − σ_s ε): coefficients 1/α_s and −σ_s/α_s
                    assert!((c.lin.x - 1.0 / pts[0].alpha).abs() < 1e-12);
                    assert!((c.lin.m[0] + pts[0].sigma / pts[0].alpha).abs() < 1e-12);
                }
            }
        }
    }

    #[test]
    fn zero_h_step_is_the_identity_and_finite_at_every_order() {
        let s = [vp(1.0, 0.5), vp(2.0, 0.8), vp(3.0, 1.2)];
        for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
            for order in 1..=3 {
                for corrector in [false, true] {
                    let c = uni_coefficients(variant, true, order, &s, &s[0], corrector);
                    assert!((c.lin.x - 1.0).abs() < 1e-15, "{variant:?} {order}");
                    assert!(c.lin.m.iter().all(|v| v.abs() < 1e-15));
                    assert!(c.model_t.abs() < 1e-15);
                }
            }
        }
    }

    #[test]
    fn coefficients_are_consistent() {
        // x = α x₀ + σ ε with constant x₀ is preserved exactly by every update (Σ m-coefficients
        // absorb what x does not carry): x_t = α_t x₀ + σ_t ε  ⇐  m_k = x₀ for all k.
        let pts = [vp(1.0, 0.5), vp(2.0, 0.8), vp(3.0, 1.2)];
        let t = vp(0.5, 0.3);
        for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
            for order in 1..=3 {
                for corrector in [false, true] {
                    let c = uni_coefficients(variant, true, order, &pts, &t, corrector);
                    assert_eq!(c.order, order);
                    // x_s = α_s·1 + σ_s·1 (x₀ = ε = 1): x_t should be α_t + σ_t.
                    let xs = pts[0].alpha + pts[0].sigma;
                    let got = c.lin.x * xs + c.lin.m.iter().sum::<f64>() + c.model_t;
                    assert!(
                        (got - (t.alpha + t.sigma)).abs() < 1e-12,
                        "{variant:?} {order} {corrector}: {got}"
                    );
                }
            }
        }
    }
}
