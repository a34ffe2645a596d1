//! SimPO: reference-free preference optimisation on length-averaged log-probs with a target
//! reward margin, plus the optional CPO-SimPO NLL term.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::base::{dmean, frac_greater, PreferenceLoss};
use crate::beyond_checks::{finite_tensor, non_empty, non_negative, positive, same_shape};
use crate::error::LossError;
use crate::numerics::log_sigmoid;
use crate::output::{FiniteWatch, LossOutput};
use crate::{scalar_metrics, validated_loss};

/// The per-pair SimPO loss shape.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum SimpoLossType {
    /// `−(1−ε)·log σ(β·z) − ε·log σ(−β·z)` (the paper's loss; ε = 0 by default).
    Sigmoid,
    /// `max(0, 1 − β·z)` (offered by the official trainer; ignores label smoothing).
    Hinge,
}

/// Hyperparameters of [`simpo_loss`].
///
/// Defaults are those of the official trainer, `princeton-nlp/SimPO` `scripts/simpo_config.py`:
/// β = 2.0, `gamma_beta_ratio` = 0.25, `label_smoothing` = 0, `sft_weight` = 0. TRL's CPO trainer
/// with `loss_type="simpo"` instead defaults to β = 0.1, γ = 0.5 and `cpo_alpha` = 1.0
/// ("CPO-SimPO"); set `sft_weight` to reproduce it.
#[derive(Config, Debug)]
pub struct SimpoConfig {
    /// Reward scale β (> 0). Source: `simpo_config.py` `beta = 2.0`.
    #[config(default = 2.0)]
    pub beta: f64,
    /// Target margin divided by β, γ/β (≥ 0). Source: `simpo_config.py` `gamma_beta_ratio = 0.25`
    /// (the README recommends 0.5; released runs use 0.1–0.8).
    #[config(default = 0.25)]
    pub gamma_beta_ratio: f64,
    /// Label smoothing ε in `[0, 0.5)` for [`SimpoLossType::Sigmoid`]. Source: default 0.
    #[config(default = 0.0)]
    pub label_smoothing: f64,
    /// Weight α of the CPO-SimPO NLL term `−mean(ā_w)` (≥ 0). Source: official `sft_weight = 0`;
    /// TRL `cpo_alpha = 1.0`.
    #[config(default = 0.0)]
    pub sft_weight: f64,
    /// Which per-pair loss to use.
    #[config(default = "SimpoLossType::Sigmoid")]
    pub loss_type: SimpoLossType,
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞.
    #[config(default = false)]
    pub check_finite: bool,
}

impl SimpoConfig {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<(), LossError> {
        positive("beta", self.beta)?;
        non_negative("gamma_beta_ratio", self.gamma_beta_ratio)?;
        non_negative("sft_weight", self.sft_weight)?;
        if !(self.label_smoothing.is_finite() && (0.0..0.5).contains(&self.label_smoothing)) {
            return Err(LossError::InvalidParameter {
                name: "label_smoothing",
                value: self.label_smoothing,
                requirement: "in [0, 0.5)",
            });
        }
        Ok(())
    }
}

scalar_metrics! {
    /// Detached SimPO metrics (the names TRL's CPO trainer logs), `[1]` tensors.
    pub struct SimpoMetrics => SimpoMetricsHost {
        /// `rewards/chosen`: mean of β·ā_w.
        rewards_chosen: "rewards/chosen",
        /// `rewards/rejected`: mean of β·ā_l.
        rewards_rejected: "rewards/rejected",
        /// `rewards/margins`: mean of β·(ā_w − ā_l).
        rewards_margins: "rewards/margins",
        /// `rewards/accuracies`: fraction of pairs with β·ā_w > β·ā_l (ties count 0).
        rewards_accuracies: "rewards/accuracies",
        /// The preference part of the loss (mean per-pair loss).
        preference_loss: "preference_loss",
        /// The NLL part before weighting, `−mean(ā_w)`.
        sft_loss: "sft_loss",
    }
}

validated_loss! {
    /// SimPO, validated ([`SimpoConfig::init`]); see [`simpo_loss`] for the formula.
    SimpoConfig => SimpoLoss
}

/// One SimPO batch: length-averaged log-probs of the chosen and rejected completions.
///
/// # Shapes
/// Both `[B]`.
#[derive(Debug, Clone)]
pub struct SimpoBatch<B: Backend> {
    /// `ā_w`, the mean token log-prob of each chosen completion.
    pub chosen_avg_logps: Tensor<B, 1>,
    /// `ā_l`, the mean token log-prob of each rejected completion.
    pub rejected_avg_logps: Tensor<B, 1>,
}

impl<B: Backend> PreferenceLoss<B> for SimpoLoss {
    type Batch = SimpoBatch<B>;
    type Metrics = SimpoMetrics<B>;

    fn forward(&self, batch: SimpoBatch<B>) -> Result<LossOutput<B, SimpoMetrics<B>>, LossError> {
        simpo_forward(
            batch.chosen_avg_logps,
            batch.rejected_avg_logps,
            &self.config,
        )
    }
}

/// SimPO loss on length-averaged sequence log-probs.
///
/// ```text
/// z_i  = ā_w,i − ā_l,i − γ/β            ā = (1/|y|)·Σ_t log π(y_t | x, y_<t)
/// ℓ_i  = −(1−ε)·log σ(β z_i) − ε·log σ(−β z_i)      (Sigmoid)
///      = max(0, 1 − β z_i)                            (Hinge)
/// loss = mean_i ℓ_i + α·mean_i(−ā_w,i)               (α = sft_weight; CPO-SimPO when α > 0)
/// ```
///
/// With γ = 0 and every sequence of length L this is reference-free DPO with β' = β/L on summed
/// log-probs.
///
/// # Shapes
/// `chosen_avg_logps`, `rejected_avg_logps`: `[B]` (B ≥ 1) → loss `[1]`.
///
/// # Errors
/// [`LossError::InvalidParameter`] for a bad config, [`LossError::ShapeMismatch`],
/// [`LossError::EmptyBatch`], and [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Meng, Xia, Chen, "SimPO", arXiv 2405.14734, Eq. 6; `princeton-nlp/SimPO`
/// `scripts/simpo_trainer.py::simpo_loss`; TRL `trl/experimental/cpo/cpo_trainer.py::cpo_loss`.
pub fn simpo_loss<B: Backend>(
    chosen_avg_logps: Tensor<B, 1>,
    rejected_avg_logps: Tensor<B, 1>,
    config: &SimpoConfig,
) -> Result<LossOutput<B, SimpoMetrics<B>>, LossError> {
    config.init()?.forward(SimpoBatch {
        chosen_avg_logps,
        rejected_avg_logps,
    })
}

fn simpo_forward<B: Backend>(
    chosen_avg_logps: Tensor<B, 1>,
    rejected_avg_logps: Tensor<B, 1>,
    config: &SimpoConfig,
) -> Result<LossOutput<B, SimpoMetrics<B>>, LossError> {
    let dims = chosen_avg_logps.dims();
    non_empty("chosen_avg_logps", &dims)?;
    same_shape("rejected_avg_logps", &rejected_avg_logps.dims(), &dims)?;
    if config.check_finite {
        finite_tensor("chosen_avg_logps", &chosen_avg_logps)?;
        finite_tensor("rejected_avg_logps", &rejected_avg_logps)?;
    }
    let beta = config.beta;
    let z = (chosen_avg_logps.clone() - rejected_avg_logps.clone())
        .sub_scalar(config.gamma_beta_ratio)
        .mul_scalar(beta);
    let per_pair = match config.loss_type {
        SimpoLossType::Sigmoid => {
            let eps = config.label_smoothing;
            let mut l = log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps));
            if eps > 0.0 {
                l = l - log_sigmoid(z.neg()).mul_scalar(eps);
            }
            l
        }
        SimpoLossType::Hinge => z.neg().add_scalar(1.0).clamp_min(0.0),
    };
    let preference = per_pair.mean();
    let sft = chosen_avg_logps.clone().neg().mean();
    let loss = if config.sft_weight > 0.0 {
        preference.clone() + sft.clone().mul_scalar(config.sft_weight)
    } else {
        preference.clone()
    };

    let watch = FiniteWatch::new()
        .watch(&chosen_avg_logps)
        .watch(&rejected_avg_logps);
    let w = chosen_avg_logps.detach().mul_scalar(beta);
    let l = rejected_avg_logps.detach().mul_scalar(beta);
    let metrics = SimpoMetrics {
        rewards_chosen: dmean(&w),
        rewards_rejected: dmean(&l),
        rewards_margins: dmean(&(w.clone() - l.clone())),
        rewards_accuracies: frac_greater(&w, &l),
        preference_loss: preference.detach(),
        sft_loss: sft.detach(),
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

    const AW: [f64; 6] = [-0.8, -1.2, -0.3, -2.5, -600.0, -0.5];
    const AL: [f64; 6] = [-1.1, -0.9, -0.35, -2.0, -0.5, -700.0];

    fn run(config: &SimpoConfig) -> LossOutput<TestBackend, SimpoMetrics<TestBackend>> {
        let d = device();
        simpo_loss(
            tensor::<TestBackend, 1>(&AW, [6], &d),
            tensor::<TestBackend, 1>(&AL, [6], &d),
            config,
        )
        .expect("valid input")
    }

    // Goldens: tests/reference/beyond_simpo.py (numpy, float64).
    #[test]
    fn forward_goldens_with_extreme_log_probs() {
        let out = run(&SimpoConfig::new());
        let v = to_vec(out.loss);
        assert!(v[0].is_finite());
        assert_close(&v, &[200.69102675259526], 1e-5, 1e-4);
        let m = out.metrics.read();
        assert_close(
            &[
                m.rewards_chosen,
                m.rewards_rejected,
                m.rewards_margins,
                m.rewards_accuracies,
            ],
            &[
                -201.76666666666665,
                -234.95000000000002,
                33.183333333333316,
                0.5,
            ],
            1e-5,
            1e-4,
        );

        let cfg = SimpoConfig::new()
            .with_beta(2.5)
            .with_gamma_beta_ratio(0.55)
            .with_label_smoothing(0.1)
            .with_sft_weight(1.0);
        assert_close(&to_vec(run(&cfg).loss), &[356.16264803967306], 1e-5, 1e-4);

        let cfg = SimpoConfig::new().with_loss_type(SimpoLossType::Hinge);
        assert_close(&to_vec(run(&cfg).loss), &[201.23333333333335], 1e-5, 1e-4);
    }

    fn host_simpo(v: &[f64], beta: f64, ratio: f64, eps: f64, sft: f64) -> f64 {
        let n = v.len() / 2;
        let ls = |x: f64| x.min(0.0) - (-x.abs()).exp().ln_1p();
        let mut tot = 0.0;
        for i in 0..n {
            let z = beta * (v[i] - v[n + i] - ratio);
            tot += -(1.0 - eps) * ls(z) - eps * ls(-z) - sft * v[i];
        }
        tot / n as f64
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let aw = [-0.8, -1.2, -0.3, -2.5];
        let al = [-1.1, -0.9, -0.35, -2.0];
        let cfg = SimpoConfig::new()
            .with_label_smoothing(0.1)
            .with_sft_weight(0.5);
        let w = tensor::<TestAutodiffBackend, 1>(&aw, [4], &d).require_grad();
        let l = tensor::<TestAutodiffBackend, 1>(&al, [4], &d).require_grad();
        let out = simpo_loss(w.clone(), l.clone(), &cfg).unwrap();
        let grads = out.loss.backward();
        let mut g = to_vec(w.grad(&grads).unwrap());
        g.extend(to_vec(l.grad(&grads).unwrap()));
        let x: Vec<f64> = aw.iter().chain(&al).copied().collect();
        let fd = finite_difference(|v| host_simpo(v, 2.0, 0.25, 0.1, 0.5), &x, 1e-5);
        assert_close(&g, &fd, 1e-3, 1e-5);
    }

    /// γ = 0, all lengths L: SimPO(β) on ā = lp/L equals reference-free DPO with β/L on lp.
    #[test]
    fn zero_margin_equal_lengths_is_reference_free_dpo() {
        let d = device();
        let len = 8.0;
        let lp_w = [-12.0, -30.5, -4.0, -70.0];
        let lp_l = [-15.0, -20.0, -4.5, -65.0];
        let avg = |v: &[f64]| v.iter().map(|x| x / len).collect::<Vec<_>>();
        let cfg = SimpoConfig::new().with_gamma_beta_ratio(0.0);
        let out = simpo_loss(
            tensor::<TestBackend, 1>(&avg(&lp_w), [4], &d),
            tensor::<TestBackend, 1>(&avg(&lp_l), [4], &d),
            &cfg,
        )
        .unwrap();
        let beta_dpo = cfg.beta / len;
        let logits = tensor::<TestBackend, 1>(&lp_w, [4], &d) - tensor(&lp_l, [4], &d);
        let dpo = log_sigmoid(logits.mul_scalar(beta_dpo)).neg().mean();
        assert_close(&to_vec(out.loss), &to_vec(dpo), 1e-5, 1e-6);
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let a = || tensor::<TestBackend, 1>(&[-1.0, -2.0], [2], &d);
        let cfg = SimpoConfig::new();
        let e = simpo_loss(a(), tensor(&[-1.0], [1], &d), &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "rejected_avg_logps",
                ..
            }
        ));
        let empty = || tensor::<TestBackend, 1>(&[], [0], &d);
        let e = simpo_loss(empty(), empty(), &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let e = simpo_loss(a(), a(), &SimpoConfig::new().with_beta(0.0)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "beta", .. }
        ));
        let e = simpo_loss(a(), a(), &SimpoConfig::new().with_label_smoothing(0.5)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter {
                name: "label_smoothing",
                ..
            }
        ));
        let nan = tensor::<TestBackend, 1>(&[-1.0, f64::NAN], [2], &d);
        let checked = SimpoConfig::new().with_check_finite(true);
        let e = simpo_loss(a(), nan, &checked).unwrap_err();
        assert_eq!(
            e,
            LossError::NonFinite {
                name: "rejected_avg_logps"
            }
        );
    }
}
