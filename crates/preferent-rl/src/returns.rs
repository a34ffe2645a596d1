//! Returns and advantages, written once for every algorithm: discounted reward-to-go,
//! generalised advantage estimation (GAE) and masked whitening.
//!
//! ```text
//! reward-to-go   R_t = Σ_{k ≥ t} γ^{k−t} m_k r_k                         (stops at the first pad)
//! GAE            δ_t = r_t + γ m_{t+1} V_{t+1} − V_t,   A_t = m_t (δ_t + γ λ m_{t+1} A_{t+1})
//!                returns_t = A_t + V_t                                      (the value target)
//! whiten         (x − μ) / sqrt(σ² + 1e-8) (+ μ when shift_mean = false), μ, σ² over m = 1
//! ```
//!
//! Rows are trajectories; `mask` is 1 on valid steps and 0 on padding, valid steps a prefix of
//! each row (right padding, as TRL pads responses). `V_{T}` beyond the window is 0 unless a
//! bootstrap value is given (a truncated, not terminated, trajectory). These are exactly TRL's
//! `PPOTrainer` recursions (`trl/trainer/ppo_trainer.py`: the reversed GAE loop, values and
//! rewards masked to 0 on padding; `trl/trainer/utils.py`: `masked_whiten` with the unbiased
//! variance), pinned to a numpy re-derivation (`tests/reference/returns_ppo.py`).
//!
//! # Shapes
//! `rewards`, `values`, `mask`: `[B, T]`; `bootstrap`: `[B]`; outputs `[B, T]`.
//!
//! # References
//! J. Schulman, P. Moritz, S. Levine, M. Jordan, P. Abbeel, "High-Dimensional Continuous Control
//! Using Generalized Advantage Estimation", ICLR 2016 (GAE, defaults γ = 1, λ = 0.95 in TRL's PPO).

use burn::tensor::{backend::Backend, Tensor};
use preferent_losses::LossError;

/// Advantages and value targets from [`gae`].
#[derive(Debug, Clone)]
pub struct Advantages<B: Backend> {
    /// `A_t`, 0 on padding. Detached.
    pub advantages: Tensor<B, 2>,
    /// `A_t + V_t` (the value-function target), 0 on padding. Detached.
    pub returns: Tensor<B, 2>,
}

/// `Ok` when `t` has shape `dims`, else [`LossError::ShapeMismatch`] naming `name`.
pub(crate) fn check_same(
    name: &'static str,
    t: &Tensor<impl Backend, 2>,
    dims: [usize; 2],
) -> Result<(), LossError> {
    if t.dims() != dims {
        return Err(LossError::ShapeMismatch {
            name,
            actual: t.dims().to_vec(),
            expected: dims.to_vec(),
        });
    }
    Ok(())
}

fn check_discount(name: &'static str, v: f64) -> Result<(), LossError> {
    if !(0.0..=1.0).contains(&v) {
        return Err(LossError::InvalidParameter {
            name,
            value: v,
            requirement: "in [0, 1]",
        });
    }
    Ok(())
}

fn check_rewards<B: Backend>(rewards: &Tensor<B, 2>) -> Result<[usize; 2], LossError> {
    let dims = rewards.dims();
    if dims[0] * dims[1] == 0 {
        return Err(LossError::EmptyBatch { name: "rewards" });
    }
    Ok(dims)
}

/// Splits `[B, T]` into its `T` columns `[B, 1]`.
fn columns<B: Backend>(x: Tensor<B, 2>) -> Vec<Tensor<B, 2>> {
    let t = x.dims()[1];
    x.chunk(t, 1)
}

/// Discounted reward-to-go `R_t = Σ_{k ≥ t} γ^{k−t} m_k r_k` (0 on padding). Detached.
///
/// # Errors
/// [`LossError::ShapeMismatch`] when `mask` differs from `rewards`; [`LossError::EmptyBatch`];
/// [`LossError::InvalidParameter`] for `γ ∉ [0, 1]`.
pub fn reward_to_go<B: Backend>(
    rewards: Tensor<B, 2>,
    mask: Tensor<B, 2>,
    gamma: f64,
) -> Result<Tensor<B, 2>, LossError> {
    let dims = check_rewards(&rewards)?;
    check_same("mask", &mask, dims)?;
    check_discount("gamma", gamma)?;
    let r = columns((rewards * mask.clone()).detach());
    let m = columns(mask);
    let mut out = Vec::with_capacity(r.len());
    let mut acc: Option<Tensor<B, 2>> = None;
    for (rt, mt) in r.into_iter().zip(m).rev() {
        let cur = match acc {
            None => rt,
            Some(a) => rt + a.mul_scalar(gamma) * mt.clone(),
        };
        let cur = cur * mt;
        out.push(cur.clone());
        acc = Some(cur);
    }
    out.reverse();
    Ok(Tensor::cat(out, 1))
}

/// Generalised advantage estimation over right-padded trajectories (see the module docs).
///
/// # Errors
/// [`LossError::ShapeMismatch`] when `values`/`mask` differ from `rewards` or `bootstrap` is
/// not `[B]`; [`LossError::EmptyBatch`]; [`LossError::InvalidParameter`] for `γ` or `λ` outside
/// `[0, 1]`.
pub fn gae<B: Backend>(
    rewards: Tensor<B, 2>,
    values: Tensor<B, 2>,
    mask: Tensor<B, 2>,
    gamma: f64,
    lambda: f64,
    bootstrap: Option<Tensor<B, 1>>,
) -> Result<Advantages<B>, LossError> {
    let dims = check_rewards(&rewards)?;
    check_same("values", &values, dims)?;
    check_same("mask", &mask, dims)?;
    check_discount("gamma", gamma)?;
    check_discount("lambda", lambda)?;
    if let Some(b) = &bootstrap {
        if b.dims() != [dims[0]] {
            return Err(LossError::ShapeMismatch {
                name: "bootstrap",
                actual: b.dims().to_vec(),
                expected: vec![dims[0]],
            });
        }
    }
    let values = (values * mask.clone()).detach();
    let r = columns((rewards * mask.clone()).detach());
    let v = columns(values.clone());
    let m = columns(mask.clone());
    let t_len = dims[1];
    let mut adv = Vec::with_capacity(t_len);
    // V_{t+1}·m_{t+1} and A_{t+1}; at t = T − 1: the bootstrap (masked by m_{T−1}) and 0.
    let mut next_value = bootstrap
        .map(|b| b.detach().unsqueeze_dim::<2>(1) * m[t_len - 1].clone())
        .unwrap_or_else(|| m[t_len - 1].zeros_like());
    let mut next_adv = m[t_len - 1].zeros_like();
    for t in (0..t_len).rev() {
        let delta = r[t].clone() + next_value.mul_scalar(gamma) - v[t].clone();
        let a = (delta + next_adv.mul_scalar(gamma * lambda)) * m[t].clone();
        next_value = v[t].clone();
        next_adv = a.clone();
        adv.push(a);
    }
    adv.reverse();
    let advantages = Tensor::cat(adv, 1);
    let returns = (advantages.clone() + values) * mask;
    Ok(Advantages {
        advantages,
        returns,
    })
}

/// TRL's `masked_whiten`: `(x − μ)·rsqrt(σ² + 1e-8)`, plus `μ` back when `shift_mean` is false;
/// `μ` and the unbiased `σ²` over the entries where `mask = 1`; 0 on padding. Detached.
///
/// # Errors
/// [`LossError::ShapeMismatch`]; [`LossError::EmptyBatch`] when fewer than two entries are
/// valid (the unbiased variance needs two — TRL raises there too). The count is read to the host
/// once.
pub fn whiten<B: Backend>(
    x: Tensor<B, 2>,
    mask: Tensor<B, 2>,
    shift_mean: bool,
) -> Result<Tensor<B, 2>, LossError> {
    let dims = x.dims();
    check_same("mask", &mask, dims)?;
    let n = mask.clone().sum().into_scalar();
    let n: f64 = burn::tensor::ElementConversion::elem(n);
    if n < 2.0 {
        return Err(LossError::EmptyBatch {
            name: "mask (whiten needs ≥ 2 valid entries)",
        });
    }
    let x = x.detach();
    let mean = (x.clone() * mask.clone()).sum().div_scalar(n);
    let centred = x - mean.clone().unsqueeze::<2>();
    let var = (centred.clone().powi_scalar(2) * mask.clone())
        .sum()
        .div_scalar(n - 1.0);
    let mut out = centred / var.add_scalar(1e-8).sqrt().unsqueeze::<2>();
    if !shift_mean {
        out = out + mean.unsqueeze::<2>();
    }
    Ok(out * mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    // Inputs and goldens: `tests/reference/returns_ppo.py` (numpy, float64).
    const R: [f64; 8] = [0.5, -1.0, 2.0, 0.25, 1.5, 0.0, -0.5, 9.0];
    const V: [f64; 8] = [0.2, 0.4, -0.3, 0.1, -0.6, 0.9, 0.3, 7.0];
    const M: [f64; 8] = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0];

    fn t(v: &[f64]) -> Tensor<TestBackend, 2> {
        tensor::<TestBackend, 2>(v, [2, 4], &device())
    }

    #[test]
    fn reward_to_go_matches_numpy() {
        let out = reward_to_go(t(&R), t(&M), 0.9).unwrap();
        assert_close(&to_vec(out), &GOLDEN_RTG, 1e-5, 1e-6);
    }

    #[test]
    fn gae_matches_numpy() {
        let out = gae(t(&R), t(&V), t(&M), 0.9, 0.95, None).unwrap();
        assert_close(&to_vec(out.advantages), &GOLDEN_ADV, 1e-5, 1e-6);
        assert_close(&to_vec(out.returns), &GOLDEN_RET, 1e-5, 1e-6);
        let b = tensor::<TestBackend, 1>(&[1.5, -2.0], [2], &device());
        let out = gae(t(&R), t(&V), t(&M), 0.9, 0.95, Some(b)).unwrap();
        assert_close(&to_vec(out.advantages), &GOLDEN_ADV_BOOT, 1e-5, 1e-6);
    }

    #[test]
    fn gae_limits_are_td_and_monte_carlo() {
        // λ = 0: A_t = δ_t. λ = 1: A_t = R_t − V_t (reward-to-go minus the value).
        let a0 = gae(t(&R), t(&V), t(&M), 0.9, 0.0, None).unwrap();
        let mut td = [0.0; 8];
        for row in 0..2 {
            for i in 0..4 {
                let k = row * 4 + i;
                let next = if i + 1 < 4 { V[k + 1] * M[k + 1] } else { 0.0 };
                td[k] = M[k] * (R[k] + 0.9 * next - V[k]);
            }
        }
        assert_close(&to_vec(a0.advantages), &td, 1e-5, 1e-6);
        let a1 = gae(t(&R), t(&V), t(&M), 0.9, 1.0, None).unwrap();
        let rtg = to_vec(reward_to_go(t(&R), t(&M), 0.9).unwrap());
        let mc: Vec<f64> = (0..8).map(|k| rtg[k] - V[k] * M[k]).collect();
        assert_close(&to_vec(a1.advantages), &mc, 1e-5, 1e-6);
    }

    #[test]
    fn whiten_matches_numpy() {
        let w = whiten(t(&R), t(&M), true).unwrap();
        assert_close(&to_vec(w), &GOLDEN_WHITE, 1e-5, 1e-6);
        let w = whiten(t(&R), t(&M), false).unwrap();
        assert_close(&to_vec(w), &GOLDEN_WHITE_NOSHIFT, 1e-5, 1e-6);
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let wrong = tensor::<TestBackend, 2>(&R, [4, 2], &device());
        assert!(matches!(
            gae(t(&R), wrong.clone(), t(&M), 1.0, 0.95, None),
            Err(LossError::ShapeMismatch { name: "values", .. })
        ));
        assert!(matches!(
            gae(t(&R), t(&V), t(&M), 1.0, 1.5, None),
            Err(LossError::InvalidParameter { name: "lambda", .. })
        ));
        let b = tensor::<TestBackend, 1>(&[1.0], [1], &device());
        assert!(matches!(
            gae(t(&R), t(&V), t(&M), 1.0, 0.95, Some(b)),
            Err(LossError::ShapeMismatch {
                name: "bootstrap",
                ..
            })
        ));
        assert!(matches!(
            reward_to_go(t(&R), t(&M), -0.1),
            Err(LossError::InvalidParameter { name: "gamma", .. })
        ));
        let empty = tensor::<TestBackend, 2>(&[], [0, 4], &device());
        assert!(matches!(
            reward_to_go(empty.clone(), empty, 1.0),
            Err(LossError::EmptyBatch { .. })
        ));
        let one = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert!(matches!(
            whiten(t(&R), t(&one), true),
            Err(LossError::EmptyBatch { .. })
        ));
        assert!(matches!(
            whiten(t(&R), wrong, true),
            Err(LossError::ShapeMismatch { name: "mask", .. })
        ));
    }

    include!("../tests/reference/returns_goldens.rs");
}
