//! BCO (pairwise): binary classifier optimisation with a reward shift.

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

/// BCO on pairs: a binary classifier separating chosen from rejected rewards around δ.
///
/// ```text
/// ℓ = −log σ(β·s_w − δ) − log σ(−(β·s_l − δ))
/// ```
///
/// TRL HEAD uses δ = 0; legacy TRL (≤ v0.23) used the running mean of `β·r` over past batches
/// (see [`BcoRunningMean`]). Here δ is an explicit input (`PairwiseBatch::bco_delta`).
///
/// # Shapes
/// `chosen_scores, rejected_scores: [B]` → `[B]`.
///
/// # References
/// Jung et al., "Binary Classifier Optimization for LLM Alignment", arXiv 2404.04656, Eq. 6; TRL
/// `dpo_trainer.py` (`bco_pair`).
pub fn bco_pair_loss<B: Backend>(
    chosen_scores: Tensor<B, 1>,
    rejected_scores: Tensor<B, 1>,
    beta: f64,
    delta: f64,
) -> Tensor<B, 1> {
    let cw = chosen_scores.mul_scalar(beta).sub_scalar(delta);
    let cl = rejected_scores.mul_scalar(beta).sub_scalar(delta);
    log_sigmoid(cw).neg() - log_sigmoid(cl.neg())
}

/// BCO's running reward shift δ: the mean over all updates of each batch's mean `β·r`.
///
/// Legacy TRL updates its `RunningMoments` once per batch with the batch mean of
/// `cat(β·r_w, β·r_l)` (one sample per batch), then reads δ = its mean. Use
/// [`PairwiseMetrics::mean_reward`](super::PairwiseMetrics) as that sample.
///
/// ```text
/// δ_n = δ_{n−1} + (x_n − δ_{n−1}) / n
/// ```
///
/// # References
/// TRL v0.23.0 `trl/trainer/utils.py::RunningMoments`, `dpo_trainer.py` (`bco_pair`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BcoRunningMean {
    mean: f64,
    count: u64,
}

impl BcoRunningMean {
    /// An empty running mean (δ = 0).
    pub fn new() -> Self {
        Self::default()
    }

    /// Folds in one batch's mean reward and returns the updated δ.
    pub fn update(&mut self, batch_mean_reward: f64) -> f64 {
        self.count += 1;
        self.mean += (batch_mean_reward - self.mean) / self.count as f64;
        self.mean
    }

    /// The current δ.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// How many batches have been folded in.
    pub fn count(&self) -> u64 {
        self.count
    }
}
