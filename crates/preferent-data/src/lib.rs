//! preferent-data (work in progress).
