//! Shared machinery of the DPM-Solver family: options, model-output conversion, the discrete
//! grid builder, and the exponential-integrator coefficients.
//!
//! The coefficient table is in the [`crate::solvers`] module docs.
//!
//! # References
//! DPM-Solver (arXiv:2206.00927) eqs. (3.3)–(3.5), DPM-Solver++ (arXiv:2211.01095) Alg. 1–2 and
//! App. A; diffusers `scheduling_dpmsolver_multistep.py`, `scheduling_dpmsolver_singlestep.py`.

use crate::error::{SamplerError, SamplerResult};
use crate::phi::{phi2, phi3};
use crate::prediction::{to_epsilon, to_x0, x0_to_epsilon, PredictionType};
use crate::schedule::{
    dpm_timesteps, exponential_sigmas, flow_sigmas, interp_sigmas, karras_sigmas, linspace_pub,
    lu_sigmas, DiscreteSchedule, DiscreteScheduleConfig, GridPoint, SigmaSpacing, TimestepSpacing,
};
use crate::thresholding::{dynamic_threshold, ThresholdingConfig};
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Which DPM-Solver variant integrates the diffusion ODE/SDE (diffusers `algorithm_type`).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum DpmAlgorithm {
    /// DPM-Solver (v1): integrates the noise prediction ε (`"dpmsolver"`).
    DpmSolver,
    /// DPM-Solver++: integrates the data prediction x₀ (`"dpmsolver++"`, the default).
    DpmSolverPlusPlus,
    /// SDE variant of DPM-Solver (`"sde-dpmsolver"`), orders 1–2.
    SdeDpmSolver,
    /// SDE-DPM-Solver++ (`"sde-dpmsolver++"`), orders 1–3 (multistep).
    SdeDpmSolverPlusPlus,
}

impl DpmAlgorithm {
    /// True for the data-prediction (++) variants.
    pub fn predicts_x0(self) -> bool {
        matches!(self, Self::DpmSolverPlusPlus | Self::SdeDpmSolverPlusPlus)
    }

    /// True for the SDE variants.
    pub fn is_sde(self) -> bool {
        matches!(self, Self::SdeDpmSolver | Self::SdeDpmSolverPlusPlus)
    }
}

/// The D₂ weight of the third-order multistep update.
///
/// The multistep `D₂ = (D₁₀ − D₁₁)/(r₀ + r₁)` approximates `h²·x₀''/2`, while the φ₃ coefficient
/// it multiplies belongs to `h²·x₀''` (the Taylor term `∫ e^{−(h−u)} u²/2 du = h³φ₃(−h)`). The
/// official DPM-Solver, diffusers and k-diffusion all use the halved weight, which leaves an
/// `O(h³)` local error: their "3M" converges with global order 2 (measured in
/// `tests/convergence.rs`). `Taylor` doubles the weight and restores order 3.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum ThirdOrderRule {
    /// diffusers' / the official repository's weight (default, number-for-number parity).
    Diffusers,
    /// The Taylor-consistent weight (2× diffusers'), formally third order.
    Taylor,
}

/// Second-order correction of DPM-Solver (diffusers `solver_type`; ignored at order 3 by the
/// multistep solver).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum DpmSolverType {
    /// `D₁` weighted by ½ of the first-order coefficient (the default).
    Midpoint,
    /// `D₁` weighted by the φ₂ coefficient (Taylor / "heun").
    Heun,
}

/// The last sigma appended to a discrete schedule (diffusers `final_sigmas_type`).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum FinalSigmas {
    /// σ = 0: the last step lands on clean data (forces a first-order last step).
    Zero,
    /// σ = σ of training timestep 0.
    SigmaMin,
}

/// Converts a raw model output into what the algorithm integrates (x₀ for ++ variants, ε
/// otherwise), with optional dynamic thresholding on x₀.
pub(crate) fn convert_model_output<B: Backend, const D: usize>(
    algorithm: DpmAlgorithm,
    prediction: PredictionType,
    thresholding: Option<&ThresholdingConfig>,
    output: Tensor<B, D>,
    sample: &Tensor<B, D>,
    p: &GridPoint,
) -> Tensor<B, D> {
    if algorithm.predicts_x0() {
        let x0 = to_x0(prediction, output, sample.clone(), p.alpha, p.sigma);
        match thresholding {
            Some(th) => dynamic_threshold(x0, th.ratio, th.sample_max_value),
            None => x0,
        }
    } else {
        match thresholding {
            Some(th) => {
                let x0 = to_x0(prediction, output, sample.clone(), p.alpha, p.sigma);
                let x0 = dynamic_threshold(x0, th.ratio, th.sample_max_value);
                x0_to_epsilon(x0, sample.clone(), p.alpha, p.sigma)
            }
            None => to_epsilon(prediction, output, sample.clone(), p.alpha, p.sigma),
        }
    }
}

/// The discrete options shared by the multistep and singlestep schedulers.
pub(crate) struct DiscreteGridOptions<'a> {
    pub schedule: &'a DiscreteScheduleConfig,
    pub timestep_spacing: TimestepSpacing,
    pub sigma_spacing: SigmaSpacing,
    pub final_sigmas: FinalSigmas,
    pub lambda_min_clipped: Option<f64>,
    pub steps_offset: usize,
}

/// Builds diffusers' `(timesteps, sigmas)` as model times and `N + 1` grid points.
pub(crate) fn discrete_grid(
    o: &DiscreteGridOptions<'_>,
    steps: Option<usize>,
    custom: Option<&[i64]>,
) -> SamplerResult<(Vec<f64>, Vec<GridPoint>)> {
    discrete_grid_variant(o, &GridVariant::default(), steps, custom)
}

/// Where a scheduler's discrete grid departs from `DPMSolverMultistepScheduler.set_timesteps`;
/// the default is that grid exactly (what [`discrete_grid`] builds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct GridVariant {
    /// Overrides of σ_min / σ_max for Karras, Lu, exponential and flow-Karras sigmas (diffusers
    /// UniPC `sigma_min`, `sigma_max`).
    pub sigma_min: Option<f64>,
    /// See `sigma_min`.
    pub sigma_max: Option<f64>,
    /// diffusers `UniPCMultistepScheduler.set_timesteps`: flow sigmas are
    /// `shift(linspace(1, 1/N, n+1)[:-1])` with `σ₀ −= 1e-6` when it is 1; for every spacing but
    /// `Timesteps` a `sigma_min` final sigma repeats the last sigma; exponential timesteps are
    /// truncated (`int64` cast) instead of rounded.
    pub unipc: bool,
    /// With [`SigmaSpacing::Flow`]: Karras VE sigmas mapped to flow sigmas `s/(1 + s)` (diffusers
    /// UniPC with `use_flow_sigmas` and `use_karras_sigmas`; the shift is not applied).
    pub flow_karras: bool,
}

/// [`discrete_grid`] with the departures of `v`.
pub(crate) fn discrete_grid_variant(
    o: &DiscreteGridOptions<'_>,
    v: &GridVariant,
    steps: Option<usize>,
    custom: Option<&[i64]>,
) -> SamplerResult<(Vec<f64>, Vec<GridPoint>)> {
    let mut sched = o.schedule.init()?;
    if o.schedule.rescale_betas_zero_snr {
        // diffusers: keep λ finite at the last timestep.
        sched.set_last_alpha_cumprod(2f64.powi(-24));
    }
    let n_train = sched.len();
    let sig = sched.ve_sigmas();
    let (s_min, s_max) = (sig[0], sig[n_train - 1]);
    let timesteps: Vec<f64>;
    let sigmas: Vec<f64>;
    match custom {
        Some(ts) => {
            if o.sigma_spacing != SigmaSpacing::Timesteps {
                return Err(SamplerError::InvalidConfig(
                    "custom timesteps cannot be combined with Karras/Lu/exponential sigmas".into(),
                ));
            }
            if ts.is_empty() {
                return Err(SamplerError::InvalidTimesteps("empty list".into()));
            }
            if let Some(t) = ts.iter().find(|&&t| t < 0 || t as usize >= n_train) {
                return Err(SamplerError::InvalidTimesteps(format!(
                    "timestep {t} outside 0..{n_train}"
                )));
            }
            if ts.windows(2).any(|w| w[1] > w[0]) {
                return Err(SamplerError::InvalidTimesteps(
                    "timesteps must be non-increasing".into(),
                ));
            }
            timesteps = ts.iter().map(|&t| t as f64).collect();
            sigmas = timesteps.iter().map(|&t| interp_sigmas(&sig, t)).collect();
        }
        None => {
            let n = steps.unwrap_or(0);
            let clipped = match o.lambda_min_clipped {
                // λ = −log σ^VE for a VP schedule.
                Some(lmin) => sig.iter().filter(|s| -s.ln() < lmin).count(),
                None => 0,
            };
            let last = n_train - clipped;
            // Timestep spacing checks its own step count (`dpm_timesteps`).
            if o.sigma_spacing != SigmaSpacing::Timesteps && (n == 0 || n > n_train) {
                return Err(SamplerError::InvalidStepCount {
                    steps: n,
                    max: n_train,
                });
            }
            match o.sigma_spacing {
                SigmaSpacing::Timesteps => {
                    let ts = dpm_timesteps(o.timestep_spacing, n_train, last, n, o.steps_offset)?;
                    timesteps = ts.iter().map(|&t| t as f64).collect();
                    sigmas = timesteps.iter().map(|&t| interp_sigmas(&sig, t)).collect();
                }
                SigmaSpacing::Flow { shift } => {
                    if !(shift.is_finite() && shift > 0.0) {
                        return Err(SamplerError::InvalidConfig(format!(
                            "flow shift must be finite and > 0, got {shift}"
                        )));
                    }
                    sigmas = if v.flow_karras {
                        let (lo, hi) = (v.sigma_min.unwrap_or(s_min), v.sigma_max.unwrap_or(s_max));
                        karras_sigmas(n, lo, hi, 7.0)
                            .into_iter()
                            .map(|s| s / (s + 1.0))
                            .collect()
                    } else if v.unipc {
                        let mut s: Vec<f64> = linspace_pub(1.0, 1.0 / n_train as f64, n + 1)
                            .into_iter()
                            .take(n)
                            .map(|s| shift * s / (1.0 + (shift - 1.0) * s))
                            .collect();
                        // diffusers: keep log α finite at the first point.
                        if (s[0] - 1.0).abs() < 1e-6 {
                            s[0] -= 1e-6;
                        }
                        s
                    } else {
                        flow_sigmas(n, n_train, shift)
                    };
                    // diffusers stores `σ·N_train` as int64 timesteps (truncation).
                    timesteps = sigmas
                        .iter()
                        .map(|&s| (s * n_train as f64).trunc())
                        .collect();
                }
                spacing => {
                    let (lo, hi) = (v.sigma_min.unwrap_or(s_min), v.sigma_max.unwrap_or(s_max));
                    sigmas = match spacing {
                        SigmaSpacing::Karras => karras_sigmas(n, lo, hi, 7.0),
                        SigmaSpacing::Lu => lu_sigmas(n, lo, hi),
                        _ => exponential_sigmas(n, lo, hi),
                    };
                    let truncate = v.unipc && spacing == SigmaSpacing::Exponential;
                    let log_sig = sched.log_ve_sigmas();
                    timesteps = sigmas
                        .iter()
                        .map(|&s| {
                            let t = DiscreteSchedule::sigma_to_t_with(&log_sig, s);
                            if truncate {
                                t.trunc()
                            } else {
                                t.round_ties_even()
                            }
                        })
                        .collect();
                }
            }
        }
    }
    let last_sigma = match o.final_sigmas {
        FinalSigmas::Zero => 0.0,
        FinalSigmas::SigmaMin
            if v.unipc && custom.is_none() && o.sigma_spacing != SigmaSpacing::Timesteps =>
        {
            sigmas.last().copied().unwrap_or(s_min)
        }
        FinalSigmas::SigmaMin => s_min,
    };
    // diffusers `_sigma_to_alpha_sigma_t`: flow sigmas are (α, σ) = (1 − s, s), also for the
    // appended last sigma; all others are VE sigmas.
    let point = match o.sigma_spacing {
        SigmaSpacing::Flow { .. } => GridPoint::from_flow_sigma,
        _ => GridPoint::from_ve_sigma,
    };
    let mut grid: Vec<GridPoint> = timesteps
        .iter()
        .zip(&sigmas)
        .map(|(&t, &s)| point(t, s))
        .collect();
    grid.push(point(0.0, last_sigma));
    Ok((timesteps, grid))
}

/// Validates a user-supplied grid.
pub(crate) fn check_grid(grid: &[GridPoint]) -> SamplerResult<()> {
    if grid.len() < 2 {
        return Err(SamplerError::InvalidTimesteps(
            "a grid needs at least 2 points (one step)".into(),
        ));
    }
    for (i, p) in grid.iter().enumerate() {
        let last = i + 1 == grid.len();
        let ok = p.alpha > 0.0
            && p.alpha.is_finite()
            && p.sigma.is_finite()
            && (p.sigma > 0.0 || (last && p.sigma == 0.0));
        if !ok {
            return Err(SamplerError::InvalidTimesteps(format!(
                "grid point {i} has alpha = {}, sigma = {} (need alpha > 0, sigma > 0 except \
                 sigma = 0 at the end)",
                p.alpha, p.sigma
            )));
        }
    }
    Ok(())
}

/// Coefficients of one update: `x_t = x·anchor + Σ m[k]·m_k + noise·z` (m₀ newest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Coefficients {
    pub x: f64,
    pub m: [f64; 3],
    pub noise: f64,
}

struct Basis {
    x: f64,
    b0: f64,
    heun: f64,
    b2: f64,
    noise: f64,
}

fn basis(alg: DpmAlgorithm, s: &GridPoint, t: &GridPoint, h: f64) -> Basis {
    let (at, st) = (t.alpha, t.sigma);
    match alg {
        DpmAlgorithm::DpmSolverPlusPlus => Basis {
            x: st / s.sigma,
            b0: -at * (-h).exp_m1(),
            heun: at * h * phi2(-h),
            b2: at * h * phi3(-h),
            noise: 0.0,
        },
        DpmAlgorithm::DpmSolver => Basis {
            x: at / s.alpha,
            b0: -st * h.exp_m1(),
            heun: -st * h * phi2(h),
            b2: -st * h * phi3(h),
            noise: 0.0,
        },
        DpmAlgorithm::SdeDpmSolverPlusPlus => Basis {
            x: st / s.sigma * (-h).exp(),
            b0: -at * (-2.0 * h).exp_m1(),
            heun: at * 2.0 * h * phi2(-2.0 * h),
            b2: at * 2.0 * h * phi3(-2.0 * h),
            noise: st * (-(-2.0 * h).exp_m1()).max(0.0).sqrt(),
        },
        DpmAlgorithm::SdeDpmSolver => Basis {
            x: at / s.alpha,
            b0: -2.0 * st * h.exp_m1(),
            heun: -2.0 * st * h * phi2(h),
            b2: f64::NAN,
            noise: st * (2.0 * h).exp_m1().max(0.0).sqrt(),
        },
    }
}

fn lam(p: &GridPoint) -> f64 {
    p.lambda()
}

fn usable(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// The highest order ≤ `order` whose λ-spacings are usable (finite and positive).
///
/// `pts` = [s₀, s₁, s₂] newest first (as many as available), `t` the target. Orders above 1 need
/// a finite target λ (σ_t > 0) and distinct earlier points; diffusers would produce inf/NaN
/// there (e.g. duplicated timesteps, or a 2nd-order step onto σ = 0, diffusers#9007).
pub(crate) fn safe_order(order: usize, pts: &[GridPoint], t: &GridPoint) -> usize {
    let mut o = order.min(pts.len());
    let lt = lam(t);
    while o > 1 {
        let h = lt - lam(&pts[0]);
        let spac_ok = (1..o).all(|k| usable(lam(&pts[k - 1]) - lam(&pts[k])));
        // Order 3 divides by h (r = h_k/h); order 2 only multiplies by it (h = 0 is the Karras
        // dummy step, which must stay a no-op).
        let h_ok = if o >= 3 { usable(h) } else { h.is_finite() };
        if lt.is_finite() && h_ok && spac_ok {
            break;
        }
        o -= 1;
    }
    o
}

/// Multistep coefficients. `pts = [s₀, s₁, s₂]` (newest first, at least `order` of them).
pub(crate) fn multistep_coefficients(
    alg: DpmAlgorithm,
    solver_type: DpmSolverType,
    third_order: ThirdOrderRule,
    order: usize,
    pts: &[GridPoint],
    t: &GridPoint,
) -> Coefficients {
    let d2_scale = match third_order {
        ThirdOrderRule::Diffusers => 1.0,
        ThirdOrderRule::Taylor => 2.0,
    };
    let s0 = &pts[0];
    let h = lam(t) - lam(s0);
    let b = basis(alg, s0, t, h);
    let mut m = [b.b0, 0.0, 0.0];
    match order {
        1 => {}
        2 => {
            let inv_r0 = h / (lam(s0) - lam(&pts[1]));
            let b1 = match solver_type {
                DpmSolverType::Midpoint => 0.5 * b.b0,
                DpmSolverType::Heun => b.heun,
            };
            m[0] += b1 * inv_r0;
            m[1] -= b1 * inv_r0;
        }
        _ => {
            let h0 = lam(s0) - lam(&pts[1]);
            let h1 = lam(&pts[1]) - lam(&pts[2]);
            let (r0, r1) = (h0 / h, h1 / h);
            let (a, bb) = (1.0 / r0, 1.0 / r1);
            // D1_0 = a(m0 − m1), D1_1 = bb(m1 − m2)
            let d10 = [a, -a, 0.0];
            let d11 = [0.0, bb, -bb];
            let k = r0 / (r0 + r1);
            for j in 0..3 {
                let d1 = (1.0 + k) * d10[j] - k * d11[j];
                let d2 = (d10[j] - d11[j]) / (r0 + r1);
                m[j] += b.heun * d1 + d2_scale * b.b2 * d2;
            }
        }
    }
    Coefficients {
        x: b.x,
        m,
        noise: b.noise,
    }
}

/// Singlestep coefficients from the anchor `pts[order−1]`; `pts = [s₀, s₁, s₂]` newest first.
pub(crate) fn singlestep_coefficients(
    alg: DpmAlgorithm,
    solver_type: DpmSolverType,
    order: usize,
    pts: &[GridPoint],
    t: &GridPoint,
) -> Coefficients {
    match order {
        1 => multistep_coefficients(alg, solver_type, ThirdOrderRule::Diffusers, 1, pts, t),
        2 => {
            let (s0, s1) = (&pts[0], &pts[1]);
            let h = lam(t) - lam(s1);
            let b = basis(alg, s1, t, h);
            let inv_r0 = h / (lam(s0) - lam(s1));
            let b1 = match solver_type {
                DpmSolverType::Midpoint => 0.5 * b.b0,
                DpmSolverType::Heun => b.heun,
            };
            // D0 = m1, D1 = (m0 − m1)/r0
            Coefficients {
                x: b.x,
                m: [b1 * inv_r0, b.b0 - b1 * inv_r0, 0.0],
                noise: b.noise,
            }
        }
        _ => {
            let (s0, s1, s2) = (&pts[0], &pts[1], &pts[2]);
            let h = lam(t) - lam(s2);
            let b = basis(alg, s2, t, h);
            let r0 = (lam(s0) - lam(s2)) / h;
            let r1 = (lam(s1) - lam(s2)) / h;
            // D0 = m2; D1_0 = (m1 − m2)/r1; D1_1 = (m0 − m2)/r0
            let d10 = [0.0, 1.0 / r1, -1.0 / r1];
            let d11 = [1.0 / r0, 0.0, -1.0 / r0];
            let mut m = [0.0, 0.0, b.b0];
            for j in 0..3 {
                match solver_type {
                    DpmSolverType::Midpoint => m[j] += b.heun * d11[j],
                    DpmSolverType::Heun => {
                        let d1 = (r0 * d10[j] - r1 * d11[j]) / (r0 - r1);
                        let d2 = 2.0 * (d11[j] - d10[j]) / (r0 - r1);
                        m[j] += b.heun * d1 + b.b2 * d2;
                    }
                }
            }
            Coefficients {
                x: b.x,
                m,
                noise: b.noise,
            }
        }
    }
}

/// `x·c.x + Σ c.m[k]·m_k` for the available history (newest first).
pub(crate) fn combine<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    c: &Coefficients,
    history: &[&Tensor<B, D>],
) -> Tensor<B, D> {
    let mut acc = x.mul_scalar(c.x);
    for (k, m) in history.iter().enumerate() {
        if c.m[k] != 0.0 {
            acc = acc + (*m).clone().mul_scalar(c.m[k]);
        }
    }
    acc
}
