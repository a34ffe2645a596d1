//! Run with: cargo bench -p preferent-samplers --bench step
//!
//! One solver step on a Stable-Diffusion latent batch, 4×4×64×64 f32, for every solver, on the
//! test lane's backend (Flex by default). Multistep solvers are warmed up (history full) in the
//! untimed setup so the timed step runs at the solver's full order.

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use burn::tensor::{backend::Backend, Distribution, Tensor};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use preferent_samplers::solvers::{
    Ddim, DdimConfig, Ddpm, DdpmConfig, DpmAlgorithm, DpmSolverMultistep, DpmSolverMultistepConfig,
    DpmSolverSinglestep, DpmSolverSinglestepConfig, EdmConfig, EulerEdm, FinalSigmas,
    FlowMatchEuler, FlowMatchEulerConfig, HeunEdm, Sampler, Solver, UniPc, UniPcConfig,
    UniPcVariant,
};
use preferent_testkit::TestBackend as B;

const SHAPE: [usize; 4] = [4, 4, 64, 64];

fn randn() -> Tensor<B, 4> {
    Tensor::random(SHAPE, Distribution::Normal(0.0, 1.0), &Default::default())
}

/// Builds the solver, warms it up with `warm` steps, and times one more step.
fn bench_solver<S, F>(c: &mut Criterion, name: &str, build: F, warm: usize)
where
    S: Solver<B, 4>,
    F: Fn() -> Sampler<B, 4, S>,
{
    let x = randn();
    let out = randn();
    let noise = randn();
    c.bench_function(name, |b| {
        b.iter_batched(
            || {
                let mut s = build();
                let mut xs = x.clone();
                for _ in 0..warm {
                    xs = s
                        .step(out.clone(), xs, Some(noise.clone()))
                        .unwrap()
                        .prev_sample;
                }
                let _ = B::sync(&Default::default());
                (s, xs)
            },
            |(mut s, xs)| {
                let y = s
                    .step(out.clone(), xs, Some(noise.clone()))
                    .unwrap()
                    .prev_sample;
                let _ = B::sync(&Default::default());
                y
            },
            BatchSize::PerIteration,
        )
    });
}

fn steps(c: &mut Criterion) {
    let n = 50;
    bench_solver(
        c,
        "ddim",
        || Sampler::<B, 4, _>::new(Ddim::new(DdimConfig::new(), n).unwrap()),
        0,
    );
    bench_solver(
        c,
        "ddim_eta1",
        || Sampler::<B, 4, _>::new(Ddim::new(DdimConfig::new().with_eta(1.0), n).unwrap()),
        0,
    );
    bench_solver(
        c,
        "ddpm",
        || Sampler::<B, 4, _>::new(Ddpm::new(DdpmConfig::new(), n).unwrap()),
        0,
    );
    for (name, alg, order) in [
        ("dpmpp_1m", DpmAlgorithm::DpmSolverPlusPlus, 1),
        ("dpmpp_2m", DpmAlgorithm::DpmSolverPlusPlus, 2),
        ("dpmpp_3m", DpmAlgorithm::DpmSolverPlusPlus, 3),
        ("dpm_v1_2m", DpmAlgorithm::DpmSolver, 2),
        ("sde_dpmpp_2m", DpmAlgorithm::SdeDpmSolverPlusPlus, 2),
    ] {
        bench_solver(
            c,
            name,
            move || {
                let cfg = DpmSolverMultistepConfig::new()
                    .with_solver_order(order)
                    .with_algorithm_type(alg)
                    .with_final_sigmas_type(if alg.predicts_x0() {
                        FinalSigmas::Zero
                    } else {
                        FinalSigmas::SigmaMin
                    });
                Sampler::<B, 4, _>::new(DpmSolverMultistep::new(cfg, n).unwrap())
            },
            order - 1,
        );
    }
    for (name, order) in [("dpmpp_2s", 2usize), ("dpmpp_3s", 3)] {
        bench_solver(
            c,
            name,
            move || {
                let cfg = DpmSolverSinglestepConfig::new().with_solver_order(order);
                Sampler::<B, 4, _>::new(DpmSolverSinglestep::new(cfg, 48).unwrap())
            },
            order - 1,
        );
    }
    // UniPC: the timed step runs UniC (order p) and UniP (order p) with a full history.
    for (name, variant, order) in [
        ("unipc_bh2_2", UniPcVariant::Bh2, 2usize),
        ("unipc_bh1_3", UniPcVariant::Bh1, 3),
    ] {
        bench_solver(
            c,
            name,
            move || {
                let cfg = UniPcConfig::new()
                    .with_solver_type(variant)
                    .with_solver_order(order);
                Sampler::<B, 4, _>::new(UniPc::new(cfg, n).unwrap())
            },
            order,
        );
    }
    bench_solver(
        c,
        "euler_edm",
        || Sampler::<B, 4, _>::new(EulerEdm::new(EdmConfig::new(), n).unwrap()),
        0,
    );
    bench_solver(
        c,
        "flow_match_euler",
        || Sampler::<B, 4, _>::new(FlowMatchEuler::new(FlowMatchEulerConfig::new(), n).unwrap()),
        0,
    );
    bench_solver(
        c,
        "heun_edm_correction",
        || Sampler::<B, 4, _>::new(HeunEdm::new(EdmConfig::new(), n).unwrap()),
        1,
    );
}

criterion_group!(benches, steps);
criterion_main!(benches);
