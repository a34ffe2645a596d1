//! DPORM evaluation: how often DPO's implicit reward ranks a preference pair correctly, next to
//! an explicit reward model (EXRM) on the same pairs.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::beyond_checks::{finite_tensor, fraction, host, mean, non_empty, positive, same_shape};
use crate::error::LossError;

/// Hyperparameters of [`dporm_evaluate`].
#[derive(Config, Debug)]
pub struct DpormConfig {
    /// β (> 0) of the DPO policy. It scales the margins but not the accuracy. Source: TRL
    /// `DPOConfig.beta = 0.1`.
    #[config(default = 0.1)]
    pub beta: f64,
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞.
    #[config(default = false)]
    pub check_finite: bool,
}

/// Explicit reward-model scores of the same pairs.
#[derive(Debug, Clone)]
pub struct ExplicitRewards<B: Backend> {
    /// r_φ(x, y_w), `[B]`.
    pub chosen: Tensor<B, 1>,
    /// r_φ(x, y_l), `[B]`.
    pub rejected: Tensor<B, 1>,
}

/// The comparison of the implicit (DPORM) and explicit (EXRM) reward models on one set of pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct DpormReport {
    /// Number of pairs.
    pub num_pairs: usize,
    /// Fraction of pairs with r̂(y_w) > r̂(y_l) (ties count as wrong), the same quantity as TRL's
    /// `rewards/accuracies`.
    pub dporm_accuracy: f64,
    /// Mean implicit margin β·[(lp_θ − lp_ref)(y_w) − (lp_θ − lp_ref)(y_l)].
    pub dporm_mean_margin: f64,
    /// Per-pair correctness of the implicit reward.
    pub dporm_correct: Vec<bool>,
    /// Fraction of pairs with r_φ(y_w) > r_φ(y_l), when explicit rewards were given.
    pub exrm_accuracy: Option<f64>,
    /// Per-pair correctness of the explicit reward model.
    pub exrm_correct: Option<Vec<bool>>,
    /// `exrm_accuracy − dporm_accuracy` (positive when the explicit RM generalises better, as
    /// the paper finds under distribution shift).
    pub accuracy_gap: Option<f64>,
    /// Fraction of pairs on which both models are right or both wrong.
    pub agreement: Option<f64>,
}

/// Evaluates DPO's implicit reward model as a pairwise classifier, optionally next to an explicit
/// reward model.
///
/// ```text
/// r̂(x, y)    = β·(log π_θ(y|x) − log π_ref(y|x))          (Z(x) cancels within a pair)
/// acc_DPORM  = mean_i 1[r̂(x_i, y_w,i) > r̂(x_i, y_l,i)]
/// acc_EXRM   = mean_i 1[r_φ(x_i, y_w,i) > r_φ(x_i, y_l,i)]
/// ```
/// Run it once per evaluation set (in-distribution and each shifted set) to reproduce the paper's
/// comparison. Nothing here is differentiable; every output is on the host.
///
/// # Shapes
/// All inputs `[B]`.
///
/// # Errors
/// [`LossError::InvalidParameter`], [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], and
/// [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Lin et al., "On the Limited Generalization Capability of the Implicit Reward Model Induced by
/// Direct Preference Optimization", EMNLP Findings 2024, arXiv 2409.03650.
pub fn dporm_evaluate<B: Backend>(
    policy_chosen_logps: Tensor<B, 1>,
    policy_rejected_logps: Tensor<B, 1>,
    reference_chosen_logps: Tensor<B, 1>,
    reference_rejected_logps: Tensor<B, 1>,
    explicit: Option<ExplicitRewards<B>>,
    config: &DpormConfig,
) -> Result<DpormReport, LossError> {
    positive("beta", config.beta)?;
    let dims = policy_chosen_logps.dims();
    non_empty("policy_chosen_logps", &dims)?;
    let mut named = vec![
        ("policy_chosen_logps", &policy_chosen_logps),
        ("policy_rejected_logps", &policy_rejected_logps),
        ("reference_chosen_logps", &reference_chosen_logps),
        ("reference_rejected_logps", &reference_rejected_logps),
    ];
    if let Some(e) = &explicit {
        named.push(("explicit.chosen", &e.chosen));
        named.push(("explicit.rejected", &e.rejected));
    }
    for (name, t) in &named {
        same_shape(name, &t.dims(), &dims)?;
        if config.check_finite {
            finite_tensor(name, t)?;
        }
    }
    let margins = host(
        ((policy_chosen_logps - reference_chosen_logps)
            - (policy_rejected_logps - reference_rejected_logps))
            .mul_scalar(config.beta),
    );
    let dporm_correct: Vec<bool> = margins.iter().map(|&m| m > 0.0).collect();
    let dporm_accuracy = fraction(dporm_correct.iter().copied());
    let exrm_correct: Option<Vec<bool>> = explicit.map(|e| {
        host(e.chosen - e.rejected)
            .iter()
            .map(|&m| m > 0.0)
            .collect()
    });
    let exrm_accuracy = exrm_correct.as_ref().map(|c| fraction(c.iter().copied()));
    let agreement = exrm_correct
        .as_ref()
        .map(|c| fraction(c.iter().zip(&dporm_correct).map(|(a, b)| a == b)));
    Ok(DpormReport {
        num_pairs: dims[0],
        dporm_accuracy,
        dporm_mean_margin: mean(&margins),
        dporm_correct,
        accuracy_gap: exrm_accuracy.map(|e| e - dporm_accuracy),
        exrm_accuracy,
        exrm_correct,
        agreement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, TestBackend};

    const PC: [f64; 5] = [-10.0, -20.0, -5.0, -600.0, -7.0];
    const PR: [f64; 5] = [-11.0, -19.0, -6.0, -550.0, -7.0];
    const RC: [f64; 5] = [-10.5, -19.5, -5.5, -580.0, -7.5];
    const RRJ: [f64; 5] = [-11.2, -19.2, -5.0, -560.0, -7.5];
    const EC: [f64; 5] = [1.0, 0.6, -0.3, 2.0, 0.0];
    const ER: [f64; 5] = [0.5, 0.4, -0.5, 2.5, 0.0];

    fn v(a: &[f64]) -> Tensor<TestBackend, 1> {
        tensor::<TestBackend, 1>(a, [a.len()], &device())
    }

    // Goldens: tests/reference/beyond_token_dporm.py (numpy float64). Row 4 is an exact tie in
    // both models and counts as wrong.
    #[test]
    fn accuracy_goldens_with_ties_and_extremes() {
        let rep = dporm_evaluate(
            v(&PC),
            v(&PR),
            v(&RC),
            v(&RRJ),
            Some(ExplicitRewards {
                chosen: v(&EC),
                rejected: v(&ER),
            }),
            &DpormConfig::new(),
        )
        .unwrap();
        assert_eq!(rep.num_pairs, 5);
        assert_eq!(rep.dporm_correct, vec![true, false, true, false, false]);
        assert_eq!(rep.exrm_correct, Some(vec![true, true, true, false, false]));
        assert_close(
            &[
                rep.dporm_accuracy,
                rep.exrm_accuracy.unwrap(),
                rep.agreement.unwrap(),
                rep.accuracy_gap.unwrap(),
            ],
            &[0.4, 0.6, 0.8, 0.2],
            1e-12,
            1e-12,
        );
        // margins [0.03, -0.07, 0.15, -3.0, 0.0]
        assert_close(&[rep.dporm_mean_margin], &[-0.578], 1e-4, 1e-5);
    }

    /// β rescales margins but never changes which side wins.
    #[test]
    fn accuracy_is_invariant_to_beta() {
        let a = dporm_evaluate(v(&PC), v(&PR), v(&RC), v(&RRJ), None, &DpormConfig::new()).unwrap();
        let b = dporm_evaluate(
            v(&PC),
            v(&PR),
            v(&RC),
            v(&RRJ),
            None,
            &DpormConfig::new().with_beta(3.0),
        )
        .unwrap();
        assert_eq!(a.dporm_correct, b.dporm_correct);
        assert_close(
            &[b.dporm_mean_margin],
            &[30.0 * a.dporm_mean_margin],
            1e-4,
            1e-5,
        );
        assert!(a.exrm_accuracy.is_none() && a.agreement.is_none());
    }

    #[test]
    fn typed_errors() {
        let cfg = DpormConfig::new();
        let e = dporm_evaluate(v(&PC), v(&PR[..4]), v(&RC), v(&RRJ), None, &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "policy_rejected_logps",
                ..
            }
        ));
        let ex = ExplicitRewards {
            chosen: v(&EC),
            rejected: v(&ER[..2]),
        };
        let e = dporm_evaluate(v(&PC), v(&PR), v(&RC), v(&RRJ), Some(ex), &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "explicit.rejected",
                ..
            }
        ));
        let e = dporm_evaluate(v(&[]), v(&[]), v(&[]), v(&[]), None, &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let e = dporm_evaluate(
            v(&PC),
            v(&PR),
            v(&RC),
            v(&RRJ),
            None,
            &cfg.clone().with_beta(0.0),
        )
        .unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "beta", .. }
        ));
        let mut nan = RC;
        nan[2] = f64::NAN;
        let checked = DpormConfig::new().with_check_finite(true);
        let e = dporm_evaluate(v(&PC), v(&PR), v(&nan), v(&RRJ), None, &checked).unwrap_err();
        assert_eq!(
            e,
            LossError::NonFinite {
                name: "reference_chosen_logps"
            }
        );
    }
}
