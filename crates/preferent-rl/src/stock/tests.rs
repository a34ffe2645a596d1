//! Stock-augmented DP pinned to brute force: every deterministic history-dependent policy of a
//! small MDP is enumerated (its exact return law), and the DP's optimum must equal the best
//! enumerated value for CVaR at several levels and for every utility.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::tabular::Outcome;

/// 3 states, 2 actions, at most 2 outcomes per (state, action), integer rewards.
fn small_mdp(initial: Vec<f64>) -> TabularMdp {
    let o = Outcome::new;
    TabularMdp::new(
        vec![
            vec![vec![o(0, 1.0, 1.0)], vec![o(1, 4.0, 0.5), o(2, -3.0, 0.5)]],
            vec![vec![o(1, 2.0, 0.8), o(0, -2.0, 0.2)], vec![o(2, 0.0, 1.0)]],
            vec![vec![o(2, -1.0, 1.0)], vec![o(0, 3.0, 0.3), o(2, -4.0, 0.7)]],
        ],
        initial,
    )
    .unwrap()
}

/// A law of the remaining return as integer value → probability.
type Law = BTreeMap<i64, f64>;

/// Every return law that some deterministic history-dependent policy achieves from state `s`
/// with `h` steps left. Two histories never share a decision, so each outcome's continuation is
/// chosen independently: the set for an action is the product over its outcomes.
fn achievable(
    mdp: &TabularMdp,
    s: usize,
    h: usize,
    memo: &mut BTreeMap<(usize, usize), Vec<Law>>,
) -> Vec<Law> {
    if h == 0 {
        return vec![Law::from([(0, 1.0)])];
    }
    if let Some(v) = memo.get(&(s, h)) {
        return v.clone();
    }
    let mut out = Vec::new();
    for a in 0..mdp.n_actions() {
        let mut combos: Vec<Law> = vec![Law::new()];
        for o in mdp.outcomes(s, a) {
            let children = achievable(mdp, o.next, h - 1, memo);
            let mut next = Vec::with_capacity(combos.len() * children.len());
            for base in &combos {
                for child in &children {
                    let mut law = base.clone();
                    for (&g, &p) in child {
                        *law.entry(g + o.reward as i64).or_insert(0.0) += o.prob * p;
                    }
                    next.push(law);
                }
            }
            combos = next;
        }
        out.extend(combos);
    }
    memo.insert((s, h), out.clone());
    out
}

fn to_dist(law: &Law) -> ReturnDistribution {
    ReturnDistribution::from_atoms(law.iter().map(|(&g, &p)| (g as f64, p))).unwrap()
}

/// All achievable laws from the initial distribution (independent choices per initial state).
fn all_laws(mdp: &TabularMdp, h: usize) -> Vec<ReturnDistribution> {
    let mut memo = BTreeMap::new();
    let mut combos: Vec<Law> = vec![Law::new()];
    for (s, &p0) in mdp.initial().iter().enumerate() {
        if p0 == 0.0 {
            continue;
        }
        let laws = achievable(mdp, s, h, &mut memo);
        let mut next = Vec::new();
        for base in &combos {
            for law in &laws {
                let mut l = base.clone();
                for (&g, &p) in law {
                    *l.entry(g).or_insert(0.0) += p0 * p;
                }
                next.push(l);
            }
        }
        combos = next;
    }
    combos.iter().map(to_dist).collect()
}

fn best(laws: &[ReturnDistribution], k: impl Fn(&ReturnDistribution) -> f64) -> f64 {
    laws.iter().map(k).fold(f64::NEG_INFINITY, f64::max)
}

#[test]
fn enumeration_sizes_are_what_the_recursion_predicts() {
    // From state 0 with 4 steps: action 0 has one outcome, action 1 two; the count is the sum
    // over actions of the product of the children's counts.
    let mdp = small_mdp(vec![1.0, 0.0, 0.0]);
    let laws = all_laws(&mdp, 4);
    let mut memo = BTreeMap::new();
    let n = |s, h, memo: &mut _| achievable(&mdp, s, h, memo).len();
    let (n0, n1, n2) = (n(0, 3, &mut memo), n(1, 3, &mut memo), n(2, 3, &mut memo));
    assert_eq!(laws.len(), n0 + n1 * n2);
    assert!(laws.len() > 1_000, "{}", laws.len());
}

#[test]
fn cvar_matches_enumeration_at_every_level() {
    for initial in [vec![1.0, 0.0, 0.0], vec![0.5, 0.0, 0.5]] {
        let mdp = small_mdp(initial.clone());
        let h = if initial[2] > 0.0 { 3 } else { 4 };
        let laws = all_laws(&mdp, h);
        for alpha in [0.05, 0.1, 0.25, 0.5, 0.9, 1.0] {
            let brute = best(&laws, |d| d.cvar(alpha).unwrap());
            let sol = optimize_cvar(&mdp, h, alpha).unwrap();
            assert!(
                (sol.cvar - brute).abs() < 1e-9,
                "α={alpha} {initial:?}: dp {} vs enumeration {brute}",
                sol.cvar
            );
            // The policy, run from its own c0, achieves the value exactly.
            let law = return_distribution(&mdp, h, 1.0, sol.c0, sol.act()).unwrap();
            assert!(
                (law.cvar(alpha).unwrap() - sol.cvar).abs() < 1e-9,
                "α={alpha}"
            );
            // The optimal b = −c0 is an α-quantile of the optimal law (Rockafellar–Uryasev).
            let b = -sol.c0;
            let rhs = b - law
                .support()
                .iter()
                .zip(law.probs())
                .map(|(g, p)| p * (b - g).max(0.0))
                .sum::<f64>()
                / alpha;
            assert!((rhs - sol.cvar).abs() < 1e-9, "α={alpha}");
        }
        // α = 1 is the mean.
        let mean = best(&laws, ReturnDistribution::mean);
        assert!((optimize_cvar(&mdp, h, 1.0).unwrap().cvar - mean).abs() < 1e-9);
    }
}

#[test]
fn every_utility_matches_enumeration_at_every_initial_stock() {
    let mdp = small_mdp(vec![1.0, 0.0, 0.0]);
    let h = 4;
    let laws = all_laws(&mdp, h);
    let grid = StockGrid::covering(&mdp, h, -20, 20).unwrap();
    for utility in [
        Utility::Identity,
        Utility::LowerPartial,
        Utility::Threshold,
        Utility::Homeostatic,
    ] {
        let pol = solve_stock_dp(&mdp, &grid, &StockDpConfig::new(h, utility)).unwrap();
        for c0 in [-12, -5, -1, 0, 3, 9] {
            let c0 = c0 as f64;
            let brute = best(&laws, |d| d.expected_utility(utility, c0));
            let dp = pol.initial_value(&mdp, c0).unwrap();
            assert!(
                (dp - brute).abs() < 1e-9,
                "{utility:?} c0={c0}: {dp} vs {brute}"
            );
            let act = |t, s, c| pol.action(t, s, c);
            let law = return_distribution(&mdp, h, 1.0, c0, act).unwrap();
            assert!(
                (law.expected_utility(utility, c0) - dp).abs() < 1e-9,
                "{utility:?}"
            );
        }
    }
}

/// A gamble you cannot see in the state: step 0 pays +10 or 0 (both to state 1); step 1 offers
/// a safe 0 or a risky +12 / −8. A Markov policy cannot react to the first outcome.
fn hidden_gamble() -> TabularMdp {
    let o = Outcome::new;
    let coin = vec![o(1, 10.0, 0.5), o(1, 0.0, 0.5)];
    TabularMdp::new(
        vec![
            vec![coin.clone(), coin],
            vec![vec![o(2, 0.0, 1.0)], vec![o(2, 12.0, 0.5), o(2, -8.0, 0.5)]],
            vec![vec![o(2, 0.0, 1.0)], vec![o(2, 0.0, 1.0)]],
        ],
        vec![1.0, 0.0, 0.0],
    )
    .unwrap()
}

#[test]
fn the_stock_matters_a_markov_policy_cannot_reach_the_cvar_optimum() {
    // By hand, CVaR_0.5: always safe → {10, 0}: 0; always risky → {22, 2, 12, −8}: −3; safe
    // after +10 and risky after 0 → {10 (½), 12 (¼), −8 (¼)}: (−8 + 10)/2 = 1.
    let mdp = hidden_gamble();
    let (h, alpha) = (2, 0.5);
    // Best over every deterministic Markov policy in (t, s): all 2^(H·S) of them.
    let mut markov_best = f64::NEG_INFINITY;
    for bits in 0u32..(1 << (h * 3)) {
        let law = return_distribution(&mdp, h, 1.0, 0.0, |t, s, _| {
            Ok(((bits >> (t * 3 + s)) & 1) as usize)
        })
        .unwrap();
        markov_best = markov_best.max(law.cvar(alpha).unwrap());
    }
    assert!((markov_best - 0.0).abs() < 1e-12, "{markov_best}");
    let sol = optimize_cvar(&mdp, h, alpha).unwrap();
    let brute = best(&all_laws(&mdp, h), |d| d.cvar(alpha).unwrap());
    assert!((sol.cvar - brute).abs() < 1e-12);
    assert!((sol.cvar - 1.0).abs() < 1e-12, "{}", sol.cvar);
    // The optimal policy reacts to the stock: risky after the 0, safe after the +10.
    assert_eq!(sol.policy.action(1, 1, sol.c0).unwrap(), 1);
    assert_eq!(sol.policy.action(1, 1, sol.c0 + 10.0).unwrap(), 0);
}

#[test]
fn monte_carlo_agrees_with_the_exact_law() {
    let mdp = small_mdp(vec![0.5, 0.0, 0.5]);
    let sol = optimize_cvar(&mdp, 3, 0.25).unwrap();
    let exact = return_distribution(&mdp, 3, 1.0, sol.c0, sol.act()).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let n = 100_000;
    let g = simulate_returns(&mdp, 3, 1.0, sol.c0, sol.act(), n, &mut rng).unwrap();
    let emp = ReturnDistribution::from_samples(&g).unwrap();
    // Every sampled return is in the exact support, each frequency within 5 standard errors.
    for (v, p) in emp.support().iter().zip(emp.probs()) {
        let i = exact
            .support()
            .iter()
            .position(|x| x == v)
            .expect("sampled return in support");
        let q = exact.probs()[i];
        let se = (q * (1.0 - q) / n as f64).sqrt();
        assert!((p - q).abs() < 5.0 * se + 1e-12, "G={v}: {p} vs {q}");
    }
}

#[test]
fn categorical_grid_is_exact_on_integers_and_close_with_discounting() {
    let mdp = small_mdp(vec![1.0, 0.0, 0.0]);
    let h = 4;
    // A half-integer uniform grid holds every integer stock: same values as the exact grid.
    let exact = StockGrid::covering(&mdp, h, -20, 20).unwrap();
    let half = StockGrid::uniform(exact.lo(), exact.hi(), 2 * (exact.atoms() - 1) + 1).unwrap();
    let cfg = StockDpConfig::new(h, Utility::LowerPartial);
    let (a, b) = (
        solve_stock_dp(&mdp, &exact, &cfg).unwrap(),
        solve_stock_dp(&mdp, &half, &cfg).unwrap(),
    );
    for c0 in -20..=20 {
        let c0 = c0 as f64;
        assert!((a.value(0, 0, c0).unwrap() - b.value(0, 0, c0).unwrap()).abs() < 1e-12);
    }
    // γ = 0.9: the stock leaves the integers. Brute force over discounted laws vs the
    // categorical DP; V is 1-Lipschitz in c for f = min(x, 0) (γ^H ≤ 1), so each of the H
    // interpolated backups errs by at most one atom spacing.
    let gamma: f64 = 0.9;
    let (r_lo, r_hi) = mdp.reward_range();
    let span = (r_hi - r_lo) * (0..h).map(|t| gamma.powi(-(t as i32 + 1))).sum::<f64>();
    let grid = StockGrid::uniform(-30.0 - span, 30.0 + span, 20_001).unwrap();
    let pol = solve_stock_dp(&mdp, &grid, &cfg.with_gamma(gamma)).unwrap();
    let brute = discounted_best(&mdp, h, gamma);
    for c0 in [-6.0, -2.5, 0.0, 1.7] {
        let want = brute(c0);
        let got = pol.value(0, 0, c0).unwrap();
        let bound = h as f64 * grid.step();
        assert!(
            (got - want).abs() <= bound,
            "c0={c0}: {got} vs {want} (bound {bound})"
        );
    }
}

/// `c0 ↦ max_π E min(0, c0 + G)` with `G = Σ γ^t R_{t+1}`, by enumeration of the history tree
/// (expectimax over actions, exact outcome sums) — only the total matters, so the recursion
/// carries the discounted return so far.
fn discounted_best(mdp: &TabularMdp, h: usize, gamma: f64) -> impl Fn(f64) -> f64 + '_ {
    fn go(mdp: &TabularMdp, s: usize, t: usize, h: usize, gamma: f64, acc: f64) -> f64 {
        if t == h {
            return acc.min(0.0);
        }
        (0..mdp.n_actions())
            .map(|a| {
                mdp.outcomes(s, a)
                    .iter()
                    .map(|o| {
                        o.prob
                            * go(
                                mdp,
                                o.next,
                                t + 1,
                                h,
                                gamma,
                                acc + gamma.powi(t as i32) * o.reward,
                            )
                    })
                    .sum::<f64>()
            })
            .fold(f64::NEG_INFINITY, f64::max)
    }
    move |c0| go(mdp, 0, 0, h, gamma, c0)
}

#[test]
fn return_distribution_statistics() {
    let d = ReturnDistribution::from_atoms([(10.0, 0.5), (0.0, 0.2), (10.0, 0.3)]).unwrap();
    assert_eq!(d.support(), &[0.0, 10.0]);
    assert!((d.mean() - 8.0).abs() < 1e-12);
    assert!(d.cvar(0.1).unwrap().abs() < 1e-12);
    assert!((d.cvar(0.5).unwrap() - 6.0).abs() < 1e-12);
    assert!((d.cvar(1.0).unwrap() - 8.0).abs() < 1e-12);
    assert_eq!(d.quantile(0.2).unwrap(), 0.0);
    assert_eq!(d.quantile(0.3).unwrap(), 10.0);
    assert!((d.expected_utility(Utility::Threshold, -5.0) - 0.8).abs() < 1e-12);
    assert!(
        (d.expected_utility(Utility::Homeostatic, -8.0) - (0.2 * -8.0 + 0.8 * -2.0)).abs() < 1e-12
    );
}

#[test]
fn bad_input_is_a_typed_error() {
    let mdp = small_mdp(vec![1.0, 0.0, 0.0]);
    for alpha in [0.0, -0.1, 1.5, f64::NAN] {
        assert!(matches!(
            optimize_cvar(&mdp, 3, alpha),
            Err(RlError::InvalidParameter { name: "alpha", .. })
        ));
    }
    assert!(matches!(
        optimize_cvar(&mdp, 0, 0.1),
        Err(RlError::InvalidParameter {
            name: "horizon",
            ..
        })
    ));
    let grid = StockGrid::integer(-3, 3).unwrap();
    assert!(matches!(
        solve_stock_dp(
            &mdp,
            &grid,
            &StockDpConfig::new(2, Utility::Identity).with_gamma(0.0)
        ),
        Err(RlError::InvalidParameter { name: "gamma", .. })
    ));
    let pol = solve_stock_dp(&mdp, &grid, &StockDpConfig::new(2, Utility::Identity)).unwrap();
    assert!(matches!(
        pol.action(0, 0, 9.0),
        Err(RlError::StockOutsideGrid { t: 0, .. })
    ));
    assert!(matches!(
        pol.action(2, 0, 0.0),
        Err(RlError::IndexOutOfRange { name: "t", .. })
    ));
    assert!(matches!(
        pol.value(0, 3, 0.0),
        Err(RlError::IndexOutOfRange { name: "state", .. })
    ));
    assert!(StockGrid::integer(2, 1).is_err());
    assert!(StockGrid::uniform(0.0, 0.0, 5).is_err());
    assert!(StockGrid::uniform(0.0, 1.0, 1).is_err());
    let o = Outcome::new;
    let frac = TabularMdp::new(vec![vec![vec![o(0, 0.5, 1.0)]]], vec![1.0]).unwrap();
    assert!(matches!(
        optimize_cvar(&frac, 2, 0.1),
        Err(RlError::BadReward { .. })
    ));
    let bad_policy = return_distribution(&mdp, 2, 1.0, 0.0, |_, _, _| Ok(5));
    assert!(matches!(
        bad_policy,
        Err(RlError::BadAction { action: 5, .. })
    ));
    assert!(ReturnDistribution::from_atoms([(1.0, 0.5)]).is_err());
    assert!(ReturnDistribution::from_samples(&[]).is_err());
    assert!(matches!(
        ReturnDistribution::from_atoms([(1.0, 1.0)])
            .unwrap()
            .cvar(0.0),
        Err(RlError::InvalidParameter { name: "alpha", .. })
    ));
}
