//! Discrete variance-preserving schedule `x_t = √ᾱ_t x₀ + √(1−ᾱ_t) ε` on training timesteps.

use super::betas::{alphas_cumprod, betas, rescale_zero_terminal_snr, BetaSchedule};
use crate::error::{SamplerError, SamplerResult};
use burn::config::Config;

/// The training noise schedule shared by the discrete solvers (DDIM, DDPM, DPM-Solver family).
///
/// Defaults are diffusers' (`num_train_timesteps=1000`, `beta_start=1e-4`, `beta_end=0.02`,
/// `beta_schedule="linear"`, no trained betas, no zero-SNR rescale).
///
/// # References
/// diffusers `scheduling_dpmsolver_multistep.py` / `scheduling_ddim.py` `__init__`.
#[derive(Config, Debug)]
pub struct DiscreteScheduleConfig {
    /// Number of training timesteps `N`.
    #[config(default = 1000)]
    pub num_train_timesteps: usize,
    /// First β of the linear/scaled-linear schedule.
    #[config(default = 1e-4)]
    pub beta_start: f64,
    /// Last β of the linear/scaled-linear schedule.
    #[config(default = 0.02)]
    pub beta_end: f64,
    /// Layout of the betas.
    #[config(default = "BetaSchedule::Linear")]
    pub beta_schedule: BetaSchedule,
    /// User-supplied betas (length `N`); when set, overrides `beta_schedule`.
    #[config(default = "None")]
    pub trained_betas: Option<Vec<f64>>,
    /// Rescale to zero terminal SNR (arXiv:2305.08891).
    #[config(default = false)]
    pub rescale_betas_zero_snr: bool,
}

impl DiscreteScheduleConfig {
    /// Builds the schedule.
    ///
    /// # Errors
    /// [`SamplerError::InvalidBetas`] for invalid betas (a trained β outside `[0, 1)`) or a
    /// trained-beta list whose length is not `num_train_timesteps`.
    pub fn init(&self) -> SamplerResult<DiscreteSchedule> {
        let b = match &self.trained_betas {
            Some(tb) => {
                if tb.len() != self.num_train_timesteps {
                    return Err(SamplerError::InvalidBetas(format!(
                        "trained_betas has {} entries, num_train_timesteps is {}",
                        tb.len(),
                        self.num_train_timesteps
                    )));
                }
                // β = 1 makes ᾱ = 0 from there on (α = 0: every ε/v → x₀ conversion divides by
                // it, an all-NaN sample). Only the zero-terminal-SNR rescale may produce it, and
                // the DPM port then keeps λ finite (diffusers does the same).
                if let Some((i, &beta)) = tb
                    .iter()
                    .enumerate()
                    .find(|(_, b)| !(b.is_finite() && **b >= 0.0 && **b < 1.0))
                {
                    return Err(SamplerError::InvalidBetas(format!(
                        "trained_betas[{i}] = {beta} must be in [0, 1) (β = 1 zeroes ᾱ; use \
                         rescale_betas_zero_snr for a zero terminal SNR)"
                    )));
                }
                tb.clone()
            }
            None => betas(
                self.beta_schedule,
                self.num_train_timesteps,
                self.beta_start,
                self.beta_end,
            )?,
        };
        let b = if self.rescale_betas_zero_snr {
            rescale_zero_terminal_snr(&b)?
        } else {
            b
        };
        DiscreteSchedule::from_betas(&b)
    }
}

/// `ᾱ_t` on the training timesteps `t = 0 … N−1`, and the quantities derived from it.
///
/// ```text
/// α_t = √ᾱ_t,  σ_t = √(1 − ᾱ_t),  λ_t = log α_t − log σ_t,  σ^VE_t = σ_t/α_t = √((1−ᾱ_t)/ᾱ_t)
/// ```
///
/// All values are host `f64` (diffusers keeps them in f32; the difference is far below the
/// tolerance of its tests).
#[derive(Debug, Clone, PartialEq)]
pub struct DiscreteSchedule {
    alphas_cumprod: Vec<f64>,
}

impl DiscreteSchedule {
    /// Schedule from training betas.
    ///
    /// # Errors
    /// [`SamplerError::InvalidBetas`] if the list is empty or a β is outside `[0, 1]`.
    pub fn from_betas(betas: &[f64]) -> SamplerResult<Self> {
        Ok(Self {
            alphas_cumprod: alphas_cumprod(betas)?,
        })
    }

    /// Schedule directly from `ᾱ` values (length `N`, each in `[0, 1]`).
    ///
    /// # Errors
    /// [`SamplerError::InvalidBetas`] if empty or out of range.
    pub fn from_alphas_cumprod(alphas_cumprod: Vec<f64>) -> SamplerResult<Self> {
        if alphas_cumprod.is_empty()
            || alphas_cumprod
                .iter()
                .any(|a| !(a.is_finite() && (0.0..=1.0).contains(a)))
        {
            return Err(SamplerError::InvalidBetas(
                "alphas_cumprod must be non-empty and in [0, 1]".into(),
            ));
        }
        Ok(Self { alphas_cumprod })
    }

    /// Number of training timesteps `N`.
    pub fn len(&self) -> usize {
        self.alphas_cumprod.len()
    }

    /// Always false (a schedule has at least one timestep); present for clippy's `len` rule.
    pub fn is_empty(&self) -> bool {
        self.alphas_cumprod.is_empty()
    }

    /// `ᾱ_t` for every training timestep.
    pub fn alphas_cumprod(&self) -> &[f64] {
        &self.alphas_cumprod
    }

    /// Replaces `ᾱ_{N−1}` by `value` (diffusers sets `2⁻²⁴` after a zero-SNR rescale so that
    /// `λ` stays finite).
    pub fn set_last_alpha_cumprod(&mut self, value: f64) {
        if let Some(last) = self.alphas_cumprod.last_mut() {
            *last = value;
        }
    }

    fn alpha_cumprod_at(&self, t: usize) -> SamplerResult<f64> {
        self.alphas_cumprod
            .get(t)
            .copied()
            .ok_or(SamplerError::PastEnd {
                index: t,
                len: self.alphas_cumprod.len(),
            })
    }

    /// `α_t = √ᾱ_t`.
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] for `t ≥ N` (training timesteps are `0 … N−1`).
    pub fn alpha(&self, t: usize) -> SamplerResult<f64> {
        Ok(self.alpha_cumprod_at(t)?.sqrt())
    }

    /// `σ_t = √(1 − ᾱ_t)` (VP convention).
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] for `t ≥ N`.
    pub fn sigma(&self, t: usize) -> SamplerResult<f64> {
        Ok((1.0 - self.alpha_cumprod_at(t)?).sqrt())
    }

    /// `λ_t = log α_t − log σ_t` (half log-SNR).
    ///
    /// # Errors
    /// [`SamplerError::PastEnd`] for `t ≥ N`.
    pub fn lambda(&self, t: usize) -> SamplerResult<f64> {
        Ok(self.alpha(t)?.ln() - self.sigma(t)?.ln())
    }

    /// VE sigmas `√((1 − ᾱ_t)/ᾱ_t)` for every training timestep (increasing in `t`).
    pub fn ve_sigmas(&self) -> Vec<f64> {
        self.alphas_cumprod
            .iter()
            .map(|a| ((1.0 - a) / a).sqrt())
            .collect()
    }

    /// `np.interp(t, arange(N), ve_sigmas)`: linear interpolation, clamped at both ends.
    pub fn interp_ve_sigma(&self, t: f64) -> f64 {
        interp_sigmas(&self.ve_sigmas(), t)
    }

    /// [`Self::sigma_to_t`] against precomputed `log σ` values (avoids recomputing them).
    pub fn sigma_to_t_with(log_sigmas: &[f64], sigma: f64) -> f64 {
        sigma_to_t_impl(log_sigmas, sigma)
    }

    /// `log σ^VE_t` for every training timestep.
    pub fn log_ve_sigmas(&self) -> Vec<f64> {
        self.ve_sigmas().iter().map(|s| s.ln()).collect()
    }

    /// Fractional training timestep whose VE sigma is `sigma` (diffusers `_sigma_to_t`).
    ///
    /// ```text
    /// i = last index with log σ ≥ log σ_i (clipped to N−2);  w = clip((l_i − log σ)/(l_i − l_{i+1}), 0, 1)
    /// t = (1 − w)·i + w·(i + 1)
    /// ```
    pub fn sigma_to_t(&self, sigma: f64) -> f64 {
        sigma_to_t_impl(&self.log_ve_sigmas(), sigma)
    }
}

/// `np.interp(t, arange(N), s)` for increasing `s`, clamped at both ends.
pub(crate) fn interp_sigmas(s: &[f64], t: f64) -> f64 {
    let n = s.len();
    if t <= 0.0 {
        return s[0];
    }
    if t >= (n - 1) as f64 {
        return s[n - 1];
    }
    let lo = t.floor() as usize;
    let w = t - lo as f64;
    s[lo] + w * (s[lo + 1] - s[lo])
}

fn sigma_to_t_impl(log_sigmas: &[f64], sigma: f64) -> f64 {
    let n = log_sigmas.len();
    if n < 2 {
        return 0.0;
    }
    let ls = sigma.max(1e-10).ln();
    // cumsum(dists >= 0).argmax(): the index of the last log_sigma ≤ ls (log sigmas increase).
    let count = log_sigmas.iter().filter(|&&l| ls - l >= 0.0).count();
    let low = if count == 0 {
        0
    } else {
        // argmax of the cumulative sum returns the first index at which it reaches its max.
        let mut c = 0;
        let mut first_max = 0;
        for (i, &l) in log_sigmas.iter().enumerate() {
            if ls - l >= 0.0 {
                c += 1;
                if c == count {
                    first_max = i;
                    break;
                }
            }
        }
        first_max
    }
    .min(n - 2);
    let (lo, hi) = (log_sigmas[low], log_sigmas[low + 1]);
    let w = ((lo - ls) / (lo - hi)).clamp(0.0, 1.0);
    (1.0 - w) * low as f64 + w * (low + 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    // numpy (float64):
    //   b = np.linspace(1e-4, 0.02, 1000); ac = np.cumprod(1 - b)
    //   [float(x) for x in ac[[0, 1, 499, 999]]]
    #[test]
    fn linear_schedule_alphas_cumprod_golden() {
        let s = DiscreteScheduleConfig::new().init().unwrap();
        let ac = s.alphas_cumprod();
        let got = [ac[0], ac[1], ac[499], ac[999]];
        let want = [
            0.9999,
            0.9997800920720721,
            0.07858724288177824,
            4.035829765375676e-05,
        ];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-12 * w.abs(), "{g} vs {w}");
        }
    }

    #[test]
    fn zero_snr_rescale_gives_zero_terminal_alpha() {
        let s = DiscreteScheduleConfig::new()
            .with_rescale_betas_zero_snr(true)
            .init()
            .unwrap();
        assert_eq!(*s.alphas_cumprod().last().unwrap(), 0.0);
        assert!((s.alphas_cumprod()[0] - 0.9999).abs() < 1e-12);
    }

    #[test]
    fn sigma_to_t_inverts_the_training_sigmas() {
        let s = DiscreteScheduleConfig::new().init().unwrap();
        let sig = s.ve_sigmas();
        for t in [0usize, 1, 17, 500, 998, 999] {
            assert!((s.sigma_to_t(sig[t]) - t as f64).abs() < 1e-9, "t = {t}");
        }
    }

    #[test]
    fn wrong_trained_beta_length_is_an_error() {
        let r = DiscreteScheduleConfig::new()
            .with_trained_betas(Some(vec![0.1; 3]))
            .init();
        assert!(matches!(r, Err(SamplerError::InvalidBetas(_))));
    }
}
