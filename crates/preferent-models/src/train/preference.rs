//! A preference trainer: TRL's `DPOTrainer` loop on the byte LM, on burn's optimiser and
//! scheduler through [`Trainer`].
//!
//! ```text
//! per step s (batch drawn from (seed, s), so a resumed run sees the same batches):
//!   policy    = pair_logprobs(π_θ, batch)                   [B] chosen / rejected
//!   reference = pair_logprobs(π_ref.valid(), batch)  |  RefLogpCache[indices]  |  none
//!   out       = loss.forward(policy vs reference)           LossOutput, detached metrics
//!   Trainer::try_apply(out.loss)                            backward, clip, AdamW, LR step
//!   metrics   += out.metrics (on the device)                read once per `logging_steps`
//! ```
//!
//! The loss is one of [`PreferenceLossConfig`]: the DPO family ([`DpoConfig`], every TRL
//! `loss_type`), SimPO ([`SimpoConfig`]) or ORPO ([`OrpoConfig`]). Nothing is read back to the
//! host per step except under [`NonFinitePolicy::Skip`] (one `[1]` flag, to decide before the
//! update). Evaluation on held-out pairs (reward accuracy, margins, loss) runs on the inner
//! backend (`model.valid()`: no graph). Checkpoints are [`Trainer::save`]'s files plus the
//! frozen reference's weights, so [`PreferenceTrainer::load`] resumes exactly.
//!
//! # References
//! TRL `trl/trainer/dpo_trainer.py` (`DPOTrainer`), `trl/trainer/dpo_config.py` (`DPOConfig`
//! defaults, HEAD `f2cd577`); HuggingFace `TrainingArguments` defaults for the optimiser fields.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::lr_scheduler::composed::ComposedLrScheduler;
use burn::optim::lr_scheduler::LrScheduler;
use burn::optim::AdamW;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Tensor};
use burn_store::{ModuleSnapshot, SafetensorsStore};
use preferent_data::{
    ChatTemplate, DataError, EncodedPair, PairBatch, PairCollator, RefLogpCache, SplitMix64,
    Tokenizer,
};
use preferent_losses::base::PreferenceLoss;
use preferent_losses::orpo::{OrpoConfig, OrpoLoss};
use preferent_losses::pairwise::{DpoConfig, DpoLoss, DpoLossType, PairwiseBatch};
use preferent_losses::simpo::{SimpoConfig, SimpoLoss};
use serde::{Deserialize, Serialize};

use super::trainer::splitmix64;
use super::{adamw, frozen_reference, CsvLogger, Progress, Trainer, WarmupCosineConfig};
use crate::error::{invalid, Error};
use crate::{pair_logprobs, ByteLm, LogProbPath, PairLogProbs};

/// File name of the frozen reference's weights inside a checkpoint directory.
pub const CHECKPOINT_REFERENCE: &str = "reference.safetensors";
/// File name of the preference trainer's own state (skipped steps) inside a checkpoint.
pub const CHECKPOINT_PREFERENCE_STATE: &str = "preference_state.json";

/// Which preference loss the trainer optimises.
#[derive(Config, Debug)]
pub enum PreferenceLossConfig {
    /// The DPO family: every TRL `loss_type` (sigmoid, ipo, hinge, robust, …), label smoothing,
    /// f-divergences, RPO, reference-free mode. Needs a reference unless `reference_free`.
    Dpo(DpoConfig),
    /// SimPO (reference-free, length-averaged log-probs, target margin γ).
    Simpo(SimpoConfig),
    /// ORPO (reference-free, odds ratio plus the chosen NLL).
    Orpo(OrpoConfig),
}

impl PreferenceLossConfig {
    /// The loss named by a TRL `loss_type` string with its default hyper-parameters: any DPO-family
    /// name ([`DpoLossType::from_trl`]), `simpo` (TRL's CPO trainer) or `orpo`.
    ///
    /// # Errors
    /// [`Error::Loss`] with [`LossError::UnknownVariant`](preferent_losses::LossError) for any
    /// other string.
    pub fn from_trl(loss_type: &str) -> crate::Result<Self> {
        Ok(match loss_type {
            "simpo" => Self::Simpo(SimpoConfig::new()),
            "orpo" => Self::Orpo(OrpoConfig::new()),
            other => {
                Self::Dpo(DpoConfig::new().with_loss_types(vec![DpoLossType::from_trl(other)?]))
            }
        })
    }

    /// The TRL name(s) of the loss, e.g. `sigmoid`, `sigmoid+sft`, `simpo`, `orpo`.
    pub fn name(&self) -> String {
        match self {
            Self::Dpo(c) => c
                .loss_types
                .iter()
                .map(|t| t.trl_name())
                .collect::<Vec<_>>()
                .join("+"),
            Self::Simpo(_) => "simpo".into(),
            Self::Orpo(_) => "orpo".into(),
        }
    }

    /// Whether the loss reads reference log-probs (the DPO family unless `reference_free`).
    pub fn needs_reference(&self) -> bool {
        matches!(self, Self::Dpo(c) if !c.reference_free)
    }

    fn init(&self) -> crate::Result<LossFn> {
        Ok(match self {
            Self::Dpo(c) => LossFn::Dpo(c.init()?),
            Self::Simpo(c) => LossFn::Simpo(c.init()?),
            Self::Orpo(c) => LossFn::Orpo(c.init()?),
        })
    }
}

/// The validated loss object.
#[derive(Debug, Clone)]
enum LossFn {
    Dpo(DpoLoss),
    Simpo(SimpoLoss),
    Orpo(OrpoLoss),
}

/// What the trainer does when a step's loss (or one of its inputs) is NaN or ±∞.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum NonFinitePolicy {
    /// Check every `nonfinite_check_steps` steps (one `[1]` read, no per-step sync) and stop with
    /// [`Error::NonFiniteLoss`] naming the first bad step; the trainer is restored to the last
    /// check that passed ([`Trainer::with_nonfinite_check`]).
    Stop,
    /// Read the step's non-finite flag before the update (one `[1]` read per step: the price of
    /// deciding before the optimiser moves) and skip the update of a bad step: no gradient, no
    /// optimiser step, the LR schedule and step counter advance. Skipped steps are listed in
    /// [`FitSummary::skipped_steps`] / [`PreferenceTrainer::skipped_steps`].
    Skip,
}

/// The reference the loss compares the policy against.
pub enum Reference<B: Backend> {
    /// A frozen model on the inner backend, evaluated per batch without a graph (build it with
    /// [`Reference::frozen`]).
    Model(Box<ByteLm<B>>),
    /// Precomputed reference log-probs per dataset position (TRL `precompute_ref_log_probs`):
    /// `train` for training pairs and, to evaluate, `eval` for the held-out pairs (build both
    /// with [`reference_cache`]).
    Cache {
        /// Cache over the training pairs (indexed by their position in the training set).
        train: RefLogpCache,
        /// Cache over the evaluation pairs, if evaluation is wanted.
        eval: Option<RefLogpCache>,
    },
    /// No reference (SimPO, ORPO, reference-free DPO).
    None,
}

impl<B: Backend> std::fmt::Debug for Reference<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Model(_) => f.write_str("Reference::Model"),
            Self::Cache { train, eval } => write!(
                f,
                "Reference::Cache {{ train: {} pairs, eval: {:?} pairs }}",
                train.len(),
                eval.as_ref().map(RefLogpCache::len)
            ),
            Self::None => f.write_str("Reference::None"),
        }
    }
}

impl<B: Backend> Reference<B> {
    /// A frozen copy of `policy` (its current weights) on the inner backend
    /// ([`frozen_reference`]).
    pub fn frozen<AB: AutodiffBackend<InnerBackend = B>>(policy: &ByteLm<AB>) -> Self {
        Self::Model(Box::new(frozen_reference(policy)))
    }
}

/// Settings of [`PreferenceTrainer`]. Defaults are TRL's `DPOConfig` (HEAD) and HuggingFace
/// `TrainingArguments` where a field exists there; the loss's own defaults are in its config.
#[derive(Config, Debug)]
pub struct PreferenceTrainerConfig {
    /// The loss and its hyper-parameters.
    pub loss: PreferenceLossConfig,
    /// Optimiser steps in total (TRL `max_steps`; from epochs with [`steps_for_epochs`]). Also
    /// the length of the LR schedule.
    pub max_steps: usize,
    /// Peak learning rate (TRL `DPOConfig.learning_rate` default 1e-6, meant for pretrained
    /// models; a byte LM from scratch wants ~1e-3).
    #[config(default = 1e-6)]
    pub learning_rate: f64,
    /// Decoupled weight decay of AdamW (`TrainingArguments.weight_decay` default 0.0).
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// ε of AdamW (`TrainingArguments.adam_epsilon` default 1e-8; β₁, β₂ = 0.9, 0.999 as there).
    #[config(default = 1e-8)]
    pub adam_epsilon: f64,
    /// Linear warmup steps (`TrainingArguments.warmup_steps` default 0).
    #[config(default = 0)]
    pub warmup_steps: usize,
    /// Final LR of the cosine decay as a fraction of the peak ([`WarmupCosineConfig`]; 0 ends at
    /// zero like TRL's default linear decay).
    #[config(default = 0.0)]
    pub min_lr_ratio: f64,
    /// Global-norm gradient clipping (`TrainingArguments.max_grad_norm` default 1.0; `None` off).
    #[config(default = "Some(1.0)")]
    pub max_grad_norm: Option<f64>,
    /// Pairs per training step (`per_device_train_batch_size` default 8).
    #[config(default = 8)]
    pub per_device_train_batch_size: usize,
    /// Pairs per evaluation batch (`per_device_eval_batch_size` default 8).
    #[config(default = 8)]
    pub per_device_eval_batch_size: usize,
    /// Seed of the data order (`TrainingArguments.seed` default 42).
    #[config(default = 42)]
    pub seed: u64,
    /// Metrics are read back and logged every this many steps, as means over the window
    /// (`DPOConfig.logging_steps` default 10).
    #[config(default = 10)]
    pub logging_steps: usize,
    /// Evaluate every this many steps (default: `logging_steps`, as TRL's `eval_steps`); the run
    /// also evaluates at its end.
    #[config(default = "None")]
    pub eval_steps: Option<usize>,
    /// Write a checkpoint every this many steps (`TrainingArguments.save_steps` is 500; here
    /// `None` = only when asked).
    #[config(default = "None")]
    pub save_steps: Option<usize>,
    /// Steps between non-finite checks under [`NonFinitePolicy::Stop`] (default:
    /// `logging_steps`).
    #[config(default = "None")]
    pub nonfinite_check_steps: Option<usize>,
    /// What a NaN or ±∞ loss does (default: stop with a typed error).
    #[config(default = "NonFinitePolicy::Stop")]
    pub on_non_finite: NonFinitePolicy,
    /// Compute log-probs in row blocks of this many rows ([`LogProbPath::Chunked`]); `None` =
    /// the direct path.
    #[config(default = "None")]
    pub logprob_chunk_rows: Option<usize>,
}

/// `ceil(ceil(n_pairs / batch_size) · epochs)`: the optimiser steps of `epochs` passes (TRL
/// `num_train_epochs`, last partial batch kept as TRL's `dataloader_drop_last = False`).
pub fn steps_for_epochs(n_pairs: usize, batch_size: usize, epochs: f64) -> usize {
    let per_epoch = n_pairs.div_ceil(batch_size.max(1));
    (per_epoch as f64 * epochs.max(0.0)).ceil() as usize
}

/// Dataset positions of the pairs of step `step`: epoch `e = step / ⌈n/b⌉` is a
/// [`SplitMix64`] permutation seeded by `(seed, e)`, cut into batches of `batch_size` (the
/// last one may be shorter). Depends only on its arguments, so a resumed run draws the same
/// batches.
pub fn batch_indices(n: usize, batch_size: usize, seed: u64, step: usize) -> Vec<usize> {
    if n == 0 || batch_size == 0 {
        return Vec::new();
    }
    let per_epoch = n.div_ceil(batch_size);
    let (epoch, pos) = (step / per_epoch, step % per_epoch);
    let mut perm: Vec<usize> = (0..n).collect();
    SplitMix64::new(seed ^ splitmix64(epoch as u64 ^ 0xE90C)).shuffle(&mut perm);
    perm[pos * batch_size..((pos + 1) * batch_size).min(n)].to_vec()
}

/// Names of [`MetricsRow`]'s columns, as written to CSV (TRL log names where they exist).
pub const METRIC_COLUMNS: [&str; 10] = [
    "step",
    "lr",
    "count",
    "loss",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/margins",
    "rewards/accuracies",
    "logps/chosen",
    "logps/rejected",
];

/// One row of logged metrics: means over a logging window (training) or over held-out pairs
/// (evaluation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricsRow {
    /// Optimiser steps taken when the row was written.
    pub step: usize,
    /// Learning rate of the last step (training) or `NaN` (evaluation).
    pub lr: f64,
    /// Steps averaged (training) or pairs evaluated (evaluation).
    pub count: usize,
    /// The loss.
    pub loss: f64,
    /// Mean implicit reward of the chosen completions (`rewards/chosen`).
    pub rewards_chosen: f64,
    /// Mean implicit reward of the rejected completions (`rewards/rejected`).
    pub rewards_rejected: f64,
    /// Mean reward margin, chosen − rejected (`rewards/margins`).
    pub rewards_margins: f64,
    /// Fraction of pairs with chosen reward > rejected (`rewards/accuracies`, ties count 0).
    pub rewards_accuracies: f64,
    /// Mean summed log-prob of the chosen completions under the policy.
    pub logps_chosen: f64,
    /// Mean summed log-prob of the rejected completions under the policy.
    pub logps_rejected: f64,
}

impl MetricsRow {
    fn from_values(step: usize, lr: f64, count: usize, v: &[f64]) -> Self {
        let g = |i: usize| v.get(i).copied().unwrap_or(f64::NAN);
        Self {
            step,
            lr,
            count,
            loss: g(0),
            rewards_chosen: g(1),
            rewards_rejected: g(2),
            rewards_margins: g(3),
            rewards_accuracies: g(4),
            logps_chosen: g(5),
            logps_rejected: g(6),
        }
    }

    /// The row in [`METRIC_COLUMNS`] order.
    pub fn values(&self) -> [f64; 10] {
        [
            self.step as f64,
            self.lr,
            self.count as f64,
            self.loss,
            self.rewards_chosen,
            self.rewards_rejected,
            self.rewards_margins,
            self.rewards_accuracies,
            self.logps_chosen,
            self.logps_rejected,
        ]
    }
}

/// What one [`PreferenceTrainer::step`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    /// The step's index (0-based; [`Trainer::step`] before it).
    pub step: usize,
    /// Learning rate used; `None` for a skipped step.
    pub lr: Option<f64>,
    /// The window's metrics when this step closed a logging window.
    pub log: Option<MetricsRow>,
}

/// Where [`PreferenceTrainer::fit`] writes.
#[derive(Debug, Clone, Default)]
pub struct FitOptions {
    /// Training metrics CSV ([`METRIC_COLUMNS`]); created (truncated) at the start of `fit`.
    pub metrics_csv: Option<PathBuf>,
    /// Evaluation metrics CSV (same columns; `count` = pairs evaluated).
    pub eval_csv: Option<PathBuf>,
    /// Checkpoints go to `checkpoint_dir/checkpoint-{step}` (TRL's naming) every `save_steps`.
    pub checkpoint_dir: Option<PathBuf>,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// What [`PreferenceTrainer::fit`] did.
#[derive(Debug, Clone, Default)]
pub struct FitSummary {
    /// Optimiser steps taken in total (including before a resume).
    pub steps: usize,
    /// Every training metrics row written, in order.
    pub train: Vec<MetricsRow>,
    /// Every evaluation row written, in order (the last is the final evaluation).
    pub eval: Vec<MetricsRow>,
    /// Steps whose update was skipped ([`NonFinitePolicy::Skip`]).
    pub skipped_steps: Vec<usize>,
    /// Checkpoint directories written.
    pub checkpoints: Vec<PathBuf>,
}

/// The preference trainer's state besides [`Trainer`]'s, stored in a checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PreferenceState {
    skipped_steps: Vec<usize>,
}

/// burn's AdamW on the byte LM with the warmup–cosine schedule: the training state the
/// preference trainer drives.
pub type PolicyTrainer<B> = Trainer<B, ByteLm<B>, AdamW, ComposedLrScheduler>;

/// Trains a byte-LM policy on preference pairs with one of [`PreferenceLossConfig`]'s losses
/// (TRL's `DPOTrainer`). One step:
///
/// ```text
/// batch     = pairs batch_indices(n, batch_size, seed, s)   (depends only on (seed, s))
/// policy    = pair_logprobs(π_θ, batch)                      [B] chosen / rejected
/// reference = pair_logprobs(π_ref.valid(), batch) | RefLogpCache[indices] | none
/// out       = loss.forward(policy vs reference)              LossOutput, detached metrics
/// Trainer::try_apply(out.loss)                               backward, clip, AdamW, LR step
/// metrics  += out.metrics (on the device)                    read once per logging_steps
/// ```
///
/// Build it with [`PreferenceTrainerConfig::init`]; drive it with [`PreferenceTrainer::fit`]
/// (epochs over encoded pairs, logging, evaluation, checkpoints) or step by step with
/// [`PreferenceTrainer::step`].
pub struct PreferenceTrainer<B: AutodiffBackend> {
    /// Policy, AdamW, schedule, step counter and seed ([`Trainer`]).
    pub trainer: PolicyTrainer<B>,
    reference: Reference<B::InnerBackend>,
    loss: LossFn,
    config: PreferenceTrainerConfig,
    device: B::Device,
    /// Sum of the `[7]` metrics vectors of the steps since the last log (inner backend).
    window: Option<Tensor<B::InnerBackend, 1>>,
    window_steps: usize,
    skipped: Vec<usize>,
}

impl<B: AutodiffBackend> std::fmt::Debug for PreferenceTrainer<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreferenceTrainer")
            .field("step", &self.trainer.step)
            .field("loss", &self.config.loss.name())
            .field("reference", &self.reference)
            .finish()
    }
}

/// Where a step's reference log-probs come from.
enum RefInput<Bk: Backend> {
    Free,
    LogProbs(PairLogProbs<Bk>),
    /// `(chosen, rejected)` gathered from a [`RefLogpCache`].
    Cached(Tensor<Bk, 1>, Tensor<Bk, 1>),
}

/// `cache.gather(positions)` as a [`RefInput`] (what [`PairLogProbs::pairwise_cached`] does).
fn gathered<Bk: Backend>(
    cache: &RefLogpCache,
    positions: &[usize],
    device: &Bk::Device,
) -> crate::Result<RefInput<Bk>> {
    let (c, r) = cache.gather::<Bk>(positions, device)?;
    Ok(RefInput::Cached(c, r))
}

/// Loss, `[7]` detached metrics (loss, rewards c/r/margins/accuracies, logps c/r) and the
/// non-finite flag.
type Evaluated<Bk> = (Tensor<Bk, 1>, Tensor<Bk, 1>, Tensor<Bk, 1, Bool>);

fn evaluate_loss<Bk: Backend>(
    loss: &LossFn,
    policy: &PairLogProbs<Bk>,
    reference: RefInput<Bk>,
) -> crate::Result<Evaluated<Bk>> {
    let lp = [
        policy.chosen.clone().detach().mean(),
        policy.rejected.clone().detach().mean(),
    ];
    let pack = |l: &Tensor<Bk, 1>, r: [&Tensor<Bk, 1>; 4]| {
        let mut v = vec![l.clone().detach()];
        v.extend(r.into_iter().cloned());
        v.extend(lp.iter().cloned());
        Tensor::cat(v, 0)
    };
    // Every loss family logs the same four reward metrics (TRL's names).
    macro_rules! packed {
        ($out:expr) => {{
            let out = $out;
            let m = &out.metrics;
            let metrics = pack(
                &out.loss,
                [
                    &m.rewards_chosen,
                    &m.rewards_rejected,
                    &m.rewards_margins,
                    &m.rewards_accuracies,
                ],
            );
            (out.loss, metrics, out.non_finite)
        }};
    }
    Ok(match loss {
        LossFn::Dpo(l) => {
            let batch = match reference {
                RefInput::Free => policy.pairwise_reference_free(),
                RefInput::LogProbs(r) => policy.pairwise(&r),
                RefInput::Cached(c, r) => {
                    PairwiseBatch::new(policy.chosen.clone(), policy.rejected.clone(), c, r)
                        .with_lengths(policy.chosen_tokens.clone(), policy.rejected_tokens.clone())
                }
            };
            let out = PreferenceLoss::forward(l, batch)?;
            packed!(out)
        }
        LossFn::Simpo(l) => {
            let out = PreferenceLoss::forward(l, policy.simpo())?;
            packed!(out)
        }
        LossFn::Orpo(l) => {
            let out = PreferenceLoss::forward(l, policy.orpo())?;
            packed!(out)
        }
    })
}

/// The batch on the inner backend (same tensors, no autodiff).
fn inner_batch<B: AutodiffBackend>(b: &PairBatch<B>) -> PairBatch<B::InnerBackend> {
    PairBatch {
        input_ids: b.input_ids.clone().inner(),
        attention_mask: b.attention_mask.clone().inner(),
        completion_mask: b.completion_mask.clone().inner(),
        lengths: b.lengths.clone().inner(),
        prompt_lengths: b.prompt_lengths.clone().inner(),
        num_pairs: b.num_pairs,
        kept: b.kept.clone(),
        stats: b.stats,
    }
}

/// The dataset positions of a batch's kept pairs.
fn kept_positions(kept: &[usize], dataset_indices: &[usize]) -> crate::Result<Vec<usize>> {
    kept.iter()
        .map(|&k| {
            dataset_indices.get(k).copied().ok_or_else(|| Error::Shape {
                what: "dataset_indices",
                expected: format!("one dataset position per collated item (> {k})"),
                got: vec![dataset_indices.len()],
            })
        })
        .collect()
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

impl PreferenceTrainerConfig {
    /// Checks every field once (the loss's own `init` included).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the field: `max_steps`, `per_device_*_batch_size`,
    /// `logging_steps`, `eval_steps`, `save_steps`, `nonfinite_check_steps`,
    /// `logprob_chunk_rows` of 0; `learning_rate` outside (0, 1]; `warmup_steps > max_steps`;
    /// a negative or non-finite `weight_decay`; `adam_epsilon ≤ 0`; `max_grad_norm ≤ 0`;
    /// `min_lr_ratio` outside [0, 1]. [`Error::Loss`] for an invalid loss hyper-parameter.
    pub fn validate(&self) -> crate::Result<()> {
        self.loss.init()?;
        for (field, v) in [
            ("max_steps", self.max_steps),
            (
                "per_device_train_batch_size",
                self.per_device_train_batch_size,
            ),
            (
                "per_device_eval_batch_size",
                self.per_device_eval_batch_size,
            ),
            ("logging_steps", self.logging_steps),
            ("eval_steps", self.eval_steps.unwrap_or(1)),
            ("save_steps", self.save_steps.unwrap_or(1)),
            (
                "nonfinite_check_steps",
                self.nonfinite_check_steps.unwrap_or(1),
            ),
            ("logprob_chunk_rows", self.logprob_chunk_rows.unwrap_or(1)),
        ] {
            if v == 0 {
                return Err(invalid(field, v, "must be at least 1"));
            }
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 1.0)
        {
            return Err(invalid(
                "learning_rate",
                self.learning_rate,
                "must be in (0, 1]",
            ));
        }
        if self.warmup_steps > self.max_steps {
            return Err(invalid(
                "warmup_steps",
                self.warmup_steps,
                "must not exceed max_steps",
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(invalid(
                "weight_decay",
                self.weight_decay,
                "must be >= 0 and finite",
            ));
        }
        if !(self.adam_epsilon.is_finite() && self.adam_epsilon > 0.0) {
            return Err(invalid(
                "adam_epsilon",
                self.adam_epsilon,
                "must be > 0 and finite",
            ));
        }
        if let Some(n) = self.max_grad_norm {
            if !(n.is_finite() && n > 0.0) {
                return Err(invalid(
                    "max_grad_norm",
                    n,
                    "must be > 0 and finite (None disables)",
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.min_lr_ratio) {
            return Err(invalid(
                "min_lr_ratio",
                self.min_lr_ratio,
                "must be in [0, 1]",
            ));
        }
        Ok(())
    }

    /// Validates the configuration against `reference` and builds the trainer at step 0:
    /// `policy` is trained with AdamW ([`adamw`], ε = `adam_epsilon`) on the warmup–cosine
    /// schedule ([`WarmupCosineConfig`]).
    ///
    /// # Errors
    /// As [`PreferenceTrainerConfig::validate`]; [`Error::InvalidConfig`] (`reference`) when a
    /// loss that needs a reference gets [`Reference::None`].
    pub fn init<B: AutodiffBackend>(
        &self,
        policy: ByteLm<B>,
        reference: Reference<B::InnerBackend>,
        device: &B::Device,
    ) -> crate::Result<PreferenceTrainer<B>> {
        let (loss, optim, sched) = self.parts::<B>(&reference)?;
        let mut trainer = Trainer::new(policy, optim, sched, self.seed);
        if self.on_non_finite == NonFinitePolicy::Stop {
            trainer = trainer.with_nonfinite_check(self.check_every())?;
        }
        Ok(PreferenceTrainer {
            trainer,
            reference,
            loss,
            config: self.clone(),
            device: device.clone(),
            window: None,
            window_steps: 0,
            skipped: Vec::new(),
        })
    }

    fn check_every(&self) -> usize {
        self.nonfinite_check_steps.unwrap_or(self.logging_steps)
    }

    #[allow(clippy::type_complexity)]
    fn parts<B: AutodiffBackend>(
        &self,
        reference: &Reference<B::InnerBackend>,
    ) -> crate::Result<(
        LossFn,
        burn::optim::adaptor::OptimizerAdaptor<AdamW, ByteLm<B>, B>,
        ComposedLrScheduler,
    )> {
        self.validate()?;
        if self.loss.needs_reference() && matches!(reference, Reference::None) {
            return Err(invalid(
                "reference",
                "none",
                "this loss needs a reference model or cache (or reference_free = true)",
            ));
        }
        let loss = self.loss.init()?;
        let optim = adamw(
            self.weight_decay as f32,
            self.max_grad_norm.map(|n| n as f32),
        )
        .with_epsilon(self.adam_epsilon as f32)
        .init::<B, ByteLm<B>>();
        let sched = WarmupCosineConfig::new(self.learning_rate, self.max_steps)
            .with_warmup_steps(self.warmup_steps)
            .with_min_lr_ratio(self.min_lr_ratio)
            .init()?;
        Ok((loss, optim, sched))
    }
}

impl<B: AutodiffBackend> PreferenceTrainer<B> {
    /// The configuration the trainer was built from.
    pub fn config(&self) -> &PreferenceTrainerConfig {
        &self.config
    }

    /// The reference the loss compares against.
    pub fn reference(&self) -> &Reference<B::InnerBackend> {
        &self.reference
    }

    /// Steps whose update was skipped so far ([`NonFinitePolicy::Skip`]).
    pub fn skipped_steps(&self) -> &[usize] {
        &self.skipped
    }

    fn path(&self) -> LogProbPath {
        match self.config.logprob_chunk_rows {
            Some(rows) => LogProbPath::Chunked { rows },
            None => LogProbPath::Direct,
        }
    }

    /// One training step on a collated batch: policy and reference log-probs, the loss, backward,
    /// clipping, AdamW and the LR schedule. `dataset_indices[i]` is the training-set position of
    /// the batch's `i`-th input item (only read with a [`Reference::Cache`]).
    ///
    /// Metrics stay on the device and are summed; every `logging_steps` steps their window means
    /// are read back (one transfer) and returned in [`StepOutcome::log`].
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] (naming the first bad step; the trainer restored to the last
    /// check that passed) under [`NonFinitePolicy::Stop`]; the model's and loss's typed errors;
    /// [`Error::Shape`] when `dataset_indices` is too short; [`Error::Data`] for a cache index
    /// out of range.
    pub fn step(
        &mut self,
        batch: &PairBatch<B>,
        dataset_indices: &[usize],
    ) -> crate::Result<StepOutcome> {
        let path = self.path();
        let uses_ref = self.config.loss.needs_reference();
        let reference = match (&self.reference, uses_ref) {
            (Reference::Model(m), true) => RefInput::LogProbs(PairLogProbs::from_inner(
                pair_logprobs(&**m, &inner_batch(batch), path)?,
            )),
            (Reference::Cache { train, .. }, true) => gathered(
                train,
                &kept_positions(&batch.kept, dataset_indices)?,
                &batch.input_ids.device(),
            )?,
            _ => RefInput::Free,
        };
        self.step_with(batch, reference)
    }

    /// [`PreferenceTrainer::step`] with reference log-probs for this batch supplied by the caller
    /// (computed elsewhere, on the inner backend; ignored by reference-free losses).
    ///
    /// # Errors
    /// As [`PreferenceTrainer::step`].
    pub fn step_with_reference(
        &mut self,
        batch: &PairBatch<B>,
        reference: PairLogProbs<B::InnerBackend>,
    ) -> crate::Result<StepOutcome> {
        self.step_with(
            batch,
            RefInput::LogProbs(PairLogProbs::from_inner(reference)),
        )
    }

    fn step_with(
        &mut self,
        batch: &PairBatch<B>,
        reference: RefInput<B>,
    ) -> crate::Result<StepOutcome> {
        let policy = pair_logprobs(&self.trainer.model, batch, self.path())?;
        let (loss, metrics, non_finite) = evaluate_loss(&self.loss, &policy, reference)?;
        let step = self.trainer.step;
        let every = self.config.logging_steps;
        let lr = if self.config.on_non_finite == NonFinitePolicy::Skip
            && non_finite.int().into_data().iter::<i64>().any(|v| v != 0)
        {
            self.trainer.scheduler.step();
            self.trainer.step += 1;
            self.skipped.push(step);
            None
        } else {
            match self.trainer.try_apply(loss) {
                Ok(lr) => {
                    let m = metrics.inner();
                    self.window = Some(match self.window.take() {
                        Some(w) => w + m,
                        None => m,
                    });
                    self.window_steps += 1;
                    Some(lr)
                }
                Err(e) => {
                    // The trainer is back at the last good check; drop the window since then.
                    self.window = None;
                    self.window_steps = 0;
                    return Err(e);
                }
            }
        };
        let log = if self.trainer.step.is_multiple_of(every) {
            self.flush_window(lr.unwrap_or(f64::NAN))
        } else {
            None
        };
        Ok(StepOutcome { step, lr, log })
    }

    /// Reads and clears the metrics window (one device transfer); `None` if it is empty.
    pub fn flush_window(&mut self, lr: f64) -> Option<MetricsRow> {
        let w = self.window.take()?;
        let n = std::mem::take(&mut self.window_steps);
        let v: Vec<f64> = w.div_scalar(n as f64).into_data().iter::<f64>().collect();
        Some(MetricsRow::from_values(self.trainer.step, lr, n, &v))
    }

    /// Evaluates the current policy on held-out pairs on the inner backend (`model.valid()`, no
    /// graph): pair-weighted means of the loss and the reward metrics, read back once.
    /// `pairs[i]` is evaluation-set position `i` (for [`Reference::Cache`]'s `eval` cache). Pairs
    /// that truncation drops entirely are not counted.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] (`reference`) when a cached reference has no `eval` cache;
    /// [`Error::Data`] for pairs the collator rejects; the model's and loss's typed errors.
    pub fn evaluate<T: Tokenizer, C: ChatTemplate>(
        &self,
        collator: &PairCollator<T, C>,
        pairs: &[EncodedPair],
    ) -> crate::Result<MetricsRow> {
        let policy = self.trainer.model.valid();
        let path = self.path();
        let uses_ref = self.config.loss.needs_reference();
        let mut sum: Option<Tensor<B::InnerBackend, 1>> = None;
        let mut total = 0usize;
        let bs = self.config.per_device_eval_batch_size;
        for (c, chunk) in pairs.chunks(bs).enumerate() {
            let host = match collator.collate_encoded(chunk) {
                Ok(h) => h,
                Err(DataError::EmptyBatch { .. }) => continue,
                Err(e) => return Err(e.into()),
            };
            let batch = inner_batch(&host.to_device::<B>(&self.device));
            let lp = pair_logprobs(&policy, &batch, path)?;
            let reference = match (&self.reference, uses_ref) {
                (Reference::Model(m), true) => {
                    RefInput::LogProbs(pair_logprobs(&**m, &batch, path)?)
                }
                (
                    Reference::Cache {
                        eval: Some(cache), ..
                    },
                    true,
                ) => {
                    let idx: Vec<usize> = batch.kept.iter().map(|k| c * bs + k).collect();
                    gathered(cache, &idx, &batch.input_ids.device())?
                }
                (Reference::Cache { eval: None, .. }, true) => return Err(invalid(
                    "reference",
                    "cache without eval",
                    "evaluation with a cached reference needs Reference::Cache { eval: Some(..) }",
                )),
                _ => RefInput::Free,
            };
            let (_, metrics, _) = evaluate_loss(&self.loss, &lp, reference)?;
            let weighted = metrics.mul_scalar(batch.num_pairs as f64);
            sum = Some(match sum.take() {
                Some(s) => s + weighted,
                None => weighted,
            });
            total += batch.num_pairs;
        }
        let v: Vec<f64> = match sum {
            Some(s) => s
                .div_scalar(total as f64)
                .into_data()
                .iter::<f64>()
                .collect(),
            None => Vec::new(),
        };
        Ok(MetricsRow::from_values(
            self.trainer.step,
            f64::NAN,
            total,
            &v,
        ))
    }

    /// Trains from the current step to `max_steps`: step `s` takes the training pairs
    /// [`batch_indices`]`(train.len(), per_device_train_batch_size, seed, s)`, collated by
    /// `collator`; logs every `logging_steps`, evaluates on `eval` (if not empty) every
    /// `eval_steps` and at the end, checkpoints every `save_steps` (with a `checkpoint_dir`).
    /// On a resumed trainer it continues where the checkpoint left off, drawing the same batches
    /// as the uninterrupted run; the CSV files then start afresh.
    ///
    /// # Errors
    /// As [`PreferenceTrainer::step`], [`PreferenceTrainer::evaluate`] and
    /// [`PreferenceTrainer::save`]; [`Error::InvalidConfig`] (`train`) for an empty training
    /// set; [`Error::Data`] when a batch loses every pair to truncation.
    pub fn fit<T: Tokenizer, C: ChatTemplate>(
        &mut self,
        collator: &PairCollator<T, C>,
        train: &[EncodedPair],
        eval: &[EncodedPair],
        opts: &FitOptions,
    ) -> crate::Result<FitSummary> {
        if train.is_empty() {
            return Err(invalid("train", 0, "needs at least one pair"));
        }
        let mut csv = opts
            .metrics_csv
            .as_deref()
            .map(|p| CsvLogger::create(p, &METRIC_COLUMNS))
            .transpose()?;
        let mut eval_csv = match (&opts.eval_csv, eval.is_empty()) {
            (Some(p), false) => Some(CsvLogger::create(p, &METRIC_COLUMNS)?),
            _ => None,
        };
        let max = self.config.max_steps;
        let eval_every = self.config.eval_steps.unwrap_or(self.config.logging_steps);
        let mut bar = opts.progress.then(|| {
            let mut b = Progress::new(format!("train {}", self.config.loss.name()), max as u64);
            b.set(self.trainer.step as u64, "");
            b
        });
        let mut summary = FitSummary::default();
        let mut message = String::new();
        let mut last_lr = f64::NAN;
        let mut evaluated_at = None;
        while self.trainer.step < max {
            let idx = batch_indices(
                train.len(),
                self.config.per_device_train_batch_size,
                self.config.seed,
                self.trainer.step,
            );
            let items: Vec<EncodedPair> = idx.iter().map(|&i| train[i].clone()).collect();
            let batch = collator
                .collate_encoded(&items)?
                .to_device::<B>(&self.device);
            let out = self.step(&batch, &idx)?;
            last_lr = out.lr.unwrap_or(last_lr);
            if let Some(row) = out.log {
                if let Some(c) = csv.as_mut() {
                    c.log(&row.values())?;
                }
                message = format!(
                    "loss {:.4}  acc {:.2}  margin {:.3}",
                    row.loss, row.rewards_accuracies, row.rewards_margins
                );
                summary.train.push(row);
            }
            let s = self.trainer.step;
            if !eval.is_empty() && s.is_multiple_of(eval_every) {
                let row = self.evaluate(collator, eval)?;
                if let Some(c) = eval_csv.as_mut() {
                    c.log(&row.values())?;
                }
                summary.eval.push(row);
                evaluated_at = Some(s);
            }
            if let (Some(every), Some(dir)) = (self.config.save_steps, &opts.checkpoint_dir) {
                if s.is_multiple_of(every) {
                    let d = dir.join(format!("checkpoint-{s}"));
                    self.save(&d)?;
                    summary.checkpoints.push(d);
                }
            }
            if let Some(b) = bar.as_mut() {
                b.set(s as u64, message.clone());
            }
        }
        self.trainer.check_finite()?;
        if let Some(row) = self.flush_window(last_lr) {
            if let Some(c) = csv.as_mut() {
                c.log(&row.values())?;
            }
            summary.train.push(row);
        }
        if !eval.is_empty() && evaluated_at != Some(self.trainer.step) {
            let row = self.evaluate(collator, eval)?;
            if let Some(c) = eval_csv.as_mut() {
                c.log(&row.values())?;
            }
            summary.eval.push(row);
        }
        for c in [csv.as_mut(), eval_csv.as_mut()].into_iter().flatten() {
            c.flush()?;
        }
        if let Some(b) = bar.as_mut() {
            b.finish(&message);
        }
        summary.steps = self.trainer.step;
        summary.skipped_steps = self.skipped.clone();
        Ok(summary)
    }

    /// Writes a checkpoint to `dir`: [`Trainer::save`]'s files (policy weights, optimiser and
    /// schedule state, step and seed), the frozen reference's weights
    /// ([`CHECKPOINT_REFERENCE`], with [`Reference::Model`]) and the skipped steps
    /// ([`CHECKPOINT_PREFERENCE_STATE`]). Runs the pending non-finite check first.
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] from that check; as [`Trainer::save`]; [`Error::Io`] /
    /// [`Error::Checkpoint`] naming the file.
    pub fn save(&mut self, dir: &Path) -> crate::Result<()> {
        self.trainer.check_finite()?;
        self.trainer.save(dir)?;
        if let Reference::Model(m) = &self.reference {
            let path = dir.join(CHECKPOINT_REFERENCE);
            let mut store = SafetensorsStore::from_file(path.clone()).overwrite(true);
            m.save_into(&mut store).map_err(|e| {
                Error::Checkpoint(format!("saving reference to {}: {e:?}", path.display()))
            })?;
        }
        let path = dir.join(CHECKPOINT_PREFERENCE_STATE);
        let state = PreferenceState {
            skipped_steps: self.skipped.clone(),
        };
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&state).expect("plain struct"),
        )
        .map_err(io_err(&path))
    }

    /// Writes the policy's weights alone to `path` (safetensors, burn-store's names), after the
    /// pending non-finite check — the run's final weights.
    ///
    /// # Errors
    /// [`Error::NonFiniteLoss`] from that check; [`Error::Checkpoint`] naming the file.
    pub fn save_model(&mut self, path: &Path) -> crate::Result<()> {
        self.trainer.check_finite()?;
        let mut store = SafetensorsStore::from_file(path.to_path_buf()).overwrite(true);
        self.trainer
            .model
            .valid()
            .save_into(&mut store)
            .map_err(|e| Error::Checkpoint(format!("saving {}: {e:?}", path.display())))
    }

    /// Resumes from a checkpoint written by [`PreferenceTrainer::save`]: `policy` (same
    /// architecture, any weights) receives the stored weights, the optimiser and schedule their
    /// stored state; a [`Reference::Model`] receives the stored reference weights (so pass a
    /// model of the same architecture; its weights are replaced). Continuing then reproduces the
    /// uninterrupted run exactly.
    ///
    /// # Errors
    /// As [`PreferenceTrainerConfig::init`] and [`Trainer::load`]; [`Error::Io`] /
    /// [`Error::Checkpoint`] / [`Error::Parse`] naming the file.
    pub fn load(
        dir: &Path,
        config: &PreferenceTrainerConfig,
        policy: ByteLm<B>,
        mut reference: Reference<B::InnerBackend>,
        device: &B::Device,
    ) -> crate::Result<Self> {
        let (loss, optim, sched) = config.parts::<B>(&reference)?;
        if let Reference::Model(m) = &mut reference {
            let path = dir.join(CHECKPOINT_REFERENCE);
            std::fs::metadata(&path).map_err(io_err(&path))?;
            let applied = m
                .load_from(&mut SafetensorsStore::from_file(path.clone()))
                .map_err(|e| {
                    Error::Checkpoint(format!("loading reference from {}: {e:?}", path.display()))
                })?;
            if !applied.missing.is_empty() || !applied.errors.is_empty() {
                return Err(Error::Checkpoint(format!(
                    "reference model does not match {}: missing {:?}, errors {:?}",
                    path.display(),
                    applied.missing,
                    applied.errors
                )));
            }
        }
        let mut trainer = Trainer::load(dir, policy, optim, sched, device)?;
        if config.on_non_finite == NonFinitePolicy::Stop {
            trainer = trainer.with_nonfinite_check(config.check_every())?;
        }
        let path = dir.join(CHECKPOINT_PREFERENCE_STATE);
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let state: PreferenceState = serde_json::from_str(&text).map_err(|e| Error::Parse {
            what: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            trainer,
            reference,
            loss,
            config: config.clone(),
            device: device.clone(),
            window: None,
            window_steps: 0,
            skipped: state.skipped_steps,
        })
    }
}

/// Reference log-probs of every pair under `reference`, for [`Reference::Cache`] (TRL
/// `precompute_ref_log_probs`): batches of `batch_size` pairs, one read per batch. Pairs that
/// truncation drops get 0 (they never reach a loss). `fingerprint` names the dataset (e.g.
/// [`dataset_fingerprint`](preferent_data::dataset_fingerprint) of its records).
///
/// # Errors
/// The model's typed errors; [`Error::Data`] for a non-finite log-prob or a rejected pair.
pub fn reference_cache<Bk: Backend, T: Tokenizer, C: ChatTemplate>(
    reference: &ByteLm<Bk>,
    collator: &PairCollator<T, C>,
    pairs: &[EncodedPair],
    batch_size: usize,
    fingerprint: u64,
    device: &Bk::Device,
) -> crate::Result<RefLogpCache> {
    let batch_size = batch_size.max(1);
    let mut chosen = vec![0.0f32; pairs.len()];
    let mut rejected = vec![0.0f32; pairs.len()];
    for (c, chunk) in pairs.chunks(batch_size).enumerate() {
        let host = match collator.collate_encoded(chunk) {
            Ok(h) => h,
            Err(DataError::EmptyBatch { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        let batch = host.to_device::<Bk>(device);
        let lp = pair_logprobs(reference, &batch, LogProbPath::Direct)?;
        let both: Vec<f32> = Tensor::cat(vec![lp.chosen, lp.rejected], 0)
            .into_data()
            .iter::<f32>()
            .collect();
        let n = batch.num_pairs;
        for (j, &k) in batch.kept.iter().enumerate() {
            chosen[c * batch_size + k] = both[j];
            rejected[c * batch_size + k] = both[n + j];
        }
    }
    Ok(RefLogpCache::new(fingerprint, chosen, rejected)?)
}
