//! preferent-rl (work in progress).
