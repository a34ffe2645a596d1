//! Run with: cargo bench -p preferent-rl --bench rl
//!
//! - `stock_dp/sweep_10k`: one full stock-augmented DP solve (every step of the horizon) on a
//!   10⁴-cell (state × stock) grid: a 100-state noisy chain, 2 actions, integer rewards in
//!   [−1, 1], horizon 50, the exact covering grid from c0 = 0 (101 atoms). Cost scales as
//!   H · S · K · A · O (here 50 · 100 · 101 · 2 · 2 ≈ 2·10⁶ backups).
//! - `ppo/loss_backward_64x53`: PPO's clipped policy + value loss forward and backward on a
//!   `[64, 53]` minibatch (DR-PO's response length), on the test lane's autodiff backend.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use preferent_losses::base::PreferenceLoss;
use preferent_rl::ppo::{PpoBatch, PpoConfig};
use preferent_rl::stock::{solve_stock_dp, StockDpConfig, StockGrid, Utility};
use preferent_rl::tabular::{Outcome, TabularMdp};
use preferent_testkit::TestAutodiffBackend as AD;

fn chain(n: usize) -> TabularMdp {
    let o = Outcome::new;
    let outcomes = (0..n)
        .map(|s| {
            let left = s.saturating_sub(1);
            let right = (s + 1).min(n - 1);
            vec![
                // "stay": reward 0 or +1.
                vec![o(s, 0.0, 0.5), o(s, 1.0, 0.5)],
                // "move right": reward +1 or −1, sometimes slipping left.
                vec![o(right, 1.0, 0.7), o(left, -1.0, 0.3)],
            ]
        })
        .collect();
    let mut initial = vec![0.0; n];
    initial[0] = 1.0;
    TabularMdp::new(outcomes, initial).expect("valid chain")
}

fn stock_dp(c: &mut Criterion) {
    let mdp = chain(100);
    let h = 50;
    let grid = StockGrid::covering(&mdp, h, 0, 0).expect("integer rewards");
    assert_eq!(grid.atoms(), 101);
    let cfg = StockDpConfig::new(h, Utility::LowerPartial);
    c.bench_function("stock_dp/sweep_10k", |b| {
        b.iter(|| solve_stock_dp(&mdp, &grid, &cfg).expect("solves"))
    });
}

fn ppo(c: &mut Criterion) {
    let d = Default::default();
    let r = || Tensor::<AD, 2>::random([64, 53], Distribution::Normal(0.0, 1.0), &d);
    let loss = PpoConfig::new().init().expect("valid");
    let (lp, old, adv, v, old_v, ret) = (r(), r(), r(), r(), r(), r());
    let mask = lp.ones_like();
    c.bench_function("ppo/loss_backward_64x53", |b| {
        b.iter(|| {
            let batch = PpoBatch {
                log_probs: lp.clone().require_grad(),
                old_log_probs: old.clone(),
                advantages: adv.clone(),
                values: v.clone().require_grad(),
                old_values: old_v.clone(),
                returns: ret.clone(),
                policy_mask: mask.clone(),
                value_mask: mask.clone(),
            };
            let out = PreferenceLoss::<AD>::forward(&loss, batch).expect("forward");
            out.loss.backward()
        })
    });
}

criterion_group!(benches, stock_dp, ppo);
criterion_main!(benches);
