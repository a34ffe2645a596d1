//! The token-level (sequence) MDP of RLHF: the state is the prompt plus the tokens generated so
//! far, the action is the next token, transitions are deterministic, and the only environment
//! reward is a score of the finished response (the per-token KL penalty is added by the
//! algorithm, [`crate::ppo::rlhf_rewards`]).
//!
//! ```text
//! s_0 = x (the prompt),  s_{h+1} = (x, y_{≤h}),  done when y_h = EOS or h + 1 = max_len
//! r_h = score(x, y) at the last step (minus `no_eos_penalty` if it ended without EOS), else 0
//! ```
//!
//! `no_eos_penalty` is TRL's `missing_eos_penalty` / DR-PO's "score −1 if no EOS" (applied to a
//! response that *ended by length*; a response whose EOS is its last allowed token is not
//! penalised — the official DR-PO code penalises that case too, a known quirk).
//!
//! # References
//! J. D. Chang et al., "Dataset Reset Policy Optimization for RLHF", arXiv 2404.08495 (§2, the
//! token-level MDP); TRL `PPOTrainer` (`missing_eos_penalty`).

use rand::Rng;

use crate::env::{Environment, Step};
use crate::error::RlError;

/// The score of a finished response: `score(prompt, response)`.
pub type Scorer = Box<dyn Fn(&[usize], &[usize]) -> f64 + Send + Sync>;

/// A token-level MDP over a vocabulary of `vocab` tokens with one fixed prompt.
pub struct TokenEnv {
    vocab: usize,
    max_len: usize,
    eos: Option<usize>,
    no_eos_penalty: f64,
    prompt: Vec<usize>,
    scorer: Scorer,
    response: Vec<usize>,
    done: bool,
}

impl std::fmt::Debug for TokenEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEnv")
            .field("vocab", &self.vocab)
            .field("max_len", &self.max_len)
            .field("eos", &self.eos)
            .field("no_eos_penalty", &self.no_eos_penalty)
            .field("prompt", &self.prompt)
            .field("response", &self.response)
            .finish_non_exhaustive()
    }
}

impl TokenEnv {
    /// Responses of at most `max_len` tokens from `0..vocab` after `prompt`, scored by `scorer`
    /// when they end.
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] for `vocab = 0` or `max_len = 0`;
    /// [`RlError::IndexOutOfRange`] for a prompt token `≥ vocab`.
    pub fn new(
        vocab: usize,
        max_len: usize,
        prompt: Vec<usize>,
        scorer: Scorer,
    ) -> Result<Self, RlError> {
        for (name, v) in [("vocab", vocab), ("max_len", max_len)] {
            if v == 0 {
                return Err(RlError::InvalidParameter {
                    name,
                    value: 0.0,
                    requirement: "≥ 1",
                });
            }
        }
        if let Some(&t) = prompt.iter().find(|&&t| t >= vocab) {
            return Err(RlError::IndexOutOfRange {
                name: "prompt token",
                value: t,
                bound: vocab,
            });
        }
        Ok(Self {
            vocab,
            max_len,
            eos: None,
            no_eos_penalty: 0.0,
            prompt,
            scorer,
            response: Vec::new(),
            done: true,
        })
    }

    /// Ends a response at token `eos`, and subtracts `penalty` from the score of a response that
    /// ran to `max_len` without it.
    ///
    /// # Errors
    /// [`RlError::IndexOutOfRange`] for `eos ≥ vocab`; [`RlError::InvalidParameter`] for a
    /// non-finite penalty.
    pub fn with_eos(mut self, eos: usize, penalty: f64) -> Result<Self, RlError> {
        if eos >= self.vocab {
            return Err(RlError::IndexOutOfRange {
                name: "eos",
                value: eos,
                bound: self.vocab,
            });
        }
        if !penalty.is_finite() {
            return Err(RlError::InvalidParameter {
                name: "no_eos_penalty",
                value: penalty,
                requirement: "finite",
            });
        }
        self.eos = Some(eos);
        self.no_eos_penalty = penalty;
        Ok(self)
    }

    /// The vocabulary size.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// The tokens generated so far in this episode.
    pub fn response(&self) -> &[usize] {
        &self.response
    }

    fn state(&self) -> Vec<usize> {
        let mut s = self.prompt.clone();
        s.extend_from_slice(&self.response);
        s
    }
}

impl Environment for TokenEnv {
    /// Prompt followed by the response so far.
    type State = Vec<usize>;
    /// The next token.
    type Action = usize;

    fn reset<R: Rng + ?Sized>(&mut self, _rng: &mut R) -> Vec<usize> {
        self.response.clear();
        self.done = false;
        self.state()
    }

    fn step<R: Rng + ?Sized>(
        &mut self,
        token: usize,
        _rng: &mut R,
    ) -> Result<Step<Vec<usize>>, RlError> {
        if self.done {
            return Err(RlError::EpisodeOver {
                t: self.response.len(),
                horizon: self.max_len,
            });
        }
        if token >= self.vocab {
            return Err(RlError::BadAction {
                t: self.response.len(),
                state: 0,
                action: token,
                n_actions: self.vocab,
            });
        }
        self.response.push(token);
        let ended_by_eos = self.eos == Some(token);
        self.done = ended_by_eos || self.response.len() == self.max_len;
        let reward = if self.done {
            let penalty = if self.eos.is_some() && !ended_by_eos {
                self.no_eos_penalty
            } else {
                0.0
            };
            (self.scorer)(&self.prompt, &self.response) - penalty
        } else {
            0.0
        };
        Ok(Step {
            state: self.state(),
            reward,
            done: self.done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::rollout;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Matches against a hidden target: the fraction of positions equal to it.
    fn target_scorer(target: Vec<usize>) -> Scorer {
        Box::new(move |_, y| {
            let hits = y.iter().zip(&target).filter(|(a, b)| a == b).count();
            hits as f64 / target.len() as f64
        })
    }

    #[test]
    fn scores_at_the_end_only_and_penalises_a_missing_eos() {
        let mut env = TokenEnv::new(4, 3, vec![1], target_scorer(vec![2, 2, 3]))
            .unwrap()
            .with_eos(3, 1.0)
            .unwrap();
        let mut rng = StdRng::seed_from_u64(0);
        // 2, 2, 3: EOS at the last allowed position: not penalised, score 1.
        let ep = rollout(&mut env, |t, _, _| [2, 2, 3][t], 10, &mut rng).unwrap();
        assert_eq!(ep.rewards, vec![0.0, 0.0, 1.0]);
        assert_eq!(ep.final_state, vec![1, 2, 2, 3]);
        // 2, 0, 0: ran out of length: score 1/3 − 1.
        let ep = rollout(&mut env, |t, _, _| [2, 0, 0][t], 10, &mut rng).unwrap();
        assert!((ep.total_reward() - (1.0 / 3.0 - 1.0)).abs() < 1e-12);
        // EOS first: one step, score 0.
        let ep = rollout(&mut env, |_, _, _| 3, 10, &mut rng).unwrap();
        assert_eq!(ep.len(), 1);
        assert!(matches!(
            env.step(0, &mut rng),
            Err(RlError::EpisodeOver { .. })
        ));
        env.reset(&mut rng);
        assert!(matches!(
            env.step(4, &mut rng),
            Err(RlError::BadAction { action: 4, .. })
        ));
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let s = || target_scorer(vec![0]);
        assert!(matches!(
            TokenEnv::new(0, 3, vec![], s()),
            Err(RlError::InvalidParameter { name: "vocab", .. })
        ));
        assert!(matches!(
            TokenEnv::new(2, 0, vec![], s()),
            Err(RlError::InvalidParameter {
                name: "max_len",
                ..
            })
        ));
        assert!(matches!(
            TokenEnv::new(2, 3, vec![5], s()),
            Err(RlError::IndexOutOfRange { value: 5, .. })
        ));
        assert!(TokenEnv::new(2, 3, vec![], s())
            .unwrap()
            .with_eos(2, 0.0)
            .is_err());
        assert!(TokenEnv::new(2, 3, vec![], s())
            .unwrap()
            .with_eos(1, f64::NAN)
            .is_err());
    }
}
