//! Finite MDPs with exact transition tables, and their environment.
//!
//! A [`TabularMdp`] lists, for every state `s` and action `a`, the outcomes `(s', r, p)` of
//! taking `a` in `s`: the joint law of the next state and the reward, so random rewards are
//! exact too. It is validated once, at construction (rows are distributions, indices in range,
//! rewards finite). Exact dynamic programming ([`crate::stock`]) runs on the host in `f64`: the
//! tables are small, the recursions are sequential, and exactness is the point — a tensor backend
//! would only add rounding and transfer cost.

use rand::Rng;

use crate::env::{Environment, Step};
use crate::error::RlError;

/// Tolerance on `Σ p = 1` for transition rows and initial distributions.
pub const PROBABILITY_TOLERANCE: f64 = 1e-9;

/// One outcome of taking an action in a state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The next state.
    pub next: usize,
    /// The reward paid on this transition.
    pub reward: f64,
    /// Its probability.
    pub prob: f64,
}

impl Outcome {
    /// `(next, reward, prob)`.
    pub fn new(next: usize, reward: f64, prob: f64) -> Self {
        Self { next, reward, prob }
    }
}

/// A finite MDP: states `0..S`, actions `0..A` (every action available everywhere), an exact
/// outcome table and an initial-state distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularMdp {
    n_states: usize,
    n_actions: usize,
    /// `outcomes[s·A + a]`.
    outcomes: Vec<Vec<Outcome>>,
    initial: Vec<f64>,
}

/// Checks that `p` is a distribution (entries finite and ≥ 0, sum within
/// [`PROBABILITY_TOLERANCE`] of 1).
///
/// # Errors
/// [`RlError::NotADistribution`] naming `name` and `row`.
pub fn check_distribution(p: &[f64], name: &str, row: usize) -> Result<(), RlError> {
    let bad = |problem: String| RlError::NotADistribution {
        name: name.to_string(),
        row,
        problem,
    };
    if p.is_empty() {
        return Err(bad("has no entry".into()));
    }
    if let Some((i, v)) = p
        .iter()
        .enumerate()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        return Err(bad(format!("entry {i} is {v}")));
    }
    let sum: f64 = p.iter().sum();
    if (sum - 1.0).abs() > PROBABILITY_TOLERANCE {
        return Err(bad(format!("sums to {sum}")));
    }
    Ok(())
}

impl TabularMdp {
    /// Builds and validates an MDP from `outcomes[s][a]` (the outcome list of action `a` in state
    /// `s`) and the initial distribution over states.
    ///
    /// # Errors
    /// [`RlError::Empty`] for no state or no action; [`RlError::LengthMismatch`] when a state
    /// has a different number of actions than state 0, or `initial` is not one entry per state;
    /// [`RlError::IndexOutOfRange`] for a next state `≥ S`; [`RlError::BadReward`] for a
    /// non-finite reward; [`RlError::NotADistribution`] for a row (or `initial`) whose
    /// probabilities are negative or do not sum to 1.
    pub fn new(outcomes: Vec<Vec<Vec<Outcome>>>, initial: Vec<f64>) -> Result<Self, RlError> {
        let n_states = outcomes.len();
        if n_states == 0 {
            return Err(RlError::Empty { name: "states" });
        }
        let n_actions = outcomes[0].len();
        if n_actions == 0 {
            return Err(RlError::Empty { name: "actions" });
        }
        if initial.len() != n_states {
            return Err(RlError::LengthMismatch {
                name: "initial",
                actual: initial.len(),
                expected: n_states,
            });
        }
        check_distribution(&initial, "initial", 0)?;
        let mut flat = Vec::with_capacity(n_states * n_actions);
        for (s, row) in outcomes.into_iter().enumerate() {
            if row.len() != n_actions {
                return Err(RlError::LengthMismatch {
                    name: "actions of a state",
                    actual: row.len(),
                    expected: n_actions,
                });
            }
            for (a, outs) in row.into_iter().enumerate() {
                for (k, o) in outs.iter().enumerate() {
                    if o.next >= n_states {
                        return Err(RlError::IndexOutOfRange {
                            name: "next state",
                            value: o.next,
                            bound: n_states,
                        });
                    }
                    if !o.reward.is_finite() {
                        return Err(RlError::BadReward {
                            state: s,
                            action: a,
                            outcome: k,
                            reward: o.reward,
                            problem: "is not finite",
                        });
                    }
                }
                let probs: Vec<f64> = outs.iter().map(|o| o.prob).collect();
                check_distribution(
                    &probs,
                    &format!("transition(s={s}, a={a})"),
                    s * n_actions + a,
                )?;
                flat.push(outs);
            }
        }
        Ok(Self {
            n_states,
            n_actions,
            outcomes: flat,
            initial,
        })
    }

    /// Number of states `S`.
    pub fn n_states(&self) -> usize {
        self.n_states
    }

    /// Number of actions `A`.
    pub fn n_actions(&self) -> usize {
        self.n_actions
    }

    /// The initial-state distribution.
    pub fn initial(&self) -> &[f64] {
        &self.initial
    }

    /// The outcomes of action `a` in state `s`.
    ///
    /// # Panics
    /// When `s ≥ S` or `a ≥ A` (an internal indexing error; public entry points check indices
    /// and return [`RlError`]s).
    pub fn outcomes(&self, s: usize, a: usize) -> &[Outcome] {
        assert!(s < self.n_states && a < self.n_actions, "(s={s}, a={a})");
        &self.outcomes[s * self.n_actions + a]
    }

    /// The smallest and largest reward of any outcome.
    pub fn reward_range(&self) -> (f64, f64) {
        self.outcomes
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), o| {
                (lo.min(o.reward), hi.max(o.reward))
            })
    }

    /// Checks that every reward is an integer (what the exact integer stock grid needs).
    ///
    /// # Errors
    /// [`RlError::BadReward`] naming the first non-integer reward.
    pub fn check_integer_rewards(&self) -> Result<(), RlError> {
        for (i, outs) in self.outcomes.iter().enumerate() {
            for (k, o) in outs.iter().enumerate() {
                if o.reward.fract() != 0.0 || o.reward.abs() > 2f64.powi(52) {
                    return Err(RlError::BadReward {
                        state: i / self.n_actions,
                        action: i % self.n_actions,
                        outcome: k,
                        reward: o.reward,
                        problem: "is not an integer (the exact stock grid needs integer rewards; \
                                  use a uniform grid, StockGrid::uniform, instead)",
                    });
                }
            }
        }
        Ok(())
    }

    /// Checks a state index.
    ///
    /// # Errors
    /// [`RlError::IndexOutOfRange`].
    pub fn check_state(&self, s: usize) -> Result<(), RlError> {
        RlError::check_index("state", s, self.n_states)
    }

    /// Checks an action a policy chose at step `t` in state `s`.
    ///
    /// # Errors
    /// [`RlError::BadAction`].
    pub fn check_action(&self, t: usize, s: usize, a: usize) -> Result<(), RlError> {
        if a >= self.n_actions {
            return Err(RlError::BadAction {
                t,
                state: s,
                action: a,
                n_actions: self.n_actions,
            });
        }
        Ok(())
    }

    /// Draws an initial state.
    pub fn sample_initial<R: Rng + ?Sized>(&self, rng: &mut R) -> usize {
        sample_index(self.initial.iter().copied(), rng)
    }

    /// Draws an outcome of action `a` in state `s`.
    ///
    /// # Panics
    /// As [`TabularMdp::outcomes`].
    pub fn sample_outcome<R: Rng + ?Sized>(&self, s: usize, a: usize, rng: &mut R) -> Outcome {
        let outs = self.outcomes(s, a);
        outs[sample_index(outs.iter().map(|o| o.prob), rng)]
    }
}

/// Inverse-CDF draw of an index from probabilities that sum to 1 (the last index with positive
/// probability absorbs rounding).
fn sample_index<R: Rng + ?Sized>(probs: impl Iterator<Item = f64> + Clone, rng: &mut R) -> usize {
    let u: f64 = rng.random();
    let mut acc = 0.0;
    let mut last = 0;
    for (i, p) in probs.enumerate() {
        if p > 0.0 {
            last = i;
            acc += p;
            if u < acc {
                return i;
            }
        }
    }
    last
}

/// A [`TabularMdp`] as an episodic [`Environment`] with a fixed horizon.
#[derive(Debug, Clone)]
pub struct TabularEnv<'a> {
    mdp: &'a TabularMdp,
    horizon: usize,
    state: usize,
    t: usize,
}

impl<'a> TabularEnv<'a> {
    /// Episodes of `horizon` steps on `mdp`.
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] for `horizon = 0`.
    pub fn new(mdp: &'a TabularMdp, horizon: usize) -> Result<Self, RlError> {
        if horizon == 0 {
            return Err(RlError::InvalidParameter {
                name: "horizon",
                value: 0.0,
                requirement: "≥ 1",
            });
        }
        Ok(Self {
            mdp,
            horizon,
            state: 0,
            t: horizon,
        })
    }

    /// The step index of the next `step` call.
    pub fn t(&self) -> usize {
        self.t
    }
}

impl Environment for TabularEnv<'_> {
    type State = usize;
    type Action = usize;

    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> usize {
        self.state = self.mdp.sample_initial(rng);
        self.t = 0;
        self.state
    }

    fn step<R: Rng + ?Sized>(
        &mut self,
        action: usize,
        rng: &mut R,
    ) -> Result<Step<usize>, RlError> {
        if self.t >= self.horizon {
            return Err(RlError::EpisodeOver {
                t: self.t,
                horizon: self.horizon,
            });
        }
        self.mdp.check_action(self.t, self.state, action)?;
        let o = self.mdp.sample_outcome(self.state, action, rng);
        self.state = o.next;
        self.t += 1;
        Ok(Step {
            state: o.next,
            reward: o.reward,
            done: self.t == self.horizon,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::rollout;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn coin() -> TabularMdp {
        // State 0: action 0 pays 1 surely; action 1 pays 3 or -1 with equal odds. State 1 absorbs.
        TabularMdp::new(
            vec![
                vec![
                    vec![Outcome::new(0, 1.0, 1.0)],
                    vec![Outcome::new(0, 3.0, 0.5), Outcome::new(1, -1.0, 0.5)],
                ],
                vec![
                    vec![Outcome::new(1, 0.0, 1.0)],
                    vec![Outcome::new(1, 0.0, 1.0)],
                ],
            ],
            vec![1.0, 0.0],
        )
        .unwrap()
    }

    #[test]
    fn bad_tables_are_typed_errors() {
        let o = |n, r, p| Outcome::new(n, r, p);
        let err = TabularMdp::new(vec![vec![vec![o(0, 0.0, 0.7)]]], vec![1.0]).unwrap_err();
        assert!(
            matches!(&err, RlError::NotADistribution { name, row: 0, problem }
                if name == "transition(s=0, a=0)" && problem.contains("0.7")),
            "{err}"
        );
        let err = TabularMdp::new(vec![vec![vec![o(1, 0.0, 1.0)]]], vec![1.0]).unwrap_err();
        assert!(matches!(
            err,
            RlError::IndexOutOfRange {
                name: "next state",
                value: 1,
                bound: 1
            }
        ));
        let err = TabularMdp::new(vec![vec![vec![o(0, f64::NAN, 1.0)]]], vec![1.0]).unwrap_err();
        assert!(matches!(err, RlError::BadReward { outcome: 0, .. }));
        let err = TabularMdp::new(vec![vec![vec![o(0, 0.0, 1.0)]]], vec![0.5]).unwrap_err();
        assert!(matches!(err, RlError::NotADistribution { row: 0, .. }));
        let err = TabularMdp::new(vec![vec![vec![o(0, 0.0, 1.5), o(0, 0.0, -0.5)]]], vec![1.0])
            .unwrap_err();
        assert!(err.to_string().contains("entry 1 is -0.5"), "{err}");
        assert_eq!(
            TabularMdp::new(vec![], vec![]).unwrap_err(),
            RlError::Empty { name: "states" }
        );
        let err =
            TabularMdp::new(vec![vec![vec![o(0, 0.0, 1.0)]], vec![]], vec![1.0, 0.0]).unwrap_err();
        assert!(matches!(err, RlError::LengthMismatch { actual: 0, .. }));
        let err = TabularMdp::new(vec![vec![vec![o(0, 0.5, 1.0)]]], vec![1.0])
            .unwrap()
            .check_integer_rewards()
            .unwrap_err();
        assert!(matches!(err, RlError::BadReward { reward, .. } if reward == 0.5));
    }

    #[test]
    fn environment_rolls_out_reproducibly_and_refuses_bad_steps() {
        let mdp = coin();
        assert_eq!(mdp.reward_range(), (-1.0, 3.0));
        let run = |seed| {
            let mut env = TabularEnv::new(&mdp, 6).unwrap();
            rollout(&mut env, |_, _, _| 1, 100, &mut StdRng::seed_from_u64(seed)).unwrap()
        };
        let (a, b) = (run(7), run(7));
        assert_eq!(a, b);
        assert_eq!(a.len(), 6);
        // Every reward is one of the table's, and state 1 (absorbing, reward 0) never leaves.
        for (t, (&s, &r)) in a.states.iter().zip(&a.rewards).enumerate() {
            assert!(
                if s == 0 {
                    r == 3.0 || r == -1.0
                } else {
                    r == 0.0
                },
                "t={t}"
            );
        }
        let mut env = TabularEnv::new(&mdp, 1).unwrap();
        let mut rng = StdRng::seed_from_u64(0);
        env.reset(&mut rng);
        assert!(matches!(
            env.step(2, &mut rng),
            Err(RlError::BadAction { action: 2, .. })
        ));
        assert!(env.step(0, &mut rng).unwrap().done);
        assert!(matches!(
            env.step(0, &mut rng),
            Err(RlError::EpisodeOver { t: 1, horizon: 1 })
        ));
        assert!(TabularEnv::new(&mdp, 0).is_err());
    }

    #[test]
    fn sampling_matches_the_table() {
        let mdp = coin();
        let mut rng = StdRng::seed_from_u64(3);
        let n = 20_000;
        let wins = (0..n)
            .filter(|_| mdp.sample_outcome(0, 1, &mut rng).reward == 3.0)
            .count();
        // Binomial(20000, 0.5): 5 standard deviations ≈ 354.
        assert!((wins as i64 - 10_000).abs() < 354, "{wins}");
    }
}
