//! diffusers' timestep spacings (`timestep_spacing`, `steps_offset`).

use super::betas::linspace_pub as linspace;
use crate::error::{SamplerError, SamplerResult};
use burn::config::Config;

/// How inference timesteps are chosen among the training timesteps.
///
/// # References
/// "Common Diffusion Noise Schedules and Sample Steps are Flawed" (arXiv:2305.08891) Table 2;
/// diffusers `set_timesteps`.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum TimestepSpacing {
    /// `round(linspace(0, last−1, …))`, reversed.
    Linspace,
    /// Multiples of `last // n` (plus `steps_offset`), reversed.
    Leading,
    /// `round(arange(last, 0, −N/n)) − 1`.
    Trailing,
}

fn check_steps(n: usize, num_train: usize) -> SamplerResult<()> {
    if n == 0 || n > num_train {
        return Err(SamplerError::InvalidStepCount {
            steps: n,
            max: num_train,
        });
    }
    Ok(())
}

fn arange_desc(start: f64, step: f64) -> Vec<f64> {
    // numpy arange(start, 0, -step): ceil(start/step) values start, start-step, ...
    let len = (start / step).ceil() as usize;
    (0..len).map(|i| start - i as f64 * step).collect()
}

/// Timesteps of the DPM-Solver schedulers (multistep, singlestep), `n` values, decreasing.
///
/// ```text
/// Linspace  round(linspace(0, last−1, n+1))[::-1][:-1]
/// Leading   r = last // (n+1);  (arange(n+1)·r)[::-1][:-1] + steps_offset
/// Trailing  round(arange(last, 0, −N/n)) − 1
/// ```
/// `last = N − #{λ_t < lambda_min_clipped}`; rounding is numpy's half-to-even. Like numpy's
/// float `arange`, trailing spacing yields `n + 1` values for some `n` (e.g. 61 → 62), and
/// diffusers then runs that many steps.
///
/// # Errors
/// [`SamplerError::InvalidStepCount`] unless `1 ≤ n ≤ N`.
///
/// # References
/// diffusers `DPMSolverMultistepScheduler.set_timesteps`.
pub fn dpm_timesteps(
    spacing: TimestepSpacing,
    num_train: usize,
    last: usize,
    n: usize,
    steps_offset: usize,
) -> SamplerResult<Vec<i64>> {
    check_steps(n, num_train)?;
    Ok(match spacing {
        TimestepSpacing::Linspace => {
            let mut v: Vec<i64> = linspace(0.0, last as f64 - 1.0, n + 1)
                .into_iter()
                .map(|x| x.round_ties_even() as i64)
                .collect();
            v.reverse();
            v.pop();
            v
        }
        TimestepSpacing::Leading => {
            let r = last / (n + 1);
            (1..=n)
                .rev()
                .map(|i| (i * r + steps_offset) as i64)
                .collect()
        }
        TimestepSpacing::Trailing => arange_desc(last as f64, num_train as f64 / n as f64)
            .into_iter()
            .map(|x| x.round_ties_even() as i64 - 1)
            .collect(),
    })
}

/// Timesteps of the DDIM (and DDPM) scheduler, `n` values, decreasing.
///
/// ```text
/// Linspace  round(linspace(0, N−1, n))[::-1]
/// Leading   (arange(n)·(N // n))[::-1] + steps_offset
/// Trailing  round(arange(N, 0, −N/n)) − 1
/// ```
///
/// # Errors
/// [`SamplerError::InvalidStepCount`] unless `1 ≤ n ≤ N`.
///
/// # References
/// diffusers `DDIMScheduler.set_timesteps` (default spacing `"leading"`).
pub fn ddim_timesteps(
    spacing: TimestepSpacing,
    num_train: usize,
    n: usize,
    steps_offset: usize,
) -> SamplerResult<Vec<i64>> {
    check_steps(n, num_train)?;
    Ok(match spacing {
        TimestepSpacing::Linspace => linspace(0.0, num_train as f64 - 1.0, n)
            .into_iter()
            .rev()
            .map(|x| x.round_ties_even() as i64)
            .collect(),
        TimestepSpacing::Leading => {
            let r = num_train / n;
            (0..n)
                .rev()
                .map(|i| (i * r + steps_offset) as i64)
                .collect()
        }
        TimestepSpacing::Trailing => arange_desc(num_train as f64, num_train as f64 / n as f64)
            .into_iter()
            .map(|x| x.round_ties_even() as i64 - 1)
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // numpy:
    //   np.linspace(0, 999, 11).round()[::-1][:-1]
    //     -> [999, 899, 799, 699, 599, 500, 400, 300, 200, 100]
    //   (np.arange(0, 11) * (1000 // 11)).round()[::-1][:-1] + 1
    //     -> [901, 811, 721, 631, 541, 451, 361, 271, 181, 91]
    //   np.arange(1000, 0, -1000 / 10).round() - 1 -> [999, 899, ..., 99]
    //   DDIM leading, steps_offset=1, n=5 -> [801, 601, 401, 201, 1] (diffusers test_steps_offset)
    #[test]
    fn spacings_match_numpy() {
        assert_eq!(
            dpm_timesteps(TimestepSpacing::Linspace, 1000, 1000, 10, 0).unwrap(),
            vec![999, 899, 799, 699, 599, 500, 400, 300, 200, 100]
        );
        assert_eq!(
            dpm_timesteps(TimestepSpacing::Leading, 1000, 1000, 10, 1).unwrap(),
            vec![901, 811, 721, 631, 541, 451, 361, 271, 181, 91]
        );
        assert_eq!(
            dpm_timesteps(TimestepSpacing::Trailing, 1000, 1000, 10, 0).unwrap(),
            vec![999, 899, 799, 699, 599, 499, 399, 299, 199, 99]
        );
        assert_eq!(
            ddim_timesteps(TimestepSpacing::Leading, 1000, 5, 1).unwrap(),
            vec![801, 601, 401, 201, 1]
        );
    }

    #[test]
    fn zero_or_too_many_steps_is_an_error() {
        for n in [0, 1001] {
            assert!(matches!(
                ddim_timesteps(TimestepSpacing::Leading, 1000, n, 0),
                Err(SamplerError::InvalidStepCount { .. })
            ));
        }
    }
}
