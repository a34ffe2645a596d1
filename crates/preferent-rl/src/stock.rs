//! Stock-augmented distributional dynamic programming (Ávila Pires et al., 2025): optimising a
//! functional of the return distribution — CVaR, expected utilities, threshold probabilities —
//! exactly, by DP on the (state, stock) grid.
//!
//! Most functionals of the return `G` are not optimised by Markov policies in the state, and no
//! Bellman recursion exists for them. Augmenting the state with the *stock* restores one:
//!
//! ```text
//! C_0 = c_0,   C_{t+1} = (C_t + R_{t+1}) / γ          so that   c_0 + G_0 = γ^t (C_t + G_t)
//! objective   max_π  E f(c_0 + G)                       (an expected utility of the augmented return)
//! V_H(s, c) = f(γ^H c)
//! V_t(s, c) = max_a Σ_{(s', r, p) ∈ outcomes(s, a)} p · V_{t+1}(s', (c + r)/γ)
//! ```
//!
//! The greedy action `a*(t, s, c)` is an optimal policy among *all* history-dependent policies
//! for `E f(c_0 + G)`, because `(s, c)` is a sufficient statistic of the history for the
//! remaining objective. CVaR follows with an outer search over the initial stock
//! (Rockafellar–Uryasev):
//!
//! ```text
//! CVaR_α(G) = max_b { b − E(b − G)^+ / α } = max_{c_0} { −c_0 + α⁻¹ max_π E min(0, c_0 + G) }
//! ```
//!
//! Two grids ([`StockGrid`]):
//! - **exact** — integer rewards and `γ = 1`: the stock stays on the integers and
//!   [`StockGrid::covering`] spans every reachable stock, so the DP is exact (checked in the tests
//!   against brute-force enumeration of all deterministic history-dependent policies);
//! - **categorical** — any rewards, `γ ≤ 1`: a uniform grid of atoms, the next stock projected
//!   onto its two neighbouring atoms (the C51 projection, i.e. linear interpolation of `V`).
//!   Approximate; [`StockPolicy::clamped`] counts lookups that fell off the grid's ends.
//!
//! Everything runs on the host in `f64`: the recursion is sequential in `t`, the tables are
//! small, and the point is exactness. **Cost**: time `O(H · S · K · A · O)` and memory
//! `O((H + 1) · S · K)` for `H` steps, `S` states, `K` stock atoms, `A` actions and `O` outcomes
//! per (state, action); the exact grid for CVaR has `K = 2H(r_max − r_min) + 1` atoms.
//! [`return_distribution`] evaluates any (state, stock, time) policy exactly by forward
//! propagation of the joint law of (state, stock); its support grows with the number of distinct
//! returns (at most `H(r_max − r_min) + 1` for integer rewards).
//!
//! # References
//! B. Ávila Pires, M. Rowland, D. Borsa, Z. D. Guo, K. Khetarpal, A. Barreto, D. Abel, R. Munos,
//! W. Dabney, "Optimizing Return Distributions with Distributional Dynamic Programming",
//! arXiv 2501.13028 (JMLR 2025): the stock recursion, the stock-augmented Bellman operator, CVaR
//! via the outer search over `c_0`. R. T. Rockafellar, S. Uryasev, "Optimization of conditional
//! value-at-risk", J. Risk 2 (2000). There is no public code of the paper; the tests pin this
//! module to brute-force enumeration.

use rand::Rng;

use crate::error::RlError;
use crate::tabular::TabularMdp;

/// The utility `f` of the stock-augmented return `c_0 + G` that the DP maximises in expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utility {
    /// `f(x) = x`: plain (risk-neutral) expected return, shifted by `c_0`.
    Identity,
    /// `f(x) = min(x, 0)`: the inner problem of CVaR (expected shortfall below `−c_0`).
    LowerPartial,
    /// `f(x) = 1{x ≥ 0}`: the probability that the return reaches `−c_0`.
    Threshold,
    /// `f(x) = −|x|`: homeostatic regulation, return close to the target `−c_0`.
    Homeostatic,
}

impl Utility {
    /// `f(x)`.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Utility::Identity => x,
            Utility::LowerPartial => x.min(0.0),
            Utility::Threshold => {
                if x >= 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Utility::Homeostatic => -x.abs(),
        }
    }
}

/// Where the stock lives: `K` equally spaced atoms `lo, lo + step, …, lo + (K − 1)·step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StockGrid {
    lo: f64,
    step: f64,
    atoms: usize,
}

/// The most `(H + 1)·S·K` table entries a DP may allocate (8 bytes each: 1.6 GB).
pub const MAX_TABLE_ENTRIES: usize = 200_000_000;

impl StockGrid {
    /// The integer atoms `lo, lo + 1, …, hi`: exact for integer rewards and `γ = 1`.
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] when `hi < lo`.
    pub fn integer(lo: i64, hi: i64) -> Result<Self, RlError> {
        if hi < lo {
            return Err(RlError::InvalidParameter {
                name: "hi",
                value: hi as f64,
                requirement: "≥ lo",
            });
        }
        Ok(Self {
            lo: lo as f64,
            step: 1.0,
            atoms: (hi - lo) as usize + 1,
        })
    }

    /// `atoms` equally spaced atoms from `lo` to `hi` (the categorical grid).
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] for non-finite bounds, `hi ≤ lo` or fewer than 2 atoms.
    pub fn uniform(lo: f64, hi: f64, atoms: usize) -> Result<Self, RlError> {
        if !(lo.is_finite() && hi.is_finite() && hi > lo) {
            return Err(RlError::InvalidParameter {
                name: "hi",
                value: hi,
                requirement: "finite and > lo (lo finite)",
            });
        }
        if atoms < 2 {
            return Err(RlError::InvalidParameter {
                name: "atoms",
                value: atoms as f64,
                requirement: "≥ 2",
            });
        }
        Ok(Self {
            lo,
            step: (hi - lo) / (atoms - 1) as f64,
            atoms,
        })
    }

    /// The exact integer grid spanning every stock reachable within `horizon` steps from an
    /// initial stock in `[c0_lo, c0_hi]` (`γ = 1`): `[c0_lo + H·r_min, c0_hi + H·r_max]`.
    ///
    /// # Errors
    /// [`RlError::BadReward`] for a non-integer reward; [`RlError::InvalidParameter`] for
    /// `c0_hi < c0_lo`.
    pub fn covering(
        mdp: &TabularMdp,
        horizon: usize,
        c0_lo: i64,
        c0_hi: i64,
    ) -> Result<Self, RlError> {
        mdp.check_integer_rewards()?;
        if c0_hi < c0_lo {
            return Err(RlError::InvalidParameter {
                name: "c0_hi",
                value: c0_hi as f64,
                requirement: "≥ c0_lo",
            });
        }
        let (r_lo, r_hi) = mdp.reward_range();
        let h = horizon as i64;
        Self::integer(c0_lo + h * r_lo as i64, c0_hi + h * r_hi as i64)
    }

    /// The lowest atom.
    pub fn lo(&self) -> f64 {
        self.lo
    }

    /// The highest atom.
    pub fn hi(&self) -> f64 {
        self.atom(self.atoms - 1)
    }

    /// Number of atoms `K`.
    pub fn atoms(&self) -> usize {
        self.atoms
    }

    /// The spacing between atoms.
    pub fn step(&self) -> f64 {
        self.step
    }

    /// Atom `k`.
    pub fn atom(&self, k: usize) -> f64 {
        self.lo + self.step * k as f64
    }

    /// `(k0, w)` with `c ≈ (1 − w)·atom(k0) + w·atom(k0 + 1)`, `w ∈ [0, 1)`, and whether `c` lay
    /// outside the grid (then it is clamped to the nearest end).
    fn locate(&self, c: f64) -> (usize, f64, bool) {
        let x = (c - self.lo) / self.step;
        let last = (self.atoms - 1) as f64;
        // Within 1e-9 of an atom counts as the atom (exact grids stay exact).
        let r = x.round();
        if (x - r).abs() < 1e-9 && (0.0..=last).contains(&r) {
            return (r as usize, 0.0, false);
        }
        if x < 0.0 {
            return (0, 0.0, true);
        }
        if x > last {
            return (self.atoms - 1, 0.0, true);
        }
        let k0 = x.floor();
        (k0 as usize, x - k0, false)
    }

    /// Index of the atom nearest to `c`, or `None` outside `[lo − step/2, hi + step/2]`.
    fn nearest(&self, c: f64) -> Option<usize> {
        let x = ((c - self.lo) / self.step).round();
        (x >= 0.0 && x <= (self.atoms - 1) as f64).then_some(x as usize)
    }
}

/// Options of [`solve_stock_dp`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StockDpConfig {
    /// Number of steps `H` (≥ 1).
    pub horizon: usize,
    /// Discount `γ ∈ (0, 1]`. Default 1 (the exact integer grid needs 1).
    pub gamma: f64,
    /// The utility `f` of `c_0 + G`.
    pub utility: Utility,
}

impl StockDpConfig {
    /// `horizon` steps, `γ = 1`, the given utility.
    pub fn new(horizon: usize, utility: Utility) -> Self {
        Self {
            horizon,
            gamma: 1.0,
            utility,
        }
    }

    /// Sets `γ`.
    pub fn with_gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// Checks `horizon ≥ 1` and `γ ∈ (0, 1]`.
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] naming the field.
    pub fn validate(&self) -> Result<(), RlError> {
        if self.horizon == 0 {
            return Err(RlError::InvalidParameter {
                name: "horizon",
                value: 0.0,
                requirement: "≥ 1",
            });
        }
        if !(self.gamma > 0.0 && self.gamma <= 1.0) {
            return Err(RlError::InvalidParameter {
                name: "gamma",
                value: self.gamma,
                requirement: "in (0, 1]",
            });
        }
        Ok(())
    }
}

/// The solution of [`solve_stock_dp`]: the value `V_t(s, c)` and greedy action `a*(t, s, c)` on
/// every atom, for `t = 0..=H` (`V_H = f(γ^H c)`; no action at `H`).
#[derive(Debug, Clone, PartialEq)]
pub struct StockPolicy {
    grid: StockGrid,
    config: StockDpConfig,
    n_states: usize,
    /// `values[(t·S + s)·K + k]`, `t ∈ 0..=H`.
    values: Vec<f64>,
    /// `actions[(t·S + s)·K + k]`, `t ∈ 0..H`.
    actions: Vec<u32>,
    clamped: usize,
}

impl StockPolicy {
    fn index(&self, t: usize, s: usize, k: usize) -> usize {
        (t * self.n_states + s) * self.grid.atoms + k
    }

    /// The grid the policy was solved on.
    pub fn grid(&self) -> &StockGrid {
        &self.grid
    }

    /// The configuration it was solved with.
    pub fn config(&self) -> &StockDpConfig {
        &self.config
    }

    /// Number of backups (from every atom, reachable or not) whose next stock fell outside the
    /// grid and was clamped to its end. On a [`StockGrid::covering`] grid only atoms that no
    /// initial stock in its range can reach at that step clamp, so the values on the reachable
    /// region are exact; on other grids a positive count means values near the ends are
    /// approximate.
    pub fn clamped(&self) -> usize {
        self.clamped
    }

    fn check(&self, t: usize, s: usize, last: usize) -> Result<(), RlError> {
        RlError::check_index("t", t, last + 1)?;
        RlError::check_index("state", s, self.n_states)
    }

    fn outside(&self, t: usize, c: f64) -> RlError {
        RlError::StockOutsideGrid {
            t,
            stock: c,
            lo: self.grid.lo(),
            hi: self.grid.hi(),
        }
    }

    /// `V_t(s, c)`, linearly interpolated between atoms (exact on an atom).
    ///
    /// # Errors
    /// [`RlError::IndexOutOfRange`] for `t > H` or a bad state; [`RlError::StockOutsideGrid`].
    pub fn value(&self, t: usize, s: usize, c: f64) -> Result<f64, RlError> {
        self.check(t, s, self.config.horizon)?;
        let (k0, w, off) = self.grid.locate(c);
        if off || !c.is_finite() {
            return Err(self.outside(t, c));
        }
        let v0 = self.values[self.index(t, s, k0)];
        Ok(if w == 0.0 {
            v0
        } else {
            (1.0 - w) * v0 + w * self.values[self.index(t, s, k0 + 1)]
        })
    }

    /// `a*(t, s, c)` at the atom nearest to `c`.
    ///
    /// # Errors
    /// [`RlError::IndexOutOfRange`] for `t ≥ H` or a bad state; [`RlError::StockOutsideGrid`].
    pub fn action(&self, t: usize, s: usize, c: f64) -> Result<usize, RlError> {
        if self.config.horizon == 0 || t >= self.config.horizon {
            return Err(RlError::IndexOutOfRange {
                name: "t",
                value: t,
                bound: self.config.horizon,
            });
        }
        self.check(t, s, self.config.horizon - 1)?;
        let k = self.grid.nearest(c).ok_or_else(|| self.outside(t, c))?;
        Ok(self.actions[self.index(t, s, k)] as usize)
    }

    /// The expected utility `Σ_s p_0(s) V_0(s, c_0)` from the MDP's initial distribution.
    ///
    /// # Errors
    /// As [`StockPolicy::value`].
    pub fn initial_value(&self, mdp: &TabularMdp, c0: f64) -> Result<f64, RlError> {
        let mut v = 0.0;
        for (s, &p) in mdp.initial().iter().enumerate() {
            if p > 0.0 {
                v += p * self.value(0, s, c0)?;
            }
        }
        Ok(v)
    }
}

/// Solves `max_π E f(c_0 + G)` for every initial stock on the grid at once (see the module docs).
///
/// Ties between actions go to the lowest action index.
///
/// # Errors
/// [`RlError::InvalidParameter`] from the config, or when the table would exceed
/// [`MAX_TABLE_ENTRIES`].
pub fn solve_stock_dp(
    mdp: &TabularMdp,
    grid: &StockGrid,
    config: &StockDpConfig,
) -> Result<StockPolicy, RlError> {
    config.validate()?;
    let (h, s_n, k_n, a_n) = (
        config.horizon,
        mdp.n_states(),
        grid.atoms(),
        mdp.n_actions(),
    );
    let entries = (h + 1)
        .checked_mul(s_n)
        .and_then(|x| x.checked_mul(k_n))
        .filter(|&x| x <= MAX_TABLE_ENTRIES)
        .ok_or(RlError::InvalidParameter {
            name: "atoms",
            value: k_n as f64,
            requirement: "small enough that (H + 1)·S·K ≤ MAX_TABLE_ENTRIES",
        })?;
    let mut values = vec![0.0; entries];
    let mut actions = vec![0u32; h * s_n * k_n];
    let final_scale = config.gamma.powi(h as i32);
    for s in 0..s_n {
        for k in 0..k_n {
            values[(h * s_n + s) * k_n + k] = config.utility.apply(final_scale * grid.atom(k));
        }
    }
    let mut clamped = 0;
    for t in (0..h).rev() {
        let (now, next) = values.split_at_mut((t + 1) * s_n * k_n);
        let now = &mut now[t * s_n * k_n..];
        let next = &next[..s_n * k_n];
        for s in 0..s_n {
            for k in 0..k_n {
                let c = grid.atom(k);
                let mut best = (f64::NEG_INFINITY, 0u32);
                for a in 0..a_n {
                    let mut q = 0.0;
                    for o in mdp.outcomes(s, a) {
                        let (k0, w, off) = grid.locate((c + o.reward) / config.gamma);
                        clamped += usize::from(off);
                        let base = o.next * k_n;
                        let v = if w == 0.0 {
                            next[base + k0]
                        } else {
                            (1.0 - w) * next[base + k0] + w * next[base + k0 + 1]
                        };
                        q += o.prob * v;
                    }
                    if q > best.0 {
                        best = (q, a as u32);
                    }
                }
                now[s * k_n + k] = best.0;
                actions[(t * s_n + s) * k_n + k] = best.1;
            }
        }
    }
    Ok(StockPolicy {
        grid: *grid,
        config: *config,
        n_states: s_n,
        values,
        actions,
        clamped,
    })
}

/// A discrete distribution of returns: sorted, distinct support points with their probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnDistribution {
    support: Vec<f64>,
    probs: Vec<f64>,
}

impl ReturnDistribution {
    /// From `(value, probability)` atoms (merged when equal, sorted).
    ///
    /// # Errors
    /// [`RlError::NotADistribution`] when the probabilities are not a distribution or a value is
    /// not finite; [`RlError::Empty`] for no atom.
    pub fn from_atoms(atoms: impl IntoIterator<Item = (f64, f64)>) -> Result<Self, RlError> {
        let mut atoms: Vec<(f64, f64)> = atoms.into_iter().collect();
        if atoms.is_empty() {
            return Err(RlError::Empty { name: "atoms" });
        }
        if let Some(i) = atoms.iter().position(|(v, _)| !v.is_finite()) {
            return Err(RlError::NotADistribution {
                name: "returns".into(),
                row: 0,
                problem: format!("value {i} is {}", atoms[i].0),
            });
        }
        let probs: Vec<f64> = atoms.iter().map(|a| a.1).collect();
        crate::tabular::check_distribution(&probs, "returns", 0)?;
        atoms.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (mut support, mut probs) = (Vec::new(), Vec::<f64>::new());
        for (v, p) in atoms {
            if support.last() == Some(&v) {
                *probs.last_mut().expect("non-empty") += p;
            } else {
                support.push(v);
                probs.push(p);
            }
        }
        Ok(Self { support, probs })
    }

    /// The empirical distribution of samples (each weighted `1/n`).
    ///
    /// # Errors
    /// As [`ReturnDistribution::from_atoms`].
    pub fn from_samples(samples: &[f64]) -> Result<Self, RlError> {
        let w = 1.0 / samples.len().max(1) as f64;
        Self::from_atoms(samples.iter().map(|&x| (x, w)))
    }

    /// The support, ascending.
    pub fn support(&self) -> &[f64] {
        &self.support
    }

    /// The probabilities, aligned with [`ReturnDistribution::support`].
    pub fn probs(&self) -> &[f64] {
        &self.probs
    }

    /// `E G`.
    pub fn mean(&self) -> f64 {
        self.support
            .iter()
            .zip(&self.probs)
            .map(|(v, p)| v * p)
            .sum()
    }

    /// `E f(c_0 + G)`.
    pub fn expected_utility(&self, utility: Utility, c0: f64) -> f64 {
        self.support
            .iter()
            .zip(&self.probs)
            .map(|(v, p)| p * utility.apply(c0 + v))
            .sum()
    }

    /// The lower-tail conditional value at risk, `CVaR_α(G) = α⁻¹ ∫_0^α F⁻¹(u) du` (the mean of
    /// the worst `α` fraction of outcomes; `α = 1` is the mean).
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] unless `α ∈ (0, 1]`.
    pub fn cvar(&self, alpha: f64) -> Result<f64, RlError> {
        check_alpha(alpha)?;
        let (mut mass, mut acc) = (0.0, 0.0);
        for (v, p) in self.support.iter().zip(&self.probs) {
            let take = p.min(alpha - mass);
            if take <= 0.0 {
                break;
            }
            acc += take * v;
            mass += take;
        }
        // Rounding can leave `mass` a hair below α: the remainder sits on the largest value.
        if mass < alpha {
            acc += (alpha - mass) * self.support[self.support.len() - 1];
        }
        Ok(acc / alpha)
    }

    /// The lower `α`-quantile `inf{x : P(G ≤ x) ≥ α}`.
    ///
    /// # Errors
    /// [`RlError::InvalidParameter`] unless `α ∈ (0, 1]`.
    pub fn quantile(&self, alpha: f64) -> Result<f64, RlError> {
        check_alpha(alpha)?;
        let mut mass = 0.0;
        for (v, p) in self.support.iter().zip(&self.probs) {
            mass += p;
            if mass >= alpha - 1e-12 {
                return Ok(*v);
            }
        }
        Ok(self.support[self.support.len() - 1])
    }
}

fn check_alpha(alpha: f64) -> Result<(), RlError> {
    if !(alpha > 0.0 && alpha <= 1.0) {
        return Err(RlError::InvalidParameter {
            name: "alpha",
            value: alpha,
            requirement: "in (0, 1]",
        });
    }
    Ok(())
}

/// The exact law of the return `G = Σ_t γ^t R_{t+1}` of a (time, state, stock) policy from the
/// MDP's initial distribution and initial stock `c0`, by forward propagation of the joint law of
/// (state, stock).
///
/// `policy(t, s, c)` returns the action in state `s` at step `t` with stock `c`.
///
/// # Errors
/// [`RlError::InvalidParameter`] for `horizon = 0` or `γ ∉ (0, 1]`; [`RlError::BadAction`] for an
/// action the MDP does not have; what the policy returns.
pub fn return_distribution<P>(
    mdp: &TabularMdp,
    horizon: usize,
    gamma: f64,
    c0: f64,
    mut policy: P,
) -> Result<ReturnDistribution, RlError>
where
    P: FnMut(usize, usize, f64) -> Result<usize, RlError>,
{
    StockDpConfig::new(horizon, Utility::Identity)
        .with_gamma(gamma)
        .validate()?;
    // (state, stock bits) → probability; BTreeMap for a deterministic order.
    let mut law: std::collections::BTreeMap<(usize, u64), f64> = mdp
        .initial()
        .iter()
        .enumerate()
        .filter(|(_, &p)| p > 0.0)
        .map(|(s, &p)| ((s, c0.to_bits()), p))
        .collect();
    for t in 0..horizon {
        let mut next = std::collections::BTreeMap::new();
        for (&(s, bits), &p) in &law {
            let c = f64::from_bits(bits);
            let a = policy(t, s, c)?;
            mdp.check_action(t, s, a)?;
            for o in mdp.outcomes(s, a) {
                if o.prob > 0.0 {
                    let c_next = (c + o.reward) / gamma;
                    *next.entry((o.next, c_next.to_bits())).or_insert(0.0) += p * o.prob;
                }
            }
        }
        law = next;
    }
    let scale = gamma.powi(horizon as i32);
    ReturnDistribution::from_atoms(
        law.into_iter()
            .map(|((_, bits), p)| (scale * f64::from_bits(bits) - c0, p)),
    )
}

/// Monte-Carlo returns of a (time, state, stock) policy: `episodes` rollouts from the initial
/// distribution with initial stock `c0`.
///
/// # Errors
/// As [`return_distribution`].
pub fn simulate_returns<P, R>(
    mdp: &TabularMdp,
    horizon: usize,
    gamma: f64,
    c0: f64,
    mut policy: P,
    episodes: usize,
    rng: &mut R,
) -> Result<Vec<f64>, RlError>
where
    P: FnMut(usize, usize, f64) -> Result<usize, RlError>,
    R: Rng + ?Sized,
{
    StockDpConfig::new(horizon, Utility::Identity)
        .with_gamma(gamma)
        .validate()?;
    let mut out = Vec::with_capacity(episodes);
    for _ in 0..episodes {
        let (mut s, mut c, mut g, mut disc) = (mdp.sample_initial(rng), c0, 0.0, 1.0);
        for t in 0..horizon {
            let a = policy(t, s, c)?;
            mdp.check_action(t, s, a)?;
            let o = mdp.sample_outcome(s, a, rng);
            g += disc * o.reward;
            disc *= gamma;
            c = (c + o.reward) / gamma;
            s = o.next;
        }
        out.push(g);
    }
    Ok(out)
}

/// The CVaR-optimal policy found by [`optimize_cvar`].
#[derive(Debug, Clone, PartialEq)]
pub struct CvarSolution {
    /// The level `α`.
    pub alpha: f64,
    /// The optimal initial stock `c_0* = −b*` (`b*` is the optimal policy's `α`-quantile).
    pub c0: f64,
    /// `max_π CVaR_α(G)`.
    pub cvar: f64,
    /// The inner DP (`f = min(x, 0)`); act with `policy.action(t, s, c)` from stock `c0`.
    pub policy: StockPolicy,
    /// The outer objective `−c_0 + α⁻¹ max_π E min(0, c_0 + G)` at every candidate `c_0`.
    pub objective: Vec<(f64, f64)>,
}

impl CvarSolution {
    /// The policy as a `(t, s, c) → action` function for [`return_distribution`] and
    /// [`simulate_returns`] (start them from stock [`CvarSolution::c0`]).
    pub fn act(&self) -> impl Fn(usize, usize, f64) -> Result<usize, RlError> + '_ {
        move |t, s, c| self.policy.action(t, s, c)
    }
}

/// `max_π CVaR_α(G)` over all history-dependent policies, exactly, for integer rewards and
/// `γ = 1`: one stock DP with `f = min(x, 0)` on the grid covering every initial stock
/// `c_0 ∈ [−H·r_max, −H·r_min]` (the optimal `b = −c_0` is an `α`-quantile of `G`, an integer in
/// `[H·r_min, H·r_max]`), then the outer maximum over those `c_0`.
///
/// # Errors
/// [`RlError::InvalidParameter`] for `α ∉ (0, 1]` or `horizon = 0`; [`RlError::BadReward`] for a
/// non-integer reward.
pub fn optimize_cvar(
    mdp: &TabularMdp,
    horizon: usize,
    alpha: f64,
) -> Result<CvarSolution, RlError> {
    check_alpha(alpha)?;
    StockDpConfig::new(horizon, Utility::LowerPartial).validate()?;
    mdp.check_integer_rewards()?;
    let (r_lo, r_hi) = mdp.reward_range();
    let h = horizon as i64;
    let (c_lo, c_hi) = (-h * r_hi as i64, -h * r_lo as i64);
    let grid = StockGrid::covering(mdp, horizon, c_lo, c_hi)?;
    let policy = solve_stock_dp(
        mdp,
        &grid,
        &StockDpConfig::new(horizon, Utility::LowerPartial),
    )?;
    let mut objective = Vec::with_capacity((c_hi - c_lo + 1) as usize);
    let mut best = (f64::NEG_INFINITY, 0.0);
    for c0 in c_lo..=c_hi {
        let c0 = c0 as f64;
        let v = -c0 + policy.initial_value(mdp, c0)? / alpha;
        objective.push((c0, v));
        if v > best.0 + 1e-12 {
            best = (v, c0);
        }
    }
    Ok(CvarSolution {
        alpha,
        c0: best.1,
        cvar: best.0,
        policy,
        objective,
    })
}

#[cfg(test)]
mod tests;
