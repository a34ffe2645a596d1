//! Noise schedules: discrete VP from betas, continuous VP, EDM/Karras sigmas, timestep spacing.
//!
//! Every schedule quantity is a host `f64` scalar: solvers read them per step without touching the
//! device (diffusers#9485 measured the cost of GPU-resident sigmas).

mod betas;
mod continuous;
mod discrete;
mod grid;
mod sigmas;
mod spacing;

pub(crate) use betas::linspace_pub;
pub use betas::{alphas_cumprod, betas, cosine_betas, rescale_zero_terminal_snr, BetaSchedule};
pub use continuous::{ContinuousSpacing, ContinuousVp};
pub(crate) use discrete::interp_sigmas;
pub use discrete::{DiscreteSchedule, DiscreteScheduleConfig};
pub use grid::{add_noise_per_row, GridPoint, TimeGrid, TimeKind};
pub use sigmas::{exponential_sigmas, flow_sigmas, karras_sigmas, lu_sigmas, SigmaSpacing};
pub use spacing::{ddim_timesteps, dpm_timesteps, TimestepSpacing};
