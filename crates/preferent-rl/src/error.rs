//! Typed errors of the RL objectives: the shared preference-loss vocabulary.
//!
//! Every loss in preferent reports bad input through one enum, [`LossError`] from
//! preferent-losses; `RlError` is that enum under the crate's name. Host-side values (e.g. a set
//! function `F` on a prefix) that are not finite are [`LossError::OutOfDomain`] with their index.

pub use preferent_losses::LossError;

/// The RL crate's name for [`LossError`] (one error vocabulary across the loss crates).
pub type RlError = LossError;
