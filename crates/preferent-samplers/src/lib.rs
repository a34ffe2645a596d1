//! # preferent-samplers
//!
//! Diffusion ODE/SDE samplers over burn tensors, generic over the backend, reproducing
//! HuggingFace diffusers' scheduler tests: DDIM, DDPM, DPM-Solver and DPM-Solver++ (single- and
//! multistep, orders 1–3, midpoint/heun, SDE variants), Euler and Heun in EDM's σ space.
//!
//! - [`schedule`]: betas, ᾱ, α/σ/λ, continuous VP, Karras/Lu/exponential/flow-matching sigmas,
//!   timestep spacings — all host `f64`.
//! - [`prediction`], [`thresholding`], [`guidance`]: parameterisations (ε, x₀, v, score, flow),
//!   dynamic thresholding, classifier(-free) guidance.
//!
//! Flow-matching models (SD3 / Flux style, `u = ε − x₀`) sample with DPM-Solver++ on
//! [`schedule::SigmaSpacing::Flow`] and [`prediction::PredictionType::Flow`], as diffusers'
//! `use_flow_sigmas` does; at order 1 that is exactly the flow-matching Euler step
//! `x + (σ_next − σ)·u` (tested), which [`solvers::FlowMatchEuler`] implements with diffusers'
//! `FlowMatchEulerDiscreteScheduler` schedule (SD3 static shift, Flux dynamic shift).
//! - [`solvers`]: the [`solvers::Solver`] trait, every solver, and the [`solvers::Sampler`]
//!   driver (step position, `peek`, the sampling loop, recorded [`solvers::Trajectory`]s).
//! - [`schedule::TimeGrid`]: the typed time grid every solver exposes (what its times are, the
//!   point of every model evaluation, forward noising with one t per batch row).
//! - [`analytic`]: a Gaussian-mixture model with exact ε under VP and an error-vs-NFE table.
//! - [`phi`]: the φ-functions, finite as h → 0.
//! - [`pfgmpp`]: PFGM++ (Xu et al. 2023): the beta-prime perturbation kernel with r = σ√D, EDM
//!   preconditioning and loss weight, the heavy-tailed prior, and EDM Heun sampling from it.
//!
//! # Example
//! ```
//! use burn::backend::Flex;
//! use burn::tensor::Tensor;
//! use preferent_samplers::solvers::{DpmSolverMultistep, DpmSolverMultistepConfig, Sampler};
//!
//! let device = Default::default();
//! let solver = DpmSolverMultistep::new(DpmSolverMultistepConfig::new(), 10).unwrap();
//! let mut sampler = Sampler::<Flex, 2, _>::new(solver);
//! let x_t: Tensor<Flex, 2> = Tensor::zeros([2, 3], &device);
//! // A model predicting ε = 0 maps pure noise x_T to α_0/α_T · x_T.
//! let x0 = sampler.sample(|x: &Tensor<Flex, 2>, _t| x.zeros_like(), x_t, |_| {}).unwrap();
//! assert_eq!(x0.dims(), [2, 3]);
//! ```

pub mod analytic;
pub mod error;
pub mod guidance;
pub mod pfgmpp;
pub mod phi;
pub mod prediction;
pub mod schedule;
pub mod solvers;
pub mod thresholding;

pub use error::{SamplerError, SamplerResult};
