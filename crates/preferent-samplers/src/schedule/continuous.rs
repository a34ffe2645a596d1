//! Continuous-time VP schedules and the official DPM-Solver time-step selections.

use super::betas::linspace_pub as linspace;
use super::grid::GridPoint;
use crate::error::{SamplerError, SamplerResult};
use serde::{Deserialize, Serialize};

/// A continuous-time variance-preserving noise schedule on `t ∈ (0, T]`.
///
/// ```text
/// Linear:  log α_t = −(β₁ − β₀)t²/4 − β₀t/2,                       T = 1
/// Cosine:  log α_t = log cos((t+s)/(1+s)·π/2) − log cos(s/(1+s)·π/2), T = 0.9946
/// σ_t = √(1 − α_t²),  λ_t = log α_t − log σ_t
/// ```
///
/// Defaults: linear β₀ = 0.1, β₁ = 20 (ScoreSDE); cosine s = 0.008 (Improved DDPM).
///
/// # References
/// DPM-Solver `NoiseScheduleVP` (LuChengTHU/dpm-solver `dpm_solver_pytorch.py`; cosine from
/// thu-ml/DPM-Solver-v3's copy); arXiv:2206.00927 App. D.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum ContinuousVp {
    /// Linear β(t) = β₀ + t(β₁ − β₀).
    Linear {
        /// β₀ (default 0.1).
        beta_0: f64,
        /// β₁ (default 20).
        beta_1: f64,
    },
    /// Cosine schedule with offset `s`.
    Cosine {
        /// Offset `s` (default 0.008).
        s: f64,
    },
}

/// Time-step selection of the official DPM-Solver repository (`skip_type`).
///
/// ```text
/// LogSnr         λ uniform between λ(t_T) and λ(t_0), mapped back with λ⁻¹
/// TimeUniform    t = linspace(t_T, t_0, N+1)
/// TimeQuadratic  t = linspace(√t_T, √t_0, N+1)²
/// ```
///
/// # References
/// LuChengTHU/dpm-solver `DPM_Solver.get_time_steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContinuousSpacing {
    /// Uniform in λ (`logSNR`, recommended for pixel-space models).
    LogSnr,
    /// Uniform in t (`time_uniform`, recommended for guided sampling).
    TimeUniform,
    /// Uniform in √t (`time_quadratic`).
    TimeQuadratic,
}

fn logaddexp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

impl ContinuousVp {
    /// The linear schedule with ScoreSDE's β₀ = 0.1, β₁ = 20.
    pub fn linear() -> Self {
        Self::Linear {
            beta_0: 0.1,
            beta_1: 20.0,
        }
    }

    /// The cosine schedule with s = 0.008.
    pub fn cosine() -> Self {
        Self::Cosine { s: 0.008 }
    }

    /// Largest usable time `T` (1 for linear, 0.9946 for cosine, as in DPM-Solver).
    pub fn t_max(&self) -> f64 {
        match self {
            Self::Linear { .. } => 1.0,
            Self::Cosine { .. } => 0.9946,
        }
    }

    /// `log α_t`.
    pub fn log_alpha(&self, t: f64) -> f64 {
        match *self {
            Self::Linear { beta_0, beta_1 } => -0.25 * t * t * (beta_1 - beta_0) - 0.5 * t * beta_0,
            Self::Cosine { s } => {
                let f = |u: f64| {
                    ((u + s) / (1.0 + s) * std::f64::consts::FRAC_PI_2)
                        .cos()
                        .ln()
                };
                f(t) - f(0.0)
            }
        }
    }

    /// `α_t`.
    pub fn alpha(&self, t: f64) -> f64 {
        self.log_alpha(t).exp()
    }

    /// `σ_t = √(1 − α_t²)`.
    pub fn sigma(&self, t: f64) -> f64 {
        (-(2.0 * self.log_alpha(t)).exp_m1()).sqrt()
    }

    /// `λ_t = log α_t − ½ log(1 − α_t²)`.
    pub fn lambda(&self, t: f64) -> f64 {
        let la = self.log_alpha(t);
        la - 0.5 * (-(2.0 * la).exp_m1()).ln()
    }

    /// Inverse of `λ_t`.
    ///
    /// ```text
    /// Linear: c = 2(β₁−β₀)·logaddexp(−2λ, 0);  t = c/(√(β₀² + c) + β₀)/(β₁ − β₀)
    /// Cosine: log α = −½ logaddexp(0, −2λ);  t = arccos(exp(log α + log α₀))·2(1+s)/π − s
    /// ```
    pub fn inverse_lambda(&self, lambda: f64) -> f64 {
        match *self {
            Self::Linear { beta_0, beta_1 } => {
                let c = 2.0 * (beta_1 - beta_0) * logaddexp(-2.0 * lambda, 0.0);
                let delta = beta_0 * beta_0 + c;
                c / (delta.sqrt() + beta_0) / (beta_1 - beta_0)
            }
            Self::Cosine { s } => {
                let log_alpha = -0.5 * logaddexp(0.0, -2.0 * lambda);
                let la0 = (s / (1.0 + s) * std::f64::consts::FRAC_PI_2).cos().ln();
                (log_alpha + la0).exp().acos() * 2.0 * (1.0 + s) / std::f64::consts::PI - s
            }
        }
    }

    /// The grid point at time `t` (the model receives `t` itself).
    pub fn point(&self, t: f64) -> GridPoint {
        GridPoint {
            t,
            alpha: self.alpha(t),
            sigma: self.sigma(t),
        }
    }

    /// `steps + 1` grid points from `t_start` down to `t_end` (DPM-Solver `get_time_steps`).
    ///
    /// Defaults in the official repository: `t_start = T`, `t_end = 1e-3` (continuous) .
    ///
    /// # Errors
    /// [`SamplerError::InvalidConfig`] unless `0 < t_end < t_start ≤ T` and `steps ≥ 1`.
    pub fn grid(
        &self,
        spacing: ContinuousSpacing,
        steps: usize,
        t_start: f64,
        t_end: f64,
    ) -> SamplerResult<Vec<GridPoint>> {
        if steps == 0 {
            return Err(SamplerError::InvalidStepCount {
                steps,
                max: usize::MAX,
            });
        }
        if !(t_end > 0.0 && t_end < t_start && t_start <= self.t_max() + 1e-12) {
            return Err(SamplerError::InvalidConfig(format!(
                "need 0 < t_end ({t_end}) < t_start ({t_start}) <= T ({})",
                self.t_max()
            )));
        }
        let ts: Vec<f64> = match spacing {
            ContinuousSpacing::LogSnr => {
                linspace(self.lambda(t_start), self.lambda(t_end), steps + 1)
                    .into_iter()
                    .map(|l| self.inverse_lambda(l))
                    .collect()
            }
            ContinuousSpacing::TimeUniform => linspace(t_start, t_end, steps + 1),
            ContinuousSpacing::TimeQuadratic => linspace(t_start.sqrt(), t_end.sqrt(), steps + 1)
                .into_iter()
                .map(|u| u * u)
                .collect(),
        };
        Ok(ts.into_iter().map(|t| self.point(t)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_lambda_round_trips() {
        for vp in [ContinuousVp::linear(), ContinuousVp::cosine()] {
            for t in [1e-3, 0.1, 0.5, 0.9] {
                let back = vp.inverse_lambda(vp.lambda(t));
                assert!((back - t).abs() < 1e-9, "{vp:?}: {t} -> {back}");
            }
        }
    }

    #[test]
    fn vp_identity_holds() {
        let vp = ContinuousVp::linear();
        for t in [1e-3, 0.3, 1.0] {
            let (a, s) = (vp.alpha(t), vp.sigma(t));
            assert!((a * a + s * s - 1.0).abs() < 1e-12);
        }
    }
}
