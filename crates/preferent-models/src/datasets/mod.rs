//! Data shipped with the crate (8×8 digits) and seeded generated 2-D sets.

mod digits;
mod toy2d;

pub use digits::{load_digits, Digits, DIGITS_PIXELS};
pub use toy2d::{ring_of_gaussians, two_moons, Points2d};
