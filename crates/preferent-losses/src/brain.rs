//! BRAIn: distilling the reward-conditioned posterior `p(y | x, G = 1)` into the policy by
//! self-normalised importance sampling over n samples per prompt.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::base::PreferenceLoss;
use crate::beyond_checks::{finite_tensor, host, same_shape};
use crate::error::LossError;
use crate::numerics::logsumexp;
use crate::output::{FiniteWatch, LossOutput};
use crate::{scalar_metrics, validated_loss};

/// Hyperparameters of [`brain_loss`]. BRAIn itself has none beyond the sample count n, which is
/// the second input dimension (the paper's experiments draw several samples per prompt from the
/// SFT proposal).
#[derive(Config, Debug)]
pub struct BrainConfig {
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞.
    #[config(default = false)]
    pub check_finite: bool,
}

/// The distillation target α over the n samples of each prompt.
#[derive(Debug, Clone)]
pub enum BrainTarget<B: Backend> {
    /// The self-normalised posterior weights
    /// `α_i = softmax_i[log p_SFT(y_i|x) + log p(G=1|x,y_i) − log q(y_i|x)]` (detached).
    Posterior {
        /// log p_SFT(y_i | x), `[B, n]` (summed sequence log-probs of the prior / SFT model).
        sft_logps: Tensor<B, 2>,
        /// log p(G = 1 | x, y_i) from the reward model, `[B, n]`. With `r(x, y)/β_RL` this
        /// gives the PPO-optimal `π* ∝ π_SFT·exp(r/β_RL)`.
        reward_log_likelihood: Tensor<B, 2>,
    },
    /// Explicit weights α (rows non-negative, summing to 1), `[B, n]`; e.g. a one-hot on the
    /// preferred sample.
    Weights(Tensor<B, 2>),
}

scalar_metrics! {
    /// Detached BRAIn metrics, `[1]` tensors.
    pub struct BrainMetrics => BrainMetricsHost {
        /// Mean KL(α ‖ β(θ)) over prompts (the loss minus the target entropy).
        kl: "kl",
        /// Mean effective sample size `1 / Σ_i α_i²` of the target weights (between 1 and n).
        effective_sample_size: "effective_sample_size",
        /// Fraction of prompts where the policy's self-normalised weights β(θ) and the target α
        /// put their largest weight on the same sample.
        argmax_agreement: "argmax_agreement",
    }
}

impl BrainConfig {
    /// BRAIn has no range-checked hyperparameters; present for the shared `init()`.
    ///
    /// # Errors
    /// Never.
    pub fn validate(&self) -> Result<(), LossError> {
        Ok(())
    }
}

validated_loss! {
    /// BRAIn, validated ([`BrainConfig::init`]); see [`brain_loss`] for the formula.
    BrainConfig => BrainLoss
}

/// One BRAIn batch: n samples per prompt with policy and proposal log-probs and the target.
///
/// # Shapes
/// Every tensor `[B, n]`.
#[derive(Debug, Clone)]
pub struct BrainBatch<B: Backend> {
    /// log π_θ(y_i | x).
    pub policy_logps: Tensor<B, 2>,
    /// log q(y_i | x) of the proposal that drew the samples.
    pub proposal_logps: Tensor<B, 2>,
    /// The distillation target.
    pub target: BrainTarget<B>,
}

impl<B: Backend> PreferenceLoss<B> for BrainLoss {
    type Batch = BrainBatch<B>;
    type Metrics = BrainMetrics<B>;

    fn forward(&self, batch: BrainBatch<B>) -> Result<LossOutput<B, BrainMetrics<B>>, LossError> {
        brain_forward(batch, &self.config)
    }
}

/// BRAIn loss: cross-entropy between the posterior weights and the policy's self-normalised
/// importance weights.
///
/// ```text
/// α_i    = softmax_i[log p_SFT(y_i) + log p(G=1|x,y_i) − log q(y_i)]      (detached)
/// β_i(θ) = softmax_i[log π_θ(y_i) − log q(y_i)]
/// loss   = mean_b ( −Σ_i α_i · log β_i(θ) )
/// ∇loss  = −mean_b Σ_i (α_i − β_i) ∇log π_θ(y_i)
/// ```
/// With n = 2, q = π_ref and α one-hot on the winner this is DPO with β = 1:
/// `−log σ((log π_θ − log π_ref)(y_w) − (log π_θ − log π_ref)(y_l))`.
///
/// # Shapes
/// `policy_logps`, `proposal_logps` and the target tensors: `[B, n]` (n ≥ 1) → loss `[1]`.
///
/// # Errors
/// [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], [`LossError::OutOfDomain`] for
/// explicit weights that are negative or do not sum to 1 (±1e-3) per row (always checked: the
/// weights are read back to the host), and [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Pandey et al., "BRAIn: Bayesian Reward-conditioned Amortized INference", ICML 2024,
/// arXiv 2402.02479 (self-normalised distillation objective; relation to DPO).
pub fn brain_loss<B: Backend>(
    policy_logps: Tensor<B, 2>,
    proposal_logps: Tensor<B, 2>,
    target: BrainTarget<B>,
    config: &BrainConfig,
) -> Result<LossOutput<B, BrainMetrics<B>>, LossError> {
    config.init()?.forward(BrainBatch {
        policy_logps,
        proposal_logps,
        target,
    })
}

fn brain_forward<B: Backend>(
    batch: BrainBatch<B>,
    config: &BrainConfig,
) -> Result<LossOutput<B, BrainMetrics<B>>, LossError> {
    let BrainBatch {
        policy_logps,
        proposal_logps,
        target,
    } = batch;
    let dims = policy_logps.dims();
    if dims.contains(&0) {
        return Err(LossError::EmptyBatch {
            name: "policy_logps",
        });
    }
    let [b, n] = dims;
    same_shape("proposal_logps", &proposal_logps.dims(), &dims)?;
    match &target {
        BrainTarget::Posterior {
            sft_logps,
            reward_log_likelihood,
        } => {
            same_shape("sft_logps", &sft_logps.dims(), &dims)?;
            same_shape(
                "reward_log_likelihood",
                &reward_log_likelihood.dims(),
                &dims,
            )?;
        }
        BrainTarget::Weights(w) => same_shape("weights", &w.dims(), &dims)?,
    }
    if config.check_finite {
        finite_tensor("policy_logps", &policy_logps)?;
        finite_tensor("proposal_logps", &proposal_logps)?;
        match &target {
            BrainTarget::Posterior {
                sft_logps,
                reward_log_likelihood,
            } => {
                finite_tensor("sft_logps", sft_logps)?;
                finite_tensor("reward_log_likelihood", reward_log_likelihood)?;
            }
            BrainTarget::Weights(w) => finite_tensor("weights", w)?,
        }
    }
    let mut watch = FiniteWatch::new()
        .watch(&policy_logps)
        .watch(&proposal_logps);
    watch = match &target {
        BrainTarget::Posterior {
            sft_logps,
            reward_log_likelihood,
        } => watch.watch(sft_logps).watch(reward_log_likelihood),
        BrainTarget::Weights(w) => watch.watch(w),
    };
    let alpha = match target {
        BrainTarget::Posterior {
            sft_logps,
            reward_log_likelihood,
        } => {
            let s = (sft_logps + reward_log_likelihood - proposal_logps.clone()).detach();
            (s.clone() - logsumexp(s, 1)).exp()
        }
        BrainTarget::Weights(w) => {
            let hw = host(w.clone());
            if let Some(index) = hw.iter().position(|v| *v < 0.0 || v.is_nan()) {
                return Err(LossError::OutOfDomain {
                    name: "weights",
                    index,
                    requirement: "non-negative",
                });
            }
            if let Some(row) = (0..b).find(|r| {
                let sum: f64 = hw[r * n..(r + 1) * n].iter().sum();
                (sum - 1.0).abs() > 1e-3
            }) {
                return Err(LossError::OutOfDomain {
                    name: "weights",
                    index: row,
                    requirement: "rows summing to 1",
                });
            }
            w.detach()
        }
    };
    let x = policy_logps - proposal_logps;
    let log_beta = x.clone() - logsumexp(x, 1);
    let per_row = (alpha.clone() * log_beta.clone()).sum_dim(1).neg(); // [B, 1]
    let loss = per_row.clone().mean();

    // Metrics on the device: H(α) with 0·log 0 = 0, ESS, argmax agreement (first max wins).
    let a = alpha.detach();
    let entropy = (a.clone() * a.clone().clamp_min(1e-30).log())
        .sum_dim(1)
        .neg(); // [B, 1]
    let kl = (per_row.detach() - entropy).mean();
    let ess = a.clone().square().sum_dim(1).recip().mean();
    let agree = a
        .argmax(1)
        .equal(log_beta.detach().argmax(1))
        .float()
        .mean();
    let metrics = BrainMetrics {
        kl,
        effective_sample_size: ess,
        argmax_agreement: agree,
    };
    Ok(LossOutput::new(loss, metrics, watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::numerics::log_sigmoid;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    const PI: [f64; 8] = [-10.0, -12.0, -9.5, -11.0, -600.0, -650.0, -580.0, -700.0];
    const Q: [f64; 8] = [-10.5, -11.0, -10.0, -12.0, -590.0, -640.0, -600.0, -690.0];
    const SFT: [f64; 8] = [-10.2, -11.5, -9.0, -11.8, -595.0, -660.0, -585.0, -695.0];
    const RLL: [f64; 8] = [-0.3, -1.5, -0.9, -2.0, -0.1, -3.0, -0.7, -0.05];

    fn t<B: Backend>(v: &[f64], d: &B::Device) -> Tensor<B, 2> {
        tensor::<B, 2>(v, [v.len() / 4, 4], d)
    }

    // Goldens: tests/reference/beyond_srpo_brain.py (numpy/scipy float64).
    #[test]
    fn forward_goldens_with_extreme_log_probs() {
        let d = device();
        let out = brain_loss(
            t::<TestBackend>(&PI, &d),
            t(&Q, &d),
            BrainTarget::Posterior {
                sft_logps: t(&SFT, &d),
                reward_log_likelihood: t(&RLL, &d),
            },
            &BrainConfig::new(),
        )
        .unwrap();
        assert_close(&to_vec(out.loss), &[0.7018796551868701], 1e-4, 1e-5);
        assert_close(
            &[
                out.metrics.read().kl,
                out.metrics.read().effective_sample_size,
            ],
            &[0.16781496498481893, 1.7765307962260735],
            1e-3,
            1e-5,
        );
        let w = [0.1, 0.2, 0.3, 0.4, 0.0, 0.0, 1.0, 0.0];
        let out = brain_loss(
            t::<TestBackend>(&PI, &d),
            t(&Q, &d),
            BrainTarget::Weights(t(&w, &d)),
            &BrainConfig::new(),
        )
        .unwrap();
        assert_close(&to_vec(out.loss), &[0.7268663992731859], 1e-4, 1e-5);
    }

    /// n = 2, proposal = reference, one-hot target on the winner: the DPO loss with β = 1.
    #[test]
    fn two_samples_one_hot_equals_dpo() {
        let d = device();
        let pc = [-10.0, -25.0, -600.0, -3.0];
        let pr = [-11.0, -20.0, -640.0, -3.5];
        let rc = [-10.5, -24.0, -620.0, -2.0];
        let rr = [-10.0, -22.0, -610.0, -4.0];
        let inter = |a: &[f64], b: &[f64]| -> Vec<f64> {
            a.iter().zip(b).flat_map(|(x, y)| [*x, *y]).collect()
        };
        let onehot: Vec<f64> = (0..4).flat_map(|_| [1.0, 0.0]).collect();
        let out = brain_loss(
            tensor::<TestBackend, 2>(&inter(&pc, &pr), [4, 2], &d),
            tensor(&inter(&rc, &rr), [4, 2], &d),
            BrainTarget::Weights(tensor(&onehot, [4, 2], &d)),
            &BrainConfig::new(),
        )
        .unwrap();
        let v = |a: &[f64]| tensor::<TestBackend, 1>(a, [4], &d);
        let beta = 1.0;
        let dpo = log_sigmoid(((v(&pc) - v(&rc)) - (v(&pr) - v(&rr))).mul_scalar(beta))
            .neg()
            .mean();
        assert_close(&to_vec(out.loss), &to_vec(dpo), 1e-5, 1e-5);
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let pi = [-10.0, -12.0, -9.5, -11.0, -6.0, -6.5, -5.8, -7.0];
        let q = [-10.5, -11.0, -10.0, -12.0, -5.9, -6.4, -6.0, -6.9];
        let x = t::<TestAutodiffBackend>(&pi, &d).require_grad();
        let out = brain_loss(
            x.clone(),
            t(&q, &d),
            BrainTarget::Posterior {
                sft_logps: t(&SFT, &d),
                reward_log_likelihood: t(&RLL, &d),
            },
            &BrainConfig::new(),
        )
        .unwrap();
        let grads = out.loss.backward();
        let g = to_vec(x.grad(&grads).unwrap());
        let host_fn = |v: &[f64]| {
            let mut tot = 0.0;
            for r in 0..2 {
                let s: Vec<f64> = (0..4)
                    .map(|i| SFT[r * 4 + i] + RLL[r * 4 + i] - q[r * 4 + i])
                    .collect();
                let y: Vec<f64> = (0..4).map(|i| v[r * 4 + i] - q[r * 4 + i]).collect();
                let lse = |z: &[f64]| {
                    let m = z.iter().cloned().fold(f64::MIN, f64::max);
                    m + z.iter().map(|u| (u - m).exp()).sum::<f64>().ln()
                };
                let (ls, ly) = (lse(&s), lse(&y));
                tot -= (0..4).map(|i| (s[i] - ls).exp() * (y[i] - ly)).sum::<f64>();
            }
            tot / 2.0
        };
        assert_close(&g, &finite_difference(host_fn, &pi, 1e-5), 1e-3, 1e-6);
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let a = || t::<TestBackend>(&PI, &d);
        let cfg = BrainConfig::new();
        let e = brain_loss(
            a(),
            tensor(&[0.0; 4], [1, 4], &d),
            BrainTarget::Weights(a()),
            &cfg,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "proposal_logps",
                ..
            }
        ));
        let empty = || tensor::<TestBackend, 2>(&[], [0, 4], &d);
        let e = brain_loss(empty(), empty(), BrainTarget::Weights(empty()), &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let w = [0.5, 0.5, 0.0, 0.0, 0.5, 0.6, 0.0, 0.0];
        let e = brain_loss(a(), a(), BrainTarget::Weights(t(&w, &d)), &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::OutOfDomain {
                name: "weights",
                index: 1,
                ..
            }
        ));
        let w = [1.5, -0.5, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25];
        let e = brain_loss(a(), a(), BrainTarget::Weights(t(&w, &d)), &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::OutOfDomain {
                name: "weights",
                index: 1,
                ..
            }
        ));
        let mut bad = RLL;
        bad[3] = f64::INFINITY;
        let target = BrainTarget::Posterior {
            sft_logps: t(&SFT, &d),
            reward_log_likelihood: t(&bad, &d),
        };
        let e = brain_loss(
            a(),
            a(),
            target,
            &BrainConfig::new().with_check_finite(true),
        )
        .unwrap_err();
        assert_eq!(
            e,
            LossError::NonFinite {
                name: "reward_log_likelihood"
            }
        );
    }
}
