//! # preferent-losses
//!
//! Preference-optimisation losses over burn tensors, generic over the backend: the DPO family
//! (every variant TRL ships), SimPO, IPO, cDPO/rDPO, f-DPO, KTO, ORPO, SLiC, SRPO, BRAIn,
//! token-level implicit rewards, reward-model losses, and the sequence log-prob machinery under
//! them. Every loss has one interface ([`base`]): its config's `init()` validates once and returns
//! the loss object; [`base::PreferenceLoss::forward`] takes a typed batch and returns a
//! [`LossOutput`] — the differentiable loss, metrics as detached tensors (read on demand, one
//! device transfer), and a detached NaN/±∞ indicator over the inputs and the loss. Variants are enums, hyperparameters are `burn` configs whose defaults name their
//! source, and bad input is a typed [`LossError`], never a panic.
//!
//! ## Crate map
//!
//! | module | what |
//! |---|---|
//! | [`logprobs`] | per-token / per-sequence log-probs from logits: direct, chunked (bounded temporaries), fused from hidden states + LM head; the shift-by-one helper |
//! | [`pairwise`] | the DPO family over `(policy, reference) × (chosen, rejected)` log-probs: [`pairwise::DpoConfig`], [`pairwise::DpoLossType`], f-divergences, WPO, LD-DPO, RPO, weighted sums, TRL metrics |
//! | [`numerics`] | stable `log σ`, softplus, logsumexp |
//! | [`base`] | the one interface: [`base::LossConfig`], [`base::PreferenceLoss`], [`base::LossMetrics`] |
//! | [`output`] | [`LossOutput`]: the differentiable loss, detached metrics, the non-finite flag; [`output::FiniteWatch`] |
//! | [`error`] | [`LossError`] |
//!
//! Beyond the pairwise family (SimPO, ORPO, KTO, Bradley–Terry, Plackett–Luce, SRPO, BRAIn,
//! token-level rewards, DPORM) each loss has its own module, named after it.
//!
//! ## A DPO step
//!
//! Log-probs of the completions under the policy and the frozen reference, a DPO loss with TRL's
//! metrics, and gradients back into the policy's logits. With the policy equal to the reference
//! every margin is zero and the loss is `ln 2`.
//!
//! ```
//! # fn main() -> Result<(), preferent_losses::LossError> {
//! use burn::backend::{Autodiff, Flex};
//! use burn::tensor::{Bool, Distribution, Int, Tensor, TensorData};
//! use preferent_losses::logprobs::{sequence_logprobs, sequence_logprobs_chunked};
//! use preferent_losses::pairwise::{DpoConfig, PairwiseBatch};
//!
//! type B = Autodiff<Flex>;
//! let device = Default::default();
//! let (pairs, t, v) = (2, 6, 11);
//! // Rows 0..pairs hold the chosen completions, rows pairs..2·pairs the rejected ones;
//! // labels are already aligned with the logits (see `logprobs::shift_for_next_token`).
//! let logits = Tensor::<B, 3>::random([2 * pairs, t, v], Distribution::Normal(0.0, 1.0), &device)
//!     .require_grad();
//! let ids: Vec<i64> = (0..2 * pairs * t).map(|i| (i * 7 % v) as i64).collect();
//! let labels = Tensor::<B, 2, Int>::from_data(TensorData::new(ids, [2 * pairs, t]), &device);
//! // The first two positions are prompt: masked out of the sums.
//! let keep: Vec<bool> = (0..2 * pairs * t).map(|i| i % t >= 2).collect();
//! let mask = Tensor::<B, 2, Bool>::from_data(TensorData::new(keep, [2 * pairs, t]), &device);
//!
//! let policy = sequence_logprobs(logits.clone(), labels.clone(), mask.clone())?;
//! // The reference needs no graph; the chunked path bounds its temporaries.
//! let reference = sequence_logprobs_chunked(logits.clone().detach(), labels, mask, 256)?;
//! let (chosen, rejected) = (0..pairs, pairs..2 * pairs);
//! let batch = PairwiseBatch::new(
//!     policy.sum.clone().slice([chosen.clone()]),
//!     policy.sum.slice([rejected.clone()]),
//!     reference.sum.clone().slice([chosen]),
//!     reference.sum.slice([rejected]),
//! );
//! let out = DpoConfig::new().with_beta(0.1).init()?.forward(batch)?;
//! let loss = out.loss.clone().into_scalar();
//! assert!((loss - std::f32::consts::LN_2).abs() < 1e-6);
//! assert!(out.metrics.read().rewards_margins.abs() < 1e-5); // TRL's `rewards/margins`
//! let grads = out.loss.backward();
//! assert_eq!(logits.grad(&grads).unwrap().dims(), [2 * pairs, t, v]);
//! # Ok(())
//! # }
//! ```
//!
//! ## TRL `DPOConfig` → preferent
//!
//! Strings appear only at the boundary ([`pairwise::DpoLossType::from_trl`]); everything else is
//! typed. "HEAD" is TRL commit `f2cd577`, "legacy" is v0.23.0.
//!
//! | TRL | preferent |
//! |---|---|
//! | `loss_type="sigmoid"` | [`DpoLossType::Sigmoid`](pairwise::DpoLossType::Sigmoid) ([`sigmoid_loss`](pairwise::sigmoid_loss)) |
//! | `"sigmoid"` + `label_smoothing=ε` (legacy cDPO) | `Sigmoid` + [`DpoConfig::label_smoothing`](pairwise::DpoConfig::label_smoothing) (HEAD ignores ε here) |
//! | `"hinge"` (SLiC) | [`DpoLossType::Hinge`](pairwise::DpoLossType::Hinge) ([`hinge_loss`](pairwise::hinge_loss)) |
//! | `"ipo"` | [`DpoLossType::Ipo`](pairwise::DpoLossType::Ipo) ([`ipo_loss`](pairwise::ipo_loss); needs lengths) |
//! | `"exo_pair"` | [`DpoLossType::ExoPair`](pairwise::DpoLossType::ExoPair) ([`exo_pair_loss`](pairwise::exo_pair_loss); ε > 0) |
//! | `"nca_pair"` | [`DpoLossType::NcaPair`](pairwise::DpoLossType::NcaPair) ([`nca_pair_loss`](pairwise::nca_pair_loss)) |
//! | `"robust"` (rDPO) | [`DpoLossType::Robust`](pairwise::DpoLossType::Robust) ([`robust_loss`](pairwise::robust_loss)) |
//! | `"bco_pair"` | [`DpoLossType::BcoPair`](pairwise::DpoLossType::BcoPair) ([`bco_pair_loss`](pairwise::bco_pair_loss); legacy δ via [`BcoRunningMean`](pairwise::BcoRunningMean)) |
//! | `"sppo_hard"` | [`DpoLossType::SppoHard`](pairwise::DpoLossType::SppoHard) ([`sppo_hard_loss`](pairwise::sppo_hard_loss)) |
//! | `"aot"` | [`DpoLossType::Aot`](pairwise::DpoLossType::Aot) ([`aot_loss`](pairwise::aot_loss)) |
//! | `"aot_unpaired"` (legacy `"aot_pair"`) | [`DpoLossType::AotUnpaired`](pairwise::DpoLossType::AotUnpaired) ([`aot_unpaired_loss`](pairwise::aot_unpaired_loss)) |
//! | `"apo_zero"` | [`DpoLossType::ApoZero`](pairwise::DpoLossType::ApoZero) ([`apo_zero_loss`](pairwise::apo_zero_loss)) |
//! | `"apo_down"` | [`DpoLossType::ApoDown`](pairwise::DpoLossType::ApoDown) ([`apo_down_loss`](pairwise::apo_down_loss)) |
//! | `"discopop"` | [`DpoLossType::DiscoPop`](pairwise::DpoLossType::DiscoPop) ([`discopop_loss`](pairwise::discopop_loss)) |
//! | `"sft"` | [`DpoLossType::Sft`](pairwise::DpoLossType::Sft) ([`sft_loss`](pairwise::sft_loss)) |
//! | `"sigmoid_norm"` | [`DpoLossType::SigmoidNorm`](pairwise::DpoLossType::SigmoidNorm) ([`sigmoid_norm_loss`](pairwise::sigmoid_norm_loss)) |
//! | `loss_type=[…]`, `loss_weights=[…]` | [`DpoConfig::loss_types`](pairwise::DpoConfig::loss_types), [`DpoConfig::loss_weights`](pairwise::DpoConfig::loss_weights) |
//! | `f_divergence_type` | [`FDivergenceType`](pairwise::FDivergenceType) ([`f_divergence_score`](pairwise::f_divergence_score)) |
//! | `f_alpha_divergence_coef` | [`DpoConfig::f_alpha_divergence_coef`](pairwise::DpoConfig::f_alpha_divergence_coef), HEAD convention; legacy/paper α via [`alpha_coef_from_paper`](pairwise::alpha_coef_from_paper) |
//! | `reference_free` (legacy) | [`DpoConfig::reference_free`](pairwise::DpoConfig::reference_free) or [`PairwiseBatch::reference_free`](pairwise::PairwiseBatch::reference_free) |
//! | `use_weighting` (WPO) | [`DpoConfig::use_weighting`](pairwise::DpoConfig::use_weighting) + [`wpo_log_weights`](pairwise::wpo_log_weights) |
//! | `ld_alpha` (LD-DPO) | [`ld_dpo_logps`](pairwise::ld_dpo_logps) (apply to policy and reference) |
//! | `rpo_alpha` (legacy RPO) | [`DpoConfig::rpo_alpha`](pairwise::DpoConfig::rpo_alpha) |
//! | `discopop_tau` | [`DpoConfig::discopop_tau`](pairwise::DpoConfig::discopop_tau) |
//! | `selective_log_softmax` | [`logprobs::sequence_logprobs`] / [`logprobs::sequence_logprobs_chunked`] |
//! | `use_liger_kernel` | [`logprobs::sequence_logprobs_fused`] |
//! | `rewards/*`, `logps/*` metrics | [`PairwiseMetrics`](pairwise::PairwiseMetrics) |
//!
//! CPO's `loss_type="simpo"`, ORPO and KTO live in their own modules (see the crate map).

pub mod base;
pub mod error;
pub mod numerics;
pub mod output;

// --- sequence log-probs and the pairwise DPO family ---------------------------------------------
pub mod logprobs;
pub mod pairwise;

// --- beyond the pairwise family ------------------------------------------------------------------
mod beyond_checks;
pub mod bradley_terry;
pub mod brain;
pub mod dporm;
pub mod kto;
pub mod orpo;
pub mod plackett_luce;
pub mod simpo;
pub mod srpo;
pub mod token_reward;

pub use error::LossError;
pub use output::LossOutput;
