//! Label-flip noise at rate ε, with the flip mask recorded.

use crate::error::DataError;
use crate::records::PairRecord;
use crate::rng::SplitMix64;

/// Pairs after [`flip_labels`], with the mask of which were flipped.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelNoise {
    /// The pairs, in input order; flipped ones have chosen and rejected swapped.
    pub pairs: Vec<PairRecord>,
    /// `flip_mask[i]` is true when pair `i` was flipped.
    pub flip_mask: Vec<bool>,
    /// Number of flipped pairs.
    pub flipped: usize,
}

/// Swaps chosen and rejected of each pair independently with probability `epsilon`.
///
/// ```text
/// for i in 0..n:  u_i = SplitMix64(seed).next_f64();  flip_i = u_i < ε
/// ```
/// Used to simulate noisy preferences for robust losses (cDPO / rDPO, ε = label noise rate).
///
/// # References
/// rDPO, arXiv:2403.00409 (noise model); cDPO, Mitchell 2023 note.
pub fn flip_labels(
    pairs: Vec<PairRecord>,
    epsilon: f64,
    seed: u64,
) -> Result<LabelNoise, DataError> {
    if !(0.0..=1.0).contains(&epsilon) {
        return Err(DataError::InvalidConfig(format!(
            "label-flip rate must be in [0, 1], got {epsilon}"
        )));
    }
    let mut rng = SplitMix64::new(seed);
    let mut flip_mask = Vec::with_capacity(pairs.len());
    let pairs = pairs
        .into_iter()
        .map(|mut p| {
            let flip = rng.next_f64() < epsilon;
            if flip {
                p.swap();
            }
            flip_mask.push(flip);
            p
        })
        .collect();
    let flipped = flip_mask.iter().filter(|&&f| f).count();
    Ok(LabelNoise {
        pairs,
        flip_mask,
        flipped,
    })
}
