//! An analytic Gaussian-mixture "model" with the exact ε under VP diffusion, a high-accuracy
//! reference ODE solution, and an error-vs-NFE table for convergence studies.
//!
//! Data `p₀ = Σ_k w_k N(μ_k, s_k² I_d)` diffused by `x_t = α x₀ + σ ε` is again a mixture:
//! ```text
//! p_t = Σ_k w_k N(α μ_k, v_k I),   v_k = α² s_k² + σ²
//! γ_k(x) = softmax_k( log w_k − (d/2) log v_k − |x − α μ_k|²/(2 v_k) )
//! ∇ log p_t(x) = −Σ_k γ_k (x − α μ_k)/v_k,     ε*(x) = −σ ∇ log p_t(x)
//! ```
//! The probability-flow ODE in `y = x/α`, `ρ = σ/α = e^{−λ}` is `dy/dρ = ε*(α y)`; the reference
//! solution integrates `dy/dλ = −ρ ε*(α y)` with classical RK4 in `f64` on the host.
//!
//! # References
//! DPM-Solver (arXiv:2206.00927) eq. (3.3) (the exact-solution form); the Gaussian-mixture
//! score is standard (e.g. Karras et al. arXiv:2206.00364 App. B uses mixtures as toys).

use crate::error::{SamplerError, SamplerResult};
use crate::schedule::{ContinuousSpacing, ContinuousVp, GridPoint};
use crate::solvers::{
    Ddim, DdimConfig, DpmAlgorithm, DpmSolverMultistep, DpmSolverMultistepConfig,
    DpmSolverSinglestep, DpmSolverSinglestepConfig, DpmSolverType, FinalSigmas, Sampler,
};
use burn::tensor::{activation::softmax, backend::Backend, Tensor, TensorData};

/// An isotropic Gaussian mixture in `d` dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    weights: Vec<f64>,
    means: Vec<Vec<f64>>,
    stds: Vec<f64>,
}

impl GaussianMixture {
    /// Mixture from weights (normalised here), means (each of length `d`) and stds.
    ///
    /// # Errors
    /// [`SamplerError::InvalidConfig`] for empty/mismatched inputs, non-positive weights or
    /// negative stds.
    pub fn new(weights: Vec<f64>, means: Vec<Vec<f64>>, stds: Vec<f64>) -> SamplerResult<Self> {
        let k = weights.len();
        let d = means.first().map(Vec::len).unwrap_or(0);
        if k == 0
            || d == 0
            || means.len() != k
            || stds.len() != k
            || means.iter().any(|m| m.len() != d)
            || weights.iter().any(|w| !(*w > 0.0 && w.is_finite()))
            || stds.iter().any(|s| !(*s >= 0.0 && s.is_finite()))
        {
            return Err(SamplerError::InvalidConfig(
                "a mixture needs K ≥ 1 components with positive weights, equal-length means \
                 and non-negative stds"
                    .into(),
            ));
        }
        let z: f64 = weights.iter().sum();
        Ok(Self {
            weights: weights.into_iter().map(|w| w / z).collect(),
            means,
            stds,
        })
    }

    /// A fixed 2-D, 3-component mixture used by the tests and the default table.
    pub fn toy_2d() -> Self {
        Self::new(
            vec![0.5, 0.3, 0.2],
            vec![vec![1.0, 0.5], vec![-1.0, -0.5], vec![0.3, -1.2]],
            vec![0.5, 0.6, 0.4],
        )
        .expect("valid toy mixture")
    }

    /// Dimension `d`.
    pub fn dim(&self) -> usize {
        self.means[0].len()
    }

    /// Exact ε*(x) at (α, σ) on the device.
    ///
    /// # Shapes
    /// `x: [batch, d]` → `[batch, d]`.
    pub fn epsilon<B: Backend>(&self, x: &Tensor<B, 2>, alpha: f64, sigma: f64) -> Tensor<B, 2> {
        let [b, d] = x.dims();
        let device = x.device();
        let mut diffs = Vec::with_capacity(self.weights.len());
        let mut logits = Vec::with_capacity(self.weights.len());
        let mut vars = Vec::with_capacity(self.weights.len());
        for ((w, mu), s) in self.weights.iter().zip(&self.means).zip(&self.stds) {
            let v = alpha * alpha * s * s + sigma * sigma;
            let m: Vec<f32> = mu.iter().map(|m| (alpha * m) as f32).collect();
            let m = Tensor::<B, 2>::from_data(TensorData::new(m, [1, d]), &device).expand([b, d]);
            let diff = x.clone() - m;
            let logit = diff
                .clone()
                .powi_scalar(2)
                .sum_dim(1)
                .mul_scalar(-0.5 / v)
                .add_scalar(w.ln() - 0.5 * d as f64 * v.ln());
            diffs.push(diff);
            logits.push(logit);
            vars.push(v);
        }
        let gamma = softmax(Tensor::cat(logits, 1), 1);
        let mut acc = x.zeros_like();
        for (k, (diff, v)) in diffs.into_iter().zip(vars).enumerate() {
            let g = gamma.clone().narrow(1, k, 1).expand([b, d]);
            acc = acc + (diff * g).mul_scalar(sigma / v);
        }
        acc
    }

    /// Exact ε*(x) at (α, σ) for one point, in `f64` on the host.
    pub fn epsilon_host(&self, x: &[f64], alpha: f64, sigma: f64) -> Vec<f64> {
        let d = self.dim();
        let mut logits = Vec::with_capacity(self.weights.len());
        let mut vars = Vec::with_capacity(self.weights.len());
        for ((w, mu), s) in self.weights.iter().zip(&self.means).zip(&self.stds) {
            let v = alpha * alpha * s * s + sigma * sigma;
            let r2: f64 = x.iter().zip(mu).map(|(x, m)| (x - alpha * m).powi(2)).sum();
            logits.push(w.ln() - 0.5 * d as f64 * v.ln() - 0.5 * r2 / v);
            vars.push(v);
        }
        let mx = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = logits.iter().map(|l| (l - mx).exp()).sum();
        let mut eps = vec![0.0; d];
        for (k, (l, v)) in logits.iter().zip(&vars).enumerate() {
            let g = (l - mx).exp() / z;
            for j in 0..d {
                eps[j] += g * sigma * (x[j] - alpha * self.means[k][j]) / v;
            }
        }
        eps
    }

    /// High-accuracy solution of the probability-flow ODE from `from` to `to` (VP points with
    /// σ > 0), RK4 with `steps` uniform steps in λ, in `f64`.
    ///
    /// # Shapes
    /// `x: batch·d` values (row-major `[batch, d]`) → the same.
    pub fn reference_solution(
        &self,
        x: &[f64],
        from: GridPoint,
        to: GridPoint,
        steps: usize,
    ) -> Vec<f64> {
        let d = self.dim();
        let (l0, l1) = (from.lambda(), to.lambda());
        let h = (l1 - l0) / steps as f64;
        let rhs = |y: &[f64], lam: f64| -> Vec<f64> {
            let rho = (-lam).exp();
            let alpha = 1.0 / (1.0 + rho * rho).sqrt();
            let sigma = rho * alpha;
            let x: Vec<f64> = y.iter().map(|v| v * alpha).collect();
            self.epsilon_host(&x, alpha, sigma)
                .into_iter()
                .map(|e| -rho * e)
                .collect()
        };
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks(d) {
            let mut y: Vec<f64> = row.iter().map(|v| v / from.alpha).collect();
            for i in 0..steps {
                let lam = l0 + i as f64 * h;
                let k1 = rhs(&y, lam);
                let y2: Vec<f64> = y.iter().zip(&k1).map(|(a, k)| a + 0.5 * h * k).collect();
                let k2 = rhs(&y2, lam + 0.5 * h);
                let y3: Vec<f64> = y.iter().zip(&k2).map(|(a, k)| a + 0.5 * h * k).collect();
                let k3 = rhs(&y3, lam + 0.5 * h);
                let y4: Vec<f64> = y.iter().zip(&k3).map(|(a, k)| a + h * k).collect();
                let k4 = rhs(&y4, lam + h);
                for j in 0..d {
                    y[j] += h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
                }
            }
            out.extend(y.iter().map(|v| v * to.alpha));
        }
        out
    }
}

/// A solver configuration for [`nfe_error_table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalyticSolver {
    /// Deterministic DDIM (η = 0, no clipping) — first order.
    Ddim,
    /// Multistep DPM-Solver++ of the given order (midpoint), no lower-order final steps.
    DpmSolverPlusPlusMultistep(usize),
    /// Multistep DPM-Solver (v1) of the given order, no lower-order final steps.
    DpmSolverMultistep(usize),
    /// Singlestep DPM-Solver++ of the given order (heun form for order 3).
    DpmSolverPlusPlusSinglestep(usize),
}

impl AnalyticSolver {
    /// A short label ("DDIM", "DPM++ 2M", "DPM 3M", "DPM++ 2S").
    pub fn label(&self) -> String {
        match self {
            Self::Ddim => "DDIM".into(),
            Self::DpmSolverPlusPlusMultistep(o) => format!("DPM++ {o}M"),
            Self::DpmSolverMultistep(o) => format!("DPM {o}M"),
            Self::DpmSolverPlusPlusSinglestep(o) => format!("DPM++ {o}S"),
        }
    }
}

/// One row of [`nfe_error_table`].
#[derive(Debug, Clone, PartialEq)]
pub struct NfeErrorRow {
    /// The solver.
    pub solver: AnalyticSolver,
    /// Number of model evaluations.
    pub nfe: usize,
    /// RMS error against the reference solution over all batch·d values.
    pub error: f64,
}

/// Settings of [`nfe_error_table`].
#[derive(Debug, Clone, PartialEq)]
pub struct NfeStudy {
    /// The data distribution.
    pub mixture: GaussianMixture,
    /// The continuous VP schedule.
    pub schedule: ContinuousVp,
    /// Time spacing of the solver grids.
    pub spacing: ContinuousSpacing,
    /// Start time (e.g. 1.0).
    pub t_start: f64,
    /// End time (e.g. 1e-3, σ > 0).
    pub t_end: f64,
    /// Initial points `x_T`, row-major `[batch, d]`.
    pub x_start: Vec<f64>,
    /// RK4 steps of the reference solution.
    pub reference_steps: usize,
}

impl NfeStudy {
    /// The default study: [`GaussianMixture::toy_2d`], linear VP, log-SNR spacing,
    /// `t ∈ [1e-3, 1]`, 16 deterministic standard-normal starting points, 4000 RK4 steps.
    pub fn default_2d() -> Self {
        // Box–Muller on a fixed LCG: deterministic, dependency-free N(0, 1) draws.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut uniform = || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let mut xs = Vec::with_capacity(32);
        while xs.len() < 32 {
            let (u1, u2) = (uniform(), uniform());
            let r = (-2.0 * u1.ln()).sqrt();
            xs.push(r * (2.0 * std::f64::consts::PI * u2).cos());
            xs.push(r * (2.0 * std::f64::consts::PI * u2).sin());
        }
        Self {
            mixture: GaussianMixture::toy_2d(),
            schedule: ContinuousVp::linear(),
            spacing: ContinuousSpacing::LogSnr,
            t_start: 1.0,
            t_end: 1e-3,
            x_start: xs,
            reference_steps: 4000,
        }
    }
}

/// Error versus number of function evaluations for each solver and NFE.
///
/// Each solver runs on `B` (f32 for the usual backends) on the study's continuous grid with
/// `nfe` steps; the error is the RMS difference to the f64 RK4 reference.
///
/// # Errors
/// Solver construction errors (e.g. an unsupported order) or an invalid study.
pub fn nfe_error_table<B: Backend>(
    study: &NfeStudy,
    solvers: &[AnalyticSolver],
    nfes: &[usize],
    device: &B::Device,
) -> SamplerResult<Vec<NfeErrorRow>> {
    let d = study.mixture.dim();
    if study.x_start.is_empty() || !study.x_start.len().is_multiple_of(d) {
        return Err(SamplerError::InvalidConfig(
            "x_start must hold batch·d values".into(),
        ));
    }
    let batch = study.x_start.len() / d;
    let vp = study.schedule;
    let (p0, p1) = (vp.point(study.t_start), vp.point(study.t_end));
    let reference = study
        .mixture
        .reference_solution(&study.x_start, p0, p1, study.reference_steps);
    let x_data: Vec<f32> = study.x_start.iter().map(|v| *v as f32).collect();
    let mut rows = Vec::new();
    for &solver in solvers {
        for &nfe in nfes {
            let grid = vp.grid(study.spacing, nfe, study.t_start, study.t_end)?;
            let x = Tensor::<B, 2>::from_data(TensorData::new(x_data.clone(), [batch, d]), device);
            let model =
                |x: &Tensor<B, 2>, t: f64| study.mixture.epsilon(x, vp.alpha(t), vp.sigma(t));
            let out = match solver {
                AnalyticSolver::Ddim => {
                    let c = DdimConfig::new().with_clip_sample(false);
                    Sampler::<B, 2, _>::new(Ddim::from_grid(c, grid)?).sample(model, x, |_| {})?
                }
                AnalyticSolver::DpmSolverPlusPlusMultistep(o)
                | AnalyticSolver::DpmSolverMultistep(o) => {
                    let alg = if matches!(solver, AnalyticSolver::DpmSolverMultistep(_)) {
                        DpmAlgorithm::DpmSolver
                    } else {
                        DpmAlgorithm::DpmSolverPlusPlus
                    };
                    let c = DpmSolverMultistepConfig::new()
                        .with_solver_order(o)
                        .with_algorithm_type(alg)
                        .with_lower_order_final(false)
                        .with_final_sigmas_type(FinalSigmas::SigmaMin);
                    Sampler::<B, 2, _>::new(DpmSolverMultistep::from_grid(c, grid)?).sample(
                        model,
                        x,
                        |_| {},
                    )?
                }
                AnalyticSolver::DpmSolverPlusPlusSinglestep(o) => {
                    let c = DpmSolverSinglestepConfig::new()
                        .with_solver_order(o)
                        .with_solver_type(DpmSolverType::Heun)
                        .with_final_sigmas_type(FinalSigmas::SigmaMin);
                    Sampler::<B, 2, _>::new(DpmSolverSinglestep::from_grid(c, grid)?).sample(
                        model,
                        x,
                        |_| {},
                    )?
                }
            };
            let v: Vec<f64> = out
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .map_err(|e| SamplerError::InvalidConfig(format!("tensor read-back: {e:?}")))?
                .into_iter()
                .map(f64::from)
                .collect();
            let mse: f64 = v
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                / v.len() as f64;
            rows.push(NfeErrorRow {
                solver,
                nfe,
                error: mse.sqrt(),
            });
        }
    }
    Ok(rows)
}

/// Empirical convergence order between consecutive rows of one solver:
/// `p = log(e₁/e₂)/log(n₂/n₁)`.
pub fn empirical_orders(rows: &[NfeErrorRow]) -> Vec<f64> {
    rows.windows(2)
        .filter(|w| w[0].solver == w[1].solver)
        .map(|w| (w[0].error / w[1].error).ln() / (w[1].nfe as f64 / w[0].nfe as f64).ln())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    #[test]
    fn device_epsilon_matches_host_epsilon() {
        let g = GaussianMixture::toy_2d();
        let xs = [0.3, -0.2, 1.5, 0.7, -2.0, 0.1];
        let (a, s) = (0.7, 0.714_142_842_854_285);
        let dev = to_vec(g.epsilon(&tensor::<TestBackend, 2>(&xs, [3, 2], &device()), a, s));
        let host: Vec<f64> = xs.chunks(2).flat_map(|x| g.epsilon_host(x, a, s)).collect();
        assert_close(&dev, &host, 1e-5, 1e-6);
    }

    // A single Gaussian N(μ, s²) has the exact ODE solution
    //   x_t = α_t μ + √(α_t² s² + σ_t²)/√(α_T² s² + σ_T²) · (x_T − α_T μ)
    // (the flow is affine). The reference RK4 must reproduce it to ~1e-10.
    #[test]
    fn reference_solution_matches_closed_form_for_one_gaussian() {
        let g = GaussianMixture::new(vec![1.0], vec![vec![0.5, -1.0]], vec![0.3]).unwrap();
        let vp = ContinuousVp::linear();
        let (p0, p1) = (vp.point(1.0), vp.point(1e-3));
        let x = [0.4, -1.3];
        let got = g.reference_solution(&x, p0, p1, 2000);
        let sd = |p: GridPoint| (p.alpha * p.alpha * 0.09 + p.sigma * p.sigma).sqrt();
        let want: Vec<f64> = x
            .iter()
            .zip([0.5, -1.0])
            .map(|(x, m)| p1.alpha * m + sd(p1) / sd(p0) * (x - p0.alpha * m))
            .collect();
        assert_close(&got, &want, 1e-9, 1e-9);
    }
}
