//! preferent-models (work in progress).
