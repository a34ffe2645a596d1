//! The loss conformance suite (`preferent_testkit::loss_conformance!`) for SubPO's surrogate.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
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
