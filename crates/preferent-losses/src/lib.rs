//! # preferent-losses
//!
//! Preference-optimisation losses over burn tensors, generic over the backend: the DPO family
//! (every variant TRL ships), SimPO, IPO, cDPO/rDPO, f-DPO, KTO, ORPO, SLiC, SRPO, BRAIn,
//! token-level implicit rewards, reward-model losses, and the sequence log-prob machinery under
//! them. Every loss is a pure function: log-probs (and masks) in, a loss plus a detached metrics
//! struct out.

pub mod error;
pub mod numerics;
pub mod output;

// --- sequence log-probs and the pairwise DPO family ---------------------------------------------

// --- beyond the pairwise family ------------------------------------------------------------------

pub use error::LossError;
pub use output::LossOutput;
