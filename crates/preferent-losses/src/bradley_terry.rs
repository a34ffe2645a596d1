//! Bradley-Terry reward-model loss on scalar rewards of (chosen, rejected) pairs, with TRL's
//! optional per-pair margin and reward-centering penalty.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::base::{dmean, frac_greater, PreferenceLoss};
use crate::beyond_checks::{finite_tensor, non_empty, non_negative, same_shape};
use crate::error::LossError;
use crate::numerics::log_sigmoid;
use crate::output::{FiniteWatch, LossOutput};
use crate::{scalar_metrics, validated_loss};

/// Hyperparameters of [`bradley_terry_loss`]. Defaults from TRL `RewardConfig`.
#[derive(Config, Debug)]
pub struct BradleyTerryConfig {
    /// Coefficient of the centering penalty `mean((r_c + r_r)²)` (≥ 0), which pushes rewards to
    /// zero mean (Eisenstein et al., arXiv 2312.09244). Source: TRL
    /// `RewardConfig.center_rewards_coefficient = None` (off).
    pub center_rewards_coefficient: Option<f64>,
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞.
    #[config(default = false)]
    pub check_finite: bool,
}

impl BradleyTerryConfig {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<(), LossError> {
        match self.center_rewards_coefficient {
            Some(c) => non_negative("center_rewards_coefficient", c),
            None => Ok(()),
        }
    }
}

scalar_metrics! {
    /// Detached reward-model metrics, `[1]` tensors.
    pub struct BradleyTerryMetrics => BradleyTerryMetricsHost {
        /// `accuracy`: fraction of pairs with r_c > r_r (ties count 0), as TRL's
        /// `compute_accuracy`.
        accuracy: "accuracy",
        /// Mean of r_c − r_r.
        margin: "margin",
        /// Mean chosen reward.
        rewards_chosen: "rewards/chosen",
        /// Mean rejected reward.
        rewards_rejected: "rewards/rejected",
        /// The centering penalty `mean((r_c + r_r)²)` before weighting.
        center_penalty: "center_penalty",
    }
}

validated_loss! {
    /// Bradley–Terry, validated ([`BradleyTerryConfig::init`]); see [`bradley_terry_loss`].
    BradleyTerryConfig => BradleyTerryLoss
}

/// One reward-model batch: scalar rewards of (chosen, rejected) pairs.
///
/// # Shapes
/// Every tensor `[B]`.
#[derive(Debug, Clone)]
pub struct BradleyTerryBatch<B: Backend> {
    /// Rewards of the chosen completions.
    pub rewards_chosen: Tensor<B, 1>,
    /// Rewards of the rejected completions.
    pub rewards_rejected: Tensor<B, 1>,
    /// Optional per-pair margin (TRL's `margin` column).
    pub margin: Option<Tensor<B, 1>>,
}

impl<B: Backend> PreferenceLoss<B> for BradleyTerryLoss {
    type Batch = BradleyTerryBatch<B>;
    type Metrics = BradleyTerryMetrics<B>;

    fn forward(
        &self,
        batch: BradleyTerryBatch<B>,
    ) -> Result<LossOutput<B, BradleyTerryMetrics<B>>, LossError> {
        bradley_terry_forward(batch, &self.config)
    }
}

/// Pairwise Bradley-Terry loss for training a scalar reward model.
///
/// ```text
/// loss = −mean_i log σ(r_c,i − r_r,i − m_i) + c·mean_i (r_c,i + r_r,i)²
/// ```
/// `m` is the optional per-pair margin (TRL's `margin` column; 0 when `None`) and `c` the
/// `center_rewards_coefficient` (term omitted when `None`).
///
/// # Shapes
/// `rewards_chosen`, `rewards_rejected`, `margin`: `[B]` → loss `[1]`.
///
/// # Errors
/// [`LossError::InvalidParameter`], [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], and
/// [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Bradley & Terry (1952); Ouyang et al., arXiv 2203.02155, Eq. 1; Touvron et al. (Llama 2)
/// arXiv 2307.09288, Eq. 2 (margin); TRL `trl/trainer/reward_trainer.py::compute_loss`.
pub fn bradley_terry_loss<B: Backend>(
    rewards_chosen: Tensor<B, 1>,
    rewards_rejected: Tensor<B, 1>,
    margin: Option<Tensor<B, 1>>,
    config: &BradleyTerryConfig,
) -> Result<LossOutput<B, BradleyTerryMetrics<B>>, LossError> {
    config.init()?.forward(BradleyTerryBatch {
        rewards_chosen,
        rewards_rejected,
        margin,
    })
}

fn bradley_terry_forward<B: Backend>(
    batch: BradleyTerryBatch<B>,
    config: &BradleyTerryConfig,
) -> Result<LossOutput<B, BradleyTerryMetrics<B>>, LossError> {
    let BradleyTerryBatch {
        rewards_chosen,
        rewards_rejected,
        margin,
    } = batch;
    let dims = rewards_chosen.dims();
    non_empty("rewards_chosen", &dims)?;
    same_shape("rewards_rejected", &rewards_rejected.dims(), &dims)?;
    if let Some(m) = &margin {
        same_shape("margin", &m.dims(), &dims)?;
    }
    if config.check_finite {
        finite_tensor("rewards_chosen", &rewards_chosen)?;
        finite_tensor("rewards_rejected", &rewards_rejected)?;
        if let Some(m) = &margin {
            finite_tensor("margin", m)?;
        }
    }
    let watch = FiniteWatch::new()
        .watch(&rewards_chosen)
        .watch(&rewards_rejected)
        .watch_opt(margin.as_ref());
    let diff = rewards_chosen.clone() - rewards_rejected.clone();
    let logits = match margin {
        Some(m) => diff.clone() - m,
        None => diff.clone(),
    };
    let center = (rewards_chosen.clone() + rewards_rejected.clone())
        .square()
        .mean();
    let mut loss = log_sigmoid(logits).neg().mean();
    if let Some(c) = config.center_rewards_coefficient {
        loss = loss + center.clone().mul_scalar(c);
    }
    let metrics = BradleyTerryMetrics {
        accuracy: frac_greater(&rewards_chosen, &rewards_rejected),
        margin: dmean(&diff),
        rewards_chosen: dmean(&rewards_chosen),
        rewards_rejected: dmean(&rewards_rejected),
        center_penalty: center.detach(),
    };
    Ok(LossOutput::new(loss, metrics, watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    const RC: [f64; 5] = [1.5, -0.3, 2.0, 600.0, -0.7];
    const RR: [f64; 5] = [0.5, 0.2, 2.0, -550.0, 800.0];
    const MG: [f64; 5] = [0.0, 0.5, 1.0, 2.0, 0.0];

    // Goldens: tests/reference/beyond_ranking.py (numpy float64).
    #[test]
    fn forward_goldens_with_extreme_rewards() {
        let d = device();
        let rc = || tensor::<TestBackend, 1>(&RC, [5], &d);
        let rr = || tensor::<TestBackend, 1>(&RR, [5], &d);
        let mg = || Some(tensor::<TestBackend, 1>(&MG, [5], &d));
        let out = bradley_terry_loss(rc(), rr(), None, &BradleyTerryConfig::new()).unwrap();
        assert_close(&to_vec(out.loss), &[160.53609717045168], 1e-5, 1e-4);
        assert_close(
            &[out.metrics.read().accuracy, out.metrics.read().margin],
            &[0.4, 69.96],
            1e-5,
            1e-4,
        );
        let out = bradley_terry_loss(rc(), rr(), mg(), &BradleyTerryConfig::new()).unwrap();
        assert_close(&to_vec(out.loss), &[160.72795701251093], 1e-5, 1e-4);
        let cfg = BradleyTerryConfig::new().with_center_rewards_coefficient(Some(0.01));
        let out = bradley_terry_loss(rc(), rr(), mg(), &cfg).unwrap();
        assert_close(&to_vec(out.loss), &[1443.5289570125105], 1e-5, 1e-3);
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let rc = [1.5, -0.3, 2.0, 0.1];
        let rr = [0.5, 0.2, 2.0, -1.0];
        let mg = [0.0, 0.5, 1.0, 0.25];
        let c = tensor::<TestAutodiffBackend, 1>(&rc, [4], &d).require_grad();
        let r = tensor::<TestAutodiffBackend, 1>(&rr, [4], &d).require_grad();
        let cfg = BradleyTerryConfig::new().with_center_rewards_coefficient(Some(0.1));
        let out =
            bradley_terry_loss(c.clone(), r.clone(), Some(tensor(&mg, [4], &d)), &cfg).unwrap();
        let grads = out.loss.backward();
        let mut g = to_vec(c.grad(&grads).unwrap());
        g.extend(to_vec(r.grad(&grads).unwrap()));
        let host_fn = |v: &[f64]| {
            let ls = |x: f64| x.min(0.0) - (-x.abs()).exp().ln_1p();
            (0..4)
                .map(|i| -ls(v[i] - v[4 + i] - mg[i]) + 0.1 * (v[i] + v[4 + i]).powi(2))
                .sum::<f64>()
                / 4.0
        };
        let x: Vec<f64> = rc.iter().chain(&rr).copied().collect();
        assert_close(&g, &finite_difference(host_fn, &x, 1e-5), 1e-3, 1e-5);
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let a = || tensor::<TestBackend, 1>(&[1.0, 2.0], [2], &d);
        let cfg = BradleyTerryConfig::new();
        let e = bradley_terry_loss(a(), a(), Some(tensor(&[1.0], [1], &d)), &cfg).unwrap_err();
        assert!(matches!(e, LossError::ShapeMismatch { name: "margin", .. }));
        let empty = || tensor::<TestBackend, 1>(&[], [0], &d);
        let e = bradley_terry_loss(empty(), empty(), None, &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let bad = BradleyTerryConfig::new().with_center_rewards_coefficient(Some(-1.0));
        let e = bradley_terry_loss(a(), a(), None, &bad).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter {
                name: "center_rewards_coefficient",
                ..
            }
        ));
        let checked = BradleyTerryConfig::new().with_check_finite(true);
        let inf = tensor::<TestBackend, 1>(&[1.0, f64::INFINITY], [2], &d);
        let e = bradley_terry_loss(a(), inf, None, &checked).unwrap_err();
        assert_eq!(
            e,
            LossError::NonFinite {
                name: "rewards_rejected"
            }
        );
    }
}
