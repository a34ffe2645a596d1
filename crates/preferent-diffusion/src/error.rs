//! Typed errors of the diffusion-alignment losses: the shared preference-loss vocabulary.
//!
//! Every loss in preferent (language and diffusion) reports bad input through one enum,
//! [`LossError`] from preferent-losses; `DiffusionError` is that enum under the crate's name.

pub use preferent_losses::LossError;

/// The diffusion crate's name for [`LossError`] (one error vocabulary across the loss crates).
pub type DiffusionError = LossError;
