//! preferent-diffusion (work in progress).
