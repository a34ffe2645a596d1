//! preferent-samplers (work in progress).
