//! β schedules of discrete VP diffusion and the zero-terminal-SNR rescale.

use crate::error::{SamplerError, SamplerResult};
use burn::config::Config;

/// How the training betas `β_0 … β_{N−1}` are laid out.
///
/// ```text
/// Linear          β_i = linspace(β_start, β_end, N)_i
/// ScaledLinear    β_i = linspace(√β_start, √β_end, N)_i²                 (Stable Diffusion)
/// SquaredCosCapV2 β_i = min(1 − ᾱ((i+1)/N)/ᾱ(i/N), 0.999),
///                 ᾱ(t) = cos²((t + 0.008)/1.008 · π/2)                    (Nichol & Dhariwal)
/// ```
///
/// # References
/// diffusers `scheduling_dpmsolver_multistep.py` (`beta_schedule`); Improved DDPM
/// (arXiv:2102.09672) eq. (17).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum BetaSchedule {
    /// Linear in β (DDPM, arXiv:2006.11239).
    Linear,
    /// Linear in √β (latent diffusion / Stable Diffusion).
    ScaledLinear,
    /// Cosine ᾱ schedule, each β capped at 0.999.
    SquaredCosCapV2,
}

fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    match n {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..n)
            .map(|i| {
                // numpy's linspace: start + i·step, with the last point exactly `end`.
                let step = (end - start) / (n - 1) as f64;
                if i == n - 1 {
                    end
                } else {
                    start + i as f64 * step
                }
            })
            .collect(),
    }
}

pub(crate) fn linspace_pub(start: f64, end: f64, n: usize) -> Vec<f64> {
    linspace(start, end, n)
}

/// The cosine ("squaredcos_cap_v2") betas; `t/N` is computed in floating point (the Rust ports
/// candle and diffusers-rs divide in `usize` and get this schedule wrong).
///
/// ```text
/// β_i = min(1 − ᾱ((i+1)/N)/ᾱ(i/N), max_beta),  ᾱ(t) = cos²((t + 0.008)/1.008 · π/2)
/// ```
///
/// # References
/// diffusers `betas_for_alpha_bar` (`alpha_transform_type="cosine"`, `max_beta=0.999`).
pub fn cosine_betas(num_train_timesteps: usize, max_beta: f64) -> Vec<f64> {
    let abar = |t: f64| {
        ((t + 0.008) / 1.008 * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    let n = num_train_timesteps as f64;
    (0..num_train_timesteps)
        .map(|i| {
            let t1 = i as f64 / n;
            let t2 = (i + 1) as f64 / n;
            (1.0 - abar(t2) / abar(t1)).min(max_beta)
        })
        .collect()
}

/// Training betas for `schedule`.
///
/// # Errors
/// [`SamplerError::InvalidBetas`] if `num_train_timesteps` is 0 or the endpoints are not in
/// `(0, 1)` with `beta_start ≤ beta_end`.
pub fn betas(
    schedule: BetaSchedule,
    num_train_timesteps: usize,
    beta_start: f64,
    beta_end: f64,
) -> SamplerResult<Vec<f64>> {
    if num_train_timesteps == 0 {
        return Err(SamplerError::InvalidBetas(
            "num_train_timesteps must be positive".into(),
        ));
    }
    let ok = |b: f64| b.is_finite() && b > 0.0 && b < 1.0;
    if schedule != BetaSchedule::SquaredCosCapV2 && (!ok(beta_start) || !ok(beta_end)) {
        return Err(SamplerError::InvalidBetas(format!(
            "beta_start = {beta_start} and beta_end = {beta_end} must lie in (0, 1)"
        )));
    }
    Ok(match schedule {
        BetaSchedule::Linear => linspace(beta_start, beta_end, num_train_timesteps),
        BetaSchedule::ScaledLinear => {
            linspace(beta_start.sqrt(), beta_end.sqrt(), num_train_timesteps)
                .into_iter()
                .map(|b| b * b)
                .collect()
        }
        BetaSchedule::SquaredCosCapV2 => cosine_betas(num_train_timesteps, 0.999),
    })
}

/// `ᾱ_i = Π_{j≤i} (1 − β_j)`.
///
/// # Errors
/// [`SamplerError::InvalidBetas`] if the list is empty or a β is outside `[0, 1]`.
pub fn alphas_cumprod(betas: &[f64]) -> SamplerResult<Vec<f64>> {
    if betas.is_empty() {
        return Err(SamplerError::InvalidBetas("empty beta list".into()));
    }
    if let Some(b) = betas
        .iter()
        .find(|b| !(b.is_finite() && (0.0..=1.0).contains(*b)))
    {
        return Err(SamplerError::InvalidBetas(format!(
            "beta {b} is outside [0, 1]"
        )));
    }
    let mut acc = 1.0;
    Ok(betas
        .iter()
        .map(|b| {
            acc *= 1.0 - b;
            acc
        })
        .collect())
}

/// Rescales betas so that the terminal SNR is exactly zero (ᾱ_{N−1} = 0) while ᾱ_0 is kept.
///
/// ```text
/// s_i = √ᾱ_i;  s_i ← (s_i − s_{N−1}) · s_0/(s_0 − s_{N−1});  ᾱ_i = s_i²
/// α_0 = ᾱ_0,  α_i = ᾱ_i/ᾱ_{i−1};  β_i = 1 − α_i
/// ```
///
/// # References
/// Lin et al., "Common Diffusion Noise Schedules and Sample Steps are Flawed" (arXiv:2305.08891),
/// Algorithm 1; diffusers `rescale_zero_terminal_snr`.
///
/// # Errors
/// [`SamplerError::InvalidBetas`] for an invalid or too short beta list.
pub fn rescale_zero_terminal_snr(betas: &[f64]) -> SamplerResult<Vec<f64>> {
    let ac = alphas_cumprod(betas)?;
    let s: Vec<f64> = ac.iter().map(|a| a.sqrt()).collect();
    let (s0, st) = (s[0], s[s.len() - 1]);
    if s0 - st <= 0.0 {
        return Err(SamplerError::InvalidBetas(
            "zero-SNR rescale needs ᾱ_0 > ᾱ_last".into(),
        ));
    }
    let ac: Vec<f64> = s
        .iter()
        .map(|v| {
            let r = (v - st) * s0 / (s0 - st);
            r * r
        })
        .collect();
    let mut out = Vec::with_capacity(ac.len());
    out.push(1.0 - ac[0]);
    for i in 1..ac.len() {
        out.push(1.0 - ac[i] / ac[i - 1]);
    }
    Ok(out)
}
