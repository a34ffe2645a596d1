//! PPO's clipped policy and value losses, and the RLHF per-token reward (KL penalty to a
//! reference plus the sequence score), as TRL's `PPOTrainer` computes them. DR-PO
//! ([`crate::drpo`]) is this loss with the roll-in masked off the policy term.
//!
//! ```text
//! ρ_t      = exp(log π(a_t|s_t) − log π_old(a_t|s_t))
//! L_pg     = mean_{m^π} max(−A_t ρ_t, −A_t clip(ρ_t, 1 − ε, 1 + ε))
//! V^clip_t = clip(V_t, V^old_t − ε_v, V^old_t + ε_v)
//! L_vf     = ½ mean_{m^V} max((V_t − R_t)², (V^clip_t − R_t)²)
//! L        = L_pg + c_vf · L_vf
//! r_t      = −β_KL (log π(a_t) − log π_ref(a_t)) + score · 1{t = last valid step}   (rlhf_rewards)
//! ```
//! `mean_m` is the mean over entries where the mask is 1 (a mask with no valid entry gives 0,
//! never NaN). Advantages `A` and value targets `R` come from [`crate::returns::gae`].
//!
//! Defaults (TRL `PPOConfig`; the DR-PO code uses the same): `cliprange = 0.2`,
//! `cliprange_value = 0.2`, `vf_coef = 0.1`, `kl_coef = 0.05`.
//!
//! Difference from TRL, on purpose: TRL's logged `approxkl` is an unmasked mean over padding too;
//! here it is masked by the policy mask.
//!
//! # Shapes
//! Every tensor of [`PpoBatch`] is `[B, T]`; the loss is `[1]`.
//!
//! # References
//! J. Schulman, F. Wolski, P. Dhariwal, A. Radford, O. Klimov, "Proximal Policy Optimization
//! Algorithms", arXiv 1707.06347. TRL `trl/trainer/ppo_trainer.py` (the loss block and the
//! reward assembly); pinned to `tests/reference/returns_ppo.py` (numpy).

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use preferent_losses::base::PreferenceLoss;
use preferent_losses::output::{FiniteWatch, LossOutput};
use preferent_losses::LossError;

use crate::returns::check_same;

/// Options of [`PpoLoss`] (TRL `PPOConfig` names).
#[derive(Config, Debug)]
pub struct PpoConfig {
    /// `ε`, the policy-ratio clip range. Default 0.2 (TRL `cliprange`).
    #[config(default = 0.2)]
    pub clip_range: f64,
    /// `ε_v`, the value clip range around the old values. Default 0.2 (TRL `cliprange_value`).
    #[config(default = 0.2)]
    pub clip_range_value: f64,
    /// `c_vf`, the value-loss weight. Default 0.1 (TRL `vf_coef`).
    #[config(default = 0.1)]
    pub vf_coef: f64,
}

impl PpoConfig {
    /// Checks `clip_range > 0`, `clip_range_value > 0` and `vf_coef ≥ 0` (all finite).
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] naming the field.
    pub fn validate(&self) -> Result<(), LossError> {
        for (name, v, ok, requirement) in [
            (
                "clip_range",
                self.clip_range,
                self.clip_range > 0.0,
                "finite and > 0",
            ),
            (
                "clip_range_value",
                self.clip_range_value,
                self.clip_range_value > 0.0,
                "finite and > 0",
            ),
            (
                "vf_coef",
                self.vf_coef,
                self.vf_coef >= 0.0,
                "finite and ≥ 0",
            ),
        ] {
            if !(ok && v.is_finite()) {
                return Err(LossError::InvalidParameter {
                    name,
                    value: v,
                    requirement,
                });
            }
        }
        Ok(())
    }
}

preferent_losses::validated_loss! {
    /// PPO's clipped surrogate plus clipped value loss, validated ([`PpoConfig::init`]).
    PpoConfig => PpoLoss
}

preferent_losses::scalar_metrics! {
    /// Detached PPO metrics, `[1]` tensors (TRL's logged names in the strings).
    pub struct PpoMetrics => PpoMetricsHost {
        /// `L_pg`.
        pg_loss: "policy/pg_loss",
        /// `L_vf` (with the ½).
        vf_loss: "loss/value_avg",
        /// Fraction of policy entries where the clipped term is the larger one.
        pg_clip_fraction: "policy/clipfrac_avg",
        /// Fraction of value entries where the clipped value term is the larger one.
        vf_clip_fraction: "val/clipfrac_avg",
        /// `½ mean_{m^π} (log π − log π_old)²`.
        approx_kl: "policy/approxkl_avg",
        /// `mean_{m^π} ρ`.
        ratio_mean: "val/ratio",
    }
}

/// One PPO minibatch.
///
/// # Shapes
/// Every tensor `[B, T]`.
#[derive(Debug, Clone)]
pub struct PpoBatch<B: Backend> {
    /// `log π(a_t | s_t)` under the current policy, differentiable.
    pub log_probs: Tensor<B, 2>,
    /// `log π_old(a_t | s_t)` from the rollout (constants).
    pub old_log_probs: Tensor<B, 2>,
    /// Advantages `A_t` (constants; usually whitened GAE).
    pub advantages: Tensor<B, 2>,
    /// Current value predictions `V_t`, differentiable.
    pub values: Tensor<B, 2>,
    /// Value predictions from the rollout (constants).
    pub old_values: Tensor<B, 2>,
    /// Value targets `R_t` (constants; GAE returns).
    pub returns: Tensor<B, 2>,
    /// 1 where the policy term counts (DR-PO: response tokens not teacher-forced).
    pub policy_mask: Tensor<B, 2>,
    /// 1 where the value term counts.
    pub value_mask: Tensor<B, 2>,
}

impl<B: Backend> PreferenceLoss<B> for PpoLoss {
    type Batch = PpoBatch<B>;
    type Metrics = PpoMetrics<B>;

    fn forward(&self, batch: PpoBatch<B>) -> Result<LossOutput<B, PpoMetrics<B>>, LossError> {
        ppo_forward(batch, self.config())
    }
}

fn masked_mean<B: Backend>(x: Tensor<B, 2>, mask: &Tensor<B, 2>) -> Tensor<B, 1> {
    (x * mask.clone()).sum() / mask.clone().sum().clamp_min(1.0)
}

fn ppo_forward<B: Backend>(
    batch: PpoBatch<B>,
    config: &PpoConfig,
) -> Result<LossOutput<B, PpoMetrics<B>>, LossError> {
    let PpoBatch {
        log_probs,
        old_log_probs,
        advantages,
        values,
        old_values,
        returns,
        policy_mask,
        value_mask,
    } = batch;
    let dims = log_probs.dims();
    for (name, t) in [
        ("old_log_probs", &old_log_probs),
        ("advantages", &advantages),
        ("values", &values),
        ("old_values", &old_values),
        ("returns", &returns),
        ("policy_mask", &policy_mask),
        ("value_mask", &value_mask),
    ] {
        check_same(name, t, dims)?;
    }
    if dims[0] * dims[1] == 0 {
        return Err(LossError::EmptyBatch { name: "log_probs" });
    }
    let watch = FiniteWatch::new()
        .watch(&log_probs)
        .watch(&old_log_probs)
        .watch(&advantages)
        .watch(&values)
        .watch(&old_values)
        .watch(&returns);
    let (advantages, old_values, returns) =
        (advantages.detach(), old_values.detach(), returns.detach());
    let diff = log_probs - old_log_probs.detach();
    let ratio = diff.clone().exp();
    let eps = config.clip_range;
    let pg1 = advantages.clone().neg() * ratio.clone();
    let pg2 = advantages.neg() * ratio.clone().clamp(1.0 - eps, 1.0 + eps);
    let pg_clipped = pg2.clone().greater(pg1.clone()).float();
    let pg_loss = masked_mean(pg1.max_pair(pg2), &policy_mask);
    let ev = config.clip_range_value;
    let v_clipped = values
        .clone()
        .max_pair(old_values.clone().sub_scalar(ev))
        .min_pair(old_values.add_scalar(ev));
    let vf1 = (values - returns.clone()).powi_scalar(2);
    let vf2 = (v_clipped - returns).powi_scalar(2);
    let vf_clipped = vf2.clone().greater(vf1.clone()).float();
    let vf_loss = masked_mean(vf1.max_pair(vf2), &value_mask).mul_scalar(0.5);
    let loss = pg_loss.clone() + vf_loss.clone().mul_scalar(config.vf_coef);
    let metrics = PpoMetrics {
        pg_loss: pg_loss.detach(),
        vf_loss: vf_loss.detach(),
        pg_clip_fraction: masked_mean(pg_clipped, &policy_mask).detach(),
        vf_clip_fraction: masked_mean(vf_clipped, &value_mask).detach(),
        approx_kl: masked_mean(diff.detach().powi_scalar(2), &policy_mask)
            .mul_scalar(0.5)
            .detach(),
        ratio_mean: masked_mean(ratio.detach(), &policy_mask).detach(),
    };
    Ok(LossOutput::new(loss, metrics, watch))
}

/// The RLHF per-token reward: `r_t = −kl_coef·(log π − log π_ref)` on valid steps, plus each
/// row's `score` at its last valid step (TRL's `non_score_reward` and score placement). Rows
/// with no valid step get no score. Detached.
///
/// # Shapes
/// `log_probs`, `ref_log_probs`, `mask`: `[B, T]` (right-padded); `scores`: `[B]`; out `[B, T]`.
///
/// # Errors
/// [`LossError::ShapeMismatch`]; [`LossError::EmptyBatch`]; [`LossError::InvalidParameter`] for a
/// negative or non-finite `kl_coef`.
pub fn rlhf_rewards<B: Backend>(
    log_probs: Tensor<B, 2>,
    ref_log_probs: Tensor<B, 2>,
    scores: Tensor<B, 1>,
    mask: Tensor<B, 2>,
    kl_coef: f64,
) -> Result<Tensor<B, 2>, LossError> {
    let dims = log_probs.dims();
    for (name, t) in [("ref_log_probs", &ref_log_probs), ("mask", &mask)] {
        check_same(name, t, dims)?;
    }
    if scores.dims() != [dims[0]] {
        return Err(LossError::ShapeMismatch {
            name: "scores",
            actual: scores.dims().to_vec(),
            expected: vec![dims[0]],
        });
    }
    if dims[0] * dims[1] == 0 {
        return Err(LossError::EmptyBatch { name: "log_probs" });
    }
    if !(kl_coef.is_finite() && kl_coef >= 0.0) {
        return Err(LossError::InvalidParameter {
            name: "kl_coef",
            value: kl_coef,
            requirement: "finite and ≥ 0",
        });
    }
    let kl = (log_probs - ref_log_probs).detach();
    // last[t] = 1 at the last valid step: m_t − m_{t+1} for right padding.
    let t_len = dims[1];
    let next = Tensor::cat(
        vec![
            mask.clone().slice([0..dims[0], 1..t_len]),
            mask.clone().slice([0..dims[0], 0..1]).zeros_like(),
        ],
        1,
    );
    let last = (mask.clone() - next).clamp_min(0.0);
    Ok((kl.mul_scalar(-kl_coef) + last * scores.detach().unsqueeze_dim::<2>(1)) * mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::backend::AutodiffBackend;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    // Inputs and goldens: `tests/reference/returns_ppo.py` (numpy, float64).
    include!("../tests/reference/ppo_goldens.rs");

    fn batch<B: Backend>(lp: &[f64], v: &[f64]) -> PpoBatch<B> {
        let d = Default::default();
        let t = |x: &[f64]| tensor::<B, 2>(x, [2, 3], &d);
        PpoBatch {
            log_probs: t(lp),
            old_log_probs: t(&OLD_LP),
            advantages: t(&ADV),
            values: t(v),
            old_values: t(&OLD_V),
            returns: t(&RET),
            policy_mask: t(&PMASK),
            value_mask: t(&VMASK),
        }
    }

    #[test]
    fn loss_and_metrics_match_numpy() {
        let loss = PpoConfig::new().init().unwrap();
        let out = PreferenceLoss::<TestBackend>::forward(&loss, batch(&LP, &V)).unwrap();
        assert_close(&to_vec(out.loss.clone()), &[GOLDEN_LOSS], 1e-5, 1e-6);
        let m = out.metrics.read();
        assert_close(
            &[
                m.pg_loss,
                m.vf_loss,
                m.pg_clip_fraction,
                m.vf_clip_fraction,
                m.approx_kl,
                m.ratio_mean,
            ],
            &GOLDEN_METRICS,
            1e-5,
            1e-6,
        );
    }

    fn host_loss(lp: &[f64], v: &[f64]) -> f64 {
        let (eps, ev, c) = (0.2, 0.2, 0.1);
        let (mut pg, mut np, mut vf, mut nv) = (0.0, 0.0, 0.0, 0.0);
        for k in 0..6 {
            let r = (lp[k] - OLD_LP[k]).exp();
            let l = (-ADV[k] * r).max(-ADV[k] * r.clamp(1.0 - eps, 1.0 + eps));
            pg += PMASK[k] * l;
            np += PMASK[k];
            let vc = v[k].clamp(OLD_V[k] - ev, OLD_V[k] + ev);
            vf += VMASK[k] * (v[k] - RET[k]).powi(2).max((vc - RET[k]).powi(2));
            nv += VMASK[k];
        }
        pg / np + c * 0.5 * vf / nv
    }

    #[test]
    fn gradients_match_finite_differences() {
        fn grads<B: AutodiffBackend>() -> (Vec<f64>, Vec<f64>) {
            let mut b = batch::<B>(&LP, &V);
            b.log_probs = b.log_probs.require_grad();
            b.values = b.values.require_grad();
            let (lp, v) = (b.log_probs.clone(), b.values.clone());
            let loss = PpoConfig::new().init().unwrap();
            let g = PreferenceLoss::<B>::forward(&loss, b)
                .unwrap()
                .loss
                .backward();
            (to_vec(lp.grad(&g).unwrap()), to_vec(v.grad(&g).unwrap()))
        }
        let (g_lp, g_v) = grads::<TestAutodiffBackend>();
        assert_close(&[host_loss(&LP, &V)], &[GOLDEN_LOSS], 1e-12, 1e-12);
        let fd_lp = finite_difference(|x| host_loss(x, &V), &LP, 1e-6);
        let fd_v = finite_difference(|x| host_loss(&LP, x), &V, 1e-6);
        assert_close(&g_lp, &fd_lp, 1e-4, 1e-6);
        assert_close(&g_v, &fd_v, 1e-4, 1e-6);
    }

    #[test]
    fn on_policy_with_no_clipping_is_the_vanilla_policy_gradient() {
        // ρ = 1 at the old policy: L_pg = −mean(A), ∂L_pg/∂logπ_t = −A_t/n.
        let loss = PpoConfig::new().init().unwrap();
        let out = PreferenceLoss::<TestBackend>::forward(&loss, batch(&OLD_LP, &OLD_V)).unwrap();
        let m = out.metrics.read();
        let n: f64 = PMASK.iter().sum();
        let want: f64 = -ADV.iter().zip(PMASK).map(|(a, m)| a * m).sum::<f64>() / n;
        assert_close(
            &[m.pg_loss, m.pg_clip_fraction, m.approx_kl, m.ratio_mean],
            &[want, 0.0, 0.0, 1.0],
            1e-6,
            1e-6,
        );
    }

    #[test]
    fn rlhf_rewards_match_numpy() {
        let d = device();
        let t = |x: &[f64]| tensor::<TestBackend, 2>(x, [2, 3], &d);
        let scores = tensor::<TestBackend, 1>(&SCORES, [2], &d);
        let r = rlhf_rewards(t(&LP), t(&OLD_LP), scores.clone(), t(&VMASK), 0.05).unwrap();
        assert_close(&to_vec(r), &GOLDEN_RLHF, 1e-5, 1e-6);
        assert!(matches!(
            rlhf_rewards(t(&LP), t(&OLD_LP), scores.clone(), t(&VMASK), -1.0),
            Err(LossError::InvalidParameter {
                name: "kl_coef",
                ..
            })
        ));
        let bad = tensor::<TestBackend, 1>(&[1.0], [1], &d);
        assert!(matches!(
            rlhf_rewards(t(&LP), t(&OLD_LP), bad, t(&VMASK), 0.05),
            Err(LossError::ShapeMismatch { name: "scores", .. })
        ));
    }

    #[test]
    fn invalid_configs_fail_at_init() {
        for cfg in [
            PpoConfig::new().with_clip_range(0.0),
            PpoConfig::new().with_clip_range_value(f64::NAN),
            PpoConfig::new().with_vf_coef(-0.1),
        ] {
            assert!(matches!(
                cfg.init(),
                Err(LossError::InvalidParameter { .. })
            ));
        }
    }
}
