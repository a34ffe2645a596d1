//! Times one `UNet` training step (forward, backward, AdamW) at the size `compare train` uses
//! (base 32, batch 64 × 1×8×8, no context) on `Autodiff<Flex>`; the profile target behind the
//! U-Net notes in docs/performance.md.
//!
//! ```text
//! cargo run --release -p xtask --example unetstep -- 10
//! ```
use burn::backend::{Autodiff, Flex};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Distribution, Tensor};
use preferent::models::UNetConfig;
use std::time::Instant;
type AD = Autodiff<Flex>;
fn main() {
    let device = Default::default();
    let mut unet = UNetConfig::new().init::<AD>(&device).unwrap();
    let mut opt = AdamWConfig::new().with_weight_decay(0.0).init::<AD, _>();
    let x = Tensor::<AD, 4>::random([64, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::<AD, 1>::random([64], Distribution::Uniform(0.0, 1000.0), &device).floor();
    let eps = Tensor::<AD, 4>::random([64, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(10);
    for i in 0..n {
        let s = Instant::now();
        let loss = (unet.forward(x.clone(), t.clone(), None) - eps.clone())
            .powi_scalar(2)
            .mean();
        let t1 = s.elapsed();
        let grads = GradientsParams::from_grads(loss.backward(), &unet);
        let t2 = s.elapsed();
        unet = opt.step(1e-3, unet.clone(), grads);
        eprintln!(
            "step {i}: fwd {t1:?} fwd+bwd {t2:?} total {:?}",
            s.elapsed()
        );
    }
}
