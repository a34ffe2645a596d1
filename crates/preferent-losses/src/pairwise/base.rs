//! The pairwise family's shared vocabulary: loss-type and f-divergence enums, the config, the
//! batch of log-probs and the metrics.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

use crate::error::LossError;

/// One pairwise preference objective. TRL names each by a `loss_type` string; here each is a
/// variant (see the crate docs for the string ↔ variant table, and [`DpoLossType::from_trl`]).
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum DpoLossType {
    /// `sigmoid`: DPO, with label smoothing ε = cDPO ([`sigmoid_loss`](super::sigmoid_loss)).
    Sigmoid,
    /// `hinge`: SLiC ([`hinge_loss`](super::hinge_loss)).
    Hinge,
    /// `ipo`: IPO, length-normalised ([`ipo_loss`](super::ipo_loss)).
    Ipo,
    /// `exo_pair`: EXO ([`exo_pair_loss`](super::exo_pair_loss)).
    ExoPair,
    /// `nca_pair`: NCA ([`nca_pair_loss`](super::nca_pair_loss)).
    NcaPair,
    /// `robust`: rDPO ([`robust_loss`](super::robust_loss)).
    Robust,
    /// `bco_pair`: BCO ([`bco_pair_loss`](super::bco_pair_loss)).
    BcoPair,
    /// `sppo_hard`: SPPO, hard labels ([`sppo_hard_loss`](super::sppo_hard_loss)).
    SppoHard,
    /// `aot`: AOT, paired ([`aot_loss`](super::aot_loss)).
    Aot,
    /// `aot_unpaired` (legacy `aot_pair`): AOT, unpaired ([`aot_unpaired_loss`](super::aot_unpaired_loss)).
    AotUnpaired,
    /// `apo_zero` ([`apo_zero_loss`](super::apo_zero_loss)).
    ApoZero,
    /// `apo_down` ([`apo_down_loss`](super::apo_down_loss)).
    ApoDown,
    /// `discopop` ([`discopop_loss`](super::discopop_loss)).
    DiscoPop,
    /// `sft`: token-mean NLL of the chosen completion ([`sft_loss`](super::sft_loss)).
    Sft,
    /// `sigmoid_norm`: length-normalised DPO ([`sigmoid_norm_loss`](super::sigmoid_norm_loss)).
    SigmoidNorm,
}

impl DpoLossType {
    /// Every variant, in TRL's documentation order.
    pub const ALL: [DpoLossType; 15] = [
        DpoLossType::Sigmoid,
        DpoLossType::Hinge,
        DpoLossType::Ipo,
        DpoLossType::ExoPair,
        DpoLossType::NcaPair,
        DpoLossType::Robust,
        DpoLossType::BcoPair,
        DpoLossType::SppoHard,
        DpoLossType::Aot,
        DpoLossType::AotUnpaired,
        DpoLossType::ApoZero,
        DpoLossType::ApoDown,
        DpoLossType::DiscoPop,
        DpoLossType::Sft,
        DpoLossType::SigmoidNorm,
    ];

    /// TRL's `loss_type` string for this variant (HEAD spelling).
    pub fn trl_name(self) -> &'static str {
        match self {
            DpoLossType::Sigmoid => "sigmoid",
            DpoLossType::Hinge => "hinge",
            DpoLossType::Ipo => "ipo",
            DpoLossType::ExoPair => "exo_pair",
            DpoLossType::NcaPair => "nca_pair",
            DpoLossType::Robust => "robust",
            DpoLossType::BcoPair => "bco_pair",
            DpoLossType::SppoHard => "sppo_hard",
            DpoLossType::Aot => "aot",
            DpoLossType::AotUnpaired => "aot_unpaired",
            DpoLossType::ApoZero => "apo_zero",
            DpoLossType::ApoDown => "apo_down",
            DpoLossType::DiscoPop => "discopop",
            DpoLossType::Sft => "sft",
            DpoLossType::SigmoidNorm => "sigmoid_norm",
        }
    }

    /// Parses a TRL `loss_type` string (HEAD names, plus legacy `aot_pair` = `aot_unpaired`).
    ///
    /// # Errors
    /// [`LossError::UnknownVariant`] for any other string.
    pub fn from_trl(name: &str) -> Result<Self, LossError> {
        if name == "aot_pair" {
            return Ok(DpoLossType::AotUnpaired);
        }
        DpoLossType::ALL
            .into_iter()
            .find(|t| t.trl_name() == name)
            .ok_or_else(|| LossError::UnknownVariant {
                kind: "DPO loss_type",
                value: name.to_string(),
            })
    }
}

/// Which f-divergence regularises the policy (f-DPO). The score `s(r)` replaces the log-ratio
/// `r = log π_θ(y) − log π_ref(y)` before every loss type (see
/// [`f_divergence_score`](super::f_divergence_score)).
#[derive(Config, Debug, Copy, PartialEq, Eq, Hash)]
pub enum FDivergenceType {
    /// Reverse KL, `s(r) = r`: standard DPO (TRL `reverse_kl`, the default).
    ReverseKl,
    /// Forward KL, `s(r) = −e^{−r}` (TRL `forward_kl`, HEAD only).
    ForwardKl,
    /// Jensen–Shannon, `s(r) = log σ(r)` (TRL `js_divergence`).
    JsDivergence,
    /// α-divergence in TRL-HEAD's convention, `s(r) = e^{(a−1) r} / (a−1)` with
    /// `a = f_alpha_divergence_coef` (TRL `alpha_divergence`).
    AlphaDivergence,
}

/// Hyperparameters of the pairwise DPO family.
///
/// Defaults are TRL's `DPOConfig` at HEAD (`trl/trainer/dpo_config.py`, commit `f2cd577`), except
/// where a field exists only in legacy TRL (v0.23.0), which is then named.
#[derive(Config, Debug)]
pub struct DpoConfig {
    /// β, the inverse temperature of the implicit reward `β·log(π/π_ref)` (TRL default 0.1).
    #[config(default = 0.1)]
    pub beta: f64,
    /// ε: cDPO label smoothing for `sigmoid`, flip rate for `robust`, target for `exo_pair`,
    /// smoothing for `aot*`. Must lie in `[0, 0.5)` (TRL default 0.0).
    #[config(default = 0.0)]
    pub label_smoothing: f64,
    /// The loss types to sum (TRL `loss_type`, default `["sigmoid"]`).
    #[config(default = "vec![DpoLossType::Sigmoid]")]
    pub loss_types: Vec<DpoLossType>,
    /// One weight per loss type (TRL `loss_weights`, default: all 1.0).
    #[config(default = "None")]
    pub loss_weights: Option<Vec<f64>>,
    /// The f-divergence (TRL `f_divergence_type`, default `reverse_kl`).
    #[config(default = "FDivergenceType::ReverseKl")]
    pub f_divergence_type: FDivergenceType,
    /// `a` of [`FDivergenceType::AlphaDivergence`] in TRL-HEAD's convention (default 0.5). The
    /// f-DPO paper's / legacy TRL's α is `1 − a`; see
    /// [`alpha_coef_from_paper`](super::alpha_coef_from_paper).
    #[config(default = 0.5)]
    pub f_alpha_divergence_coef: f64,
    /// Ignore the reference model (`log π_ref = 0`), as legacy TRL's `reference_free` (default
    /// false).
    #[config(default = false)]
    pub reference_free: bool,
    /// WPO weighting (TRL `use_weighting`, default false); needs
    /// [`PairwiseBatch::with_wpo_log_weights`].
    #[config(default = false)]
    pub use_weighting: bool,
    /// RPO: add `rpo_alpha · NLL(chosen)` (legacy TRL `rpo_alpha`, default `None`; the paper
    /// recommends 1.0). Needs [`PairwiseBatch::with_lengths`].
    #[config(default = "None")]
    pub rpo_alpha: Option<f64>,
    /// τ of DiscoPOP (TRL `discopop_tau`, default 0.05).
    #[config(default = 0.05)]
    pub discopop_tau: f64,
    /// Check every input for NaN/±∞ and return [`LossError::NonFinite`] (default false: the check
    /// reads the inputs back to the host).
    #[config(default = false)]
    pub check_finite: bool,
}

impl DpoConfig {
    /// Checks every hyperparameter; the loss calls this first.
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] for β ≤ 0 (or non-finite), ε outside `[0, 0.5)`,
    /// `exo_pair` with ε = 0, a non-finite α-coefficient, τ ≤ 0, a negative or non-finite
    /// `rpo_alpha` or loss weight, an empty `loss_types`, and `use_weighting` with `aot*` (TRL
    /// refuses that combination); [`LossError::ShapeMismatch`] if `loss_weights` and `loss_types`
    /// differ in length.
    pub fn validate(&self) -> Result<(), LossError> {
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(invalid("beta", self.beta, "> 0 and finite"));
        }
        let eps = self.label_smoothing;
        if !(0.0..0.5).contains(&eps) {
            return Err(invalid("label_smoothing", eps, "in [0, 0.5)"));
        }
        if self.loss_types.is_empty() {
            return Err(invalid("loss_types", 0.0, "non-empty"));
        }
        if self.loss_types.contains(&DpoLossType::ExoPair) && eps == 0.0 {
            return Err(invalid(
                "label_smoothing",
                eps,
                "in (0, 0.5) for exo_pair (log ε is undefined at 0)",
            ));
        }
        if let Some(w) = &self.loss_weights {
            if w.len() != self.loss_types.len() {
                return Err(LossError::ShapeMismatch {
                    name: "loss_weights",
                    actual: vec![w.len()],
                    expected: vec![self.loss_types.len()],
                });
            }
            if let Some(&bad) = w.iter().find(|x| !x.is_finite()) {
                return Err(invalid("loss_weights", bad, "finite"));
            }
        }
        if !self.f_alpha_divergence_coef.is_finite() {
            return Err(invalid(
                "f_alpha_divergence_coef",
                self.f_alpha_divergence_coef,
                "finite",
            ));
        }
        if !(self.discopop_tau.is_finite() && self.discopop_tau > 0.0) {
            return Err(invalid("discopop_tau", self.discopop_tau, "> 0 and finite"));
        }
        if let Some(a) = self.rpo_alpha {
            if !(a.is_finite() && a >= 0.0) {
                return Err(invalid("rpo_alpha", a, ">= 0 and finite"));
            }
        }
        if self.use_weighting
            && self
                .loss_types
                .iter()
                .any(|t| matches!(t, DpoLossType::Aot | DpoLossType::AotUnpaired))
        {
            return Err(invalid(
                "use_weighting",
                1.0,
                "false when loss_types contains aot or aot_unpaired",
            ));
        }
        Ok(())
    }

    /// The weight of each loss type (1.0 where `loss_weights` is `None`).
    pub fn weights(&self) -> Vec<f64> {
        self.loss_weights
            .clone()
            .unwrap_or_else(|| vec![1.0; self.loss_types.len()])
    }
}

pub(crate) fn invalid(name: &'static str, value: f64, requirement: &'static str) -> LossError {
    LossError::InvalidParameter {
        name,
        value,
        requirement,
    }
}

/// One batch of sequence log-probs for the pairwise family.
///
/// # Shapes
/// Every tensor is `[B]`: summed completion log-probs (see
/// [`SequenceLogProbs::sum`](crate::logprobs::SequenceLogProbs)), token counts, WPO log-weights.
#[derive(Debug, Clone)]
pub struct PairwiseBatch<B: Backend> {
    /// `log π_θ(y_w | x)`.
    pub policy_chosen_logps: Tensor<B, 1>,
    /// `log π_θ(y_l | x)`.
    pub policy_rejected_logps: Tensor<B, 1>,
    /// `log π_ref(y_w | x)`; `None` = reference-free (taken as 0).
    pub reference_chosen_logps: Option<Tensor<B, 1>>,
    /// `log π_ref(y_l | x)`; `None` = reference-free (taken as 0).
    pub reference_rejected_logps: Option<Tensor<B, 1>>,
    /// `|y_w|`, completion token counts; needed by `ipo`, `sigmoid_norm`, `sft` and RPO.
    pub chosen_lengths: Option<Tensor<B, 1>>,
    /// `|y_l|`; needed by `ipo` and `sigmoid_norm`.
    pub rejected_lengths: Option<Tensor<B, 1>>,
    /// WPO log-weights of the chosen sequences (see [`wpo_log_weights`](super::wpo_log_weights)).
    pub chosen_wpo_log_weights: Option<Tensor<B, 1>>,
    /// WPO log-weights of the rejected sequences.
    pub rejected_wpo_log_weights: Option<Tensor<B, 1>>,
    /// BCO's reward shift δ (legacy TRL: the running mean of `β·r`, see
    /// [`BcoRunningMean`](super::BcoRunningMean)); `None` = 0 as in TRL HEAD.
    pub bco_delta: Option<f64>,
}

impl<B: Backend> PairwiseBatch<B> {
    /// Policy and reference log-probs of the chosen and rejected completions.
    pub fn new(
        policy_chosen_logps: Tensor<B, 1>,
        policy_rejected_logps: Tensor<B, 1>,
        reference_chosen_logps: Tensor<B, 1>,
        reference_rejected_logps: Tensor<B, 1>,
    ) -> Self {
        Self {
            policy_chosen_logps,
            policy_rejected_logps,
            reference_chosen_logps: Some(reference_chosen_logps),
            reference_rejected_logps: Some(reference_rejected_logps),
            chosen_lengths: None,
            rejected_lengths: None,
            chosen_wpo_log_weights: None,
            rejected_wpo_log_weights: None,
            bco_delta: None,
        }
    }

    /// Policy log-probs only: reference-free mode (`log π_ref = 0`).
    pub fn reference_free(
        policy_chosen_logps: Tensor<B, 1>,
        policy_rejected_logps: Tensor<B, 1>,
    ) -> Self {
        Self {
            policy_chosen_logps,
            policy_rejected_logps,
            reference_chosen_logps: None,
            reference_rejected_logps: None,
            chosen_lengths: None,
            rejected_lengths: None,
            chosen_wpo_log_weights: None,
            rejected_wpo_log_weights: None,
            bco_delta: None,
        }
    }

    /// Adds completion token counts `|y_w|`, `|y_l|`.
    pub fn with_lengths(mut self, chosen: Tensor<B, 1>, rejected: Tensor<B, 1>) -> Self {
        self.chosen_lengths = Some(chosen);
        self.rejected_lengths = Some(rejected);
        self
    }

    /// Adds WPO log-weights (see [`wpo_log_weights`](super::wpo_log_weights)).
    pub fn with_wpo_log_weights(mut self, chosen: Tensor<B, 1>, rejected: Tensor<B, 1>) -> Self {
        self.chosen_wpo_log_weights = Some(chosen);
        self.rejected_wpo_log_weights = Some(rejected);
        self
    }

    /// Sets BCO's reward shift δ.
    pub fn with_bco_delta(mut self, delta: f64) -> Self {
        self.bco_delta = Some(delta);
        self
    }
}

/// What TRL logs for a pairwise loss: batch means as detached `[1]` tensors (read them with
/// [`PairwiseMetrics::read`], one device transfer, on your own schedule).
///
/// `r = log π_θ(y) − log π_ref(y)` (the raw log-ratio, whatever the f-divergence).
#[derive(Debug, Clone)]
pub struct PairwiseMetrics<B: Backend> {
    /// `rewards/chosen`: mean `β·r_w`.
    pub rewards_chosen: Tensor<B, 1>,
    /// `rewards/rejected`: mean `β·r_l`.
    pub rewards_rejected: Tensor<B, 1>,
    /// `rewards/margins`: mean `β·(r_w − r_l)`.
    pub rewards_margins: Tensor<B, 1>,
    /// `rewards/accuracies`: mean `1[β·r_w > β·r_l]` (strict: ties count 0).
    pub rewards_accuracies: Tensor<B, 1>,
    /// `logps/chosen`: mean `log π_θ(y_w)`.
    pub logps_chosen: Tensor<B, 1>,
    /// `logps/rejected`: mean `log π_θ(y_l)`.
    pub logps_rejected: Tensor<B, 1>,
    /// Each configured loss type with its unweighted batch-mean value, in config order.
    pub loss_terms: Vec<(DpoLossType, Tensor<B, 1>)>,
    /// Mean of `β·r` over chosen and rejected, the sample that updates
    /// [`BcoRunningMean`](super::BcoRunningMean).
    pub mean_reward: Tensor<B, 1>,
}

/// Host copy of [`PairwiseMetrics`].
#[derive(Debug, Clone, PartialEq)]
pub struct PairwiseMetricsHost {
    /// `rewards/chosen`.
    pub rewards_chosen: f64,
    /// `rewards/rejected`.
    pub rewards_rejected: f64,
    /// `rewards/margins`.
    pub rewards_margins: f64,
    /// `rewards/accuracies`.
    pub rewards_accuracies: f64,
    /// `logps/chosen`.
    pub logps_chosen: f64,
    /// `logps/rejected`.
    pub logps_rejected: f64,
    /// Each loss type's unweighted batch mean.
    pub loss_terms: Vec<(DpoLossType, f64)>,
    /// Mean of `β·r` over chosen and rejected.
    pub mean_reward: f64,
}

impl<B: Backend> PairwiseMetrics<B> {
    /// Reads every metric back to the host with one device transfer.
    pub fn read(&self) -> PairwiseMetricsHost {
        let mut ts: Vec<&Tensor<B, 1>> = vec![
            &self.rewards_chosen,
            &self.rewards_rejected,
            &self.rewards_margins,
            &self.rewards_accuracies,
            &self.logps_chosen,
            &self.logps_rejected,
            &self.mean_reward,
        ];
        ts.extend(self.loss_terms.iter().map(|(_, t)| t));
        let v = crate::base::read_scalars(&ts);
        PairwiseMetricsHost {
            rewards_chosen: v[0],
            rewards_rejected: v[1],
            rewards_margins: v[2],
            rewards_accuracies: v[3],
            logps_chosen: v[4],
            logps_rejected: v[5],
            mean_reward: v[6],
            loss_terms: self
                .loss_terms
                .iter()
                .zip(&v[7..])
                .map(|((k, _), x)| (*k, *x))
                .collect(),
        }
    }
}

impl<B: Backend> crate::base::LossMetrics for PairwiseMetrics<B> {
    fn to_log(&self) -> Vec<(&'static str, f64)> {
        let h = self.read();
        let mut v = vec![
            ("rewards/chosen", h.rewards_chosen),
            ("rewards/rejected", h.rewards_rejected),
            ("rewards/margins", h.rewards_margins),
            ("rewards/accuracies", h.rewards_accuracies),
            ("logps/chosen", h.logps_chosen),
            ("logps/rejected", h.logps_rejected),
        ];
        v.extend(h.loss_terms.iter().map(|(k, x)| (k.trl_name(), *x)));
        v
    }
}
