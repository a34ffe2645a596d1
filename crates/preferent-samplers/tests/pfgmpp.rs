//! PFGM++: kernel moments, the D → ∞ Gaussian limit, the exact finite-D marginal, goldens from
//! the official formulas (`tests/reference/pfgmpp_reference.py`, numpy float64), the sampler, and
//! typed errors. Inputs are built on the host; every check runs on the test lane's backend.
//!
//! Statistical tests use fixed seeds (so they are deterministic) and tolerances stated in
//! standard errors: a correct implementation fails a 4-SE check with probability ≈ 6e-5 per
//! check for a fresh seed, and the KS checks use the asymptotic α = 0.001 critical value
//! 1.949/√M.

use burn::tensor::Tensor;
use preferent_samplers::pfgmpp::{
    expected_sq_radius, pfgmpp_heun, radius_from_gammas, PfgmppConfig,
};
use preferent_samplers::solvers::{EdmConfig, HeunEdm, Prior, Sampler, SolverSpec};
use preferent_samplers::SamplerError;
use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend as B};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let m = v.len() as f64;
    let mean = v.iter().sum::<f64>() / m;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1.0);
    (mean, (var / m).sqrt())
}

/// Φ(x) via erf (Abramowitz–Stegun 7.1.26, |error| ≤ 1.5e-7, far below the KS tolerances).
fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.3275911 * z);
    let poly = t
        * (0.254829592
            + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Student-t CDF with ν = 2 (closed form).
fn t2_cdf(x: f64) -> f64 {
    0.5 + x / (2.0 * (2.0 + x * x).sqrt())
}

/// Kolmogorov–Smirnov statistic of `v` against `cdf`.
fn ks(mut v: Vec<f64>, cdf: impl Fn(f64) -> f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let m = v.len() as f64;
    v.iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / m).abs().max(((i + 1) as f64 / m - f).abs())
        })
        .fold(0.0, f64::max)
}

/// Coordinate 0 of every row of `x − x0` (rows are independent; coordinates within a row share
/// the radius), read back from the device.
fn displacement(d: usize, sigma: f64, m: usize, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
    let pfgm = PfgmppConfig::new()
        .with_aug_dim(d)
        .with_train_clip(None)
        .init()
        .unwrap();
    let x0 = Tensor::<B, 2>::zeros([m, n], &device());
    let (x, radii) = pfgm.perturb_seeded(x0, &vec![sigma; m], seed).unwrap();
    let v = to_vec(x);
    (v.chunks(n).map(|r| r[0]).collect(), radii)
}

// ---------------------------------------------------------------------------------------------
// Moments of the kernel.

#[test]
fn kernel_second_moment_host_radii() {
    // M = 200 000 radii, N = 8, D = 16, σ = 1.3 (E R⁴ is finite for D > 4, so the sample SE is a
    // consistent estimate). E R² = σ²·N·D/(D − 2); tolerance 4 standard errors.
    let (n, d, sigma, m) = (8usize, 16usize, 1.3, 200_000usize);
    let pfgm = PfgmppConfig::new()
        .with_aug_dim(d)
        .with_train_clip(None)
        .init()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(2302_04265);
    let r = pfgm.draw_radii(&vec![sigma; m], n, &mut rng).unwrap();
    let r2: Vec<f64> = r.iter().map(|x| x * x).collect();
    let (mean, se) = mean_and_se(&r2);
    let want = expected_sq_radius(sigma, n, d);
    eprintln!(
        "host E R²: {mean} ± {se} (want {want}, z = {:.2})",
        (mean - want) / se
    );
    assert!((want - sigma * sigma * 8.0 * 16.0 / 14.0).abs() < 1e-12);
    assert!(
        (mean - want).abs() < 4.0 * se,
        "E R² = {mean} ± {se}, want {want}"
    );
    // The SE itself agrees with the analytic Var R² = r⁴·α(α+β−1)/((β−2)(β−1)²) to 5 %.
    let (a, b) = (n as f64 / 2.0, d as f64 / 2.0);
    let var =
        (sigma * sigma * d as f64).powi(2) * a * (a + b - 1.0) / ((b - 2.0) * (b - 1.0).powi(2));
    let se_want = (var / m as f64).sqrt();
    eprintln!("host SE {se} vs analytic {se_want}");
    assert!((se / se_want - 1.0).abs() < 0.05, "SE {se} vs {se_want}");
}

#[test]
fn kernel_displacement_on_device_has_the_drawn_radius_the_moment_and_a_uniform_direction() {
    // M = 20 000 rows of N = 8 perturbed on the device: ‖x − x0‖ = R_b (f32), E‖x − x0‖² within
    // 4 SE of σ²·N·D/(D − 2), and E u_i² = 1/N per coordinate within 4 SE
    // (u_i² ~ Beta(½, (N−1)/2), Var = 2(N−1)/(N²(N+2))).
    let (n, d, sigma, m) = (8usize, 16usize, 0.8, 20_000usize);
    let pfgm = PfgmppConfig::new()
        .with_aug_dim(d)
        .with_train_clip(None)
        .init()
        .unwrap();
    let base: Vec<f64> = (0..m * n)
        .map(|i| ((i * 37 % 101) as f64 - 50.0) / 25.0)
        .collect();
    let x0 = tensor::<B, 2>(&base, [m, n], &device());
    let (x, radii) = pfgm.perturb_seeded(x0, &vec![sigma; m], 17).unwrap();
    let x = to_vec(x);
    let mut sq = Vec::with_capacity(m);
    let mut u2 = vec![Vec::with_capacity(m); n];
    for b in 0..m {
        let row: Vec<f64> = (0..n).map(|i| x[b * n + i] - base[b * n + i]).collect();
        let norm2: f64 = row.iter().map(|v| v * v).sum();
        let norm = norm2.sqrt();
        assert!(
            (norm - radii[b]).abs() <= 1e-4 * radii[b] + 1e-5,
            "row {b}: ‖x − x0‖ = {norm}, R = {}",
            radii[b]
        );
        sq.push(norm2);
        for i in 0..n {
            u2[i].push(row[i] * row[i] / norm2);
        }
    }
    let (mean, se) = mean_and_se(&sq);
    let want = expected_sq_radius(sigma, n, d);
    eprintln!(
        "device E‖x−x0‖²: {mean} ± {se} (want {want}, z = {:.2})",
        (mean - want) / se
    );
    assert!((mean - want).abs() < 4.0 * se, "{mean} ± {se} vs {want}");
    let nf = n as f64;
    let se_u = (2.0 * (nf - 1.0) / (nf * nf * (nf + 2.0)) / m as f64).sqrt();
    for (i, c) in u2.iter().enumerate() {
        let mu = c.iter().sum::<f64>() / m as f64;
        eprintln!("E u_{i}² = {mu} (z = {:.2})", (mu - 1.0 / nf) / se_u);
        assert!((mu - 1.0 / nf).abs() < 4.0 * se_u, "E u_{i}² = {mu}");
    }
}

#[test]
fn clip_only_moves_the_tails() {
    // Same Gamma draws, clip ε = 1e-3 vs none, N = 8, D = 16: the clip is active only when
    // B ∉ [1e-3, 1 − 1e-3]; elsewhere the radii agree to the 1e-8 guards (relative 1e-5).
    let pfgm = PfgmppConfig::new().with_aug_dim(16).init().unwrap();
    let free = PfgmppConfig::new()
        .with_aug_dim(16)
        .with_train_clip(None)
        .init()
        .unwrap();
    let sig = vec![1.0; 5000];
    let a = pfgm
        .draw_radii(&sig, 8, &mut StdRng::seed_from_u64(5))
        .unwrap();
    let b = free
        .draw_radii(&sig, 8, &mut StdRng::seed_from_u64(5))
        .unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() <= 1e-5 * y + 1e-6, "{x} vs {y}");
    }
}

// ---------------------------------------------------------------------------------------------
// D → ∞ and the exact finite-D marginal.

#[test]
fn large_d_reproduces_the_edm_gaussian_kernel() {
    // D = 10⁶, N = 4, σ = 1.7, M = 20 000 independent rows (coordinate 0 of each): the kernel is
    // x − x0 ≈ σ·n. KS against N(0, σ²) below 1.949/√M = 0.0138 (α = 0.001), and the variance
    // within 4 SE of σ²·D/(D−2) (normal SE σ²·√(2/(M−1))).
    let (d, sigma, m) = (1_000_000usize, 1.7, 20_000usize);
    let (c0, _) = displacement(d, sigma, m, 4, 99);
    let crit = 1.949 / (m as f64).sqrt();
    let stat = ks(c0.iter().map(|x| x / sigma).collect(), normal_cdf);
    eprintln!("D = 1e6: KS vs N(0, σ²) = {stat} (critical {crit})");
    assert!(stat < crit, "KS {stat} ≥ {crit}");
    let var = c0.iter().map(|x| x * x).sum::<f64>() / m as f64;
    let want = sigma * sigma * d as f64 / (d as f64 - 2.0);
    let se = want * (2.0 / (m as f64 - 1.0)).sqrt();
    eprintln!(
        "D = 1e6: var {var} vs {want} ± {se} (z = {:.2})",
        (var - want) / se
    );
    assert!((var - want).abs() < 4.0 * se, "var {var} vs {want} ± {se}");
}

#[test]
fn small_d_marginal_is_student_t_and_the_ks_check_has_power() {
    // A coordinate of p ∝ (‖x‖² + r²)^{−(N+D)/2} with r = σ√D is σ·t_D. At D = 2, N = 4,
    // σ = 1, M = 20 000: KS against t₂ passes (< 0.0138) and against N(0, 1) fails (> 0.0138),
    // so the Gaussian check above can tell the kernels apart.
    let m = 20_000usize;
    let (c0, _) = displacement(2, 1.0, m, 4, 3);
    let crit = 1.949 / (m as f64).sqrt();
    let t = ks(c0.clone(), t2_cdf);
    assert!(t < crit, "KS vs t₂ {t} ≥ {crit}");
    let g = ks(c0, normal_cdf);
    eprintln!("D = 2: KS vs t₂ = {t}, vs N(0,1) = {g} (critical {crit})");
    assert!(g > crit, "KS vs N(0,1) {g} ≤ {crit}: no power");
}

// ---------------------------------------------------------------------------------------------
// The prior.

#[test]
fn prior_device_and_host_draws_have_the_kernel_moment() {
    // Prior::Pfgmpp { σ_max = 2, D = 16 }, rows of N = 8, M = 20 000 rows per path:
    // E‖x_T‖² = σ_max²·N·D/(D − 2) within 4 SE, for burn's random stream (g/‖h‖ construction)
    // and for the seeded host path (ratio of Gammas); init_noise_sigma is the per-coordinate RMS.
    let (n, d, sm, m) = (8usize, 16usize, 2.0, 20_000usize);
    let prior = Prior::Pfgmpp {
        sigma_max: sm,
        aug_dim: d,
    };
    assert!((prior.std() - sm * (16.0f64 / 14.0).sqrt()).abs() < 1e-12);
    let want = expected_sq_radius(sm, n, d);
    // burn's stream, seeded so the check is deterministic (this is the only test in this binary
    // that draws on the device).
    <B as burn::tensor::backend::Backend>::seed(&device(), 4265);
    let device_draw = to_vec(prior.sample::<B, 2>([m, n], &device()));
    let host_draw = to_vec(prior.sample_seeded::<B, 2>([m, n], 11, &device()).unwrap());
    for (name, v) in [("device", device_draw), ("host", host_draw)] {
        let sq: Vec<f64> = v.chunks(n).map(|r| r.iter().map(|x| x * x).sum()).collect();
        let (mean, se) = mean_and_se(&sq);
        eprintln!(
            "prior {name}: E‖x_T‖² = {mean} ± {se} (want {want}, z = {:.2})",
            (mean - want) / se
        );
        assert!(
            (mean - want).abs() < 4.0 * se,
            "{name}: {mean} ± {se} vs {want}"
        );
    }
    // The host path is reproducible; the Gaussian prior keeps its meaning.
    let a = to_vec(prior.sample_seeded::<B, 2>([3, 4], 5, &device()).unwrap());
    let b = to_vec(prior.sample_seeded::<B, 2>([3, 4], 5, &device()).unwrap());
    assert_eq!(a, b);
    let g = Prior::Gaussian { std: 3.0 };
    assert_eq!(g.std(), 3.0);
    let n1 = to_vec(g.from_standard_normal(tensor::<B, 1>(&[1.0, -2.0], [2], &device())));
    assert_close(&n1, &[3.0, -6.0], 1e-6, 1e-6);
    assert!(matches!(
        Prior::Pfgmpp {
            sigma_max: 1.0,
            aug_dim: 0
        }
        .sample_seeded::<B, 2>([2, 2], 0, &device()),
        Err(SamplerError::InvalidConfig(_))
    ));
}

// ---------------------------------------------------------------------------------------------
// Goldens from the official formulas (tests/reference/pfgmpp_reference.py).

/// σ, c_skip, c_out, c_in, c_noise, weight (`training/networks.py:700-703`, `loss.py:142`).
// c_in(0.5) = √2 is a golden printed by numpy, not an approximated constant.
#[allow(clippy::approx_constant)]
const PRECOND: [[f64; 6]; 6] = [
    [
        0.002,
        0.9999840002559959,
        0.0019999840001919972,
        1.9999840001919975,
        -1.5536520246055479,
        250004.00000000003,
    ],
    [
        0.2,
        0.8620689655172413,
        0.18569533817705183,
        1.8569533817705184,
        -0.40235947810852507,
        28.999999999999996,
    ],
    [
        0.5,
        0.5,
        0.35355339059327373,
        1.414213562373095,
        -0.17328679513998632,
        8.0,
    ],
    [1.0, 0.2, 0.4472135954999579, 0.8944271909999159, 0.0, 5.0],
    [
        7.5,
        0.004424778761061947,
        0.49889257892830446,
        0.13303802104754786,
        0.5037257551355662,
        4.017777777777778,
    ],
    [
        80.0,
        3.906097418069607e-05,
        0.49999023466109294,
        0.012499755866527323,
        1.0955066586684703,
        4.00015625,
    ],
];

/// σ, D, G_N, G_D, R with clip 1e-3 (`loss.py:121-131`), R unclipped (`generate.py:213-225`).
const RADII: [[f64; 6]; 5] = [
    [
        1.0,
        128.0,
        1536.3,
        64.2,
        55.34462281968625,
        55.34462970680329,
    ],
    [
        0.7,
        2048.0,
        40.0,
        1010.0,
        6.304234763923379,
        6.304234000783415,
    ],
    [2.5, 8.0, 4.0, 0.01, 141.42107269011206, 141.42135623731076],
    [
        80.0,
        2.0,
        1536.0,
        0.5,
        3575.9015827350026,
        6270.693741524787,
    ],
    [
        0.3,
        16.0,
        1e-06,
        8.0,
        0.03796650928137321,
        0.00042426406871192855,
    ],
];

/// The official `t_steps` for `num_steps = 18` (`generate.py:42-45`).
const T_STEPS_18: [f64; 19] = [
    80.0,
    57.58598472124816,
    40.78557379650796,
    28.374584604156844,
    19.352452980325225,
    12.91008238075732,
    8.400935309099816,
    5.315194521796382,
    3.256821519765537,
    1.9233398370400518,
    1.088170636545279,
    0.5853481231945422,
    0.29644228447915727,
    0.13951646873101678,
    0.05994731123547159,
    0.022934518372333384,
    0.007528019962784078,
    0.002000000000000003,
    0.0,
];

/// The official `edm_sampler` (pfgmpp, S_churn = 0), 5 steps, toy network
/// `F = tanh(c_in x) + 0.1 c_noise`, from `x_T = [[30, −45, 12], [−5, 60, 100]]`.
const EDM_SAMPLER_5: [f64; 6] = [
    1.2448633129129223,
    -1.8058174281623958,
    0.5672784570695176,
    -0.36635079354158584,
    2.0044750254338255,
    2.7559890117427988,
];

#[test]
fn preconditioning_and_loss_weight_match_the_official_formulas() {
    let pfgm = PfgmppConfig::new().init().unwrap();
    for row in PRECOND {
        let c = pfgm.precond(row[0]);
        let got = [
            c.c_skip,
            c.c_out,
            c.c_in,
            c.c_noise,
            pfgm.loss_weight(row[0]),
        ];
        assert_close(&got, &row[1..], 1e-13, 1e-15);
    }
    // On tensors: D = c_skip x + c_out F(c_in x, c_noise) and λ(σ)(D − y)², one σ per row.
    let d = device();
    let x = tensor::<B, 2>(&[1.0, -2.0, 0.5, 3.0], [2, 2], &d);
    let sig = [0.5, 80.0];
    let den = pfgm
        .denoise(x, &sig, |xin, cn| {
            xin.tanh() + cn.reshape([2, 1]).mul_scalar(0.1)
        })
        .unwrap();
    let got = to_vec(den.clone());
    let (p0, p1) = (PRECOND[2], PRECOND[5]);
    let f = |p: [f64; 6], v: f64| p[1] * v + p[2] * ((p[3] * v).tanh() + 0.1 * p[4]);
    let want = [f(p0, 1.0), f(p0, -2.0), f(p1, 0.5), f(p1, 3.0)];
    assert_close(&got, &want, 1e-5, 1e-6);
    let y = tensor::<B, 2>(&[0.0; 4], [2, 2], &d);
    let loss = to_vec(pfgm.loss(den, y, &sig).unwrap());
    let wl = [
        p0[5] * want[0].powi(2),
        p0[5] * want[1].powi(2),
        p1[5] * want[2].powi(2),
        p1[5] * want[3].powi(2),
    ];
    assert_close(&loss, &wl, 1e-5, 1e-6);
}

#[test]
fn kernel_radius_matches_the_official_training_and_sampling_formulas() {
    for row in RADII {
        let (s, d, gn, gd) = (row[0], row[1], row[2], row[3]);
        let r = s * d.sqrt();
        assert_close(
            &[radius_from_gammas(r, gn, gd, Some(1e-3))],
            &[row[4]],
            1e-13,
            0.0,
        );
        assert_close(
            &[radius_from_gammas(r, gn, gd, None)],
            &[row[5]],
            1e-10,
            0.0,
        );
        let pfgm = PfgmppConfig::new().with_aug_dim(d as usize).init().unwrap();
        assert_close(&[pfgm.training_radius(s, gn, gd)], &[row[4]], 1e-13, 0.0);
        assert_close(&[pfgm.r_of_sigma(s)], &[r], 1e-15, 0.0);
    }
    // The same radii through the tensor kernel: x = x0 + R·g/‖g‖ with g = (1, 2, 2), ‖g‖ = 3.
    let d = device();
    for row in RADII {
        let pfgm = PfgmppConfig::new()
            .with_aug_dim(row[1] as usize)
            .init()
            .unwrap();
        let x0 = tensor::<B, 2>(&[0.5, -1.0, 2.0], [1, 3], &d);
        let g = tensor::<B, 2>(&[1.0, 2.0, 2.0], [1, 3], &d);
        let x = pfgm
            .perturb_from_draws(x0, &[row[0]], &[(row[2], row[3])], g)
            .unwrap();
        let r = row[4];
        let want = [0.5 + r / 3.0, -1.0 + 2.0 * r / 3.0, 2.0 + 2.0 * r / 3.0];
        assert_close(&to_vec(x), &want, 1e-5, 1e-5);
    }
    let rms = [80.63242090863514, 80.03909113353247, 1.7320508075688772];
    let got = [
        PfgmppConfig::new().init().unwrap().prior().std(),
        Prior::Pfgmpp {
            sigma_max: 80.0,
            aug_dim: 2048,
        }
        .std(),
        Prior::Pfgmpp {
            sigma_max: 1.0,
            aug_dim: 3,
        }
        .std(),
    ];
    assert_close(&got, &rms, 1e-14, 0.0);
}

#[test]
fn sampler_is_edm_heun_on_the_official_schedule_from_the_pfgmpp_prior() {
    let s = pfgmpp_heun(PfgmppConfig::new(), 18).unwrap();
    assert_close(s.sigmas(), &T_STEPS_18, 1e-12, 1e-15);
    assert_eq!(s.timesteps().len(), 35, "NFE 35 at 18 steps");
    assert_eq!(
        s.prior(),
        Prior::Pfgmpp {
            sigma_max: 80.0,
            aug_dim: 128
        }
    );
    // Same grid and step rule as EDM's Heun: only the prior differs.
    let edm = HeunEdm::new(EdmConfig::new(), 18).unwrap();
    assert_eq!(s.time_grid(), edm.time_grid());

    // The whole run against the official loop (float64 there, f32 here).
    let pfgm = PfgmppConfig::new().init().unwrap();
    let mut sampler = Sampler::<B, 2, _>::new(pfgm.heun(5).unwrap());
    let x_t = tensor::<B, 2>(&[30.0, -45.0, 12.0, -5.0, 60.0, 100.0], [2, 3], &device());
    let model = |x: &Tensor<B, 2>, sigma: f64| {
        pfgm.denoise(x.clone(), &[sigma, sigma], |xin, cn| {
            xin.tanh() + cn.reshape([2, 1]).mul_scalar(0.1)
        })
        .unwrap()
    };
    let out = to_vec(sampler.sample(model, x_t, |_| {}).unwrap());
    assert_close(&out, &EDM_SAMPLER_5, 1e-4, 1e-4);
}

// ---------------------------------------------------------------------------------------------
// Typed errors.

#[test]
fn bad_configs_and_inputs_are_typed_errors() {
    let cfgs = [
        PfgmppConfig::new().with_aug_dim(0),
        PfgmppConfig::new().with_aug_dim(1),
        PfgmppConfig::new().with_sigma_min(0.0),
        PfgmppConfig::new().with_sigma_min(80.0),
        PfgmppConfig::new().with_sigma_max(f64::INFINITY),
        PfgmppConfig::new().with_rho(0.0),
        PfgmppConfig::new().with_sigma_data(-0.5),
        PfgmppConfig::new().with_p_std(0.0),
        PfgmppConfig::new().with_p_mean(f64::NAN),
        PfgmppConfig::new().with_train_clip(Some(0.0)),
        PfgmppConfig::new().with_train_clip(Some(0.5)),
        PfgmppConfig::new().with_train_clip(Some(f64::NAN)),
    ];
    for c in cfgs {
        let msg = format!("{c:?}");
        assert!(
            matches!(c.clone().init(), Err(SamplerError::InvalidConfig(_))),
            "{msg}"
        );
        assert!(
            matches!(pfgmpp_heun(c, 10), Err(SamplerError::InvalidConfig(_))),
            "{msg}"
        );
    }
    assert!(PfgmppConfig::new().with_aug_dim(2).init().is_ok());
    assert!(matches!(
        pfgmpp_heun(PfgmppConfig::new(), 0),
        Err(SamplerError::InvalidStepCount { .. })
    ));

    let pfgm = PfgmppConfig::new().init().unwrap();
    let d = device();
    let x = tensor::<B, 2>(&[0.0; 6], [2, 3], &d);
    let g = tensor::<B, 2>(&[1.0; 6], [2, 3], &d);
    assert!(matches!(
        pfgm.perturb(x.clone(), &[1.0], g.clone()),
        Err(SamplerError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        pfgm.perturb(
            x.clone(),
            &[1.0, 2.0],
            tensor::<B, 2>(&[1.0; 4], [2, 2], &d)
        ),
        Err(SamplerError::ShapeMismatch {
            what: "gaussian",
            ..
        })
    ));
    assert!(matches!(
        pfgm.perturb(x.clone(), &[1.0, -2.0], g.clone()),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        pfgm.perturb_seeded(x.clone(), &[1.0, 0.0], 0),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        pfgm.draw_radii(&[1.0], 0, &mut StdRng::seed_from_u64(0)),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        pfgm.denoise(x.clone(), &[1.0, 1.0], |_, _| tensor::<B, 2>(
            &[0.0; 2],
            [2, 1],
            &d
        )),
        Err(SamplerError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        pfgm.loss(x.clone(), g.clone(), &[1.0, f64::NAN]),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        pfgm.perturb_from_draws(x.clone(), &[1.0, 1.0], &[(1.0, 0.0), (1.0, 1.0)], g.clone()),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        pfgm.perturb_from_draws(x.clone(), &[1.0, 1.0], &[(1.0, 1.0)], g.clone()),
        Err(SamplerError::ShapeMismatch { .. })
    ));
    // Perturbing with radius 0 is the identity.
    let id = to_vec(
        pfgm.perturb(x, &[0.0, 0.0], tensor::<B, 2>(&[1.0; 6], [2, 3], &d))
            .unwrap(),
    );
    assert_eq!(id, vec![0.0; 6]);
}
