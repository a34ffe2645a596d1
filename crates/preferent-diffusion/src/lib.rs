//! # preferent-diffusion
//!
//! Preference alignment for diffusion models, on top of `preferent-samplers` (noise schedules,
//! stochastic transitions) and `preferent-losses` (stable log-sigmoid and the DPO family).
//!
//! | algorithm | module | status |
//! |---|---|---|
//! | Diffusion-DPO (Wallace et al. 2023) | [`diffusion_dpo`] | loss implemented and pinned |
//! | D3PO, SPO, PPD | — | planned |

pub mod diffusion_dpo;
pub mod error;

pub use diffusion_dpo::{
    diffusion_dpo_loss, DiffusionDpoBatch, DiffusionDpoConfig, DiffusionDpoLoss,
    DiffusionDpoMetrics, DiffusionDpoMetricsHost,
};
pub use error::{DiffusionError, LossError};
