//! The pairwise DPO family over `(policy, reference) × (chosen, rejected)` sequence log-probs.
//!
//! [`DpoConfig`] + [`PairwiseBatch`] → [`DpoLoss::forward`] gives the loss and TRL's metrics;
//! every loss type is also a plain function over `[B]` tensors (one file per family).

mod aot;
mod apo;
mod base;
mod bco;
mod discopop;
mod dpo;
mod exo;
mod f_divergence;
mod hinge;
mod ipo;
mod ld_dpo;
mod nca;
mod robust;
mod sft;
mod sigmoid;
mod sigmoid_norm;
mod sppo;
mod wpo;

#[cfg(test)]
mod tests;

pub use aot::{aot_loss, aot_unpaired_loss};
pub use apo::{apo_down_loss, apo_zero_loss};
pub use base::{DpoConfig, DpoLossType, FDivergenceType, PairwiseBatch, PairwiseMetrics};
pub use bco::{bco_pair_loss, BcoRunningMean};
pub use discopop::discopop_loss;
pub use dpo::{dpo_loss, DpoLoss};
pub use exo::exo_pair_loss;
pub use f_divergence::{alpha_coef_from_paper, f_divergence_score, SCORE_EXP_CAP};
pub use hinge::hinge_loss;
pub use ipo::ipo_loss;
pub use ld_dpo::ld_dpo_logps;
pub use nca::nca_pair_loss;
pub use robust::robust_loss;
pub use sft::sft_loss;
pub use sigmoid::sigmoid_loss;
pub use sigmoid_norm::sigmoid_norm_loss;
pub use sppo::sppo_hard_loss;
pub use wpo::wpo_log_weights;
