//! SubPO: policy gradients for submodular (non-additive) trajectory objectives.
//!
//! The objective is a set function of the visited states, `J(π) = E_τ F({s_0, …, s_H})`, with `F`
//! monotone submodular (coverage, experiment design). SubPO replaces additive rewards by
//! marginal gains and weights each log-probability by the gains still to come:
//!
//! ```text
//! Δ_j = F(τ_{0:j+1}) − F(τ_{0:j})                       (marginal gain of step j, F(∅) = 0)
//! G_i = Σ_{j ≥ i} Δ_j                                    (gain-to-go)
//! ∇J  ≈ mean_b Σ_i ∇log π(a_i | s_i, i) · (G_i − b_i)
//! L   = −mean_b Σ_i m_i · log π_i · stopgrad(G_i − b_i)  (surrogate whose gradient is −∇J)
//! ```
//!
//! The reference code (`manish-pra/non-additive-RL/main.py`, lines 186–214) weights step `h` by
//! the *cumulative* `F(τ_{0:h+1}) = Σ_{j ≤ h} Δ_j` because its per-step difference line is
//! commented out. Since `F(τ_{0:h})` depends only on the history before action `h`, that
//! weighting is the immediate-gain (myopic) gradient plus a zero-mean term that adds variance.
//! Both are here ([`SubpoWeighting`]): the paper's gain-to-go is the default,
//! [`SubpoWeighting::CumulativeToDate`] reproduces the official code.
//!
//! # References
//! Prajapat, Mutný, Zeilinger, Krause, "Submodular Reinforcement Learning", arXiv 2307.13372,
//! the policy-gradient theorem for SubRL (Sec. 4).

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use preferent_losses::base::PreferenceLoss;
use preferent_losses::output::{FiniteWatch, LossOutput};
use serde::{Deserialize, Serialize};

use crate::error::LossError;

/// The baseline `b_i` subtracted from the gain-to-go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubpoBaseline {
    /// `b_i = 0`.
    None,
    /// `b_i` = the batch mean of `G_i` over the trajectories valid at step `i` (a standard
    /// variance-reduction choice; keeps the gradient unbiased only in expectation over batches).
    BatchMean,
}

/// Which per-step weight multiplies `log π(a_i | s_i, i)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubpoWeighting {
    /// `G_i = Σ_{j ≥ i} Δ_j`: the marginal gains still to come (the paper's estimator).
    RewardToGo,
    /// `F(τ_{0:i+1}) = Σ_{j ≤ i} Δ_j`: the value of the visited set so far (the official code).
    CumulativeToDate,
}

/// Options of [`subpo_policy_gradient_loss`].
#[derive(Config, Debug)]
pub struct SubpoConfig {
    /// Baseline subtracted from the gain-to-go. Default: [`SubpoBaseline::BatchMean`].
    #[config(default = "SubpoBaseline::BatchMean")]
    pub baseline: SubpoBaseline,
    /// The per-step weight. Default: [`SubpoWeighting::RewardToGo`] (the paper).
    #[config(default = "SubpoWeighting::RewardToGo")]
    pub weighting: SubpoWeighting,
    /// Divide gains by this constant before use. The reference code divides by
    /// `MAX_Ret = 2(H+1)`; default 1 (no scaling).
    #[config(default = 1.0)]
    pub gain_scale: f64,
}

impl SubpoConfig {
    /// Checks `gain_scale` (finite and > 0: the gains are divided by it).
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] naming `gain_scale`.
    pub fn validate(&self) -> Result<(), LossError> {
        if !(self.gain_scale.is_finite() && self.gain_scale > 0.0) {
            return Err(LossError::InvalidParameter {
                name: "gain_scale",
                value: self.gain_scale,
                requirement: "finite and > 0",
            });
        }
        Ok(())
    }
}

preferent_losses::validated_loss! {
    /// SubPO's surrogate, validated ([`SubpoConfig::init`]); see
    /// [`subpo_policy_gradient_loss`].
    SubpoConfig => SubpoLoss
}

preferent_losses::scalar_metrics! {
    /// Detached SubPO metrics, `[1]` tensors.
    pub struct SubpoMetrics => SubpoMetricsHost {
        /// Mean over trajectories of the total (scaled) gain `Σ_i m_i Δ_i = F(τ) − F(∅)`.
        mean_return: "mean_return",
        /// Mean (scaled) per-step weight over valid steps (the gain-to-go by default).
        mean_gain_to_go: "mean_gain_to_go",
    }
}

/// One SubPO batch of trajectories.
///
/// # Shapes
/// Every tensor `[B, H]`.
#[derive(Debug, Clone)]
pub struct SubpoBatch<B: Backend> {
    /// `log π(a_i | s_i, i)`, differentiable.
    pub log_probs: Tensor<B, 2>,
    /// Marginal gains `Δ_i` (constants).
    pub gains: Tensor<B, 2>,
    /// 1 on valid steps, 0 on padding.
    pub mask: Tensor<B, 2>,
}

impl<B: Backend> PreferenceLoss<B> for SubpoLoss {
    type Batch = SubpoBatch<B>;
    type Metrics = SubpoMetrics<B>;

    fn forward(&self, batch: SubpoBatch<B>) -> Result<LossOutput<B, SubpoMetrics<B>>, LossError> {
        subpo_forward(batch, &self.config)
    }
}

/// Marginal gains `Δ_j = F(τ_{0:j+1}) − F(τ_{0:j})` of a trajectory under a set function `F`
/// (evaluated on prefixes; `F` of the empty prefix is taken from `f(&[])`).
///
/// # Errors
/// [`LossError::OutOfDomain`] (requirement "finite") when `F` returns NaN or ±∞ on some prefix;
/// the index is the prefix length (0 = the empty prefix).
pub fn marginal_gains<S>(trajectory: &[S], f: impl Fn(&[S]) -> f64) -> Result<Vec<f64>, LossError> {
    let non_finite = |index: usize| LossError::OutOfDomain {
        name: "F(prefix)",
        index,
        requirement: "finite (F of every prefix, the empty one included)",
    };
    let mut prev = f(&[]);
    if !prev.is_finite() {
        return Err(non_finite(0));
    }
    let mut gains = Vec::with_capacity(trajectory.len());
    for j in 0..trajectory.len() {
        let cur = f(&trajectory[..=j]);
        if !cur.is_finite() {
            return Err(non_finite(j + 1));
        }
        gains.push(cur - prev);
        prev = cur;
    }
    Ok(gains)
}

/// SubPO's policy-gradient surrogate loss.
///
/// # Shapes
/// - `log_probs`: `[B, H]` — `log π(a_i | s_i, i)`, differentiable
/// - `gains`: `[B, H]` — marginal gains `Δ_i` (treated as constants)
/// - `mask`: `[B, H]` — 1 on valid steps, 0 on padding
/// - returns a loss of shape `[1]`: `−(1/B) Σ_b Σ_i m·logπ·(G − b)`.
///
/// # Errors
/// [`LossError::InvalidParameter`] for a bad `gain_scale`; [`LossError::ShapeMismatch`] when the
/// three shapes differ; [`LossError::EmptyBatch`] when `B·H = 0`.
///
/// # References
/// arXiv 2307.13372; see the module docs.
pub fn subpo_policy_gradient_loss<B: Backend>(
    log_probs: Tensor<B, 2>,
    gains: Tensor<B, 2>,
    mask: Tensor<B, 2>,
    config: &SubpoConfig,
) -> Result<Tensor<B, 1>, LossError> {
    Ok(config
        .init()?
        .forward(SubpoBatch {
            log_probs,
            gains,
            mask,
        })?
        .loss)
}

fn subpo_forward<B: Backend>(
    batch: SubpoBatch<B>,
    config: &SubpoConfig,
) -> Result<LossOutput<B, SubpoMetrics<B>>, LossError> {
    let SubpoBatch {
        log_probs,
        gains,
        mask,
    } = batch;
    let dims = log_probs.dims();
    for (name, t) in [("gains", &gains), ("mask", &mask)] {
        if t.dims() != dims {
            return Err(LossError::ShapeMismatch {
                name,
                actual: t.dims().to_vec(),
                expected: dims.to_vec(),
            });
        }
    }
    let [batch, horizon] = dims;
    if batch * horizon == 0 {
        return Err(LossError::EmptyBatch { name: "log_probs" });
    }
    let watch = FiniteWatch::new()
        .watch(&log_probs)
        .watch(&gains)
        .watch(&mask);
    let gains = (gains * mask.clone())
        .div_scalar(config.gain_scale)
        .detach();
    let mean_return = gains.clone().sum().div_scalar(batch as f64);
    let to_go = match config.weighting {
        // Gain-to-go: reverse cumulative sum along the step axis.
        SubpoWeighting::RewardToGo => gains.flip([1]).cumsum(1).flip([1]),
        // F of the prefix up to and including step i.
        SubpoWeighting::CumulativeToDate => gains.cumsum(1),
    };
    let to_go_mean = to_go_valid(&to_go, &mask);
    let weights = match config.baseline {
        SubpoBaseline::None => to_go,
        SubpoBaseline::BatchMean => {
            let count = mask.clone().sum_dim(0).clamp_min(1.0);
            let mean = (to_go.clone() * mask.clone()).sum_dim(0) / count;
            to_go - mean
        }
    };
    let mean_gain_to_go = to_go_mean.detach();
    let weights = (weights * mask.clone()).detach();
    let objective = (log_probs * mask * weights).sum().div_scalar(batch as f64);
    let metrics = SubpoMetrics {
        mean_return,
        mean_gain_to_go,
    };
    Ok(LossOutput::new(objective.neg(), metrics, watch))
}

/// Mean of `x` over the valid steps of `mask`.
fn to_go_valid<B: Backend>(x: &Tensor<B, 2>, mask: &Tensor<B, 2>) -> Tensor<B, 1> {
    (x.clone() * mask.clone()).sum() / mask.clone().sum().clamp_min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };
    use std::collections::BTreeSet;

    /// Coverage of a 1-D grid: the number of distinct cells within distance 1 of a visited cell.
    fn coverage(states: &[i32]) -> f64 {
        let cells: BTreeSet<i32> = states.iter().flat_map(|&s| [s - 1, s, s + 1]).collect();
        cells.len() as f64
    }

    #[test]
    fn marginal_gains_of_coverage() {
        // Prefix coverages: 3 (0), 4 (0,1), 4 (0,1,0), 7 (0,1,0,5) -> gains 3,1,0,3.
        let g = marginal_gains(&[0, 1, 0, 5], coverage).unwrap();
        assert_close(&g, &[3.0, 1.0, 0.0, 3.0], 0.0, 0.0);
        // Gains telescope to F(τ) − F(∅).
        assert_close(
            &[g.iter().sum::<f64>()],
            &[coverage(&[0, 1, 0, 5])],
            0.0,
            0.0,
        );
        let err = marginal_gains(
            &[1, 2],
            |s: &[i32]| if s.len() == 2 { f64::NAN } else { 0.0 },
        )
        .unwrap_err();
        assert!(matches!(
            err,
            LossError::OutOfDomain {
                name: "F(prefix)",
                index: 2,
                ..
            }
        ));
        // Issue #19: the empty prefix is checked too, and gain_scale = 0 is refused at init.
        let err = marginal_gains(
            &[1],
            |s: &[i32]| if s.is_empty() { f64::INFINITY } else { 0.0 },
        )
        .unwrap_err();
        assert!(matches!(err, LossError::OutOfDomain { index: 0, .. }));
        assert!(matches!(
            SubpoConfig::new().with_gain_scale(0.0).init(),
            Err(LossError::InvalidParameter {
                name: "gain_scale",
                ..
            })
        ));
    }

    const LP: [f64; 6] = [-0.5, -1.2, -0.3, -2.0, -0.7, -0.1];
    const GAINS: [f64; 6] = [3.0, 1.0, 0.0, 2.0, 2.0, 5.0];
    const MASK: [f64; 6] = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0];

    /// f64 host re-derivation of the surrogate (batch-mean baseline).
    fn host_loss(lp: &[f64]) -> f64 {
        let (b, h) = (2, 3);
        let mut to_go = [0.0; 6];
        for r in 0..b {
            let mut acc = 0.0;
            for i in (0..h).rev() {
                acc += GAINS[r * h + i] * MASK[r * h + i];
                to_go[r * h + i] = acc;
            }
        }
        let mut loss = 0.0;
        for i in 0..h {
            let n: f64 = (0..b).map(|r| MASK[r * h + i]).sum::<f64>().max(1.0);
            let mean: f64 = (0..b)
                .map(|r| to_go[r * h + i] * MASK[r * h + i])
                .sum::<f64>()
                / n;
            for r in 0..b {
                let k = r * h + i;
                loss -= MASK[k] * lp[k] * (to_go[k] - mean) * MASK[k];
            }
        }
        loss / b as f64
    }

    // numpy golden:
    //   lp=np.array(LP).reshape(2,3); g=np.array(GAINS).reshape(2,3); m=np.array(MASK).reshape(2,3)
    //   G=np.flip(np.cumsum(np.flip(g*m,1),1),1)          # [[4,1,0],[4,2,0]]
    //   b=(G*m).sum(0)/np.maximum(m.sum(0),1)              # [4,1.5,0]
    //   print(-(m*lp*(G-b)*m).sum()/2)                     # -> -0.125
    #[test]
    fn golden_value_with_batch_mean_baseline() {
        let d = device();
        let t = |v: &[f64]| tensor::<TestBackend, 2>(v, [2, 3], &d);
        let loss =
            subpo_policy_gradient_loss(t(&LP), t(&GAINS), t(&MASK), &SubpoConfig::new()).unwrap();
        assert_close(&to_vec(loss), &[-0.125], 1e-6, 1e-7);
        assert_close(&[host_loss(&LP)], &[-0.125], 1e-12, 1e-12);
    }

    #[test]
    fn without_baseline_equals_gain_to_go_weighting() {
        let d = device();
        let t = |v: &[f64]| tensor::<TestBackend, 2>(v, [2, 3], &d);
        let cfg = SubpoConfig::new().with_baseline(SubpoBaseline::None);
        let loss = subpo_policy_gradient_loss(t(&LP), t(&GAINS), t(&MASK), &cfg).unwrap();
        // G = [[4,1,0],[4,2,0]]: -(−0.5·4 −1.2·1 −0.3·0 −2·4 −0.7·2)/2 = 6.3
        assert_close(&to_vec(loss), &[6.3], 1e-6, 1e-7);
    }

    #[test]
    fn cumulative_to_date_weighting_is_the_official_codes() {
        // Weights F(τ_{0:i+1}) = cumsum(m·Δ): [[3,4,4],[2,4,4]]; batch-mean baseline per step:
        // [2.5, 4, 4] -> centred [[0.5,0,0],[-0.5,0,0]]; loss = −(−0.5·0.5 + (−2)·(−0.5))/2.
        let d = device();
        let t = |v: &[f64]| tensor::<TestBackend, 2>(v, [2, 3], &d);
        let cfg = SubpoConfig::new().with_weighting(SubpoWeighting::CumulativeToDate);
        let loss = subpo_policy_gradient_loss(t(&LP), t(&GAINS), t(&MASK), &cfg).unwrap();
        assert_close(
            &to_vec(loss),
            &[-(-0.5 * 0.5 + -2.0 * -0.5) / 2.0],
            1e-6,
            1e-7,
        );
        // Without a baseline: −Σ m·logπ·F / 2.
        let cfg = cfg.with_baseline(SubpoBaseline::None);
        let loss = subpo_policy_gradient_loss(t(&LP), t(&GAINS), t(&MASK), &cfg).unwrap();
        let want = -(-0.5 * 3.0 - 1.2 * 4.0 - 0.3 * 4.0 - 2.0 * 2.0 - 0.7 * 4.0) / 2.0;
        assert_close(&to_vec(loss), &[want], 1e-6, 1e-7);
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let lp = tensor::<TestAutodiffBackend, 2>(&LP, [2, 3], &d).require_grad();
        let t = |v: &[f64]| tensor::<TestAutodiffBackend, 2>(v, [2, 3], &d);
        let loss = subpo_policy_gradient_loss(lp.clone(), t(&GAINS), t(&MASK), &SubpoConfig::new())
            .unwrap();
        let g = to_vec(lp.grad(&loss.backward()).unwrap());
        let fd = finite_difference(host_loss, &LP, 1e-6);
        assert_close(&g, &fd, 1e-4, 1e-6);
    }

    #[test]
    fn bad_shapes_and_empty_batches_are_typed_errors() {
        let d = device();
        let a = tensor::<TestBackend, 2>(&LP, [2, 3], &d);
        let b = tensor::<TestBackend, 2>(&LP, [3, 2], &d);
        let err =
            subpo_policy_gradient_loss(a.clone(), b, a.clone(), &SubpoConfig::new()).unwrap_err();
        assert!(matches!(
            err,
            LossError::ShapeMismatch { name: "gains", .. }
        ));
        let e = || tensor::<TestBackend, 2>(&[], [0, 3], &d);
        let err = subpo_policy_gradient_loss(e(), e(), e(), &SubpoConfig::new()).unwrap_err();
        assert_eq!(err, LossError::EmptyBatch { name: "log_probs" });
    }
}
