//! SRPO: self-improving robust preference optimisation, an IPO-like squared loss that trains one
//! model both to generate and to improve a draft placed in its context.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::base::{dmean, frac_greater, PreferenceLoss};
use crate::beyond_checks::{finite_tensor, non_empty, positive, same_shape};
use crate::error::LossError;
use crate::output::{FiniteWatch, LossOutput};
use crate::{scalar_metrics, validated_loss};

/// Hyperparameters of [`srpo_loss`].
///
/// SRPO has no released reference implementation with published defaults (TRL PR #1772 was
/// never merged); β = 0.1 follows TRL's DPO/IPO default and α = 0.5 weighs both terms equally.
#[derive(Config, Debug)]
pub struct SrpoConfig {
    /// KL strength β (> 0). Default 0.1 (TRL DPO convention; see the struct docs).
    #[config(default = 0.1)]
    pub beta: f64,
    /// Weight α ∈ [0, 1] of the self-improvement term; the generative term gets 1 − α.
    #[config(default = 0.5)]
    pub alpha: f64,
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞.
    #[config(default = false)]
    pub check_finite: bool,
}

impl SrpoConfig {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<(), LossError> {
        positive("beta", self.beta)?;
        if !(self.alpha.is_finite() && (0.0..=1.0).contains(&self.alpha)) {
            return Err(LossError::InvalidParameter {
                name: "alpha",
                value: self.alpha,
                requirement: "in [0, 1]",
            });
        }
        Ok(())
    }
}

/// The six summed sequence log-probs SRPO needs per pair, under one model (policy or reference).
///
/// "`a` given `b`" is the log-prob of completion `a` when the model is asked to improve the draft
/// `b` (the draft placed in context after the prompt).
#[derive(Debug, Clone)]
pub struct SrpoLogps<B: Backend> {
    /// log π(y_w | x), `[B]`.
    pub chosen: Tensor<B, 1>,
    /// log π(y_l | x), `[B]`.
    pub rejected: Tensor<B, 1>,
    /// log π(y_w | x, y_l): improving the rejected draft into the chosen one, `[B]`.
    pub chosen_given_rejected: Tensor<B, 1>,
    /// log π(y_l | x, y_l), `[B]`.
    pub rejected_given_rejected: Tensor<B, 1>,
    /// log π(y_w | x, y_w), `[B]`.
    pub chosen_given_chosen: Tensor<B, 1>,
    /// log π(y_l | x, y_w), `[B]`.
    pub rejected_given_chosen: Tensor<B, 1>,
}

const POLICY_NAMES: [&str; 6] = [
    "policy.chosen",
    "policy.rejected",
    "policy.chosen_given_rejected",
    "policy.rejected_given_rejected",
    "policy.chosen_given_chosen",
    "policy.rejected_given_chosen",
];
const REFERENCE_NAMES: [&str; 6] = [
    "reference.chosen",
    "reference.rejected",
    "reference.chosen_given_rejected",
    "reference.rejected_given_rejected",
    "reference.chosen_given_chosen",
    "reference.rejected_given_chosen",
];

impl<B: Backend> SrpoLogps<B> {
    fn fields(&self, names: [&'static str; 6]) -> [(&'static str, &Tensor<B, 1>); 6] {
        [
            (names[0], &self.chosen),
            (names[1], &self.rejected),
            (names[2], &self.chosen_given_rejected),
            (names[3], &self.rejected_given_rejected),
            (names[4], &self.chosen_given_chosen),
            (names[5], &self.rejected_given_chosen),
        ]
    }
}

scalar_metrics! {
    /// Detached SRPO metrics (as logged by TRL PR #1772), `[1]` tensors.
    pub struct SrpoMetrics => SrpoMetricsHost {
        /// Mean generative term.
        generative_loss: "generative_loss",
        /// Mean self-improvement term.
        self_improvement_loss: "self_improvement_loss",
        /// `rewards/chosen`: mean β·h(y_w).
        rewards_chosen: "rewards/chosen",
        /// `rewards/rejected`: mean β·h(y_l).
        rewards_rejected: "rewards/rejected",
        /// `rewards/accuracies`: fraction with h(y_w) > h(y_l).
        rewards_accuracies: "rewards/accuracies",
        /// `rewards/improvement_accuracies`: fraction with h†(y_w|y_l) > h†(y_l|y_w).
        improvement_accuracies: "rewards/improvement_accuracies",
    }
}

validated_loss! {
    /// SRPO, validated ([`SrpoConfig::init`]); see [`srpo_loss`] for the formula.
    SrpoConfig => SrpoLoss
}

/// One SRPO batch: the six log-probs under the policy and under the reference.
#[derive(Debug, Clone)]
pub struct SrpoBatch<B: Backend> {
    /// Under the policy.
    pub policy: SrpoLogps<B>,
    /// Under the frozen reference.
    pub reference: SrpoLogps<B>,
}

impl<B: Backend> PreferenceLoss<B> for SrpoLoss {
    type Batch = SrpoBatch<B>;
    type Metrics = SrpoMetrics<B>;

    fn forward(&self, batch: SrpoBatch<B>) -> Result<LossOutput<B, SrpoMetrics<B>>, LossError> {
        srpo_forward(batch.policy, batch.reference, &self.config)
    }
}

/// SRPO loss over the six policy and reference log-probs of each pair.
///
/// With h = log π − log π_ref of the same sequence:
/// ```text
/// L_self = (½ − β[h(y_w|y_l) − h(y_l|y_l)])² + (½ − β[h(y_w|y_w) − h(y_l|y_w)])²
/// L_gen  = (β[h(y_w|y_l) + h(y_w) − h(y_l|y_w) − h(y_l)] − 1)²
/// loss   = mean_i [(1 − α)·L_gen + α·L_self]
/// ```
/// The targets come from the preference probabilities P(y_w ≻ y_l) = 1 and P(y ≻ y) = ½ in the
/// paper's offline optimality conditions; the concrete form follows TRL PR #1772.
///
/// # Shapes
/// Every field of `policy` and `reference`: `[B]` → loss `[1]`.
///
/// # Errors
/// [`LossError::InvalidParameter`], [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], and
/// [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Choi et al., "Self-Improving Robust Preference Optimization", ICLR 2025, arXiv 2406.01660
/// (offline SRPO loss); TRL PR #1772 (commit `680f611`)
/// `trl/trainer/srpo_trainer.py::srpo_loss`.
pub fn srpo_loss<B: Backend>(
    policy: SrpoLogps<B>,
    reference: SrpoLogps<B>,
    config: &SrpoConfig,
) -> Result<LossOutput<B, SrpoMetrics<B>>, LossError> {
    config.init()?.forward(SrpoBatch { policy, reference })
}

fn srpo_forward<B: Backend>(
    policy: SrpoLogps<B>,
    reference: SrpoLogps<B>,
    config: &SrpoConfig,
) -> Result<LossOutput<B, SrpoMetrics<B>>, LossError> {
    let dims = policy.chosen.dims();
    non_empty("policy.chosen", &dims)?;
    for (name, t) in policy.fields(POLICY_NAMES) {
        same_shape(name, &t.dims(), &dims)?;
    }
    for (name, t) in reference.fields(REFERENCE_NAMES) {
        same_shape(name, &t.dims(), &dims)?;
    }
    if config.check_finite {
        for (name, t) in policy
            .fields(POLICY_NAMES)
            .into_iter()
            .chain(reference.fields(REFERENCE_NAMES))
        {
            finite_tensor(name, t)?;
        }
    }
    let watch = policy
        .fields(POLICY_NAMES)
        .into_iter()
        .chain(reference.fields(REFERENCE_NAMES))
        .fold(FiniteWatch::new(), |w, (_, t)| w.watch(t));
    let beta = config.beta;
    let h_w = policy.chosen - reference.chosen;
    let h_l = policy.rejected - reference.rejected;
    let h_wl = policy.chosen_given_rejected - reference.chosen_given_rejected;
    let h_ll = policy.rejected_given_rejected - reference.rejected_given_rejected;
    let h_ww = policy.chosen_given_chosen - reference.chosen_given_chosen;
    let h_lw = policy.rejected_given_chosen - reference.rejected_given_chosen;

    let given_rejected = (h_wl.clone() - h_ll)
        .mul_scalar(-beta)
        .add_scalar(0.5)
        .square();
    let given_chosen = (h_ww - h_lw.clone())
        .mul_scalar(-beta)
        .add_scalar(0.5)
        .square();
    let self_improvement = given_rejected + given_chosen;
    let generative = (h_wl.clone() + h_w.clone() - h_lw.clone() - h_l.clone())
        .mul_scalar(beta)
        .sub_scalar(1.0)
        .square();
    let alpha = config.alpha;
    let loss = (generative.clone().mul_scalar(1.0 - alpha)
        + self_improvement.clone().mul_scalar(alpha))
    .mean();

    let metrics = SrpoMetrics {
        generative_loss: dmean(&generative),
        self_improvement_loss: dmean(&self_improvement),
        rewards_chosen: dmean(&h_w).mul_scalar(beta),
        rewards_rejected: dmean(&h_l).mul_scalar(beta),
        rewards_accuracies: frac_greater(&h_w, &h_l),
        improvement_accuracies: frac_greater(&h_wl, &h_lw),
    };
    Ok(LossOutput::new(loss, metrics, watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    // Row-major [pair][field] in the field order of `SrpoLogps`.
    const POL: [f64; 18] = [
        -10.0, -12.0, -9.0, -11.5, -8.5, -12.5, //
        -20.0, -18.0, -19.0, -18.5, -21.0, -17.0, //
        -600.0, -550.0, -590.0, -560.0, -601.0, -545.0,
    ];
    const REF: [f64; 18] = [
        -11.0, -11.5, -10.0, -11.0, -9.0, -12.0, //
        -19.0, -18.5, -19.5, -18.0, -20.0, -17.5, //
        -580.0, -570.0, -585.0, -565.0, -590.0, -560.0,
    ];

    fn logps<B: Backend>(v: &[f64], d: &B::Device) -> SrpoLogps<B> {
        let n = v.len() / 6;
        let col = |j: usize| {
            let c: Vec<f64> = (0..n).map(|i| v[i * 6 + j]).collect();
            tensor::<B, 1>(&c, [n], d)
        };
        SrpoLogps {
            chosen: col(0),
            rejected: col(1),
            chosen_given_rejected: col(2),
            rejected_given_rejected: col(3),
            chosen_given_chosen: col(4),
            rejected_given_chosen: col(5),
        }
    }

    // Goldens: tests/reference/beyond_srpo_brain.py (numpy float64).
    #[test]
    fn forward_goldens_with_extreme_log_probs() {
        let d = device();
        let out = srpo_loss(
            logps::<TestBackend>(&POL, &d),
            logps(&REF, &d),
            &SrpoConfig::new(),
        )
        .unwrap();
        assert_close(&to_vec(out.loss), &[10.589583333333334], 1e-4, 1e-4);
        assert_close(
            &[
                out.metrics.read().generative_loss,
                out.metrics.read().self_improvement_loss,
            ],
            &[16.9375, 4.241666666666667],
            1e-4,
            1e-4,
        );
        let cfg = SrpoConfig::new().with_beta(0.05).with_alpha(0.2);
        let out = srpo_loss(logps::<TestBackend>(&POL, &d), logps(&REF, &d), &cfg).unwrap();
        assert_close(&to_vec(out.loss), &[5.111250000000001], 1e-4, 1e-4);
    }

    fn host_srpo(pol: &[f64], rf: &[f64], beta: f64, alpha: f64) -> f64 {
        let n = pol.len() / 6;
        let mut tot = 0.0;
        for i in 0..n {
            let h = |j: usize| pol[i * 6 + j] - rf[i * 6 + j];
            let s = (0.5 - beta * (h(2) - h(3))).powi(2) + (0.5 - beta * (h(4) - h(5))).powi(2);
            let g = (beta * (h(2) + h(0) - h(5) - h(1)) - 1.0).powi(2);
            tot += (1.0 - alpha) * g + alpha * s;
        }
        tot / n as f64
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let pol = &POL[..12];
        let rf = &REF[..12];
        let n = 2;
        let cols: Vec<Tensor<TestAutodiffBackend, 1>> = (0..6)
            .map(|j| {
                let c: Vec<f64> = (0..n).map(|i| pol[i * 6 + j]).collect();
                tensor::<TestAutodiffBackend, 1>(&c, [n], &d).require_grad()
            })
            .collect();
        let p = SrpoLogps {
            chosen: cols[0].clone(),
            rejected: cols[1].clone(),
            chosen_given_rejected: cols[2].clone(),
            rejected_given_rejected: cols[3].clone(),
            chosen_given_chosen: cols[4].clone(),
            rejected_given_chosen: cols[5].clone(),
        };
        let cfg = SrpoConfig::new().with_alpha(0.3);
        let out = srpo_loss(p, logps(rf, &d), &cfg).unwrap();
        let grads = out.loss.backward();
        // Autodiff gradient, rearranged row-major [pair][field].
        let g_cols: Vec<Vec<f64>> = cols
            .iter()
            .map(|c| to_vec(c.grad(&grads).unwrap()))
            .collect();
        let g: Vec<f64> = (0..n * 6).map(|k| g_cols[k % 6][k / 6]).collect();
        let fd = finite_difference(|v| host_srpo(v, rf, 0.1, 0.3), pol, 1e-4);
        assert_close(&g, &fd, 1e-3, 1e-5);
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let ok = || logps::<TestBackend>(&POL[..12], &d);
        let cfg = SrpoConfig::new();
        let mut bad = ok();
        bad.rejected_given_chosen = tensor(&[1.0], [1], &d);
        let e = srpo_loss(ok(), bad, &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "reference.rejected_given_chosen",
                ..
            }
        ));
        let e = srpo_loss(logps::<TestBackend>(&[], &d), logps(&[], &d), &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let e = srpo_loss(ok(), ok(), &SrpoConfig::new().with_beta(-0.1)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "beta", .. }
        ));
        let e = srpo_loss(ok(), ok(), &SrpoConfig::new().with_alpha(1.5)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "alpha", .. }
        ));
        let mut nan = ok();
        nan.chosen_given_chosen = tensor(&[f64::NAN, 0.0], [2], &d);
        let e = srpo_loss(nan, ok(), &SrpoConfig::new().with_check_finite(true)).unwrap_err();
        assert_eq!(
            e,
            LossError::NonFinite {
                name: "policy.chosen_given_chosen"
            }
        );
    }
}
