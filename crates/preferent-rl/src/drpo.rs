//! DR-PO: PPO with dataset resets — each rollout starts, with probability `β`, from a prefix of
//! an offline (preferred / reference) response that is teacher-forced, and the policy generates
//! the rest. The policy-gradient term excludes the roll-in; the value loss and the KL penalty do
//! not (as in the official code).
//!
//! ```text
//! reset_b ~ Bernoulli(β);   ℓ_b ~ U{1, …, len(ref_b) − 1}  if reset_b and len(ref_b) ≥ 2, else ℓ_b = 0
//! tokens 0..ℓ_b of the response := ref_b[0..ℓ_b]   (teacher-forced: logits one-hot, −∞ elsewhere)
//! policy_mask = response_mask ∧ (t ≥ ℓ_b);   value_mask = response_mask
//! L = PPO(policy_mask, value_mask)                 (crate::ppo::PpoLoss)
//! r_t = −β_KL (log π − log π_ref) on *all* response tokens, roll-in included, + score at the end
//! ```
//!
//! Defaults (`Cornell-RL/drpo` `src/tldr/drpo.py`): `β = 1` (always reset), `kl_coef = 0.05`,
//! `cliprange = cliprange_value = 0.2`, `vf_coef = 0.1`, GAE `γ = 1`, `λ = 0.95`, rewards
//! whitened without shifting the mean, advantages whitened.
//!
//! Differences from the official code, on purpose: resets are drawn from the caller's seeded
//! generator (the official `np.random.default_rng()` is unseeded, so its resets are not
//! reproducible); the value loss is masked to the response (the official one is not masked at
//! all — pass an all-ones `value_mask` to reproduce that).
//!
//! # References
//! J. D. Chang, W. Zhan, O. Oertell, K. Brantley, D. Misra, J. D. Lee, W. Sun, "Dataset Reset
//! Policy Optimization for RLHF", arXiv 2404.08495. Resets: `Cornell-RL/tril`
//! `src/tril/utils/logit_processors.py` (`RollinProcessor.create_mask`, lines 67–113).

use burn::tensor::{backend::Backend, Tensor};
use preferent_losses::LossError;
use rand::Rng;

use crate::error::RlError;

/// DR-PO's reset distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrpoReset {
    beta: f64,
}

impl DrpoReset {
    /// Resets with probability `beta` (official default 1).
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] unless `beta ∈ [0, 1]`.
    pub fn new(beta: f64) -> Result<Self, RlError> {
        if !(0.0..=1.0).contains(&beta) {
            return Err(RlError::InvalidParameter {
                name: "beta",
                value: beta,
                requirement: "in [0, 1]",
            });
        }
        Ok(Self { beta })
    }

    /// The reset probability `β`.
    pub fn beta(&self) -> f64 {
        self.beta
    }

    /// The roll-in length for one sample whose reference response has `reference_len` tokens:
    /// 0 (no reset) with probability `1 − β` or when `reference_len < 2`, else uniform on
    /// `{1, …, reference_len − 1}`.
    pub fn sample<R: Rng + ?Sized>(&self, reference_len: usize, rng: &mut R) -> usize {
        // The Bernoulli draw comes first for every sample (as `init_mask` does), so streams stay
        // aligned across samples whatever their lengths.
        let reset = rng.random::<f64>() < self.beta;
        if !reset || reference_len < 2 {
            return 0;
        }
        rng.random_range(1..reference_len)
    }

    /// [`DrpoReset::sample`] for every sample of a batch.
    pub fn sample_batch<R: Rng + ?Sized>(
        &self,
        reference_lens: &[usize],
        rng: &mut R,
    ) -> Vec<usize> {
        reference_lens
            .iter()
            .map(|&n| self.sample(n, rng))
            .collect()
    }
}

/// The policy-gradient mask: `response_mask` with each row's first `rollin[b]` positions zeroed.
///
/// # Shapes
/// `response_mask`: `[B, T]`; `rollin`: `B` lengths; out `[B, T]`.
///
/// # Errors
/// [`LossError::ShapeMismatch`] when `rollin` does not have `B` entries;
/// [`LossError::IndexOutOfRange`] for a roll-in longer than `T`.
pub fn policy_mask<B: Backend>(
    response_mask: Tensor<B, 2>,
    rollin: &[usize],
) -> Result<Tensor<B, 2>, LossError> {
    let [b, t] = response_mask.dims();
    if rollin.len() != b {
        return Err(LossError::ShapeMismatch {
            name: "rollin",
            actual: vec![rollin.len()],
            expected: vec![b],
        });
    }
    if let Some(&bad) = rollin.iter().find(|&&l| l > t) {
        return Err(LossError::IndexOutOfRange {
            name: "rollin",
            value: bad as i64,
            bound: t + 1,
        });
    }
    let keep: Vec<f32> = rollin
        .iter()
        .flat_map(|&l| (0..t).map(move |i| if i >= l { 1.0 } else { 0.0 }))
        .collect();
    let keep =
        Tensor::<B, 1>::from_floats(keep.as_slice(), &response_mask.device()).reshape([b, t]);
    Ok(response_mask * keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn resets_follow_beta_and_lengths_are_uniform() {
        let reset = DrpoReset::new(0.5).unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let n = 40_000;
        let draws = reset.sample_batch(&vec![5; n], &mut rng);
        let resets = draws.iter().filter(|&&l| l > 0).count();
        // Binomial(n, 0.5): 5 standard deviations = 500.
        assert!((resets as i64 - 20_000).abs() < 500, "{resets}");
        // Lengths uniform on {1, 2, 3, 4}: each count within 5 sd of resets/4.
        for l in 1..5 {
            let c = draws.iter().filter(|&&x| x == l).count() as f64;
            let (p, m) = (0.25, resets as f64);
            assert!(
                (c - m * p).abs() < 5.0 * (m * p * (1.0 - p)).sqrt(),
                "len {l}: {c}"
            );
        }
        assert!(draws.iter().all(|&l| l < 5));
        // Seeded: the same stream gives the same resets; short references never reset.
        let again = reset.sample_batch(&vec![5; n], &mut StdRng::seed_from_u64(5));
        assert_eq!(draws, again);
        let always = DrpoReset::new(1.0).unwrap();
        assert_eq!(always.sample_batch(&[0, 1, 1], &mut rng), vec![0, 0, 0]);
        assert!(always
            .sample_batch(&[2; 100], &mut rng)
            .iter()
            .all(|&l| l == 1));
        assert_eq!(DrpoReset::new(0.0).unwrap().sample(9, &mut rng), 0);
    }

    #[test]
    fn policy_mask_drops_exactly_the_roll_in() {
        let d = device();
        let resp = tensor::<TestBackend, 2>(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], [2, 4], &d);
        let m = policy_mask(resp.clone(), &[2, 0]).unwrap();
        assert_close(
            &to_vec(m),
            &[0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0],
            0.0,
            0.0,
        );
        assert!(matches!(
            policy_mask(resp.clone(), &[1]),
            Err(LossError::ShapeMismatch { name: "rollin", .. })
        ));
        assert!(matches!(
            policy_mask(resp, &[5, 0]),
            Err(LossError::IndexOutOfRange { value: 5, .. })
        ));
        assert!(matches!(
            DrpoReset::new(1.5),
            Err(RlError::InvalidParameter { name: "beta", .. })
        ));
    }
}
