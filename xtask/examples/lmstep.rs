//! Times the phases (forward, backward, AdamW) of one `ByteLm` training step at its default size
//! (batch 8 × T 128) on `Autodiff<Flex>`; the profile target behind the byte-LM notes in
//! docs/performance.md (`perf record --call-graph dwarf target/release/examples/lmstep 1`).
//!
//! ```text
//! cargo run --release -p xtask --example lmstep -- 3
//! ```
use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor, TensorData};
use preferent::models::ByteLmConfig;
use std::time::Instant;
type AD = Autodiff<Flex>;
fn main() {
    let device = Default::default();
    let cfg = ByteLmConfig::new();
    let (b, seq) = (8, cfg.max_seq_len);
    let mut lm = cfg.init::<AD>(&device).unwrap();
    let mut opt = AdamWConfig::new().with_weight_decay(0.0).init::<AD, _>();
    let toks: Vec<i64> = (0..b * seq).map(|i| (i * 7919 % 251) as i64).collect();
    let tokens = Tensor::<AD, 2, Int>::from_data(TensorData::new(toks, [b, seq]), &device);
    let mask = Tensor::<AD, 2>::ones([b, seq - 1], &device);
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(3);
    for i in 0..n {
        let t = Instant::now();
        let loss = lm.lm_loss(tokens.clone(), mask.clone()).unwrap();
        let t1 = t.elapsed();
        let grads = GradientsParams::from_grads(loss.backward(), &lm);
        let t2 = t.elapsed();
        lm = opt.step(1e-3, lm.clone(), grads);
        eprintln!(
            "step {i}: fwd {:?} fwd+bwd {:?} total {:?}",
            t1,
            t2,
            t.elapsed()
        );
    }
    let _ = lm.valid();
}
