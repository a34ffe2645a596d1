//! preferent-losses (work in progress).
