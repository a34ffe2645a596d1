//! Diffusion side: train an ε-prediction MLP on the 8×8 digits, sample with DDIM and
//! DPM-Solver++ at 10 and 20 NFE, score samples with a digits classifier trained here.

use std::time::Instant;

use burn::module::AutodiffModule;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend as _;
use burn::tensor::{Distribution, ElementConversion, Tensor, TensorData};
use preferent::models::datasets::{load_digits, Digits, DIGITS_PIXELS};
use preferent::models::train::{adamw, CsvLogger, Progress, Trainer, WarmupCosineConfig};
use preferent::models::{MlpClassifier, MlpClassifierConfig, MlpDenoiserConfig};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::adapters::{self, DdpmSchedule, Solver};
use super::{AB, IB};

/// Sizes for one run of the diffusion side.
pub struct DiffSettings {
    /// Denoiser hidden width.
    pub hidden: usize,
    /// Denoiser residual blocks.
    pub blocks: usize,
    /// Denoiser training steps.
    pub train_steps: usize,
    /// Batch size.
    pub batch: usize,
    /// Peak LR.
    pub lr: f64,
    /// Classifier training steps.
    pub clf_steps: usize,
    /// Samples per solver setting.
    pub n_samples: usize,
}

/// Quality of one solver setting.
pub struct SolverRow {
    /// Solver label.
    pub name: String,
    /// Model evaluations.
    pub nfe: usize,
    /// Mean max-softmax confidence of the classifier on samples.
    pub confidence: f64,
    /// Fréchet distance on classifier features vs real digits.
    pub fd: f64,
    /// Class histogram of the classifier's predictions.
    pub class_counts: [usize; 10],
    /// Sampling wall time.
    pub seconds: f64,
    /// PNG grid file name.
    pub grid: String,
}

/// Everything the report needs from the diffusion side.
pub struct DiffResult {
    /// Settings summary.
    pub setup: String,
    /// Denoiser parameter count.
    pub params: usize,
    /// Denoiser losses.
    pub losses: Vec<f64>,
    /// Denoiser training wall time.
    pub train_seconds: f64,
    /// Classifier held-out accuracy.
    pub clf_test_acc: f64,
    /// Classifier losses.
    pub clf_losses: Vec<f64>,
    /// Reference rows: real held-out digits and clipped Gaussian noise.
    pub reference_rows: Vec<(String, f64, f64)>,
    /// Per-solver rows.
    pub rows: Vec<SolverRow>,
}

fn host(t: Tensor<IB, 2>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("float data")
}

/// Trains the digits classifier on `train` indices; returns it and the held-out accuracy.
fn train_classifier(
    digits: &Digits,
    train: &[usize],
    test: &[usize],
    steps: usize,
    seed: u64,
) -> Result<(MlpClassifier<IB>, f64, Vec<f64>), String> {
    let device = Default::default();
    let e = |e: preferent::models::Error| e.to_string();
    let model = MlpClassifierConfig::new(DIGITS_PIXELS)
        .init::<AB>(&device)
        .map_err(e)?;
    let sched = WarmupCosineConfig::new(2e-3, steps).init().map_err(e)?;
    let mut tr = Trainer::new(model, adamw(1e-4, None).init(), sched, seed);
    let ce = CrossEntropyLossConfig::new().init(&device);
    let mut losses = Vec::new();
    for _ in 0..steps {
        let mut rng = StdRng::seed_from_u64(tr.step_seed());
        let idx: Vec<usize> = (0..128)
            .map(|_| train[rng.random_range(0..train.len())])
            .collect();
        // Light augmentation: small pixel noise, so features are not brittle on samples.
        let x = digits.tensor_scaled::<AB>(&idx, &device)
            + Tensor::random(
                [idx.len(), DIGITS_PIXELS],
                Distribution::Normal(0.0, 0.05),
                &device,
            );
        let loss = ce.forward(
            tr.model.forward(x),
            digits.labels_tensor::<AB>(&idx, &device),
        );
        losses.push(loss.clone().into_scalar() as f64);
        tr.apply(loss);
    }
    let clf = tr.model.valid();
    let pred = clf
        .forward(digits.tensor_scaled::<IB>(test, &device))
        .argmax(1)
        .reshape([test.len()]);
    let hits: i64 = pred
        .equal(digits.labels_tensor::<IB>(test, &device))
        .int()
        .sum()
        .into_scalar()
        .elem();
    Ok((clf, hits as f64 / test.len() as f64, losses))
}

/// Mean and covariance of the rows of an `[n, d]` host matrix.
fn moments(x: &[f32], d: usize) -> (Vec<f64>, Vec<f64>) {
    let n = x.len() / d;
    let mut mu = vec![0.0; d];
    for row in x.chunks(d) {
        for (m, &v) in mu.iter_mut().zip(row) {
            *m += v as f64 / n as f64;
        }
    }
    let mut cov = vec![0.0; d * d];
    for row in x.chunks(d) {
        for i in 0..d {
            let a = row[i] as f64 - mu[i];
            for j in 0..d {
                cov[i * d + j] += a * (row[j] as f64 - mu[j]) / (n - 1).max(1) as f64;
            }
        }
    }
    (mu, cov)
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations.
fn sym_eig(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j] * a[i * d + j])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

/// Fréchet distance between Gaussians fitted to two feature sets (the FID formula).
///
/// ```text
/// FD = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁^{½} Σ₂ Σ₁^{½})^{½})
/// ```
/// Heusel et al. 2017, arXiv 1706.08500; here on the demo classifier's penultimate features.
pub fn frechet_distance(a: &[f32], b: &[f32], d: usize) -> f64 {
    let (m1, s1) = moments(a, d);
    let (m2, s2) = moments(b, d);
    let (w, v) = sym_eig(&s1, d);
    // S = Σ₁^{½} = V diag(√w) Vᵀ
    let mut s = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            s[i * d + j] = (0..d)
                .map(|k| v[i * d + k] * w[k].max(0.0).sqrt() * v[j * d + k])
                .sum();
        }
    }
    let mul = |x: &[f64], y: &[f64]| {
        let mut z = vec![0.0; d * d];
        for i in 0..d {
            for k in 0..d {
                let xik = x[i * d + k];
                for j in 0..d {
                    z[i * d + j] += xik * y[k * d + j];
                }
            }
        }
        z
    };
    let mut m = mul(&mul(&s, &s2), &s);
    for i in 0..d {
        for j in 0..i {
            let avg = 0.5 * (m[i * d + j] + m[j * d + i]);
            m[i * d + j] = avg;
            m[j * d + i] = avg;
        }
    }
    let (wm, _) = sym_eig(&m, d);
    let tr_sqrt: f64 = wm.iter().map(|&x| x.max(0.0).sqrt()).sum();
    let diff: f64 = m1.iter().zip(&m2).map(|(a, b)| (a - b) * (a - b)).sum();
    let tr: f64 = (0..d).map(|i| s1[i * d + i] + s2[i * d + i]).sum();
    diff + tr - 2.0 * tr_sqrt
}

/// Classifier metrics on `[n, 64]` images in [-1, 1]: (mean confidence, FD vs real, class counts).
fn score_images(
    clf: &MlpClassifier<IB>,
    images: Tensor<IB, 2>,
    real_feats: &[f32],
) -> (f64, f64, [usize; 10]) {
    let n = images.dims()[0];
    let feats = clf.features(images.clone());
    let fdim = feats.dims()[1];
    let probs = softmax(clf.forward(images), 1);
    let conf: Vec<f32> = host(probs.clone().max_dim(1));
    let pred: Vec<i64> = probs
        .argmax(1)
        .reshape([n])
        .into_data()
        .convert::<i64>()
        .to_vec()
        .expect("int data");
    let mut counts = [0usize; 10];
    for p in pred {
        counts[p as usize] += 1;
    }
    let mean_conf = conf.iter().map(|&c| c as f64).sum::<f64>() / n as f64;
    (
        mean_conf,
        frechet_distance(&host(feats), real_feats, fdim),
        counts,
    )
}

/// Runs the diffusion side; writes CSVs and PNG grids into `out`.
pub fn run(s: &DiffSettings, seed: u64, out: &std::path::Path) -> Result<DiffResult, String> {
    let device = Default::default();
    let e = |e: preferent::models::Error| e.to_string();
    // Parameter init and `Tensor::random` draw from the backend RNG: seed it for repeatability.
    <IB as burn::tensor::backend::Backend>::seed(&device, seed);
    let digits = load_digits().map_err(e)?;
    let mut order: Vec<usize> = (0..digits.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed ^ 0xD161));
    let (train, test) = order.split_at(1500);

    // ---- Classifier (metric network), trained on 1500 digits, tested on 297.
    let (clf, clf_test_acc, clf_losses) =
        train_classifier(&digits, train, test, s.clf_steps, seed)?;
    eprintln!("  [diff] classifier held-out accuracy {clf_test_acc:.3}");
    let all: Vec<usize> = (0..digits.len()).collect();
    let real_feats = host(clf.features(digits.tensor_scaled::<IB>(&all, &device)));
    let train_feats = host(clf.features(digits.tensor_scaled::<IB>(train, &device)));
    let (test_conf, _, _) =
        score_images(&clf, digits.tensor_scaled::<IB>(test, &device), &real_feats);
    let test_feats = host(clf.features(digits.tensor_scaled::<IB>(test, &device)));
    let fdim = real_feats.len() / digits.len();
    let fd_real = frechet_distance(&test_feats, &train_feats, fdim);
    let noise = Tensor::<IB, 2>::random(
        [s.n_samples, DIGITS_PIXELS],
        Distribution::Normal(0.0, 1.0),
        &device,
    )
    .clamp(-1.0, 1.0);
    let (noise_conf, noise_fd, _) = score_images(&clf, noise, &real_feats);
    let reference_rows = vec![
        (
            "real held-out digits (297) vs training digits".to_string(),
            test_conf,
            fd_real,
        ),
        ("Gaussian noise, clipped".to_string(), noise_conf, noise_fd),
    ];

    // ---- Denoiser on all 1797 digits, DDPM linear schedule T = 1000.
    let t0 = Instant::now();
    let sched = DdpmSchedule::ddpm_default()?;
    let model = MlpDenoiserConfig::new(DIGITS_PIXELS)
        .with_hidden(s.hidden)
        .with_n_blocks(s.blocks)
        .init::<AB>(&device)
        .map_err(e)?;
    let params = burn::module::Module::num_params(&model);
    let lr_sched = WarmupCosineConfig::new(s.lr, s.train_steps)
        .with_warmup_steps(s.train_steps / 20)
        .init()
        .map_err(e)?;
    let mut tr = Trainer::new(model, adamw(0.0, Some(1.0)).init(), lr_sched, seed ^ 0xDD);
    let mut csv =
        CsvLogger::create(&out.join("denoiser.csv"), &["step", "lr", "loss"]).map_err(e)?;
    let mut losses = Vec::with_capacity(s.train_steps);
    let mut bar = Progress::new("  [diff] denoiser", s.train_steps as u64);
    for step in 0..s.train_steps {
        let mut rng = StdRng::seed_from_u64(tr.step_seed());
        let idx: Vec<usize> = (0..s.batch)
            .map(|_| rng.random_range(0..digits.len()))
            .collect();
        let ts: Vec<usize> = (0..s.batch)
            .map(|_| rng.random_range(0..sched.len()))
            .collect();
        let sa: Vec<f32> = ts
            .iter()
            .map(|&t| sched.alphas_cumprod[t].sqrt() as f32)
            .collect();
        let sb: Vec<f32> = ts
            .iter()
            .map(|&t| (1.0 - sched.alphas_cumprod[t]).sqrt() as f32)
            .collect();
        let x0 = digits.tensor_scaled::<AB>(&idx, &device);
        let eps = Tensor::<AB, 2>::random(
            [s.batch, DIGITS_PIXELS],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let col =
            |v: Vec<f32>| Tensor::<AB, 2>::from_data(TensorData::new(v, [s.batch, 1]), &device);
        let xt = x0 * col(sa) + eps.clone() * col(sb);
        let tt = Tensor::<AB, 1>::from_data(
            TensorData::new(ts.iter().map(|&t| t as f32).collect::<Vec<_>>(), [s.batch]),
            &device,
        );
        let loss = (tr.model.forward(xt, tt) - eps).powi_scalar(2).mean();
        let lv: f32 = loss.clone().into_scalar();
        let lr = tr.apply(loss);
        losses.push(lv as f64);
        csv.log(&[step as f64, lr, lv as f64]).map_err(e)?;
        bar.set(step as u64 + 1, format!("loss {lv:.4}"));
    }
    bar.finish("done");
    csv.flush().map_err(e)?;
    let train_seconds = t0.elapsed().as_secs_f64();
    let denoiser = tr.model.valid();

    // ---- Samples: same starting noise for every solver setting.
    let real_grid: Vec<Vec<f32>> = order[..100]
        .iter()
        .map(|&i| digits.image_scaled(i).collect())
        .collect();
    crate::plot::image_grid(&out.join("digits_real.png"), &real_grid, 8, 10, 4)?;
    IB::seed(&device, seed ^ 0x5EED);
    let x_t = Tensor::<IB, 2>::random(
        [s.n_samples, DIGITS_PIXELS],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let mut rows = Vec::new();
    for solver in [Solver::Ddim, Solver::DpmSolverPp2M] {
        for nfe in [10usize, 20] {
            let t0 = Instant::now();
            let x = adapters::sample(solver, nfe, x_t.clone(), |x, t| denoiser.forward(x, t))?
                .clamp(-1.0, 1.0);
            let seconds = t0.elapsed().as_secs_f64();
            let (confidence, fd, class_counts) = score_images(&clf, x.clone(), &real_feats);
            let flat = host(x);
            let imgs: Vec<Vec<f32>> = flat
                .chunks(DIGITS_PIXELS)
                .take(100)
                .map(|c| c.to_vec())
                .collect();
            let grid = format!(
                "samples_{}_{}nfe.png",
                if solver == Solver::Ddim {
                    "ddim"
                } else {
                    "dpmpp2m"
                },
                nfe
            );
            crate::plot::image_grid(&out.join(&grid), &imgs, 8, 10, 4)?;
            eprintln!(
                "  [diff] {:<17} NFE {nfe:>2}: confidence {confidence:.3}, FD {fd:.2}",
                solver.name()
            );
            rows.push(SolverRow {
                name: format!("{} ({})", solver.name(), solver.settings()),
                nfe,
                confidence,
                fd,
                class_counts,
                seconds,
                grid,
            });
        }
    }
    Ok(DiffResult {
        setup: format!(
            "ε-prediction MLP (hidden {}, {} residual blocks), DDPM linear β 1e-4..0.02, T = 1000; {} steps x batch {}; {} samples per setting from one shared x_T",
            s.hidden, s.blocks, s.train_steps, s.batch, s.n_samples
        ),
        params,
        losses,
        train_seconds,
        clf_test_acc,
        clf_losses,
        reference_rows,
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frechet_distance_of_shifted_gaussian_samples() {
        // Identical sets -> 0; shifting every point by c adds ‖c‖².
        let mut rng = StdRng::seed_from_u64(3);
        let a: Vec<f32> = (0..300 * 3).map(|_| rng.random::<f32>()).collect();
        assert!(frechet_distance(&a, &a, 3).abs() < 1e-6);
        let b: Vec<f32> = a
            .iter()
            .enumerate()
            .map(|(i, &v)| v + [1.0, 2.0, 0.0][i % 3])
            .collect();
        assert!((frechet_distance(&a, &b, 3) - 5.0).abs() < 1e-6);
    }

    const FD_GOLD: f64 = 1.510113075347081;

    #[test]
    fn frechet_distance_matches_scipy() {
        // python3 (scipy.linalg.sqrtm):
        // A = rows [[0,0],[1,0],[0,2],[1,1],[2,1]]; B = rows [[1,1],[2,0],[0,0],[3,3]]
        // mu/cov with ddof=1; fd = |m1-m2|^2 + tr(S1+S2-2 sqrtm(S1 @ S2))
        let a = [0.0f32, 0.0, 1.0, 0.0, 0.0, 2.0, 1.0, 1.0, 2.0, 1.0];
        let b = [1.0f32, 1.0, 2.0, 0.0, 0.0, 0.0, 3.0, 3.0];
        assert!(
            (frechet_distance(&a, &b, 2) - FD_GOLD).abs() < 1e-9,
            "{}",
            frechet_distance(&a, &b, 2)
        );
    }

    #[test]
    fn jacobi_diagonalises() {
        let m = [4.0, 1.0, 0.5, 1.0, 3.0, 0.2, 0.5, 0.2, 1.0];
        let (w, v) = sym_eig(&m, 3);
        for k in 0..3 {
            for i in 0..3 {
                let mv: f64 = (0..3).map(|j| m[i * 3 + j] * v[j * 3 + k]).sum();
                assert!((mv - w[k] * v[i * 3 + k]).abs() < 1e-10);
            }
        }
    }
}
