//! One point of a solver's time grid.

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
