//! The DPO-family loss: f-divergence scores, a weighted sum of loss types, WPO, RPO, metrics.

use burn::tensor::{backend::Backend, Tensor};

use super::base::{DpoConfig, DpoLossType, PairwiseBatch, PairwiseMetrics};
use super::{
    aot_loss, aot_unpaired_loss, apo_down_loss, apo_zero_loss, bco_pair_loss, discopop_loss,
    exo_pair_loss, f_divergence_score, hinge_loss, ipo_loss, nca_pair_loss, robust_loss, sft_loss,
    sigmoid_loss, sigmoid_norm_loss, sppo_hard_loss,
};
use crate::base::{dmean, frac_greater, LossConfig, PreferenceLoss};
use crate::error::LossError;
use crate::output::{FiniteWatch, LossOutput};

/// A validated [`DpoConfig`], ready to evaluate batches. Build it with [`DpoConfig::init`].
#[derive(Debug, Clone)]
pub struct DpoLoss {
    config: DpoConfig,
}

impl DpoConfig {
    /// Validates the configuration (see [`DpoConfig::validate`]) and returns the loss.
    ///
    /// # Errors
    /// Whatever [`DpoConfig::validate`] returns.
    pub fn init(&self) -> Result<DpoLoss, LossError> {
        self.validate()?;
        Ok(DpoLoss {
            config: self.clone(),
        })
    }
}

/// One-shot form of [`DpoLoss::forward`]: validates `config` and evaluates `batch`.
///
/// # Errors
/// As [`DpoConfig::validate`] and [`DpoLoss::forward`].
pub fn dpo_loss<B: Backend>(
    config: &DpoConfig,
    batch: PairwiseBatch<B>,
) -> Result<LossOutput<B, PairwiseMetrics<B>>, LossError> {
    config.init()?.forward(batch)
}

struct Inputs<B: Backend> {
    policy_chosen: Tensor<B, 1>,
    policy_rejected: Tensor<B, 1>,
    reference_chosen: Tensor<B, 1>,
    reference_rejected: Tensor<B, 1>,
    chosen_lengths: Option<Tensor<B, 1>>,
    rejected_lengths: Option<Tensor<B, 1>>,
    wpo: Option<(Tensor<B, 1>, Tensor<B, 1>)>,
    /// The batch's reference log-probs when `reference_free` ignores them in the loss: TRL 0.23
    /// still logs `β·(π − π_ref)` with them.
    logged_reference: Option<(Tensor<B, 1>, Tensor<B, 1>)>,
}

fn host<B: Backend>(t: &Tensor<B, 1>) -> Vec<f64> {
    t.to_data().iter::<f64>().collect()
}

fn check_len<B: Backend>(
    name: &'static str,
    t: &Tensor<B, 1>,
    b: usize,
    check_finite: bool,
) -> Result<(), LossError> {
    crate::logprobs::check_shape(name, &t.dims(), &[b])?;
    if check_finite && !host(t).iter().all(|x| x.is_finite()) {
        return Err(LossError::NonFinite { name });
    }
    Ok(())
}

impl DpoLoss {
    /// The configuration this loss was built from.
    pub fn config(&self) -> &DpoConfig {
        &self.config
    }

    fn inputs<B: Backend>(&self, batch: PairwiseBatch<B>) -> Result<Inputs<B>, LossError> {
        let cf = self.config.check_finite;
        let [b] = batch.policy_chosen_logps.dims();
        if b == 0 {
            return Err(LossError::EmptyBatch {
                name: "policy_chosen_logps",
            });
        }
        check_len("policy_chosen_logps", &batch.policy_chosen_logps, b, cf)?;
        check_len("policy_rejected_logps", &batch.policy_rejected_logps, b, cf)?;
        let device = batch.policy_chosen_logps.device();
        let mut logged_reference = None;
        let (reference_chosen, reference_rejected) = if self.config.reference_free {
            if let (Some(c), Some(r)) = (
                batch.reference_chosen_logps.clone(),
                batch.reference_rejected_logps.clone(),
            ) {
                check_len("reference_chosen_logps", &c, b, cf)?;
                check_len("reference_rejected_logps", &r, b, cf)?;
                logged_reference = Some((c, r));
            }
            (Tensor::zeros([b], &device), Tensor::zeros([b], &device))
        } else {
            match (batch.reference_chosen_logps, batch.reference_rejected_logps) {
                (Some(c), Some(r)) => {
                    check_len("reference_chosen_logps", &c, b, cf)?;
                    check_len("reference_rejected_logps", &r, b, cf)?;
                    (c, r)
                }
                (None, None) => (Tensor::zeros([b], &device), Tensor::zeros([b], &device)),
                (None, Some(_)) => {
                    return Err(LossError::MissingInput {
                        name: "reference_chosen_logps",
                        reason: "reference_rejected_logps was given; give both or neither",
                    })
                }
                (Some(_), None) => {
                    return Err(LossError::MissingInput {
                        name: "reference_rejected_logps",
                        reason: "reference_chosen_logps was given; give both or neither",
                    })
                }
            }
        };
        if let Some(t) = &batch.chosen_lengths {
            check_len("chosen_lengths", t, b, cf)?;
        }
        if let Some(t) = &batch.rejected_lengths {
            check_len("rejected_lengths", t, b, cf)?;
        }
        let wpo = if self.config.use_weighting {
            match (batch.chosen_wpo_log_weights, batch.rejected_wpo_log_weights) {
                (Some(c), Some(r)) => {
                    check_len("chosen_wpo_log_weights", &c, b, cf)?;
                    check_len("rejected_wpo_log_weights", &r, b, cf)?;
                    Some((c, r))
                }
                _ => {
                    return Err(LossError::MissingInput {
                        name: "wpo_log_weights",
                        reason: "use_weighting = true needs PairwiseBatch::with_wpo_log_weights",
                    })
                }
            }
        } else {
            None
        };
        if let Some(d) = batch.bco_delta {
            if cf && !d.is_finite() {
                return Err(LossError::NonFinite { name: "bco_delta" });
            }
        }
        Ok(Inputs {
            policy_chosen: batch.policy_chosen_logps,
            policy_rejected: batch.policy_rejected_logps,
            reference_chosen,
            reference_rejected,
            chosen_lengths: batch.chosen_lengths,
            rejected_lengths: batch.rejected_lengths,
            wpo,
            logged_reference,
        })
    }

    /// Evaluates the configured weighted sum of loss types on one batch.
    ///
    /// ```text
    /// r_w = lp_θ(y_w) − lp_ref(y_w),  r_l likewise;  s = f_divergence_score(r)
    /// loss = Σ_k w_k · mean_i( ℓ_k,i · ω_i ) + rpo_alpha · NLL(chosen)
    /// ω_i  = exp(a_w,i + a_l,i) with WPO, else 1
    /// ```
    ///
    /// Metrics are TRL's (`rewards/*` from `β·r`, strict accuracies), detached tensors; the
    /// output's `non_finite` flag watches every input and the loss.
    ///
    /// # Shapes
    /// Every input `[B]` (see [`PairwiseBatch`]) → loss `[1]`.
    ///
    /// # Errors
    /// [`LossError::EmptyBatch`] for `B = 0`; [`LossError::ShapeMismatch`] for any input not
    /// `[B]`; [`LossError::MissingInput`] when a loss type, RPO or WPO needs lengths / weights
    /// that the batch lacks, or only one reference tensor is given;
    /// [`LossError::NonFinite`] for NaN/±∞ when `check_finite` is set.
    ///
    /// # References
    /// TRL `trl/trainer/dpo_trainer.py::_compute_loss` (HEAD `f2cd577`), `dpo_loss` (v0.23.0).
    pub fn forward<B: Backend>(
        &self,
        batch: PairwiseBatch<B>,
    ) -> Result<LossOutput<B, PairwiseMetrics<B>>, LossError> {
        let cfg = &self.config;
        let bco_delta = batch.bco_delta.unwrap_or(0.0);
        let x = self.inputs(batch)?;
        let watch = FiniteWatch::new()
            .watch(&x.policy_chosen)
            .watch(&x.policy_rejected)
            .watch(&x.reference_chosen)
            .watch(&x.reference_rejected)
            .watch_opt(x.chosen_lengths.as_ref())
            .watch_opt(x.rejected_lengths.as_ref())
            .watch_opt(x.wpo.as_ref().map(|w| &w.0))
            .watch_opt(x.wpo.as_ref().map(|w| &w.1));
        let beta = cfg.beta;
        let eps = cfg.label_smoothing;
        let r_w = x.policy_chosen.clone() - x.reference_chosen.clone();
        let r_l = x.policy_rejected.clone() - x.reference_rejected.clone();
        let fdiv = |r: Tensor<B, 1>| {
            f_divergence_score(r, cfg.f_divergence_type, cfg.f_alpha_divergence_coef)
        };
        let s_w = fdiv(r_w.clone());
        let s_l = fdiv(r_l.clone());
        let delta = s_w.clone() - s_l.clone();
        let lengths = |why: &'static str| -> Result<(Tensor<B, 1>, Tensor<B, 1>), LossError> {
            match (&x.chosen_lengths, &x.rejected_lengths) {
                (Some(c), Some(r)) => Ok((c.clone(), r.clone())),
                _ => Err(LossError::MissingInput {
                    name: "chosen_lengths/rejected_lengths",
                    reason: why,
                }),
            }
        };
        let wpo_factor = x
            .wpo
            .as_ref()
            .map(|(aw, al)| (aw.clone() + al.clone()).exp().detach());

        let mut loss: Tensor<B, 1> = Tensor::zeros([1], &x.policy_chosen.device());
        let mut loss_terms = Vec::with_capacity(cfg.loss_types.len());
        for (kind, weight) in cfg.loss_types.iter().copied().zip(cfg.weights()) {
            let per_pair = match kind {
                DpoLossType::Sigmoid => sigmoid_loss(delta.clone(), beta, eps),
                DpoLossType::Hinge => hinge_loss(delta.clone(), beta),
                DpoLossType::Ipo => {
                    let (lw, ll) = lengths("loss type ipo normalises by completion length")?;
                    ipo_loss(s_w.clone(), s_l.clone(), lw, ll, beta)
                }
                DpoLossType::ExoPair => exo_pair_loss(delta.clone(), beta, eps),
                DpoLossType::NcaPair => nca_pair_loss(s_w.clone(), s_l.clone(), beta),
                DpoLossType::Robust => robust_loss(delta.clone(), beta, eps),
                DpoLossType::BcoPair => bco_pair_loss(s_w.clone(), s_l.clone(), beta, bco_delta),
                DpoLossType::SppoHard => sppo_hard_loss(s_w.clone(), s_l.clone(), beta),
                DpoLossType::Aot => aot_loss(
                    x.policy_chosen.clone(),
                    x.policy_rejected.clone(),
                    x.reference_chosen.clone(),
                    x.reference_rejected.clone(),
                    beta,
                    eps,
                ),
                DpoLossType::AotUnpaired => aot_unpaired_loss(r_w.clone(), r_l.clone(), beta, eps),
                DpoLossType::ApoZero => apo_zero_loss(r_w.clone(), r_l.clone(), beta),
                DpoLossType::ApoDown => apo_down_loss(r_w.clone(), delta.clone(), beta),
                DpoLossType::DiscoPop => discopop_loss(delta.clone(), beta, cfg.discopop_tau),
                DpoLossType::Sft => {
                    let (lw, _) = lengths("loss type sft averages over chosen tokens")?;
                    sft_loss(x.policy_chosen.clone(), lw)
                }
                DpoLossType::SigmoidNorm => {
                    let (lw, ll) =
                        lengths("loss type sigmoid_norm normalises by completion length")?;
                    sigmoid_norm_loss(s_w.clone(), s_l.clone(), lw, ll, beta)
                }
            };
            let per_pair = match &wpo_factor {
                Some(f) => per_pair * f.clone(),
                None => per_pair,
            };
            let term = per_pair.mean();
            loss_terms.push((kind, term.clone().detach()));
            loss = loss + term.mul_scalar(weight);
        }
        if let Some(alpha) = cfg.rpo_alpha {
            let (lw, _) = lengths("rpo_alpha averages the NLL over chosen tokens")?;
            loss = loss
                + sft_loss(x.policy_chosen.clone(), lw)
                    .mean()
                    .mul_scalar(alpha);
        }

        // TRL's logged rewards keep the reference even when `reference_free` drops it from the
        // loss (trl v0.23.0 `dpo_loss`: `chosen_rewards = β·(π_c − π_ref_c)` before the
        // reference-free branch); with no reference given they are β·π.
        let (rw, rl) = match &x.logged_reference {
            Some((c, r)) => (
                (x.policy_chosen.clone() - c.clone()).detach(),
                (x.policy_rejected.clone() - r.clone()).detach(),
            ),
            None => (r_w.detach(), r_l.detach()),
        };
        let rw = rw.mul_scalar(beta);
        let rl = rl.mul_scalar(beta);
        let (mw, ml) = (dmean(&rw), dmean(&rl));
        let metrics = PairwiseMetrics {
            rewards_margins: dmean(&(rw.clone() - rl.clone())),
            rewards_accuracies: frac_greater(&rw, &rl),
            logps_chosen: dmean(&x.policy_chosen),
            logps_rejected: dmean(&x.policy_rejected),
            loss_terms,
            mean_reward: (mw.clone() + ml.clone()).mul_scalar(0.5),
            rewards_chosen: mw,
            rewards_rejected: ml,
        };
        Ok(LossOutput::new(loss, metrics, watch))
    }
}

impl LossConfig for DpoConfig {
    type Loss = DpoLoss;

    fn init(&self) -> Result<DpoLoss, LossError> {
        DpoConfig::init(self)
    }
}

impl<B: Backend> PreferenceLoss<B> for DpoLoss {
    type Batch = PairwiseBatch<B>;
    type Metrics = PairwiseMetrics<B>;

    fn forward(
        &self,
        batch: PairwiseBatch<B>,
    ) -> Result<LossOutput<B, PairwiseMetrics<B>>, LossError> {
        DpoLoss::forward(self, batch)
    }
}
