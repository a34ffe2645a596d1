//! GPU side of the comparisons: the same three workloads as `cargo xtask compare` (log-prob
//! extraction, sampler steps, training steps), timed on burn's `Cuda` and/or `Wgpu` backends,
//! one JSON line per measurement on stdout. Its PyTorch / diffusers counterpart on the same GPU is
//! `xtask/python/gpu_bench.py`; `xtask/gpu/device_check.sh` runs both on a lent GPU machine and
//! docs/performance.md records the results.
//!
//! ```text
//! cargo build --release -p xtask --example gpubench --features cuda,wgpu,fusion
//! target/release/examples/gpubench [cuda] [wgpu] [logprobs] [sampler] [train] [--quick]
//! ```
//!
//! Timing: every timed call ends in `B::sync` (or a read-back of a few scalars), warm-up calls are
//! untimed (they include kernel compilation and autotuning), median and min of the timed calls.
//! A sampler "step" is one 50-step trajectory divided by 50, as on the CPU comparison.

use std::time::Instant;

use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Bool, Distribution, Int, Tensor, TensorData};
use preferent::losses::logprobs::{
    sequence_logprobs, sequence_logprobs_chunked, sequence_logprobs_fused, DEFAULT_CHUNK_ROWS,
};
use preferent::models::{ByteLmConfig, MlpDenoiserConfig};
use preferent::samplers::solvers::{
    Ddim, DdimConfig, DpmSolverMultistep, DpmSolverMultistepConfig, Sampler, Solver,
};
use serde_json::json;

fn median_min(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    };
    (med, v[0])
}

fn time_ms(warmup: usize, reps: usize, mut f: impl FnMut()) -> (f64, f64) {
    for i in 0..warmup {
        let t = Instant::now();
        f();
        eprintln!("  warm-up {i}: {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    }
    let samples = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median_min(samples)
}

fn emit(
    backend: &str,
    bench: &str,
    case: &str,
    (median_ms, min_ms): (f64, f64),
    extra: serde_json::Value,
) {
    println!(
        "{}",
        json!({"side": "preferent", "backend": backend, "bench": bench, "impl": case,
               "median_ms": median_ms, "min_ms": min_ms, "extra": extra})
    );
}

fn xorshift_labels(n: usize, v: usize, mut state: u64) -> Vec<i64> {
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % v as u64) as i64
        })
        .collect()
}

fn logprobs<B: Backend>(name: &str, quick: bool) -> Result<(), String> {
    let device: B::Device = Default::default();
    let [b, t, v] = if quick {
        [2, 128, 8000]
    } else {
        [8, 512, 32000]
    };
    let h = 512;
    let logits = Tensor::<B, 3>::random([b, t, v], Distribution::Normal(0.0, 1.0), &device);
    let labels = Tensor::<B, 2, Int>::from_data(
        TensorData::new(xorshift_labels(b * t, v, 0x2545_F491_4F6C_DD1D), [b, t]),
        &device,
    );
    let mask_v: Vec<bool> = (0..b * t).map(|i| i % t >= t / 4).collect();
    let mask = Tensor::<B, 2, Bool>::from_data(TensorData::new(mask_v, [b, t]), &device);
    let hidden = Tensor::<B, 3>::random([b, t, h], Distribution::Normal(0.0, 1.0), &device);
    let weight = Tensor::<B, 2>::random([v, h], Distribution::Normal(0.0, 0.05), &device);
    let reps = if quick { 5 } else { 20 };
    let sync = |x: Tensor<B, 1>| {
        let _ = x.into_data();
    };
    let direct = time_ms(3, reps, || {
        let r = sequence_logprobs(logits.clone(), labels.clone(), mask.clone()).expect("direct");
        sync(r.sum);
    });
    let extra = json!({"size": [b, t, v]});
    emit(name, "logprobs", "direct", direct, extra.clone());
    for rows in [DEFAULT_CHUNK_ROWS, 1024] {
        let chunked = time_ms(3, reps, || {
            let r = sequence_logprobs_chunked(logits.clone(), labels.clone(), mask.clone(), rows)
                .expect("chunked");
            sync(r.sum);
        });
        emit(
            name,
            "logprobs",
            &format!("chunked_{rows}"),
            chunked,
            extra.clone(),
        );
    }
    // Fused: hidden [B,T,H] × weight [V,H] never forms the full logits; torch's counterpart is
    // the unfused matmul + log-softmax (gpu_bench.py `torch_linear_direct`).
    let fused = time_ms(3, reps, || {
        let r = sequence_logprobs_fused(
            hidden.clone(),
            weight.clone(),
            None,
            labels.clone(),
            mask.clone(),
            1024,
        )
        .expect("fused");
        sync(r.sum);
    });
    emit(
        name,
        "logprobs",
        "fused_1024",
        fused,
        json!({"size": [b, t, v], "hidden": h}),
    );
    Ok(())
}

fn trajectory<B: Backend, S: Solver<B, 4>>(
    solver: &mut Sampler<B, 4, S>,
    steps: usize,
    model_output: &Tensor<B, 4>,
    sample: &Tensor<B, 4>,
) {
    solver.reset();
    let mut x = sample.clone();
    for _ in 0..steps {
        x = solver
            .step(model_output.clone(), x, None)
            .expect("solver step")
            .prev_sample;
    }
    let _ = B::sync(&x.device());
}

fn sampler<B: Backend>(name: &str, quick: bool) -> Result<(), String> {
    const STEPS: usize = 50;
    let device: B::Device = Default::default();
    let shape = [4, 4, 64, 64];
    let reps = if quick { 3 } else { 15 };
    let sample = Tensor::<B, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let model_output = Tensor::<B, 4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let per_step = |(m, n): (f64, f64)| (m / STEPS as f64, n / STEPS as f64);
    let mut ddim = Sampler::new(Ddim::new(DdimConfig::new(), STEPS).map_err(|e| e.to_string())?);
    let t = time_ms(2, reps, || {
        trajectory(&mut ddim, STEPS, &model_output, &sample)
    });
    emit(
        name,
        "sampler",
        "ddim",
        per_step(t),
        json!({"shape": shape, "steps": STEPS}),
    );
    let mut dpm = Sampler::new(
        DpmSolverMultistep::new(DpmSolverMultistepConfig::new(), STEPS)
            .map_err(|e| e.to_string())?,
    );
    let t = time_ms(2, reps, || {
        trajectory(&mut dpm, STEPS, &model_output, &sample)
    });
    emit(
        name,
        "sampler",
        "dpmpp_2m",
        per_step(t),
        json!({"shape": shape, "steps": STEPS}),
    );
    Ok(())
}

fn train<AD: AutodiffBackend>(name: &str, quick: bool) -> Result<(), String> {
    let device: AD::Device = Default::default();
    let optim = AdamWConfig::new().with_weight_decay(0.0);
    let lr = 1e-3;
    let (dim, hidden, batch) = (64, 256, 256);
    let mut mlp = MlpDenoiserConfig::new(dim)
        .with_hidden(hidden)
        .with_n_blocks(3)
        .with_time_dim(64)
        .init::<AD>(&device)
        .map_err(|e| e.to_string())?;
    let mut opt = optim.init::<AD, _>();
    let x = Tensor::<AD, 2>::random([batch, dim], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::<AD, 1>::random([batch], Distribution::Uniform(0.0, 1000.0), &device).floor();
    let eps = Tensor::<AD, 2>::random([batch, dim], Distribution::Normal(0.0, 1.0), &device);
    let reps = if quick { 5 } else { 30 };
    let mlp_t = time_ms(3, reps, || {
        let loss = (mlp.forward(x.clone(), t.clone()) - eps.clone())
            .powi_scalar(2)
            .mean();
        let grads = GradientsParams::from_grads(loss.backward(), &mlp);
        mlp = opt.step(lr, mlp.clone(), grads);
        let _ = AD::sync(&device);
    });
    emit(
        name,
        "train",
        "mlp_denoiser",
        mlp_t,
        json!({"params": mlp.valid().num_params(), "batch": batch, "dim": dim, "hidden": hidden}),
    );

    let cfg = ByteLmConfig::new();
    let (lm_batch, seq) = (8, cfg.max_seq_len);
    let mut lm = cfg.init::<AD>(&device).map_err(|e| e.to_string())?;
    let mut lm_opt = optim.init::<AD, _>();
    let toks = xorshift_labels(lm_batch * seq, cfg.vocab_size, 0x9E37_79B9_7F4A_7C15);
    let tokens = Tensor::<AD, 2, Int>::from_data(TensorData::new(toks, [lm_batch, seq]), &device);
    let loss_mask = Tensor::<AD, 2>::ones([lm_batch, seq - 1], &device);
    let lm_t = time_ms(3, reps.min(10), || {
        let loss = lm
            .lm_loss(tokens.clone(), loss_mask.clone())
            .expect("ByteLm::lm_loss on a well-formed batch");
        let grads = GradientsParams::from_grads(loss.backward(), &lm);
        lm = lm_opt.step(lr, lm.clone(), grads);
        let _ = AD::sync(&device);
    });
    emit(
        name,
        "train",
        "byte_lm",
        lm_t,
        json!({"params": lm.valid().num_params(), "batch": lm_batch, "seq": seq}),
    );
    Ok(())
}

fn run<B: Backend>(name: &str, parts: &[&str], quick: bool) -> Result<(), String> {
    let on = |p: &str| parts.is_empty() || parts.contains(&p);
    if on("logprobs") {
        eprintln!("gpubench: {name}: log-probs");
        logprobs::<B>(name, quick)?;
    }
    if on("sampler") {
        eprintln!("gpubench: {name}: sampler");
        sampler::<B>(name, quick)?;
    }
    if on("train") {
        eprintln!("gpubench: {name}: train");
        train::<burn::backend::Autodiff<B>>(name, quick)?;
    }
    Ok(())
}

/// Prints a failed backend's error; returns whether it failed.
fn failed(name: &str, result: Result<(), String>) -> bool {
    if let Err(e) = &result {
        eprintln!("gpubench: {name}: {e}");
    }
    result.is_err()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    // Backend names pick backends, other words pick workloads; none of either = all.
    let (backends, parts): (Vec<&str>, Vec<&str>) = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .partition(|a| matches!(*a, "cuda" | "wgpu"));
    let want = |n: &str| backends.is_empty() || backends.contains(&n);
    let mut any_failed = false;
    if want("cuda") {
        any_failed |= failed("cuda", run::<burn::backend::Cuda>("cuda", &parts, quick));
    }
    if want("wgpu") {
        any_failed |= failed("wgpu", run::<burn::backend::Wgpu>("wgpu", &parts, quick));
    }
    if any_failed {
        std::process::exit(1);
    }
}
