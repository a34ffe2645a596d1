//! A solver's time grid: its points, what their times mean, and forward noising on it.

use crate::error::{check_shape, SamplerError, SamplerResult};
use burn::tensor::{backend::Backend, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// A point of the sampling grid: the time handed to the model and the VP coefficients there.
///
/// ```text
/// x_t = α x₀ + σ ε,   λ = log α − log σ,   σ^VE = σ/α
/// ```
///
/// `t` is whatever the model is conditioned on: an integer training timestep for discrete
/// schedules (stored as `f64`), continuous `t ∈ (0, 1]` for continuous VP, or σ for EDM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    /// Model input time.
    pub t: f64,
    /// Signal coefficient α ≥ 0.
    pub alpha: f64,
    /// Noise coefficient σ ≥ 0 (σ = 0 is the clean-data end point).
    pub sigma: f64,
}

impl GridPoint {
    /// Point from a VE sigma `s`: `α = 1/√(s² + 1)`, `σ = s·α` (diffusers
    /// `_sigma_to_alpha_sigma_t`).
    pub fn from_ve_sigma(t: f64, ve_sigma: f64) -> Self {
        let alpha = 1.0 / (ve_sigma * ve_sigma + 1.0).sqrt();
        Self {
            t,
            alpha,
            sigma: ve_sigma * alpha,
        }
    }

    /// Point on the straight flow-matching path `x = (1 − s) x₀ + s ε`: `α = 1 − s`, `σ = s`
    /// (diffusers `_sigma_to_alpha_sigma_t` with `use_flow_sigmas`).
    pub fn from_flow_sigma(t: f64, s: f64) -> Self {
        Self {
            t,
            alpha: 1.0 - s,
            sigma: s,
        }
    }

    /// Point from `ᾱ`: `α = √ᾱ`, `σ = √(1 − ᾱ)`.
    pub fn from_alpha_cumprod(t: f64, alpha_cumprod: f64) -> Self {
        Self {
            t,
            alpha: alpha_cumprod.sqrt(),
            sigma: (1.0 - alpha_cumprod).sqrt(),
        }
    }

    /// `λ = log α − log σ` (`+∞` at σ = 0).
    pub fn lambda(&self) -> f64 {
        self.alpha.ln() - self.sigma.ln()
    }

    /// `ᾱ = α²`.
    pub fn alpha_cumprod(&self) -> f64 {
        self.alpha * self.alpha
    }
}

/// What the model-time values of a [`TimeGrid`] are.
///
/// The number a model is called with means different things for different schedules; the grid
/// says which, so a caller (a conditioning embedding, a logger, the alignment crate) never has to
/// guess from the solver type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeKind {
    /// A training timestep index `0 … N_train − 1` of a discrete schedule (stored as `f64`; the
    /// flow-matching schedulers use the fractional `σ·N_train`, as diffusers does).
    TrainingStep,
    /// Continuous VP time `t ∈ (0, T]` (ScoreSDE / DPM-Solver `NoiseScheduleVP`).
    Continuous,
    /// EDM's noise level σ (VE, `x = x₀ + σ n`).
    Sigma,
}

/// A solver's typed time grid: `N + 1` points and, for every model evaluation, the point it is
/// evaluated at.
///
/// ```text
/// points:      p_0, p_1, …, p_N          (p_N is the end point: only a Heun correction onto
///                                          σ_N > 0 evaluates the model there)
/// evaluations: k = 0 … K−1, at point e_k (K = N, except Heun's 2N − 1 with e = 0,1,1,2,2,…)
/// x at p       = α_p·x₀ + σ_p·ε          (VP: α² + σ² = 1; EDM: α = 1; flow: α = 1 − σ)
/// ```
///
/// Every grid point carries its own `(α, σ)` in the solver's sample space, so forward noising
/// ([`TimeGrid::add_noise`], [`TimeGrid::add_noise_rows`]) is written once for every solver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeGrid {
    kind: TimeKind,
    points: Vec<GridPoint>,
    evaluations: Vec<usize>,
    times: Vec<f64>,
}

impl TimeGrid {
    /// A grid with one model evaluation per interval (`K = N`, `e_k = k`).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for fewer than 2 points or a non-finite point.
    pub fn new(kind: TimeKind, points: Vec<GridPoint>) -> SamplerResult<Self> {
        let n = points.len().saturating_sub(1);
        Self::with_evaluations(kind, points, (0..n).collect())
    }

    /// A grid with an explicit evaluation plan (`evaluations[k]` = the point of evaluation `k`).
    ///
    /// # Errors
    /// [`SamplerError::InvalidTimesteps`] for fewer than 2 points, a non-finite point, no
    /// evaluations, or an evaluation past the end point.
    pub fn with_evaluations(
        kind: TimeKind,
        points: Vec<GridPoint>,
        evaluations: Vec<usize>,
    ) -> SamplerResult<Self> {
        if points.len() < 2 {
            return Err(SamplerError::InvalidTimesteps(
                "a grid needs at least 2 points (one step)".into(),
            ));
        }
        if let Some((i, p)) = points
            .iter()
            .enumerate()
            .find(|(_, p)| !(p.t.is_finite() && p.alpha.is_finite() && p.sigma.is_finite()))
        {
            return Err(SamplerError::InvalidTimesteps(format!(
                "grid point {i} is not finite: t = {}, alpha = {}, sigma = {}",
                p.t, p.alpha, p.sigma
            )));
        }
        let end = points.len() - 1;
        if evaluations.is_empty() || evaluations.iter().any(|&e| e > end) {
            return Err(SamplerError::InvalidTimesteps(format!(
                "evaluations must be non-empty and lie on the grid (points 0..={end})"
            )));
        }
        let times = evaluations.iter().map(|&e| points[e].t).collect();
        Ok(Self {
            kind,
            points,
            evaluations,
            times,
        })
    }

    /// What the model times are.
    pub fn kind(&self) -> TimeKind {
        self.kind
    }

    /// The `N + 1` grid points (the last is the end point).
    pub fn points(&self) -> &[GridPoint] {
        &self.points
    }

    /// Number of model evaluations `K` (the number of [`crate::solvers::Sampler::step`] calls of
    /// a full run).
    pub fn len(&self) -> usize {
        self.evaluations.len()
    }

    /// Always false for a built grid (it has at least one evaluation).
    pub fn is_empty(&self) -> bool {
        self.evaluations.is_empty()
    }

    /// The grid point of evaluation `k`, or `None` past the end.
    pub fn point(&self, k: usize) -> Option<GridPoint> {
        self.evaluations.get(k).map(|&e| self.points[e])
    }

    /// The index into [`TimeGrid::points`] of evaluation `k`.
    pub fn point_index(&self, k: usize) -> Option<usize> {
        self.evaluations.get(k).copied()
    }

    /// The model times, one per evaluation, in sampling order.
    pub fn model_times(&self) -> &[f64] {
        &self.times
    }

    /// The end point (`p_N`).
    pub fn end(&self) -> GridPoint {
        self.points[self.points.len() - 1]
    }

    /// Forward-noises clean data to the point of evaluation `k`: `α x₀ + σ n`.
    ///
    /// # Shapes
    /// `original`, `noise`: `[batch, …]`, identical; returns the same shape.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] for `k ≥ len()`; [`SamplerError::ShapeMismatch`].
    pub fn add_noise<B: Backend, const D: usize>(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        k: usize,
    ) -> SamplerResult<Tensor<B, D>> {
        check_shape("noise", &noise.dims(), &original.dims())?;
        let p = self.point(k).ok_or(SamplerError::PastEnd {
            index: k,
            len: self.len(),
        })?;
        Ok(original.mul_scalar(p.alpha) + noise.mul_scalar(p.sigma))
    }

    /// Forward-noises every batch row to its own evaluation: row `b` gets
    /// `α_{k_b} x₀[b] + σ_{k_b} n[b]` (diffusion training and Diffusion-DPO draw one t per row).
    ///
    /// # Shapes
    /// `original`, `noise`: `[batch, …]`; `evaluations.len() = batch`; returns `[batch, …]`.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] for an evaluation index past the end;
    /// [`SamplerError::ShapeMismatch`] for mismatched shapes or a wrong number of indices.
    pub fn add_noise_rows<B: Backend, const D: usize>(
        &self,
        original: Tensor<B, D>,
        noise: Tensor<B, D>,
        evaluations: &[usize],
    ) -> SamplerResult<Tensor<B, D>> {
        let points = evaluations
            .iter()
            .map(|&k| {
                self.point(k).ok_or(SamplerError::PastEnd {
                    index: k,
                    len: self.len(),
                })
            })
            .collect::<SamplerResult<Vec<_>>>()?;
        add_noise_per_row(original, noise, &points)
    }
}

/// `α_b x₀[b] + σ_b n[b]` with one grid point per batch row (the coefficients are host scalars
/// uploaded once as `[batch, 1, …, 1]` tensors).
///
/// # Shapes
/// `original`, `noise`: `[batch, …]`; `points.len() = batch`; returns `[batch, …]`.
///
/// # Errors
/// [`SamplerError::ShapeMismatch`] for mismatched shapes or `points.len() ≠ batch`.
pub fn add_noise_per_row<B: Backend, const D: usize>(
    original: Tensor<B, D>,
    noise: Tensor<B, D>,
    points: &[GridPoint],
) -> SamplerResult<Tensor<B, D>> {
    let dims = original.dims();
    check_shape("noise", &noise.dims(), &dims)?;
    check_shape("points (one per batch row)", &[points.len()], &[dims[0]])?;
    let device = original.device();
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    let column = |f: fn(&GridPoint) -> f64| {
        let v: Vec<f32> = points.iter().map(|p| f(p) as f32).collect();
        Tensor::<B, 1>::from_data(TensorData::new(v, [points.len()]), &device).reshape(shape)
    };
    let alpha = column(|p| p.alpha);
    let sigma = column(|p| p.sigma);
    Ok(original * alpha + noise * sigma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    fn grid() -> TimeGrid {
        TimeGrid::new(
            TimeKind::Continuous,
            vec![
                GridPoint::from_alpha_cumprod(1.0, 0.25),
                GridPoint::from_alpha_cumprod(0.5, 0.64),
                GridPoint::from_alpha_cumprod(0.0, 1.0),
            ],
        )
        .unwrap()
    }

    #[test]
    fn per_row_noising_uses_each_rows_point() {
        let d = device();
        let x0 = tensor::<TestBackend, 2>(&[1.0, 2.0, 3.0, 4.0], [2, 2], &d);
        let n = tensor::<TestBackend, 2>(&[0.5, -0.5, 1.0, -1.0], [2, 2], &d);
        let out = to_vec(grid().add_noise_rows(x0, n, &[1, 0]).unwrap());
        // row 0 at ᾱ = 0.64 (α 0.8, σ 0.6), row 1 at ᾱ = 0.25 (α 0.5, σ √0.75)
        let s = 0.75f64.sqrt();
        let want = [0.8 + 0.3, 1.6 - 0.3, 1.5 + s, 2.0 - s];
        assert_close(&out, &want, 1e-6, 1e-6);
    }

    #[test]
    fn grid_errors_are_typed() {
        let d = device();
        let x0 = tensor::<TestBackend, 2>(&[1.0; 4], [2, 2], &d);
        assert!(matches!(
            grid().add_noise_rows(x0.clone(), x0.clone(), &[0]),
            Err(SamplerError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            grid().add_noise_rows(x0.clone(), x0, &[0, 2]),
            Err(SamplerError::PastEnd { index: 2, len: 2 })
        ));
        assert!(TimeGrid::new(
            TimeKind::Sigma,
            vec![GridPoint::from_alpha_cumprod(0.0, 1.0)]
        )
        .is_err());
        assert!(
            TimeGrid::with_evaluations(TimeKind::Sigma, grid().points().to_vec(), vec![3]).is_err()
        );
        let nan = GridPoint {
            t: f64::NAN,
            alpha: 1.0,
            sigma: 0.0,
        };
        assert!(TimeGrid::new(TimeKind::Sigma, vec![nan, nan]).is_err());
    }
}
