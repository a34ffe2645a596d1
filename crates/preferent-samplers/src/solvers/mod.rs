//! The solver family: one [`Solver`] trait, one file per algorithm, and the [`Sampler`] driver
//! that owns the step position for all of them (`base.rs`).
//!
//! ```text
//! Solver   (immutable: config + TimeGrid; Clone, Send, Sync)
//!   step(&self, state: &mut State, k, model_output, x_k, noise) -> StepOutput
//! Sampler  (owns k and State; checks bounds and shapes; draws noise)
//!   step / peek (propose without committing) / set_begin_index / add_noise(_rows)
//!   sample / sample_with_noise / sample_trajectory → Trajectory (rescore, log_prob)
//! ```
//!
//! | solver | file | order | stochastic |
//! |---|---|---|---|
//! | [`Ddim`] | `ddim.rs` | 1 | with η > 0 |
//! | [`Ddpm`] | `ddpm.rs` | 1 | yes |
//! | [`DpmSolverMultistep`] | `dpm_solver_multistep.rs` | 1–3 | SDE variants |
//! | [`DpmSolverSinglestep`] | `dpm_solver_singlestep.rs` | 1–3 | SDE variants (1–2) |
//! | [`EulerEdm`] | `euler_edm.rs` | 1 | no |
//! | [`HeunEdm`] | `heun_edm.rs` | 2 | no |
//! | [`FlowMatchEuler`] | `flow_match_euler.rs` | 1 | with `stochastic_sampling` |
//! | [`UniPc`] | `unipc.rs` | 1–3 (UniC: +1) | no |
//! | [`adaptive_sample`] | `adaptive.rs` | 2 (12) / 3 (23), adaptive | no |
//!
//! # DPM-Solver coefficient table
//! Every DPM update is `x_t = c_x·x_anchor + c₀m₀ + c₁m₁ + c₂m₂ + c_z z` with host-scalar
//! coefficients built from (h = λ_t − λ_s, anchor s):
//! ```text
//!              c_x            D₀ coef          D₁ (heun/φ₂)     D₂ (φ₃)          noise
//! dpmsolver++  σ_t/σ_s        −α_t·expm1(−h)   α_t·h·φ₂(−h)     α_t·h·φ₃(−h)     0
//! dpmsolver    α_t/α_s        −σ_t·expm1(h)    −σ_t·h·φ₂(h)     −σ_t·h·φ₃(h)     0
//! sde-dpm++    σ_t/σ_s·e^{−h} −α_t·expm1(−2h)  α_t·2h·φ₂(−2h)   α_t·2h·φ₃(−2h)   σ_t√(−expm1(−2h))
//! sde-dpm      α_t/α_s        −2σ_t·expm1(h)   −2σ_t·h·φ₂(h)    —                σ_t√(expm1(2h))
//! midpoint D₁ coefficient = ½·(D₀ coefficient)
//! ```
//! Multistep: `D₁ = (m₀ − m₁)/r₀`; order 3 `D₁ = D₁₀ + r₀/(r₀+r₁)(D₁₀ − D₁₁)`,
//! `D₂ = (D₁₀ − D₁₁)/(r₀+r₁)`. Singlestep uses the anchor of its block (diffusers' forms).
//! The sde-dpmsolver++ third-order D₂ coefficient differs from diffusers, whose
//! `α_t((1−e^{−2h}−2h)/(2h)² − ½)` has a sign slip (it tends to −α_t as h → 0); the exact
//! integral, also used by k-diffusion's `sample_dpmpp_3m_sde`, is `α_t·2h·φ₃(−2h)`.

mod adaptive;
mod base;
mod ddim;
mod ddpm;
mod dpm_common;
mod dpm_solver_multistep;
mod dpm_solver_singlestep;
mod euler_edm;
mod flow_match_euler;
mod heun_edm;
mod unipc;

pub use adaptive::{adaptive_sample, AdaptiveConfig, AdaptiveOutput};
pub use base::{
    sample, sample_with_noise, GaussianTransition, Prior, Progress, Reduction, Sampler, Solver,
    SolverSpec, StepOutput, Trajectory, TrajectoryStep,
};
pub use ddim::{ddim_variance, Ddim, DdimConfig};
pub use ddpm::{Ddpm, DdpmConfig};
pub use dpm_common::{DpmAlgorithm, DpmSolverType, FinalSigmas, ThirdOrderRule};
pub use dpm_solver_multistep::{DpmSolverMultistep, DpmSolverMultistepConfig, MultistepState};
pub use dpm_solver_singlestep::{
    singlestep_order_list, DpmSolverSinglestep, DpmSolverSinglestepConfig, SinglestepState,
};
pub use euler_edm::{EdmConfig, EulerEdm};
pub use flow_match_euler::{FlowMatchEuler, FlowMatchEulerConfig, FlowTimeShift};
pub use heun_edm::{HeunEdm, HeunState};
pub use unipc::{UniPc, UniPcConfig, UniPcState, UniPcVariant};
