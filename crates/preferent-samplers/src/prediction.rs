//! Model parameterisations (ε, x₀, v, score, flow) and the conversions between them.
//!
//! All conversions assume the relation `x_t = α x₀ + σ ε` with host scalars `α, σ`.
//!
//! ```text
//! ε:      x₀ = (x − σ ε)/α
//! x₀:     ε  = (x − α x₀)/σ
//! v:      v = α ε − σ x₀      ⇒ x₀ = α x − σ v,  ε = α v + σ x        (needs α² + σ² = 1)
//! score:  s = ∇ log p_t(x) = −ε/σ ⇒ ε = −σ s,    x₀ = (x + σ² s)/α
//! flow:   u = ε − x₀          ⇒ x₀ = (x − σ u)/(α + σ),  ε = (x + α u)/(α + σ)
//! ```
//!
//! The flow (rectified-flow / flow-matching) velocity is `u = dx/dσ` on the straight path
//! `x = (1 − σ) x₀ + σ ε` (α = 1 − σ, the grid of
//! [`SigmaSpacing::Flow`](crate::schedule::SigmaSpacing::Flow)), where the conversions reduce to
//! diffusers' `x₀ = x − σ u`; the general form above is exact on any (α, σ) grid.
//!
//! # References
//! Salimans & Ho, "Progressive Distillation" (arXiv:2202.00512) §4 (v); Song et al. ScoreSDE
//! (arXiv:2011.13456) (score); Liu et al., "Flow Straight and Fast" (arXiv:2209.03003) and
//! Lipman et al., "Flow Matching" (arXiv:2210.02747) (flow); DPM-Solver `model_wrapper`;
//! diffusers `DPMSolverMultistepScheduler.convert_model_output` (`"flow_prediction"`).

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

// Divisions by host scalars are written as multiplications by the reciprocal: burn-flex's
// `div_scalar` is ~3× slower than `mul_scalar` on f32 (xtask opbench, 65 536 elements).

/// What the network predicts (diffusers `prediction_type`).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum PredictionType {
    /// The noise ε (`"epsilon"`, the default everywhere).
    Epsilon,
    /// The clean sample x₀ (`"sample"`).
    Sample,
    /// The velocity v = α ε − σ x₀ (`"v_prediction"`).
    VPrediction,
    /// The score ∇ₓ log p_t(x) (DPM-Solver `model_type="score"`).
    Score,
    /// The flow velocity u = ε − x₀ (`"flow_prediction"`; SD3 / Flux-style flow matching).
    Flow,
}

/// Converts a model output to the x₀ (data) prediction.
///
/// # Shapes
/// `output`, `sample`: any identical shape; returns the same shape.
pub fn to_x0<B: Backend, const D: usize>(
    prediction: PredictionType,
    output: Tensor<B, D>,
    sample: Tensor<B, D>,
    alpha: f64,
    sigma: f64,
) -> Tensor<B, D> {
    match prediction {
        PredictionType::Epsilon => (sample - output.mul_scalar(sigma)).mul_scalar(1.0 / alpha),
        PredictionType::Sample => output,
        PredictionType::VPrediction => sample.mul_scalar(alpha) - output.mul_scalar(sigma),
        PredictionType::Score => {
            (sample + output.mul_scalar(sigma * sigma)).mul_scalar(1.0 / alpha)
        }
        PredictionType::Flow => {
            (sample - output.mul_scalar(sigma)).mul_scalar(1.0 / (alpha + sigma))
        }
    }
}

/// Converts a model output to the ε (noise) prediction.
///
/// # Shapes
/// `output`, `sample`: any identical shape; returns the same shape.
pub fn to_epsilon<B: Backend, const D: usize>(
    prediction: PredictionType,
    output: Tensor<B, D>,
    sample: Tensor<B, D>,
    alpha: f64,
    sigma: f64,
) -> Tensor<B, D> {
    match prediction {
        PredictionType::Epsilon => output,
        PredictionType::Sample => (sample - output.mul_scalar(alpha)).mul_scalar(1.0 / sigma),
        PredictionType::VPrediction => output.mul_scalar(alpha) + sample.mul_scalar(sigma),
        PredictionType::Score => output.mul_scalar(-sigma),
        PredictionType::Flow => {
            (sample + output.mul_scalar(alpha)).mul_scalar(1.0 / (alpha + sigma))
        }
    }
}

/// `ε = (x − α x₀)/σ`.
///
/// # Shapes
/// Elementwise; any identical shape.
pub fn x0_to_epsilon<B: Backend, const D: usize>(
    x0: Tensor<B, D>,
    sample: Tensor<B, D>,
    alpha: f64,
    sigma: f64,
) -> Tensor<B, D> {
    (sample - x0.mul_scalar(alpha)).mul_scalar(1.0 / sigma)
}

/// The flow-matching target `u = ε − x₀` (for training flow-prediction models).
///
/// # Shapes
/// Elementwise; any identical shape.
pub fn flow_target<B: Backend, const D: usize>(
    x0: Tensor<B, D>,
    noise: Tensor<B, D>,
) -> Tensor<B, D> {
    noise - x0
}

/// The v target `v = α ε − σ x₀` (for training v-prediction models).
///
/// # Shapes
/// Elementwise; any identical shape.
pub fn v_target<B: Backend, const D: usize>(
    x0: Tensor<B, D>,
    noise: Tensor<B, D>,
    alpha: f64,
    sigma: f64,
) -> Tensor<B, D> {
    noise.mul_scalar(alpha) - x0.mul_scalar(sigma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    // Round trip on a VP point (α = 0.6, σ = 0.8): build x = α x₀ + σ ε on the host, express the
    // truth in every parameterisation, and convert back.
    #[test]
    fn every_parameterisation_recovers_x0_and_epsilon() {
        let d = device();
        let (a, s) = (0.6, 0.8);
        let x0h = [0.5, -1.0, 0.25];
        let eh = [1.0, 0.3, -2.0];
        let xh: Vec<f64> = x0h.iter().zip(eh).map(|(x, e)| a * x + s * e).collect();
        let vh: Vec<f64> = x0h.iter().zip(eh).map(|(x, e)| a * e - s * x).collect();
        let sh: Vec<f64> = eh.iter().map(|e| -e / s).collect();
        let fh: Vec<f64> = x0h.iter().zip(eh).map(|(x, e)| e - x).collect();
        let t = |v: &[f64]| tensor::<TestBackend, 1>(v, [3], &d);
        for (p, out) in [
            (PredictionType::Epsilon, &eh[..]),
            (PredictionType::Sample, &x0h[..]),
            (PredictionType::VPrediction, &vh[..]),
            (PredictionType::Score, &sh[..]),
            (PredictionType::Flow, &fh[..]),
        ] {
            let x0 = to_vec(to_x0(p, t(out), t(&xh), a, s));
            let e = to_vec(to_epsilon(p, t(out), t(&xh), a, s));
            assert_close(&x0, &x0h, 1e-5, 1e-5);
            assert_close(&e, &eh, 1e-5, 1e-5);
        }
    }

    // On the straight path (α = 1 − σ) the flow conversions are diffusers' `x₀ = x − σ u`, and
    // u is the derivative dx/dσ of x(σ) = (1 − σ) x₀ + σ ε.
    #[test]
    fn flow_on_the_straight_path_matches_diffusers_form() {
        let d = device();
        let s = 0.3;
        let x0h = [0.5, -1.0, 0.25];
        let eh = [1.0, 0.3, -2.0];
        let x = |s: f64| -> Vec<f64> {
            x0h.iter()
                .zip(eh)
                .map(|(x0, e)| (1.0 - s) * x0 + s * e)
                .collect()
        };
        let t = |v: &[f64]| tensor::<TestBackend, 1>(v, [3], &d);
        let u = to_vec(flow_target(t(&x0h), t(&eh)));
        let hstep = 1e-3;
        let (xp, xm) = (x(s + hstep), x(s - hstep));
        let fd: Vec<f64> = xp
            .iter()
            .zip(&xm)
            .map(|(a, b)| (a - b) / (2.0 * hstep))
            .collect();
        assert_close(&u, &fd, 1e-3, 1e-3);
        let xs = x(s);
        let x0 = to_vec(to_x0(PredictionType::Flow, t(&u), t(&xs), 1.0 - s, s));
        let diffusers: Vec<f64> = xs.iter().zip(&u).map(|(x, u)| x - s * u).collect();
        assert_close(&x0, &diffusers, 1e-6, 1e-6);
        assert_close(&x0, &x0h, 1e-5, 1e-5);
    }
}
