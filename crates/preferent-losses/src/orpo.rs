//! ORPO: odds-ratio preference optimisation, an NLL loss on the chosen response plus a log-odds
//! penalty on the rejected one, without a reference model.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::base::{dmean, frac_greater, PreferenceLoss};
use crate::beyond_checks::{finite_tensor, host, non_empty, positive, same_shape};
use crate::error::LossError;
use crate::numerics::log_sigmoid;
use crate::output::{FiniteWatch, LossOutput};
use crate::{scalar_metrics, validated_loss};

/// Hyperparameters of [`orpo_loss`].
#[derive(Config, Debug)]
pub struct OrpoConfig {
    /// Weight λ of the odds-ratio term (TRL calls it β; > 0). Source: TRL `ORPOConfig.beta = 0.1`
    /// (the paper's λ = 0.1).
    #[config(default = 0.1)]
    pub beta: f64,
    /// Read the inputs back to the host; return [`LossError::NonFinite`] on NaN/±∞ and
    /// [`LossError::OutOfDomain`] if a mean log-prob is not `< 0`.
    #[config(default = false)]
    pub check_finite: bool,
}

impl OrpoConfig {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<(), LossError> {
        positive("beta", self.beta)
    }
}

scalar_metrics! {
    /// Detached ORPO metrics (the names TRL's ORPO trainer logs), `[1]` tensors.
    pub struct OrpoMetrics => OrpoMetricsHost {
        /// `rewards/chosen`: mean of λ·ā_w.
        rewards_chosen: "rewards/chosen",
        /// `rewards/rejected`: mean of λ·ā_l.
        rewards_rejected: "rewards/rejected",
        /// `rewards/margins`: mean of λ·(ā_w − ā_l).
        rewards_margins: "rewards/margins",
        /// `rewards/accuracies`: fraction of pairs with ā_w > ā_l.
        rewards_accuracies: "rewards/accuracies",
        /// `log_odds_ratio`: mean of log σ(log-odds).
        log_odds_ratio: "log_odds_ratio",
        /// `log_odds_chosen`: mean log-odds `log(odds(y_w)/odds(y_l))`.
        log_odds_chosen: "log_odds_chosen",
        /// `nll_loss`: the NLL term used.
        nll_loss: "nll_loss",
    }
}

validated_loss! {
    /// ORPO, validated ([`OrpoConfig::init`]); see [`orpo_loss`] for the formula.
    OrpoConfig => OrpoLoss
}

/// One ORPO batch.
///
/// # Shapes
/// `chosen_avg_logps`, `rejected_avg_logps`: `[B]`; `nll_chosen`: `[1]` or `[B]`.
#[derive(Debug, Clone)]
pub struct OrpoBatch<B: Backend> {
    /// `ā_w`, mean token log-prob of each chosen completion (< 0).
    pub chosen_avg_logps: Tensor<B, 1>,
    /// `ā_l`, mean token log-prob of each rejected completion (< 0).
    pub rejected_avg_logps: Tensor<B, 1>,
    /// The SFT term (TRL: token-mean cross-entropy of the chosen completions); `None` =
    /// `−mean ā_w`.
    pub nll_chosen: Option<Tensor<B, 1>>,
}

impl<B: Backend> PreferenceLoss<B> for OrpoLoss {
    type Batch = OrpoBatch<B>;
    type Metrics = OrpoMetrics<B>;

    fn forward(&self, batch: OrpoBatch<B>) -> Result<LossOutput<B, OrpoMetrics<B>>, LossError> {
        orpo_forward(batch, &self.config)
    }
}

/// `log(1 − eˣ)` for `x < 0`, stable on both sides of `−ln 2` (Mächler 2012).
///
/// For `x ≥ −0.01` it uses the series `log(−x) + log(1 + x/2 + x²/6 + x³/24)`, on `(−ln 2, −0.01)`
/// `log(1 − eˣ)`, and below `−ln 2` `log1p(−eˣ)`. Each branch sees only inputs clamped to its own
/// interval, so the unused branches never produce NaN gradients. (No `tanh`/`expm1`: GPU
/// backends evaluate them through `exp` and lose all precision as `x → 0`.)
///
/// # Shapes
/// Elementwise; any shape.
pub fn log1mexp<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let ln2 = std::f64::consts::LN_2;
    // Branch T (x in [−0.01, 0)): log(−x) + log(1 + x/2 + x²/6 + x³/24), the Taylor series of
    // −expm1(x)/(−x); relative error < 1e-10 there. Written without tanh/expm1 because GPU
    // backends compute those through exp and lose every digit as x → 0.
    let tiny = x.clone().greater_elem(-0.01);
    let xt = x.clone().clamp(-0.01, -f64::from(f32::MIN_POSITIVE));
    let poly = xt.clone().mul_scalar(1.0 / 24.0).add_scalar(1.0 / 6.0) * xt.clone();
    let poly = (poly.add_scalar(0.5) * xt.clone()).add_scalar(1.0);
    let t = xt.neg().log() + poly.log();
    // Branch A (x in (−ln2, −0.01)): log(1 − eˣ), where 1 − eˣ ≥ 0.00995 loses at most a few
    // f32 ulps to cancellation.
    let near_zero = x.clone().greater_elem(-ln2);
    let xa = x.clone().clamp(-ln2, -0.01);
    let a = xa.exp().neg().add_scalar(1.0).log();
    // Branch B (x ≤ −ln2): log1p(−eˣ).
    let xb = x.clamp_max(-ln2);
    let b = xb.exp().neg().log1p();
    b.mask_where(near_zero, a).mask_where(tiny, t)
}

/// ORPO loss on length-averaged log-probs.
///
/// ```text
/// log-odds_i = (ā_w − ā_l) − (log(1 − e^{ā_w}) − log(1 − e^{ā_l}))
/// loss       = NLL_chosen − λ·mean_i log σ(log-odds_i)
/// ```
///
/// `nll_chosen` is the SFT term. TRL computes it as the token-mean cross-entropy of the chosen
/// completions over the whole batch; pass that (shape `[1]`, or `[B]` per-row values, which are
/// averaged). With `None` it is `−mean_i ā_w,i`, which equals TRL's value when all chosen
/// completions have the same length.
///
/// # Shapes
/// `chosen_avg_logps`, `rejected_avg_logps`: `[B]`; `nll_chosen`: `[1]` or `[B]` → loss `[1]`.
/// Every ā must be `< 0` (a probability below 1); ā = 0 makes the odds infinite.
///
/// # Errors
/// [`LossError::InvalidParameter`], [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`];
/// with `check_finite`, [`LossError::NonFinite`] and [`LossError::OutOfDomain`].
///
/// # References
/// Hong, Lee, Thorne, "ORPO", arXiv 2403.07691, Eqs. 6–7; TRL
/// `trl/experimental/orpo/orpo_trainer.py::odds_ratio_loss`.
pub fn orpo_loss<B: Backend>(
    chosen_avg_logps: Tensor<B, 1>,
    rejected_avg_logps: Tensor<B, 1>,
    nll_chosen: Option<Tensor<B, 1>>,
    config: &OrpoConfig,
) -> Result<LossOutput<B, OrpoMetrics<B>>, LossError> {
    config.init()?.forward(OrpoBatch {
        chosen_avg_logps,
        rejected_avg_logps,
        nll_chosen,
    })
}

fn orpo_forward<B: Backend>(
    batch: OrpoBatch<B>,
    config: &OrpoConfig,
) -> Result<LossOutput<B, OrpoMetrics<B>>, LossError> {
    let OrpoBatch {
        chosen_avg_logps,
        rejected_avg_logps,
        nll_chosen,
    } = batch;
    let dims = chosen_avg_logps.dims();
    non_empty("chosen_avg_logps", &dims)?;
    same_shape("rejected_avg_logps", &rejected_avg_logps.dims(), &dims)?;
    if let Some(nll) = &nll_chosen {
        let n = nll.dims()[0];
        if n != 1 && n != dims[0] {
            return Err(LossError::ShapeMismatch {
                name: "nll_chosen",
                actual: nll.dims().to_vec(),
                expected: vec![1],
            });
        }
    }
    if config.check_finite {
        for (name, t) in [
            ("chosen_avg_logps", &chosen_avg_logps),
            ("rejected_avg_logps", &rejected_avg_logps),
        ] {
            finite_tensor(name, t)?;
            if let Some(index) = host(t.clone()).iter().position(|&v| v >= 0.0) {
                return Err(LossError::OutOfDomain {
                    name,
                    index,
                    requirement: "< 0 (a mean log-probability of a probability below 1)",
                });
            }
        }
        if let Some(nll) = &nll_chosen {
            finite_tensor("nll_chosen", nll)?;
        }
    }
    let log_odds = (chosen_avg_logps.clone() - rejected_avg_logps.clone())
        - (log1mexp(chosen_avg_logps.clone()) - log1mexp(rejected_avg_logps.clone()));
    let ratio = log_sigmoid(log_odds.clone());
    let nll = match nll_chosen {
        Some(n) => n.mean(),
        None => chosen_avg_logps.clone().neg().mean(),
    };
    let loss = nll.clone() - ratio.clone().mean().mul_scalar(config.beta);

    // ā ≥ 0 (a sign error upstream) makes log(−ā) NaN or −∞: the indicator catches it without
    // a host read.
    let watch = FiniteWatch::new()
        .watch(&chosen_avg_logps.clone().neg().log())
        .watch(&rejected_avg_logps.clone().neg().log())
        .watch(&nll);
    let beta = config.beta;
    let w = chosen_avg_logps.detach().mul_scalar(beta);
    let l = rejected_avg_logps.detach().mul_scalar(beta);
    let metrics = OrpoMetrics {
        rewards_chosen: dmean(&w),
        rewards_rejected: dmean(&l),
        rewards_margins: dmean(&(w.clone() - l.clone())),
        rewards_accuracies: frac_greater(&w, &l),
        log_odds_ratio: dmean(&ratio),
        log_odds_chosen: dmean(&log_odds),
        nll_loss: nll.detach(),
    };
    Ok(LossOutput::new(loss, metrics, watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    const AW: [f64; 6] = [-0.8, -1.2, -0.3, -2.5, -600.0, -1e-4];
    const AL: [f64; 6] = [-1.1, -0.9, -0.35, -2.0, -0.5, -700.0];

    // Goldens: tests/reference/beyond_orpo.py (numpy float64, np.expm1/np.log1p branches).
    #[test]
    fn forward_goldens_with_extreme_and_near_zero_log_probs() {
        let d = device();
        let out = orpo_loss(
            tensor::<TestBackend, 1>(&AW, [6], &d),
            tensor::<TestBackend, 1>(&AL, [6], &d),
            None,
            &OrpoConfig::new(),
        )
        .unwrap();
        assert_close(&to_vec(out.loss), &[110.85801764251806], 1e-5, 1e-4);
        assert_close(
            &[
                out.metrics.read().log_odds_chosen,
                out.metrics.read().log_odds_ratio,
            ],
            &[18.071111733777588, -100.58000975851415],
            1e-4,
            1e-3,
        );
        let out = orpo_loss(
            tensor::<TestBackend, 1>(&AW, [6], &d),
            tensor::<TestBackend, 1>(&AL, [6], &d),
            Some(tensor(&[1.7], [1], &d)),
            &OrpoConfig::new().with_beta(0.25),
        )
        .unwrap();
        assert_close(&to_vec(out.loss), &[26.845002439628537], 1e-5, 1e-4);
    }

    #[test]
    fn log1mexp_matches_f64_on_both_branches() {
        let d = device();
        let xs = [-1e-6, -1e-3, -0.5, -0.7, -3.0, -50.0];
        let y = to_vec(log1mexp(tensor::<TestBackend, 1>(&xs, [6], &d)));
        let e: Vec<f64> = xs.iter().map(|&x: &f64| (-x.exp_m1()).ln()).collect();
        assert_close(&y, &e, 1e-4, 1e-6);
    }

    fn host_orpo(v: &[f64], beta: f64) -> f64 {
        let n = v.len() / 2;
        let l1m = |x: f64| (-x.exp_m1()).ln();
        let ls = |x: f64| x.min(0.0) - (-x.abs()).exp().ln_1p();
        let mut nll = 0.0;
        let mut r = 0.0;
        for i in 0..n {
            let (w, l) = (v[i], v[n + i]);
            nll -= w;
            r += ls((w - l) - (l1m(w) - l1m(l)));
        }
        (nll - beta * r) / n as f64
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let aw = [-0.8, -1.2, -0.05, -2.5];
        let al = [-1.1, -0.9, -0.35, -0.6];
        let w = tensor::<TestAutodiffBackend, 1>(&aw, [4], &d).require_grad();
        let l = tensor::<TestAutodiffBackend, 1>(&al, [4], &d).require_grad();
        let cfg = OrpoConfig::new().with_beta(0.5);
        let out = orpo_loss(w.clone(), l.clone(), None, &cfg).unwrap();
        let grads = out.loss.backward();
        let mut g = to_vec(w.grad(&grads).unwrap());
        g.extend(to_vec(l.grad(&grads).unwrap()));
        let x: Vec<f64> = aw.iter().chain(&al).copied().collect();
        let fd = finite_difference(|v| host_orpo(v, 0.5), &x, 1e-6);
        assert_close(&g, &fd, 2e-3, 1e-4);
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let a = || tensor::<TestBackend, 1>(&[-1.0, -2.0], [2], &d);
        let cfg = OrpoConfig::new();
        let e = orpo_loss(a(), tensor(&[-1.0], [1], &d), None, &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "rejected_avg_logps",
                ..
            }
        ));
        let e = orpo_loss(a(), a(), Some(tensor(&[1.0, 2.0, 3.0], [3], &d)), &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "nll_chosen",
                ..
            }
        ));
        let empty = || tensor::<TestBackend, 1>(&[], [0], &d);
        let e = orpo_loss(empty(), empty(), None, &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let e = orpo_loss(a(), a(), None, &OrpoConfig::new().with_beta(-1.0)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "beta", .. }
        ));
        let checked = OrpoConfig::new().with_check_finite(true);
        let inf = tensor::<TestBackend, 1>(&[f64::NEG_INFINITY, -1.0], [2], &d);
        let e = orpo_loss(inf, a(), None, &checked).unwrap_err();
        assert_eq!(
            e,
            LossError::NonFinite {
                name: "chosen_avg_logps"
            }
        );
        let zero = tensor::<TestBackend, 1>(&[-1.0, 0.0], [2], &d);
        let e = orpo_loss(a(), zero, None, &checked).unwrap_err();
        assert!(matches!(
            e,
            LossError::OutOfDomain {
                name: "rejected_avg_logps",
                index: 1,
                ..
            }
        ));
    }
}
