//! Token-level implicit rewards of a DPO policy ("From r to Q*") and an implicit-reward beam
//! scorer.
//!
//! In the token MDP, DPO is inverse soft-Q-learning: `β·log π*(a_t|s_t)/π_ref(a_t|s_t) =
//! Q*(s_t,a_t) − V*(s_t)`. So each token's log-ratio is a per-step reward (credit assignment) and
//! its running sum is the return accumulated so far, which a search can rank partial
//! continuations by.

use burn::config::Config;
use burn::tensor::{backend::Backend, Bool, Tensor};

use crate::beyond_checks::{finite_tensor, host, positive, same_shape};
use crate::error::LossError;

/// Hyperparameters of [`token_rewards`].
#[derive(Config, Debug)]
pub struct TokenRewardConfig {
    /// β (> 0), the DPO β the policy was trained with. Source: TRL `DPOConfig.beta = 0.1`.
    #[config(default = 0.1)]
    pub beta: f64,
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞ anywhere
    /// in the log-prob tensors (padding included).
    #[config(default = false)]
    pub check_finite: bool,
}

/// Per-token implicit rewards and their sums (all differentiable; detach them for logging).
#[derive(Debug, Clone)]
pub struct TokenRewards<B: Backend> {
    /// `r̂_t = β·(log π_θ − log π_ref)(y_t)`, zero where the mask is false, `[B, T]`.
    pub rewards: Tensor<B, 2>,
    /// Running sums `Σ_{s≤t} r̂_s` (the Q-like return so far; constant after the last valid
    /// token), `[B, T]`.
    pub cumulative: Tensor<B, 2>,
    /// Sequence implicit reward `Σ_t r̂_t = β·(lp_θ − lp_ref)`, the DPO reward, `[B]`.
    pub sequence: Tensor<B, 1>,
}

fn check_triplet<B: Backend, const D: usize>(
    policy: &Tensor<B, D>,
    reference: &Tensor<B, D>,
    mask: &Tensor<B, D, Bool>,
    check_finite: bool,
) -> Result<(), LossError> {
    let dims = policy.dims();
    if dims.contains(&0) {
        return Err(LossError::EmptyBatch {
            name: "policy_token_logps",
        });
    }
    same_shape("reference_token_logps", &reference.dims(), &dims)?;
    same_shape("mask", &mask.dims(), &dims)?;
    if check_finite {
        finite_tensor("policy_token_logps", policy)?;
        finite_tensor("reference_token_logps", reference)?;
    }
    Ok(())
}

/// Per-token implicit rewards of a DPO-trained policy.
///
/// ```text
/// r̂_t       = β·(log π_θ(y_t | x, y_<t) − log π_ref(y_t | x, y_<t))·m_t
/// Q̂_t       = Σ_{s≤t} r̂_s
/// R̂(x, y)   = Σ_t r̂_t
/// ```
/// `−log σ(R̂(y_w) − R̂(y_l))` is exactly the sequence-level DPO loss.
///
/// # Shapes
/// `policy_token_logps`, `reference_token_logps`, `mask`: `[B, T]` (`mask` true on completion
/// tokens) → `rewards`, `cumulative`: `[B, T]`; `sequence`: `[B]`.
///
/// # Errors
/// [`LossError::InvalidParameter`], [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], and
/// [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Rafailov, Hejna, Park, Finn, "From r to Q*: Your Language Model is Secretly a Q-Function",
/// arXiv 2404.12358 (token-level credit assignment).
pub fn token_rewards<B: Backend>(
    policy_token_logps: Tensor<B, 2>,
    reference_token_logps: Tensor<B, 2>,
    mask: Tensor<B, 2, Bool>,
    config: &TokenRewardConfig,
) -> Result<TokenRewards<B>, LossError> {
    positive("beta", config.beta)?;
    check_triplet(
        &policy_token_logps,
        &reference_token_logps,
        &mask,
        config.check_finite,
    )?;
    let [b, _] = policy_token_logps.dims();
    let invalid = mask.bool_not();
    let rewards = (policy_token_logps - reference_token_logps)
        .mul_scalar(config.beta)
        .mask_fill(invalid, 0.0);
    let cumulative = rewards.clone().cumsum(1);
    let sequence = rewards.clone().sum_dim(1).reshape([b]);
    Ok(TokenRewards {
        rewards,
        cumulative,
        sequence,
    })
}

/// Hyperparameters of [`select_beams`].
#[derive(Config, Debug)]
pub struct ImplicitRewardBeamConfig {
    /// Beams to keep per group (1 ≤ k ≤ candidates). No default: the paper reports that a few
    /// beams beat greedy decoding and that many beams over-optimise the implicit reward.
    pub num_beams: usize,
    /// β (> 0), the DPO β the policy was trained with. Source: TRL `DPOConfig.beta = 0.1`.
    #[config(default = 0.1)]
    pub beta: f64,
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞.
    #[config(default = false)]
    pub check_finite: bool,
}

/// The beams kept in each group, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct BeamSelection {
    /// Per group, the indices of the kept candidates (best first; ties keep the lower index).
    pub indices: Vec<Vec<usize>>,
    /// Per group, the kept candidates' scores, aligned with `indices`.
    pub scores: Vec<Vec<f64>>,
    /// Per group, every candidate's score (in candidate order).
    pub candidate_scores: Vec<Vec<f64>>,
}

/// Scores candidate continuations by accumulated implicit reward and keeps the top-k per group.
///
/// ```text
/// score_{g,c} = prefix_{g,c} + β·Σ_t m_{g,c,t}·(log π_θ − log π_ref)(y_{g,c,t})
/// keep        = top-k_c score_{g,c}          for every group g
/// ```
/// A group is one prompt's beam set: its C candidates are the current beams extended by their
/// candidate continuations; `prefix` carries each candidate's score so far (0 when `None`).
/// NaN scores rank last.
///
/// # Shapes
/// `policy_token_logps`, `reference_token_logps`, `mask`: `[G, C, T]`; `prefix_scores`: `[G, C]`.
///
/// # Errors
/// [`LossError::InvalidParameter`] for β ≤ 0 or `num_beams` outside `[1, C]`,
/// [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], and [`LossError::NonFinite`] when
/// `check_finite` is set.
///
/// # References
/// Rafailov, Hejna, Park, Finn, arXiv 2404.12358 (search on the implicit reward; beam search
/// improves on the base DPO policy).
pub fn select_beams<B: Backend>(
    policy_token_logps: Tensor<B, 3>,
    reference_token_logps: Tensor<B, 3>,
    mask: Tensor<B, 3, Bool>,
    prefix_scores: Option<Tensor<B, 2>>,
    config: &ImplicitRewardBeamConfig,
) -> Result<BeamSelection, LossError> {
    positive("beta", config.beta)?;
    check_triplet(
        &policy_token_logps,
        &reference_token_logps,
        &mask,
        config.check_finite,
    )?;
    let [g, c, _] = policy_token_logps.dims();
    if config.num_beams == 0 || config.num_beams > c {
        return Err(LossError::InvalidParameter {
            name: "num_beams",
            value: config.num_beams as f64,
            requirement: "in [1, number of candidates]",
        });
    }
    if let Some(p) = &prefix_scores {
        same_shape("prefix_scores", &p.dims(), &[g, c])?;
        if config.check_finite {
            finite_tensor("prefix_scores", p)?;
        }
    }
    let step = (policy_token_logps - reference_token_logps)
        .mul_scalar(config.beta)
        .mask_fill(mask.bool_not(), 0.0)
        .sum_dim(2)
        .reshape([g, c]);
    let total = match prefix_scores {
        Some(p) => step + p,
        None => step,
    };
    let all = host(total);
    let mut selection = BeamSelection {
        indices: Vec::with_capacity(g),
        scores: Vec::with_capacity(g),
        candidate_scores: Vec::with_capacity(g),
    };
    for row in all.chunks(c) {
        let mut order: Vec<usize> = (0..c).collect();
        let key = |i: usize| {
            if row[i].is_nan() {
                f64::NEG_INFINITY
            } else {
                row[i]
            }
        };
        order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        order.truncate(config.num_beams);
        selection
            .scores
            .push(order.iter().map(|&i| row[i]).collect());
        selection.indices.push(order);
        selection.candidate_scores.push(row.to_vec());
    }
    Ok(selection)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::log_sigmoid;
    use burn::tensor::TensorData;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    const POL: [f64; 12] = [
        -1.0, -2.0, -0.5, -3.0, -600.0, -0.1, -0.2, -9.0, -0.3, -0.4, -0.5, -0.6,
    ];
    const REF: [f64; 12] = [
        -1.5, -1.0, -0.7, -2.0, -100.0, -0.3, -0.1, -1.0, -0.2, -0.9, -0.1, -0.6,
    ];
    const MASK: [bool; 12] = [
        true, true, true, false, true, true, true, true, true, true, false, false,
    ];

    fn mask<B: Backend, const D: usize>(
        m: &[bool],
        shape: [usize; D],
        d: &B::Device,
    ) -> Tensor<B, D, Bool> {
        Tensor::from_data(TensorData::new(m.to_vec(), shape), d)
    }

    // Goldens: tests/reference/beyond_token_dporm.py (numpy float64).
    #[test]
    fn token_reward_goldens_with_extreme_log_probs() {
        let d = device();
        let out = token_rewards(
            tensor::<TestBackend, 2>(&POL, [3, 4], &d),
            tensor(&REF, [3, 4], &d),
            mask(&MASK, [3, 4], &d),
            &TokenRewardConfig::new(),
        )
        .unwrap();
        let r = [
            0.05, -0.1, 0.02, 0.0, -50.0, 0.02, -0.01, -0.8, -0.01, 0.05, 0.0, 0.0,
        ];
        let cum = [
            0.05, -0.05, -0.03, -0.03, -50.0, -49.98, -49.99, -50.79, -0.01, 0.04, 0.04, 0.04,
        ];
        assert_close(&to_vec(out.rewards), &r, 1e-4, 1e-6);
        assert_close(&to_vec(out.cumulative), &cum, 1e-4, 1e-6);
        assert_close(&to_vec(out.sequence), &[-0.03, -50.79, 0.04], 1e-4, 1e-6);
    }

    /// The sequence reward of token rewards gives the sequence-level DPO loss.
    #[test]
    fn summed_token_rewards_give_the_dpo_loss() {
        let d = device();
        let cfg = TokenRewardConfig::new();
        let all_true = [true; 12];
        let w = token_rewards(
            tensor::<TestBackend, 2>(&POL, [3, 4], &d),
            tensor(&REF, [3, 4], &d),
            mask(&all_true, [3, 4], &d),
            &cfg,
        )
        .unwrap();
        let l = token_rewards(
            tensor::<TestBackend, 2>(&REF, [3, 4], &d),
            tensor(&POL, [3, 4], &d).mul_scalar(0.5),
            mask(&all_true, [3, 4], &d),
            &cfg,
        )
        .unwrap();
        let from_tokens = log_sigmoid(w.sequence - l.sequence).neg().mean();
        let sum = |v: &[f64], s: f64| -> Vec<f64> {
            v.chunks(4).map(|r| r.iter().sum::<f64>() * s).collect()
        };
        let (pw, rw) = (sum(&POL, 1.0), sum(&REF, 1.0));
        let (pl, rl) = (sum(&REF, 1.0), sum(&POL, 0.5));
        let v = |a: &[f64]| tensor::<TestBackend, 1>(a, [3], &d);
        let dpo = log_sigmoid(((v(&pw) - v(&rw)) - (v(&pl) - v(&rl))).mul_scalar(cfg.beta))
            .neg()
            .mean();
        assert_close(&to_vec(from_tokens), &to_vec(dpo), 1e-5, 1e-5);
    }

    #[test]
    fn cumulative_gradient_matches_finite_difference() {
        let d = device();
        let pol = [-1.0, -2.0, -0.5, -3.0, -0.6, -0.1];
        let rf = [-1.5, -1.0, -0.7, -2.0, -1.0, -0.3];
        let m = [true, true, false, true, true, true];
        let wts = [0.3, -1.0, 2.0, 0.5, 1.5, -0.7];
        let x = tensor::<TestAutodiffBackend, 2>(&pol, [2, 3], &d).require_grad();
        let out = token_rewards(
            x.clone(),
            tensor(&rf, [2, 3], &d),
            mask(&m, [2, 3], &d),
            &TokenRewardConfig::new().with_beta(0.5),
        )
        .unwrap();
        let obj = (out.cumulative * tensor(&wts, [2, 3], &d)).sum() + out.sequence.square().sum();
        let g = to_vec(x.grad(&obj.backward()).unwrap());
        let host_fn = |v: &[f64]| {
            let mut tot = 0.0;
            for r in 0..2 {
                let mut acc = 0.0;
                for t in 0..3 {
                    let i = r * 3 + t;
                    if m[i] {
                        acc += 0.5 * (v[i] - rf[i]);
                    }
                    tot += wts[i] * acc;
                }
                tot += acc * acc;
            }
            tot
        };
        assert_close(&g, &finite_difference(host_fn, &pol, 1e-5), 1e-3, 1e-5);
    }

    const PP: [f64; 18] = [
        -1.0, -1.0, -1.0, -0.5, -2.0, -0.1, -3.0, -0.1, -0.1, //
        -0.2, -0.2, -700.0, -0.3, -0.1, -0.1, -1.0, -1.0, -1.0,
    ];
    const RR: [f64; 18] = [
        -1.2, -0.8, -1.1, -0.7, -1.0, -0.2, -1.0, -0.5, -0.4, //
        -0.1, -0.3, -100.0, -0.2, -0.2, -0.2, -2.0, -0.5, -1.5,
    ];
    const MM: [bool; 18] = [
        true, true, true, true, true, false, true, true, true, //
        true, true, true, true, true, true, true, true, true,
    ];
    const PREFIX: [f64; 6] = [0.05, 0.0, -0.1, 0.0, 0.02, 0.0];

    #[test]
    fn beam_selection_golden() {
        let d = device();
        let sel = select_beams(
            tensor::<TestBackend, 3>(&PP, [2, 3, 3], &d),
            tensor(&RR, [2, 3, 3], &d),
            mask(&MM, [2, 3, 3], &d),
            Some(tensor(&PREFIX, [2, 3], &d)),
            &ImplicitRewardBeamConfig::new(2),
        )
        .unwrap();
        assert_eq!(sel.indices, vec![vec![0, 1], vec![2, 1]]);
        let flat: Vec<f64> = sel.candidate_scores.concat();
        assert_close(&flat, &[0.06, -0.08, -0.23, -60.0, 0.03, 0.1], 1e-4, 1e-5);
        assert_close(&sel.scores.concat(), &[0.06, -0.08, 0.1, 0.03], 1e-4, 1e-5);
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let p = || tensor::<TestBackend, 2>(&POL, [3, 4], &d);
        let m = || mask::<TestBackend, 2>(&MASK, [3, 4], &d);
        let cfg = TokenRewardConfig::new();
        let e = token_rewards(p(), tensor(&POL[..8], [2, 4], &d), m(), &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "reference_token_logps",
                ..
            }
        ));
        let e = token_rewards(p(), p(), mask(&MASK[..8], [2, 4], &d), &cfg).unwrap_err();
        assert!(matches!(e, LossError::ShapeMismatch { name: "mask", .. }));
        let empty = || tensor::<TestBackend, 2>(&[], [0, 4], &d);
        let e = token_rewards(empty(), empty(), mask(&[], [0, 4], &d), &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let e = token_rewards(p(), p(), m(), &TokenRewardConfig::new().with_beta(0.0)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "beta", .. }
        ));
        let mut nan = POL;
        nan[5] = f64::NAN;
        let checked = TokenRewardConfig::new().with_check_finite(true);
        let e = token_rewards(tensor(&nan, [3, 4], &d), p(), m(), &checked).unwrap_err();
        assert_eq!(
            e,
            LossError::NonFinite {
                name: "policy_token_logps"
            }
        );

        let pp = || tensor::<TestBackend, 3>(&PP, [2, 3, 3], &d);
        let mm = || mask::<TestBackend, 3>(&MM, [2, 3, 3], &d);
        for k in [0, 4] {
            let e = select_beams(pp(), pp(), mm(), None, &ImplicitRewardBeamConfig::new(k))
                .unwrap_err();
            assert!(matches!(
                e,
                LossError::InvalidParameter {
                    name: "num_beams",
                    ..
                }
            ));
        }
        let e = select_beams(
            pp(),
            pp(),
            mm(),
            Some(tensor(&[0.0; 3], [1, 3], &d)),
            &ImplicitRewardBeamConfig::new(1),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "prefix_scores",
                ..
            }
        ));
    }
}
