//! The loss conformance suite (`preferent_testkit::loss_conformance!`) for the RL losses:
//! SubPO's surrogate and PPO's clipped policy + value loss (DR-PO's loss).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use preferent_rl::ppo::{PpoBatch, PpoConfig};
use preferent_rl::{SubpoBatch, SubpoConfig};
use preferent_testkit::loss_conformance;

/// Two `[rows·3]` parts as `[rows, 3]` log-probs and gains; every step valid.
fn trajectories<B: Backend>(p: Vec<Tensor<B, 1>>) -> SubpoBatch<B> {
    let m = |k: usize| p[k].clone().reshape([p[k].dims()[0] / 3, 3]);
    let log_probs = m(0);
    SubpoBatch {
        mask: log_probs.ones_like(),
        gains: m(1).neg(),
        log_probs,
    }
}

loss_conformance!(
    subpo_batch_mean,
    SubpoConfig::new(),
    invalid = [SubpoConfig::new().with_gain_scale(0.0)],
    parts = 2,
    width = 3,
    grad = [0],
    mismatch = [1],
    build = trajectories
);

/// Six `[rows·3]` parts as `[rows, 3]`: log-probs, old log-probs, advantages, values, old values,
/// returns; policy and value masks all ones.
fn ppo_minibatch<B: Backend>(p: Vec<Tensor<B, 1>>) -> PpoBatch<B> {
    let m = |k: usize| p[k].clone().reshape([p[k].dims()[0] / 3, 3]);
    let log_probs = m(0);
    PpoBatch {
        policy_mask: log_probs.ones_like(),
        value_mask: m(3).ones_like(),
        old_log_probs: m(1),
        // Advantages of both signs, so both sides of the clip are exercised.
        advantages: m(2).add_scalar(1.5),
        values: m(3),
        old_values: m(4),
        returns: m(5),
        log_probs,
    }
}

loss_conformance!(
    ppo_clipped,
    PpoConfig::new(),
    invalid = [PpoConfig::new().with_clip_range(-0.1)],
    parts = 6,
    width = 3,
    grad = [0, 3],
    mismatch = [1],
    build = ppo_minibatch
);
