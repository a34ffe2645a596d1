//! The environment interface every algorithm in the crate rolls out against, and episodes.
//!
//! Deliberately small (smaller than gymnasium's or burn-rl's): an environment resets to an
//! initial state and steps on an action, returning the next state, the reward and whether the
//! episode ended. Randomness comes from the caller's generator, so every rollout is reproducible
//! from a seed. Two kinds live in the crate: [`crate::tabular::TabularEnv`] (a finite MDP with an
//! exact transition table, for DP and exact checks) and [`crate::token::TokenEnv`] (a
//! sequence MDP over tokens: deterministic transitions, a reward on the finished sequence).

use rand::Rng;

use crate::error::RlError;

/// What one step returns.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<S> {
    /// The state reached.
    pub state: S,
    /// The reward of the transition.
    pub reward: f64,
    /// Whether the episode ended with this step (horizon reached or a terminal state).
    pub done: bool,
}

/// An episodic environment.
pub trait Environment {
    /// The observation the policy sees.
    type State: Clone;
    /// The action the policy takes.
    type Action: Clone;

    /// Starts a new episode and returns its first state.
    fn reset<R: Rng + ?Sized>(&mut self, rng: &mut R) -> Self::State;

    /// Applies `action`.
    ///
    /// # Errors
    /// [`RlError::EpisodeOver`] after the episode ended; an implementation-specific error for an
    /// action the environment does not have (e.g. [`RlError::BadAction`]).
    fn step<R: Rng + ?Sized>(
        &mut self,
        action: Self::Action,
        rng: &mut R,
    ) -> Result<Step<Self::State>, RlError>;
}

/// One recorded episode: `states[t]` is where `actions[t]` was taken and `rewards[t]` paid.
///
/// # Shapes
/// `states`, `actions` and `rewards` have one entry per step; `final_state` is the state after
/// the last step.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode<S, A> {
    /// The state at each step.
    pub states: Vec<S>,
    /// The action taken at each step.
    pub actions: Vec<A>,
    /// The reward of each step.
    pub rewards: Vec<f64>,
    /// The state after the last step.
    pub final_state: S,
}

impl<S, A> Episode<S, A> {
    /// The undiscounted return `Σ_t r_t`.
    pub fn total_reward(&self) -> f64 {
        self.rewards.iter().sum()
    }

    /// Number of steps.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the episode has no step.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }
}

/// Rolls out one episode: `policy(t, &state, rng)` picks each action, until the environment says
/// `done` (or `max_steps` steps, a guard for environments without a horizon).
///
/// # Errors
/// What the environment's `step` returns (e.g. [`RlError::BadAction`]).
pub fn rollout<E, R, P>(
    env: &mut E,
    mut policy: P,
    max_steps: usize,
    rng: &mut R,
) -> Result<Episode<E::State, E::Action>, RlError>
where
    E: Environment,
    R: Rng + ?Sized,
    P: FnMut(usize, &E::State, &mut R) -> E::Action,
{
    let mut state = env.reset(rng);
    let (mut states, mut actions, mut rewards) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..max_steps {
        let action = policy(t, &state, rng);
        let step = env.step(action.clone(), rng)?;
        states.push(std::mem::replace(&mut state, step.state));
        actions.push(action);
        rewards.push(step.reward);
        if step.done {
            break;
        }
    }
    Ok(Episode {
        states,
        actions,
        rewards,
        final_state: state,
    })
}
