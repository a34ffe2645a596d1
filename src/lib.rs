//! # preferent
//!
//! Preference optimisation, diffusion samplers and diffusion alignment on
//! [burn](https://burn.dev) 0.21, generic over the backend. This facade re-exports the crates
//! behind features (all on by default), so a project can depend on `preferent` alone or pick
//! single crates (`preferent-losses`, `preferent-samplers`, …).
//!
//! | feature | crate | what it holds |
//! |---|---|---|
//! | `losses` | [`losses`] | DPO family, SimPO, KTO, ORPO, reward-model losses, SRPO, BRAIn, token rewards, sequence log-probs |
//! | `samplers` | [`samplers`] | DDIM, DPM-Solver, DPM-Solver++ and schedules, matching diffusers |
//! | `diffusion` | [`diffusion`] | diffusion alignment (Diffusion-DPO, …) |
//! | `rl` | [`rl`] | SubPO and other non-additive / preference RL objectives |
//! | `data` | [`data`] | preference datasets, transformations, batching |
//! | `models` | [`models`] | reference networks and training utilities |
//! | `wgpu` | — | enables `burn::backend::Wgpu` |
//! | `cuda` | — | enables `burn::backend::Cuda` (loads libcuda at run time) |
//!
//! Nothing in the library names a backend: pick one in your binary, e.g.
//! `type B = burn::backend::Autodiff<burn::backend::Flex>;`.

pub use burn;

#[cfg(feature = "data")]
pub use preferent_data as data;
#[cfg(feature = "diffusion")]
pub use preferent_diffusion as diffusion;
#[cfg(feature = "losses")]
pub use preferent_losses as losses;
#[cfg(feature = "models")]
pub use preferent_models as models;
#[cfg(feature = "rl")]
pub use preferent_rl as rl;
#[cfg(feature = "samplers")]
pub use preferent_samplers as samplers;
