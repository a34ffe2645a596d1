//! # preferent-rl
//!
//! Reinforcement learning with non-additive and preference objectives, generic over burn's
//! backend.
//!
//! | algorithm | module | status |
//! |---|---|---|
//! | SubPO: submodular policy optimisation (Prajapat et al. 2023) | [`subpo`] | marginal gains + policy-gradient surrogate implemented and pinned |
//! | DR-PO, stock-augmented distributional DP, OPPO, GPDP | — | planned |

pub mod error;
pub mod subpo;

pub use error::{LossError, RlError};
pub use subpo::{
    marginal_gains, subpo_policy_gradient_loss, SubpoBaseline, SubpoBatch, SubpoConfig, SubpoLoss,
    SubpoMetrics, SubpoMetricsHost,
};
