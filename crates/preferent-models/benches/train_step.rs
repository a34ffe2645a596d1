//! One AdamW training step of each reference network on the Flex CPU backend.
//!
//! Run with: cargo bench -p preferent-models --bench train_step

// `criterion_group!` generates an undocumented `pub fn`.
#![allow(missing_docs)]

use burn::module::AutodiffModule;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use burn::tensor::{Int, Tensor, TensorData};
use criterion::{criterion_group, criterion_main, Criterion};
use preferent_models::{
    bradley_terry_loss, ByteLmConfig, MlpClassifierConfig, MlpDenoiserConfig, RewardModelConfig,
    UNetConfig,
};
use preferent_testkit::{device, TestAutodiffBackend as B};

fn step<M: AutodiffModule<B>>(
    model: M,
    optim: &mut impl Optimizer<M, B>,
    loss: impl Fn(&M) -> Tensor<B, 1>,
) -> M {
    let grads = GradientsParams::from_grads(loss(&model).backward(), &model);
    optim.step(1e-3, model, grads)
}

fn tokens(b: usize, t: usize) -> Tensor<B, 2, Int> {
    let v: Vec<i64> = (0..b * t).map(|i| (i * 37 % 251) as i64).collect();
    Tensor::from_data(TensorData::new(v, [b, t]), &device())
}

fn bench(c: &mut Criterion) {
    let d = device();
    let mut g = c.benchmark_group("train_step");
    g.sample_size(10);

    for (name, cfg) in [
        ("byte_lm_tiny_b16_t24", ByteLmConfig::tiny()),
        ("byte_lm_default_b16_t24", ByteLmConfig::new()),
    ] {
        let mut model = cfg.init::<B>(&d).unwrap();
        let mut optim = AdamWConfig::new().init();
        let x = tokens(16, 24);
        let mask = Tensor::<B, 2>::ones([16, 23], &d);
        g.bench_function(name, |bch| {
            bch.iter(|| {
                model = step(model.clone(), &mut optim, |m| {
                    m.lm_loss(x.clone(), mask.clone()).unwrap()
                });
            })
        });
    }

    let mut rm = RewardModelConfig::new(ByteLmConfig::tiny())
        .init::<B>(&d)
        .unwrap();
    let mut optim = AdamWConfig::new().init();
    let (xc, xr) = (tokens(16, 24), tokens(16, 24).flip([1]));
    let len = Tensor::<B, 1, Int>::full([16], 24, &d);
    g.bench_function("reward_model_tiny_b16_t24", |bch| {
        bch.iter(|| {
            rm = step(rm.clone(), &mut optim, |m| {
                bradley_terry_loss(
                    m.forward(xc.clone(), len.clone()),
                    m.forward(xr.clone(), len.clone()),
                )
            });
        })
    });

    let mut mlp = MlpDenoiserConfig::new(64).init::<B>(&d).unwrap();
    let mut optim = AdamWConfig::new().init();
    let x = Tensor::<B, 2>::random([128, 64], burn::tensor::Distribution::Normal(0.0, 1.0), &d);
    let t = Tensor::<B, 1>::random([128], burn::tensor::Distribution::Uniform(0.0, 999.0), &d);
    g.bench_function("mlp_denoiser_64d_b128", |bch| {
        bch.iter(|| {
            mlp = step(mlp.clone(), &mut optim, |m| {
                (m.forward(x.clone(), t.clone()) - x.clone())
                    .powi_scalar(2)
                    .mean()
            });
        })
    });

    for (name, ctx) in [
        ("unet_8x8_b32", None),
        ("unet_8x8_b32_xattn", Some(16usize)),
    ] {
        let mut unet = UNetConfig::new()
            .with_context_dim(ctx)
            .init::<B>(&d)
            .unwrap();
        let mut optim = AdamWConfig::new().init();
        let x = Tensor::<B, 4>::random(
            [32, 1, 8, 8],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &d,
        );
        let t = Tensor::<B, 1>::random([32], burn::tensor::Distribution::Uniform(0.0, 999.0), &d);
        let c = ctx.map(|dc| {
            Tensor::<B, 3>::random(
                [32, 4, dc],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &d,
            )
        });
        g.bench_function(name, |bch| {
            bch.iter(|| {
                unet = step(unet.clone(), &mut optim, |m| {
                    (m.forward(x.clone(), t.clone(), c.clone()) - x.clone())
                        .powi_scalar(2)
                        .mean()
                });
            })
        });
    }

    let mut clf = MlpClassifierConfig::new(64).init::<B>(&d).unwrap();
    let mut optim = AdamWConfig::new().init();
    let labels = Tensor::<B, 1, Int>::from_data(
        TensorData::new((0..128).map(|i| (i % 10) as i64).collect::<Vec<_>>(), [128]),
        &d,
    );
    g.bench_function("mlp_classifier_64d_b128", |bch| {
        bch.iter(|| {
            clf = step(clf.clone(), &mut optim, |m| {
                burn::nn::loss::CrossEntropyLossConfig::new()
                    .init(&d)
                    .forward(m.forward(x.clone()), labels.clone())
            });
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
