//! A time-indexed tabular softmax policy as a burn module: `π(a | s, t) = softmax(θ[t, s, ·])_a`.
//!
//! The policy class SubPO's "M" variant optimises (Markov in the state and the step), and the
//! exact parameterisation for small discrete problems; train it with any burn optimiser on an
//! `AutodiffBackend`. Rollouts sample on the host from one read of the probabilities
//! ([`TabularPolicy::host`]), so a batch of episodes costs one device transfer.
//!
//! # Shapes
//! `logits`: `[H, S, A]`; [`TabularPolicy::log_probs`] takes `B` episodes of `H` (state, action)
//! pairs, flattened row-major, and returns `[B, H]`.

use burn::module::{Module, Param};
use burn::tensor::activation::log_softmax;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand::Rng;

use crate::error::RlError;

/// `π(a | s, t) = softmax(θ[t, s, ·])_a`.
#[derive(Module, Debug)]
pub struct TabularPolicy<B: Backend> {
    /// `θ`, `[H, S, A]`.
    pub logits: Param<Tensor<B, 3>>,
}

impl<B: Backend> TabularPolicy<B> {
    /// The uniform policy (`θ = 0`) over `actions` actions in `states` states for `horizon` steps.
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] when a dimension is 0.
    pub fn uniform(
        horizon: usize,
        states: usize,
        actions: usize,
        device: &B::Device,
    ) -> Result<Self, RlError> {
        for (name, v) in [
            ("horizon", horizon),
            ("states", states),
            ("actions", actions),
        ] {
            if v == 0 {
                return Err(RlError::InvalidParameter {
                    name,
                    value: 0.0,
                    requirement: "≥ 1",
                });
            }
        }
        Ok(Self {
            logits: Param::from_tensor(Tensor::zeros([horizon, states, actions], device)),
        })
    }

    /// `[H, S, A]`.
    pub fn dims(&self) -> [usize; 3] {
        self.logits.val().dims()
    }

    /// The probabilities on the host (one device read), for sampling rollouts.
    pub fn host(&self) -> HostPolicy {
        let [h, s, a] = self.dims();
        let probs = burn::tensor::activation::softmax(self.logits.val(), 2)
            .into_data()
            .iter::<f64>()
            .collect();
        HostPolicy {
            probs,
            horizon: h,
            states: s,
            actions: a,
        }
    }

    /// `log π(a_{b,t} | s_{b,t}, t)` for `B = states.len() / H` episodes.
    ///
    /// # Errors
    /// [`RlError::LengthMismatch`] when `states` and `actions` differ in length or are not a
    /// multiple of `H`; [`RlError::Empty`] for no episode; [`RlError::IndexOutOfRange`] for a
    /// state or action outside the table.
    pub fn log_probs(&self, states: &[usize], actions: &[usize]) -> Result<Tensor<B, 2>, RlError> {
        let [h, s_n, a_n] = self.dims();
        if actions.len() != states.len() {
            return Err(RlError::LengthMismatch {
                name: "actions",
                actual: actions.len(),
                expected: states.len(),
            });
        }
        if states.is_empty() {
            return Err(RlError::Empty { name: "states" });
        }
        if !states.len().is_multiple_of(h) {
            return Err(RlError::LengthMismatch {
                name: "states (a multiple of the horizon)",
                actual: states.len(),
                expected: states.len().div_ceil(h) * h,
            });
        }
        let mut index = Vec::with_capacity(states.len());
        for (i, (&s, &a)) in states.iter().zip(actions).enumerate() {
            RlError::check_index("state", s, s_n)?;
            RlError::check_index("action", a, a_n)?;
            index.push((((i % h) * s_n + s) * a_n + a) as i64);
        }
        let device = self.logits.val().device();
        let index = Tensor::<B, 1, Int>::from_data(TensorData::new(index, [states.len()]), &device);
        let flat: Tensor<B, 1> = log_softmax(self.logits.val(), 2).reshape([h * s_n * a_n]);
        Ok(flat.select(0, index).reshape([states.len() / h, h]))
    }
}

/// A [`TabularPolicy`]'s probabilities on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPolicy {
    probs: Vec<f64>,
    horizon: usize,
    states: usize,
    actions: usize,
}

impl HostPolicy {
    fn row(&self, t: usize, s: usize) -> &[f64] {
        let i = (t * self.states + s) * self.actions;
        &self.probs[i..i + self.actions]
    }

    /// `π(· | s, t)`.
    ///
    /// # Errors
    /// [`RlError::IndexOutOfRange`] for `t ≥ H` or `s ≥ S`.
    pub fn probs(&self, t: usize, s: usize) -> Result<&[f64], RlError> {
        RlError::check_index("t", t, self.horizon)?;
        RlError::check_index("state", s, self.states)?;
        Ok(self.row(t, s))
    }

    /// Draws `a ~ π(· | s, t)`.
    ///
    /// # Errors
    /// As [`HostPolicy::probs`].
    pub fn sample<R: Rng + ?Sized>(
        &self,
        t: usize,
        s: usize,
        rng: &mut R,
    ) -> Result<usize, RlError> {
        let p = self.probs(t, s)?;
        let u: f64 = rng.random();
        let mut acc = 0.0;
        for (a, &q) in p.iter().enumerate() {
            acc += q;
            if u < acc {
                return Ok(a);
            }
        }
        Ok(p.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, to_vec, TestAutodiffBackend, TestBackend};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn log_probs_index_the_table_and_gradients_are_softmax_scores() {
        let d = device();
        let mut pol = TabularPolicy::<TestAutodiffBackend>::uniform(2, 3, 4, &d).unwrap();
        let theta: Vec<f32> = (0..24).map(|i| ((i * 7) % 5) as f32 * 0.3 - 0.6).collect();
        pol.logits = Param::from_tensor(
            Tensor::<TestAutodiffBackend, 1>::from_floats(theta.as_slice(), &d)
                .reshape([2, 3, 4])
                .require_grad(),
        );
        // Host re-derivation: log softmax of the (t, s) row at a.
        let host = |t: usize, s: usize, a: usize| {
            let row = &theta[(t * 3 + s) * 4..(t * 3 + s) * 4 + 4];
            let lse = row.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
            row[a] as f64 - lse
        };
        let (states, actions) = ([0, 2, 1, 1], [3, 0, 1, 2]);
        let lp = pol.log_probs(&states, &actions).unwrap();
        let want = [host(0, 0, 3), host(1, 2, 0), host(0, 1, 1), host(1, 1, 2)];
        assert_close(&to_vec(lp.clone()), &want, 1e-5, 1e-6);
        // ∂ log π(a|s,t) / ∂θ[t,s,b] = 1{b = a} − π(b|s,t); summed over the batch.
        let grads = lp.sum().backward();
        let g = to_vec(pol.logits.val().grad(&grads).unwrap());
        let p = pol.host();
        let mut want = vec![0.0; 24];
        for (i, (&s, &a)) in states.iter().zip(&actions).enumerate() {
            let t = i % 2;
            for b in 0..4 {
                want[(t * 3 + s) * 4 + b] +=
                    f64::from(u8::from(b == a)) - p.probs(t, s).unwrap()[b];
            }
        }
        assert_close(&g, &want, 1e-5, 1e-6);
    }

    #[test]
    fn uniform_sampling_and_typed_errors() {
        let pol = TabularPolicy::<TestBackend>::uniform(1, 1, 4, &device()).unwrap();
        let host = pol.host();
        let mut rng = StdRng::seed_from_u64(1);
        let mut counts = [0usize; 4];
        for _ in 0..8_000 {
            counts[host.sample(0, 0, &mut rng).unwrap()] += 1;
        }
        // Each ≈ 2000 ± 5 sd (sd ≈ 38.7).
        assert!(
            counts.iter().all(|&c| (c as i64 - 2000).abs() < 194),
            "{counts:?}"
        );
        assert!(matches!(
            host.probs(1, 0),
            Err(RlError::IndexOutOfRange { name: "t", .. })
        ));
        assert!(matches!(
            pol.log_probs(&[0], &[4]),
            Err(RlError::IndexOutOfRange { name: "action", .. })
        ));
        assert!(matches!(
            pol.log_probs(&[0, 0], &[0]),
            Err(RlError::LengthMismatch { .. })
        ));
        assert!(matches!(
            pol.log_probs(&[], &[]),
            Err(RlError::Empty { .. })
        ));
        assert!(TabularPolicy::<TestBackend>::uniform(0, 1, 1, &device()).is_err());
    }
}
