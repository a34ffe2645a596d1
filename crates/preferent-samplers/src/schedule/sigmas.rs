//! VE/EDM sigma sequences: Karras, exponential, and Lu's uniform-λ.

use super::betas::linspace_pub as linspace;
use burn::config::Config;

/// How a DPM-Solver scheduler spaces its sigmas (diffusers allows at most one of
/// `use_karras_sigmas`, `use_exponential_sigmas`, `use_lu_lambdas`; an enum makes that
/// impossible to violate).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum SigmaSpacing {
    /// Sigmas interpolated at the spaced timesteps (diffusers default).
    Timesteps,
    /// Karras et al. ρ = 7 spacing between the schedule's σ_min and σ_max.
    Karras,
    /// Uniform in log σ (= uniform in λ), Lu et al.'s recommendation (`use_lu_lambdas`).
    Lu,
    /// `exp(linspace(log σ_max, log σ_min, N))` (`use_exponential_sigmas`).
    Exponential,
    /// Flow-matching sigmas on the straight path `x = (1 − σ) x₀ + σ ε` (diffusers
    /// `use_flow_sigmas`, with `flow_shift` = `shift`; see [`flow_sigmas`]). The grid's α is
    /// `1 − σ` (not VP), model times are `⌊σ·N_train⌋`. Pair with
    /// [`PredictionType::Flow`](crate::prediction::PredictionType::Flow).
    Flow {
        /// Timestep shift (`flow_shift`; 1 = none; SD3 uses 3).
        shift: f64,
    },
}

/// diffusers' flow sigmas (`use_flow_sigmas`), decreasing, `n` of them:
///
/// ```text
/// s_k = 1 − linspace(1, 1/N_train, n + 1)_k,   s ← shift·s / (1 + (shift − 1)·s),
/// σ = reverse(s)[..n]        (drops the final s = 0)
/// ```
///
/// # References
/// Esser et al., "Scaling Rectified Flow Transformers" (SD3, arXiv:2403.03206) §5.3.2 (shift);
/// diffusers `DPMSolverMultistepScheduler.set_timesteps`.
pub fn flow_sigmas(n: usize, num_train_timesteps: usize, shift: f64) -> Vec<f64> {
    let alphas = linspace(1.0, 1.0 / num_train_timesteps as f64, n + 1);
    let mut s: Vec<f64> = alphas
        .into_iter()
        .map(|a| {
            let s = 1.0 - a;
            shift * s / (1.0 + (shift - 1.0) * s)
        })
        .collect();
    s.reverse();
    s.truncate(n);
    s
}

/// Karras et al. sigmas, decreasing from `sigma_max` to `sigma_min`.
///
/// ```text
/// σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ,  i = 0 … n−1
/// ```
///
/// EDM defaults: `σ_min = 0.002`, `σ_max = 80`, `ρ = 7`.
///
/// # References
/// Karras et al., "Elucidating the Design Space of Diffusion-Based Generative Models"
/// (arXiv:2206.00364) eq. (5); k-diffusion `get_sigmas_karras`.
pub fn karras_sigmas(n: usize, sigma_min: f64, sigma_max: f64, rho: f64) -> Vec<f64> {
    let (lo, hi) = (sigma_min.powf(1.0 / rho), sigma_max.powf(1.0 / rho));
    linspace(0.0, 1.0, n)
        .into_iter()
        .map(|r| (hi + r * (lo - hi)).powf(rho))
        .collect()
}

/// Sigmas uniform in `log σ`, decreasing.
///
/// ```text
/// σ_i = exp(linspace(log σ_max, log σ_min, n)_i)
/// ```
///
/// # References
/// diffusers `_convert_to_exponential`.
pub fn exponential_sigmas(n: usize, sigma_min: f64, sigma_max: f64) -> Vec<f64> {
    linspace(sigma_max.ln(), sigma_min.ln(), n)
        .into_iter()
        .map(f64::exp)
        .collect()
}

/// Lu et al.'s uniform-λ sigmas as diffusers builds them (`use_lu_lambdas`): `log σ` linear from
/// `log σ_max` to `log σ_min` (the same points as [`exponential_sigmas`], computed in the order
/// diffusers' `_convert_to_lu` does).
///
/// # References
/// DPM-Solver++ (arXiv:2211.01095) §5 "uniform λ"; diffusers PR #5541.
pub fn lu_sigmas(n: usize, sigma_min: f64, sigma_max: f64) -> Vec<f64> {
    let (lmax, lmin) = (sigma_max.ln(), sigma_min.ln());
    linspace(0.0, 1.0, n)
        .into_iter()
        .map(|r| (lmax + r * (lmin - lmax)).exp())
        .collect()
}
