//! Single-op timings on burn's Flex backend at the SD-latent size 4×4×64×64 (65 536 f32), a
//! 50-step DDIM trajectory, and the passes of a log-softmax over one `[128, 32000]` block (the
//! chunked log-prob path): the numbers behind the notes in docs/performance.md.
//!
//! ```text
//! cargo run --release -p xtask --example opbench
//! GLIBC_TUNABLES=glibc.malloc.trim_threshold=1073741824:glibc.malloc.mmap_threshold=33554432 \
//!     cargo run --release -p xtask --example opbench      # without glibc's heap trimming
//! ```
use burn::backend::Flex;
use burn::tensor::{Distribution, Tensor};
use preferent::samplers::solvers::{Ddim, DdimConfig, Sampler};
use std::time::Instant;
type B = Flex;

fn t<F: FnMut()>(name: &str, mut f: F) {
    for _ in 0..20 {
        f();
    }
    let mut v = Vec::new();
    for _ in 0..15 {
        let s = Instant::now();
        for _ in 0..50 {
            f();
        }
        v.push(s.elapsed().as_secs_f64() * 1e6 / 50.0);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name:40} median {:8.1} us  min {:8.1} us", v[7], v[0]);
}

fn main() {
    let d = Default::default();
    let x = Tensor::<B, 4>::random([4, 4, 64, 64], Distribution::Normal(0.0, 1.0), &d);
    let y = Tensor::<B, 4>::random([4, 4, 64, 64], Distribution::Normal(0.0, 1.0), &d);
    t("clone+mul_scalar", || {
        let _ = x.clone().mul_scalar(0.5);
    });
    t("clone+add_scalar", || {
        let _ = x.clone().add_scalar(0.5);
    });
    t("clone+div_scalar", || {
        let _ = x.clone().div_scalar(0.5);
    });
    t("clone+clamp", || {
        let _ = x.clone().clamp(-1.0, 1.0);
    });
    t("clone+clamp_min", || {
        let _ = x.clone().clamp_min(-1.0);
    });
    t("clone+clamp_max", || {
        let _ = x.clone().clamp_max(1.0);
    });
    t("clone+add", || {
        let _ = x.clone() + y.clone();
    });
    t("clone+sub", || {
        let _ = x.clone() - y.clone();
    });
    t("clone+mul", || {
        let _ = x.clone() * y.clone();
    });
    t("mul_scalar x2 chain", || {
        let _ = x.clone().mul_scalar(0.5).mul_scalar(2.0);
    });
    t("a*x + b*y", || {
        let _ = x.clone().mul_scalar(0.3) + y.clone().mul_scalar(0.7);
    });
    t("(x - b*y)/a", || {
        let _ = (x.clone() - y.clone().mul_scalar(0.7)).div_scalar(0.3);
    });
    t("zeros_like", || {
        let _ = x.zeros_like();
    });
    let mut ddim = Sampler::new(Ddim::new(DdimConfig::new(), 50).unwrap());
    t("ddim trajectory/50", || {
        ddim.set_begin_index(0).unwrap();
        let mut s = x.clone();
        for _ in 0..50 {
            s = ddim.step(y.clone(), s, None).unwrap().prev_sample;
        }
    });
    let mut ddim = Sampler::new(Ddim::new(DdimConfig::new().with_clip_sample(false), 50).unwrap());
    t("ddim noclip trajectory/50", || {
        ddim.set_begin_index(0).unwrap();
        let mut s = x.clone();
        for _ in 0..50 {
            s = ddim.step(y.clone(), s, None).unwrap().prev_sample;
        }
    });

    // One chunked log-prob block.
    let (n, v) = (128, 32000);
    let x = Tensor::<B, 2>::random([n, v], Distribution::Normal(0.0, 1.0), &d);
    let m = x.clone().max_dim(1);
    t("[128,32000] max_dim(1)", || {
        let _ = x.clone().max_dim(1);
    });
    t("[128,32000] sum_dim(1)", || {
        let _ = x.clone().sum_dim(1);
    });
    t("[128,32000] exp", || {
        let _ = x.clone().exp();
    });
    t("[128,32000] x - row max (broadcast)", || {
        let _ = x.clone() - m.clone();
    });
    t("[128,32000] x - 1 (contiguous unary)", || {
        let _ = x.clone().sub_scalar(1.0);
    });
    t("[128,32000] log_softmax", || {
        let _ = burn::tensor::activation::log_softmax(x.clone(), 1);
    });
}
