//! preferent facade.
