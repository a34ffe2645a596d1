//! Typed errors of the RL crate.
//!
//! The losses (SubPO's surrogate, PPO/DR-PO) report bad tensors through the shared loss
//! vocabulary, [`LossError`] from preferent-losses (one error type across the loss crates, and
//! what `PreferenceLoss::forward` returns). Everything else the crate checks — tabular MDPs,
//! stock grids, returns, horizons — is an [`RlError`], which wraps a [`LossError`] when a loss
//! fails inside a larger routine.

use thiserror::Error;

pub use preferent_losses::LossError;

/// What went wrong with an MDP, a policy, a horizon, a return computation or a loss.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RlError {
    /// A loss (or a tensor check shared with the losses) failed.
    #[error(transparent)]
    Loss(#[from] LossError),
    /// A row of probabilities (a transition row, an initial distribution, a policy row) is not a
    /// distribution: a negative or non-finite entry, or a sum different from 1.
    #[error("`{name}` row {row} is not a probability distribution: {problem}")]
    NotADistribution {
        /// What the row belongs to (e.g. "transition(s=2, a=1)", "initial").
        name: String,
        /// The row's index (the flat `s·A + a` for transitions, 0 for a single distribution).
        row: usize,
        /// What is wrong, in words (e.g. "sums to 0.9", "entry 3 is -0.1").
        problem: String,
    },
    /// An index (a state, an action, a next state) lies outside its range.
    #[error("`{name}` = {value} is out of range: must be < {bound}")]
    IndexOutOfRange {
        /// The offending argument.
        name: &'static str,
        /// The value given.
        value: usize,
        /// The exclusive upper bound.
        bound: usize,
    },
    /// A parameter (a horizon, a discount, a CVaR level, a grid) is outside its valid range.
    #[error("invalid parameter `{name}` = {value}: must be {requirement}")]
    InvalidParameter {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The valid range, in words.
        requirement: &'static str,
    },
    /// A reward is not finite, or (for the exact integer stock grid) not an integer.
    #[error("reward {reward} of transition (s={state}, a={action}, outcome {outcome}) {problem}")]
    BadReward {
        /// The state.
        state: usize,
        /// The action.
        action: usize,
        /// The outcome's index in the (state, action) row.
        outcome: usize,
        /// The reward.
        reward: f64,
        /// What is wrong, in words.
        problem: &'static str,
    },
    /// Two lengths that must agree do not (e.g. rewards and values of one trajectory).
    #[error("length mismatch: `{name}` has length {actual}, expected {expected}")]
    LengthMismatch {
        /// The offending argument.
        name: &'static str,
        /// Its length.
        actual: usize,
        /// The length it had to have.
        expected: usize,
    },
    /// An input that must hold at least one element is empty (a trajectory, an MDP).
    #[error("`{name}` is empty")]
    Empty {
        /// The offending argument.
        name: &'static str,
    },
    /// A policy chose an action the environment does not have.
    #[error("policy chose action {action} at t={t}, state {state}: the MDP has {n_actions}")]
    BadAction {
        /// The step.
        t: usize,
        /// The state.
        state: usize,
        /// The action chosen.
        action: usize,
        /// The number of actions.
        n_actions: usize,
    },
    /// A stock fell outside the stock grid a policy was solved on (the grid does not cover the
    /// returns reachable from the initial stock).
    #[error("stock {stock} at t={t} lies outside the solved grid [{lo}, {hi}]")]
    StockOutsideGrid {
        /// The step.
        t: usize,
        /// The stock.
        stock: f64,
        /// The grid's lowest atom.
        lo: f64,
        /// The grid's highest atom.
        hi: f64,
    },
    /// An environment was stepped after its episode ended.
    #[error("the episode has ended (t = {t} of horizon {horizon}); call reset")]
    EpisodeOver {
        /// The step reached.
        t: usize,
        /// The horizon.
        horizon: usize,
    },
}

impl RlError {
    /// `Ok` when `value < bound`, else [`RlError::IndexOutOfRange`] naming `name`.
    ///
    /// # Errors
    /// [`RlError::IndexOutOfRange`].
    pub fn check_index(name: &'static str, value: usize, bound: usize) -> Result<(), RlError> {
        if value < bound {
            Ok(())
        } else {
            Err(RlError::IndexOutOfRange { name, value, bound })
        }
    }
}
