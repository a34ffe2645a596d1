//! # preferent-rl
//!
//! Reinforcement learning with preference, distributional and non-additive objectives.
//!
//! The crate's shape, written once and shared by every algorithm:
//! - [`env`](mod@env): a small [`env::Environment`] trait (reset / step with the caller's seeded
//!   generator), [`env::Episode`] and [`env::rollout`];
//! - [`tabular`]: finite MDPs with exact transition tables ([`tabular::TabularMdp`], validated at
//!   construction) and their environment — exact DP runs on the host in `f64`;
//! - [`token`]: the token-level MDP of RLHF ([`token::TokenEnv`]: deterministic transitions, a
//!   score on the finished response, TRL's missing-EOS penalty);
//! - [`returns`]: reward-to-go, GAE and masked whitening on `[B, T]` tensors, generic over the
//!   backend;
//! - [`policy`]: a time-indexed tabular softmax policy as a burn module
//!   ([`policy::TabularPolicy`]), sampled on the host from one read;
//! - losses return preferent-losses' [`preferent_losses::output::LossOutput`] through the one
//!   loss interface ([`preferent_losses::base::PreferenceLoss`]).
//!
//! | algorithm | module | status |
//! |---|---|---|
//! | PPO (clipped policy + value loss, RLHF KL reward) | [`ppo`] | pinned to a numpy transcription of TRL |
//! | DR-PO: dataset resets (Chang et al. 2024) | [`drpo`] | resets + roll-in mask over [`ppo`]; token-MDP experiment planned |
//! | SubPO: submodular policy optimisation (Prajapat et al. 2023) | [`subpo`] | marginal gains + policy-gradient surrogate |
//! | Stock-augmented distributional DP (Ávila Pires et al. 2025) | [`stock`] | exact (state, stock) DP, CVaR / utilities, checked by enumeration |
//! | OPPO, GPDP | — | planned |

pub mod drpo;
pub mod env;
pub mod error;
pub mod policy;
pub mod ppo;
pub mod returns;
pub mod stock;
pub mod subpo;
pub mod tabular;
pub mod token;

pub use error::{LossError, RlError};
pub use subpo::{
    marginal_gains, subpo_policy_gradient_loss, SubpoBaseline, SubpoBatch, SubpoConfig, SubpoLoss,
    SubpoMetrics, SubpoMetricsHost, SubpoWeighting,
};
