//! Adaptive step-size DPM-Solver++-12 / -23 (Lu et al. 2022, §5 "adaptive step size").

use crate::error::{SamplerError, SamplerResult};
use crate::prediction::{to_x0, PredictionType};
use crate::schedule::ContinuousVp;
use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Configuration of [`adaptive_sample`]; defaults are the official repository's
/// (`DPM_Solver.dpm_solver_adaptive`: `h_init=0.05`, `atol=0.0078`, `rtol=0.05`, `theta=0.9`,
/// `t_err=1e-5`).
#[derive(Config, Debug)]
pub struct AdaptiveConfig {
    /// 2 (DPM-Solver-12) or 3 (DPM-Solver-23).
    #[config(default = 3)]
    pub order: usize,
    /// Absolute tolerance.
    #[config(default = 0.0078)]
    pub atol: f64,
    /// Relative tolerance.
    #[config(default = 0.05)]
    pub rtol: f64,
    /// Initial step in λ.
    #[config(default = 0.05)]
    pub h_init: f64,
    /// Safety factor θ.
    #[config(default = 0.9)]
    pub theta: f64,
    /// Stop when |s − t_end| ≤ t_err.
    #[config(default = 1e-5)]
    pub t_err: f64,
    /// What the model predicts (default ε).
    #[config(default = "PredictionType::Epsilon")]
    pub prediction_type: PredictionType,
    /// Give up after this many attempted steps.
    #[config(default = 10_000)]
    pub max_steps: usize,
}

/// Result of [`adaptive_sample`].
#[derive(Debug, Clone)]
pub struct AdaptiveOutput<B: Backend, const D: usize> {
    /// The final sample at `t_end`.
    pub sample: Tensor<B, D>,
    /// Model evaluations used.
    pub nfe: usize,
    /// Accepted steps.
    pub accepted: usize,
    /// Rejected steps.
    pub rejected: usize,
}

/// Adaptive DPM-Solver++ (data prediction) with embedded lower/higher-order pairs.
///
/// ```text
/// order 2: lower = DPM-Solver++-1,            higher = DPM-Solver++-2 (r₁ = ½)
/// order 3: lower = DPM-Solver++-2 (r₁ = ⅓),   higher = DPM-Solver++-3 (r₁ = ⅓, r₂ = ⅔)
///   (the higher solve reuses the lower solve's model evaluations)
/// δ = max(atol, rtol·max(|x_lower|, |x_prev|));  E = max_batch RMS((x_higher − x_lower)/δ)
/// accept if E ≤ 1;  h ← min(θ·h·E^{−1/order}, λ_end − λ_s)
/// DPM-Solver++-2: x_{s1} = (σ_{s1}/σ_s)x − α_{s1}·expm1(−r₁h)·m_s
///                 x_t = (σ_t/σ_s)x − α_t·expm1(−h)·m_s − (1/(2r₁))·α_t·expm1(−h)·(m_{s1} − m_s)
/// DPM-Solver++-3: x_{s2} = (σ_{s2}/σ_s)x − α_{s2}·expm1(−r₂h)·m_s + (r₂/r₁)·α_{s2}·φ₂₂·(m_{s1} − m_s)
///                 x_t = (σ_t/σ_s)x − α_t·expm1(−h)·m_s + (1/r₂)·α_t·φ₂·(m_{s2} − m_s)
///   φ₂₂ = expm1(−r₂h)/(r₂h) + 1,  φ₂ = expm1(−h)/h + 1
/// ```
/// Unlike the fixed-grid solvers, each step reads the error norm back to the host (one device
/// sync per attempted step) — inherent to step-size control.
///
/// # Shapes
/// `x: [batch, …]` at `t_start`; returns the sample at `t_end`.
///
/// # Errors
/// [`SamplerError::UnsupportedOrder`] unless order ∈ {2, 3}; [`SamplerError::InvalidConfig`]
/// for bad tolerances/times or when `max_steps` is exceeded.
///
/// # References
/// DPM-Solver (arXiv:2206.00927) §5 and App. C; LuChengTHU/dpm-solver
/// `DPM_Solver.dpm_solver_adaptive` (method `adaptive`).
pub fn adaptive_sample<B, const D: usize, M>(
    config: &AdaptiveConfig,
    vp: &ContinuousVp,
    model: M,
    x: Tensor<B, D>,
    t_start: f64,
    t_end: f64,
) -> SamplerResult<AdaptiveOutput<B, D>>
where
    B: Backend,
    M: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
{
    let c = config;
    if !(c.order == 2 || c.order == 3) {
        return Err(SamplerError::UnsupportedOrder {
            order: c.order,
            reason: "adaptive DPM-Solver supports orders 2 (12) and 3 (23)",
        });
    }
    if !(c.atol > 0.0 && c.rtol >= 0.0 && c.h_init > 0.0 && c.theta > 0.0 && t_end > 0.0)
        || t_end >= t_start
    {
        return Err(SamplerError::InvalidConfig(
            "need atol, h_init, theta > 0, rtol ≥ 0 and 0 < t_end < t_start".into(),
        ));
    }
    let data = |x: &Tensor<B, D>, t: f64| -> Tensor<B, D> {
        to_x0(
            c.prediction_type,
            model(x, t),
            x.clone(),
            vp.alpha(t),
            vp.sigma(t),
        )
    };
    let pt = |t: f64| (vp.alpha(t), vp.sigma(t));
    let dims = x.dims();
    let b = dims[0];
    let n: usize = dims[1..].iter().product();
    let lambda_end = vp.lambda(t_end);
    let mut s = t_start;
    let mut lambda_s = vp.lambda(s);
    let mut h = c.h_init;
    let mut x = x;
    let mut x_prev = x.clone();
    let (mut nfe, mut accepted, mut rejected, mut attempts) = (0, 0, 0, 0);
    while (s - t_end).abs() > c.t_err {
        attempts += 1;
        if attempts > c.max_steps {
            return Err(SamplerError::InvalidConfig(format!(
                "adaptive solver exceeded max_steps = {}",
                c.max_steps
            )));
        }
        let t = vp.inverse_lambda(lambda_s + h);
        let hh = vp.lambda(t) - lambda_s;
        let s_s = vp.sigma(s);
        let (a_t, s_t) = pt(t);
        let m_s = data(&x, s);
        let (x_lower, x_higher) = if c.order == 2 {
            let r1 = 0.5;
            let lower =
                x.clone().mul_scalar(s_t / s_s) - m_s.clone().mul_scalar(a_t * (-hh).exp_m1());
            let s1 = vp.inverse_lambda(lambda_s + r1 * hh);
            let (a1, s1s) = pt(s1);
            let x_s1 =
                x.clone().mul_scalar(s1s / s_s) - m_s.clone().mul_scalar(a1 * (-r1 * hh).exp_m1());
            let m_s1 = data(&x_s1, s1);
            let p1 = (-hh).exp_m1();
            let higher = x.clone().mul_scalar(s_t / s_s)
                - m_s.clone().mul_scalar(a_t * p1)
                - (m_s1 - m_s).mul_scalar(0.5 / r1 * a_t * p1);
            (lower, higher)
        } else {
            let (r1, r2) = (1.0 / 3.0, 2.0 / 3.0);
            let s1 = vp.inverse_lambda(lambda_s + r1 * hh);
            let s2 = vp.inverse_lambda(lambda_s + r2 * hh);
            let ((a1, sg1), (a2, sg2)) = (pt(s1), pt(s2));
            let p1 = (-hh).exp_m1();
            let x_s1 =
                x.clone().mul_scalar(sg1 / s_s) - m_s.clone().mul_scalar(a1 * (-r1 * hh).exp_m1());
            let m_s1 = data(&x_s1, s1);
            // Lower: DPM-Solver++-2 with r₁ = ⅓ from (m_s, m_s1).
            let lower = x.clone().mul_scalar(s_t / s_s)
                - m_s.clone().mul_scalar(a_t * p1)
                - (m_s1.clone() - m_s.clone()).mul_scalar(0.5 / r1 * a_t * p1);
            let phi22 = (-r2 * hh).exp_m1() / (r2 * hh) + 1.0;
            let phi2 = p1 / hh + 1.0;
            let x_s2 = x.clone().mul_scalar(sg2 / s_s)
                - m_s.clone().mul_scalar(a2 * (-r2 * hh).exp_m1())
                + (m_s1 - m_s.clone()).mul_scalar(r2 / r1 * a2 * phi22);
            let m_s2 = data(&x_s2, s2);
            let higher = x.clone().mul_scalar(s_t / s_s) - m_s.clone().mul_scalar(a_t * p1)
                + (m_s2 - m_s).mul_scalar(a_t * phi2 / r2);
            (lower, higher)
        };
        nfe += c.order;
        let delta = x_lower
            .clone()
            .abs()
            .max_pair(x_prev.clone().abs())
            .mul_scalar(c.rtol)
            .clamp_min(c.atol);
        let ratio: Tensor<B, 2> = ((x_higher.clone() - x_lower.clone()) / delta).reshape([b, n]);
        let e_t = ratio.powi_scalar(2).mean_dim(1).sqrt().max();
        let e: f64 = e_t
            .into_data()
            .convert::<f64>()
            .to_vec::<f64>()
            .map_err(|err| SamplerError::InvalidConfig(format!("error read-back: {err:?}")))?[0];
        if e <= 1.0 {
            x = x_higher;
            s = t;
            x_prev = x_lower;
            lambda_s = vp.lambda(s);
            accepted += 1;
        } else {
            rejected += 1;
        }
        let e = e.max(1e-12);
        h = (c.theta * h * e.powf(-1.0 / c.order as f64)).min(lambda_end - lambda_s);
    }
    Ok(AdaptiveOutput {
        sample: x,
        nfe,
        accepted,
        rejected,
    })
}
