//! UniPC ([`UniPc`]) against diffusers' `UniPCMultistepScheduler` tests
//! (`tests/schedulers/test_scheduler_unipc.py` at huggingface/diffusers@58eb52c), their
//! structural tests, identities with DPM-Solver++, the documented departures from diffusers
//! (finite where diffusers is NaN), and the empirical order of UniPC vs UniP on the analytic
//! Gaussian mixture.
//!
//! The dummy inputs are SchedulerCommonTest's (as in `tests/diffusers_parity.rs`):
//! ```python
//! sample = torch.arange(768).reshape(3, 8, 8, 4) / 768; sample = sample.permute(3, 0, 1, 2)
//! noise  = torch.arange(768).flip(-1).reshape(3, 8, 8, 4) / 768; noise.permute(3, 0, 1, 2)
//! model(sample, t) = sample * t / (t + 1)
//! ```
//! and for the 1-D class (`UniPCMultistepScheduler1DTest`, test file lines 288–325)
//! `arange(96).reshape(3, 8, 4) / 96` permuted to `[4, 3, 8]`.
//!
//! The test config is `get_scheduler_config` (lines 19–31): 1000 linear betas 1e-4 → 0.02,
//! `solver_order=2`, `solver_type="bh2"`, `final_sigmas_type="sigma_min"`, everything else
//! default (so `lower_order_final=True`, `predict_x0=True`). Tolerances are diffusers'
//! (|Δmean| < 1e-3, |Δsum| < 1e-2). The tighter per-element multipliers `K` (the loop is
//! elementwise linear, so `x_final = K·x_init`) are the independent float64 re-derivation in
//! `shared/reference/wave2.md` §4.3.

use burn::tensor::{Tensor, TensorData};
use preferent_samplers::analytic::NfeStudy;
use preferent_samplers::prediction::PredictionType;
use preferent_samplers::schedule::{
    ContinuousSpacing, DiscreteScheduleConfig, GridPoint, SigmaSpacing, TimeKind, TimestepSpacing,
};
use preferent_samplers::solvers::{
    DpmSolverMultistep, DpmSolverMultistepConfig, DpmSolverType, FinalSigmas, Sampler, Solver,
    SolverSpec, UniPc, UniPcConfig, UniPcVariant,
};
use preferent_samplers::thresholding::ThresholdingConfig;
use preferent_samplers::SamplerError;
use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

type B = TestBackend;

// ---- dummy inputs (copied from tests/diffusers_parity.rs; 1-D variant added) ----------------

fn deter(flip: bool) -> Tensor<B, 4> {
    let mut v = vec![0.0; 768];
    for b in 0..4 {
        for c in 0..3 {
            for h in 0..8 {
                for w in 0..8 {
                    let idx = ((c * 8 + h) * 8 + w) * 4 + b;
                    let val = if flip { 767 - idx } else { idx };
                    v[((b * 3 + c) * 8 + h) * 8 + w] = val as f64 / 768.0;
                }
            }
        }
    }
    tensor::<B, 4>(&v, [4, 3, 8, 8], &device())
}

/// `UniPCMultistepScheduler1DTest.dummy_sample_deter` / `dummy_noise_deter`: element
/// `[b, c, w]` is `((c·8 + w)·4 + b)/96` (flipped: `(95 − that)/96`).
fn deter_1d(flip: bool) -> Tensor<B, 3> {
    let mut v = vec![0.0; 96];
    for b in 0..4 {
        for c in 0..3 {
            for w in 0..8 {
                let idx = (c * 8 + w) * 4 + b;
                let val = if flip { 95 - idx } else { idx };
                v[(b * 3 + c) * 8 + w] = val as f64 / 96.0;
            }
        }
    }
    tensor::<B, 3>(&v, [4, 3, 8], &device())
}

fn dummy_model<const D: usize>(x: &Tensor<B, D>, t: f64) -> Tensor<B, D> {
    x.clone().mul_scalar(t / (t + 1.0))
}

/// Runs the loop from the sampler's current step index; returns the final sample.
fn run<S: Solver<B, D>, const D: usize>(s: &mut Sampler<B, D, S>, mut x: Tensor<B, D>) -> Vec<f64> {
    while !s.is_done() {
        let t = s.next_time().unwrap();
        let out = dummy_model(&x, t);
        x = s.step(out, x, None).unwrap().prev_sample;
    }
    let v = to_vec(x);
    assert!(v.iter().all(|x| x.is_finite()), "NaN/inf in the result");
    v
}

fn sum_mean(v: &[f64]) -> (f64, f64) {
    let sum: f64 = v.iter().map(|x| x.abs()).sum();
    (sum, sum / v.len() as f64)
}

#[track_caller]
fn check(v: &[f64], sum: Option<f64>, mean: f64) {
    let got = sum_mean(v);
    eprintln!("result_sum = {:.4}, result_mean = {:.6}", got.0, got.1);
    if let Some(s) = sum {
        assert!(
            (got.0 - s).abs() < 1e-2,
            "result_sum {} vs diffusers {s}",
            got.0
        );
    }
    assert!(
        (got.1 - mean).abs() < 1e-3,
        "result_mean {} vs diffusers {mean}",
        got.1
    );
}

/// `x_final = K·x_init` elementwise (float64 re-derivation, wave2.md §4.3).
#[track_caller]
fn check_multiplier(v: &[f64], init: &[f64], k: f64) {
    let want: Vec<f64> = init.iter().map(|x| k * x).collect();
    assert_close(v, &want, 2e-5, 1e-6);
}

/// `get_scheduler_config` of test_scheduler_unipc.py (lines 19–31).
fn test_config() -> UniPcConfig {
    UniPcConfig::new()
        .with_solver_order(2)
        .with_solver_type(UniPcVariant::Bh2)
        .with_final_sigmas_type(FinalSigmas::SigmaMin)
}

/// `full_loop` (lines 91–110): 10 steps from `dummy_sample_deter`.
fn full_loop(c: UniPcConfig) -> Vec<f64> {
    let mut s = Sampler::<B, 4, _>::new(UniPc::new(c, 10).unwrap());
    run(&mut s, deter(false))
}

fn full_loop_1d(c: UniPcConfig) -> Vec<f64> {
    let mut s = Sampler::<B, 3, _>::new(UniPc::new(c, 10).unwrap());
    run(&mut s, deter_1d(false))
}

// ---- 4-D goldens (UniPCMultistepSchedulerTest) ------------------------------------------------

/// `test_full_loop_no_noise` (line 215; also `test_switch`, lines 149/159): mean 0.2464.
#[test]
fn full_loop_no_noise() {
    let v = full_loop(test_config());
    check(&v, None, 0.2464);
    check_multiplier(&v, &to_vec(deter(false)), 0.4934336);
}

/// `test_full_loop_with_karras` (line 221): mean 0.2925.
#[test]
fn full_loop_with_karras() {
    let v = full_loop(test_config().with_sigma_spacing(SigmaSpacing::Karras));
    check(&v, None, 0.2925);
    check_multiplier(&v, &to_vec(deter(false)), 0.5857280);
}

/// `test_full_loop_with_v_prediction` (line 227): mean 0.1014.
#[test]
fn full_loop_with_v_prediction() {
    let v = full_loop(test_config().with_prediction_type(PredictionType::VPrediction));
    check(&v, None, 0.1014);
    check_multiplier(&v, &to_vec(deter(false)), 0.2030572);
}

/// `test_full_loop_with_karras_and_v_prediction` (line 233): mean 0.1966 (float64: 0.196207).
#[test]
fn full_loop_with_karras_and_v_prediction() {
    let c = test_config()
        .with_prediction_type(PredictionType::VPrediction)
        .with_sigma_spacing(SigmaSpacing::Karras);
    let v = full_loop(c);
    check(&v, None, 0.1966);
    check_multiplier(&v, &to_vec(deter(false)), 0.3929264);
}

/// `test_full_loop_with_noise` (lines 260–285): t_start = 8, sum 315.5757, mean 0.4109.
#[test]
fn full_loop_with_noise() {
    let mut s = Sampler::<B, 4, _>::new(UniPc::new(test_config(), 10).unwrap());
    let t_start = 8;
    let x = s.add_noise(deter(false), deter(true), t_start).unwrap();
    s.set_begin_index(t_start).unwrap();
    let v = run(&mut s, x);
    check(&v, Some(315.5757), 0.4109);
    // x_final = K_s·sample + K_n·noise (float64: K_s 0.4774236, K_n 0.3454596)
    let want: Vec<f64> = to_vec(deter(false))
        .iter()
        .zip(to_vec(deter(true)))
        .map(|(a, n)| 0.4774236 * a + 0.3454596 * n)
        .collect();
    assert_close(&v, &want, 2e-5, 1e-6);
}

/// The schedules behind those goldens (wave2.md §4.3): timesteps of the default and Karras
/// grids; the default grid ends at the training σ_min 0.010001, the Karras grid repeats its last
/// σ (its σ_min, the training σ_min), so its last step has `h = 0`.
#[test]
fn test_config_schedules() {
    let s = UniPc::new(test_config(), 10).unwrap();
    assert_eq!(
        s.timesteps(),
        &[999.0, 899.0, 799.0, 699.0, 599.0, 500.0, 400.0, 300.0, 200.0, 100.0]
    );
    assert_eq!(s.time_grid().kind(), TimeKind::TrainingStep);
    let ve = |p: &GridPoint| p.sigma / p.alpha;
    assert_close(&[ve(&s.grid()[0])], &[157.407227], 1e-6, 0.0);
    assert_close(&[ve(&s.grid()[9])], &[0.342261], 1e-5, 0.0);
    assert_close(&[ve(&s.grid()[10])], &[0.010001], 1e-4, 0.0);
    let k = UniPc::new(test_config().with_sigma_spacing(SigmaSpacing::Karras), 10).unwrap();
    assert_eq!(
        k.timesteps(),
        &[999.0, 937.0, 864.0, 775.0, 663.0, 511.0, 301.0, 102.0, 18.0, 0.0]
    );
    let g = k.grid();
    assert_eq!(g[10], GridPoint { t: 0.0, ..g[9] });
}

// ---- 1-D goldens (UniPCMultistepScheduler1DTest) -----------------------------------------------

/// `test_full_loop_no_noise` (line 350; `test_switch` lines 334/344): mean 0.2441.
#[test]
fn full_loop_no_noise_1d() {
    let v = full_loop_1d(test_config());
    check(&v, None, 0.2441);
    check_multiplier(&v, &to_vec(deter_1d(false)), 0.4934336);
}

/// `test_full_loop_with_karras` (line 356): mean 0.2898.
#[test]
fn full_loop_with_karras_1d() {
    let v = full_loop_1d(test_config().with_sigma_spacing(SigmaSpacing::Karras));
    check(&v, None, 0.2898);
    check_multiplier(&v, &to_vec(deter_1d(false)), 0.5857280);
}

/// `test_full_loop_with_v_prediction` (line 362): golden 0.1014, which is the 4-D value copied;
/// the true 1-D mean is 0.100471 (= 0.494792·K), inside diffusers' 1e-3 tolerance.
#[test]
fn full_loop_with_v_prediction_1d() {
    let v = full_loop_1d(test_config().with_prediction_type(PredictionType::VPrediction));
    check(&v, None, 0.1014);
    check(&v, None, 0.100471);
    check_multiplier(&v, &to_vec(deter_1d(false)), 0.2030572);
}

/// `test_full_loop_with_karras_and_v_prediction` (line 368): mean 0.1944.
#[test]
fn full_loop_with_karras_and_v_prediction_1d() {
    let c = test_config()
        .with_prediction_type(PredictionType::VPrediction)
        .with_sigma_spacing(SigmaSpacing::Karras);
    let v = full_loop_1d(c);
    check(&v, None, 0.1944);
    check_multiplier(&v, &to_vec(deter_1d(false)), 0.3929264);
}

/// `test_full_loop_with_noise` (lines 370–395): sum 39.0870, mean 0.4072.
#[test]
fn full_loop_with_noise_1d() {
    let mut s = Sampler::<B, 3, _>::new(UniPc::new(test_config(), 10).unwrap());
    let x = s.add_noise(deter_1d(false), deter_1d(true), 8).unwrap();
    s.set_begin_index(8).unwrap();
    let v = run(&mut s, x);
    check(&v, Some(39.0870), 0.4072);
}

/// `test_flow_and_karras_sigmas_values` (lines 406–430): `sigma_min=0.01, sigma_max=200,
/// use_flow_sigmas=True, use_karras_sigmas=True`, 5 steps; `torch.allclose` (rtol 1e-5,
/// atol 1e-8) on σ and exact `int64(σ·1000)` timesteps.
#[test]
fn flow_and_karras_sigmas_values() {
    let c = UniPcConfig::new()
        .with_sigma_spacing(SigmaSpacing::Flow { shift: 1.0 })
        .with_flow_karras_sigmas(true)
        .with_sigma_min(Some(0.01))
        .with_sigma_max(Some(200.0));
    let s = UniPc::new(c, 5).unwrap();
    let sig: Vec<f64> = s.grid().iter().map(|p| p.sigma).collect();
    let want = [
        0.9950248599052429,
        0.9787454605102539,
        0.8774884343147278,
        0.3604971766471863,
        0.009900986216962337,
        0.0,
    ];
    assert_close(&sig, &want, 1e-5, 1e-8);
    assert_eq!(s.timesteps(), &[995.0, 978.0, 877.0, 360.0, 9.0]);
    assert!(s
        .grid()
        .iter()
        .all(|p| (p.alpha + p.sigma - 1.0).abs() < 1e-12));
}

// ---- structural tests of test_scheduler_unipc.py ----------------------------------------------

/// `check_over_configs` (lines 33–60): a saved-and-reloaded config steps identically over
/// `solver_order + 1` steps of the 25-step schedule, from `residual = 0.1·sample` (diffusers
/// preloads the history with `residual + 0.2/0.15/0.1`; our history is private, so the steps
/// build it themselves). Also checks the outputs are finite.
fn check_over_configs(c: UniPcConfig) {
    let js = serde_json::to_string(&c).unwrap();
    let back: UniPcConfig = serde_json::from_str(&js).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), js);
    let order = c.solver_order;
    let mut a = Sampler::<B, 4, _>::new(UniPc::new(c, 25).unwrap());
    let mut b = Sampler::<B, 4, _>::new(UniPc::new(back, 25).unwrap());
    let sample = deter(false).mul_scalar(2.0).sub_scalar(0.5);
    let residual = sample.clone().mul_scalar(0.1);
    let (mut x, mut y) = (sample.clone(), sample);
    for _ in 0..=order {
        x = a.step(residual.clone(), x, None).unwrap().prev_sample;
        y = b.step(residual.clone(), y, None).unwrap().prev_sample;
        let (vx, vy) = (to_vec(x.clone()), to_vec(y.clone()));
        assert!(vx.iter().all(|v| v.is_finite()), "{js}");
        let diff: f64 = vx.iter().zip(&vy).map(|(p, q)| (p - q).abs()).sum();
        assert!(diff < 1e-5, "outputs differ by {diff}: {js}");
    }
}

/// `test_timesteps`, `test_thresholding`, `test_prediction_type`, `test_rescale_betas_zero_snr`,
/// `test_lower_order_final`, `test_exponential_sigmas`, `test_flow_and_karras_sigmas`
/// (lines 161–205, 397–404).
#[test]
fn check_over_configs_everywhere() {
    for n_train in [25usize, 50, 100, 999, 1000] {
        check_over_configs(
            test_config()
                .with_schedule(DiscreteScheduleConfig::new().with_num_train_timesteps(n_train)),
        );
    }
    check_over_configs(test_config().with_thresholding(None));
    for order in 1..=3 {
        for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
            for threshold in [0.5, 1.0, 2.0] {
                for prediction in [PredictionType::Epsilon, PredictionType::Sample] {
                    check_over_configs(
                        test_config()
                            .with_thresholding(Some(
                                ThresholdingConfig::new().with_sample_max_value(threshold),
                            ))
                            .with_prediction_type(prediction)
                            .with_solver_order(order)
                            .with_solver_type(variant),
                    );
                }
            }
        }
    }
    for prediction in [PredictionType::Epsilon, PredictionType::VPrediction] {
        check_over_configs(test_config().with_prediction_type(prediction));
    }
    for rescale in [true, false] {
        check_over_configs(
            test_config()
                .with_schedule(DiscreteScheduleConfig::new().with_rescale_betas_zero_snr(rescale)),
        );
    }
    for lof in [true, false] {
        check_over_configs(test_config().with_lower_order_final(lof));
    }
    check_over_configs(test_config().with_sigma_spacing(SigmaSpacing::Exponential));
    check_over_configs(
        test_config()
            .with_sigma_spacing(SigmaSpacing::Flow { shift: 1.0 })
            .with_flow_karras_sigmas(true)
            .with_prediction_type(PredictionType::Flow),
    );
}

/// `test_solver_order_and_type` (lines 187–201): no NaN over bh1/bh2 × orders 1–3 × ε/x₀
/// full loops; extended here to both `predict_x0` settings and both final sigmas (diffusers'
/// bh1 onto σ = 0 would be NaN).
#[test]
fn solver_order_and_type_have_no_nan() {
    for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
        for order in 1..=3 {
            for prediction in [
                PredictionType::Epsilon,
                PredictionType::Sample,
                PredictionType::VPrediction,
            ] {
                for x0 in [true, false] {
                    for last in [FinalSigmas::SigmaMin, FinalSigmas::Zero] {
                        for lof in [true, false] {
                            let c = test_config()
                                .with_solver_type(variant)
                                .with_solver_order(order)
                                .with_prediction_type(prediction)
                                .with_predict_x0(x0)
                                .with_final_sigmas_type(last)
                                .with_lower_order_final(lof);
                            full_loop(c); // asserts finiteness
                        }
                    }
                }
            }
        }
    }
}

/// `test_inference_steps` (lines 207–209) over N ∈ {1, 2, 3, 5, 10, 50, 100, 999, 1000}: every
/// schedule builds and a full loop stays finite (999/1000 steps duplicate timesteps' σ spacing
/// only through rounding; Karras at 1000 steps repeats timesteps).
#[test]
fn inference_steps() {
    for n in [1usize, 2, 3, 5, 10, 50, 100, 999, 1000] {
        for spacing in [SigmaSpacing::Timesteps, SigmaSpacing::Karras] {
            for order in [2usize, 3] {
                let c = test_config()
                    .with_sigma_spacing(spacing)
                    .with_solver_order(order);
                let mut s = Sampler::<B, 3, _>::new(UniPc::new(c, n).unwrap());
                assert_eq!(s.len(), n);
                run(&mut s, deter_1d(false));
            }
        }
    }
}

/// `test_fp16_support` (lines 235–258) without the f16 dtype (a backend choice here):
/// thresholding with ratio 0 for every order × type × prediction stays finite.
#[test]
fn thresholding_ratio_zero_is_finite() {
    for order in 1..=3 {
        for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
            for prediction in [
                PredictionType::Epsilon,
                PredictionType::Sample,
                PredictionType::VPrediction,
            ] {
                let c = test_config()
                    .with_thresholding(Some(ThresholdingConfig::new().with_ratio(0.0)))
                    .with_prediction_type(prediction)
                    .with_solver_order(order)
                    .with_solver_type(variant);
                full_loop(c);
            }
        }
    }
}

/// `test_step_shape` (lines 112–140): steps at indices 5 and 6 keep the sample's shape.
#[test]
fn step_shape() {
    let mut s = Sampler::<B, 4, _>::new(UniPc::new(test_config(), 25).unwrap());
    s.set_begin_index(5).unwrap();
    let sample = deter(false);
    let residual = sample.clone().mul_scalar(0.1);
    let a = s.step(residual.clone(), sample.clone(), None).unwrap();
    let b = s.step(residual, sample, None).unwrap();
    assert_eq!(a.prev_sample.dims(), [4, 3, 8, 8]);
    assert_eq!(b.prev_sample.dims(), a.prev_sample.dims());
    assert_eq!(a.pred_original_sample.unwrap().dims(), [4, 3, 8, 8]);
}

/// The same timesteps passed explicitly give the same run (diffusers' `test_custom_timesteps`
/// pattern of the DPM-Solver tests).
#[test]
fn custom_timesteps_reproduce_the_schedule() {
    let a = UniPc::new(test_config(), 10).unwrap();
    let ts: Vec<i64> = a.timesteps().iter().map(|&t| t as i64).collect();
    let b = UniPc::with_timesteps(test_config(), &ts).unwrap();
    assert_eq!(a.grid(), b.grid());
    let va = run(&mut Sampler::<B, 4, _>::new(a), deter(false));
    let vb = run(&mut Sampler::<B, 4, _>::new(b), deter(false));
    assert_eq!(va, vb);
}

// ---- identities, departures from diffusers, options -------------------------------------------

/// UniP-bh2 of order 2 without its corrector is DPM-Solver++ 2M (midpoint): both use
/// `D₁ = (m₀ − m₁)/r₀` weighted by `½·α_t·(e^{−h} − 1)`. And `solver_p = DPM-Solver++` with
/// every corrector disabled is that DPM-Solver++ run. (Exponential sigmas are left out: UniPC
/// truncates their timesteps like diffusers' UniPC, the DPM-Solver port rounds them.)
#[test]
fn unip_bh2_without_corrector_is_dpm_solver_pp_2m() {
    for spacing in [
        SigmaSpacing::Timesteps,
        SigmaSpacing::Karras,
        SigmaSpacing::Lu,
    ] {
        let dpm_cfg = DpmSolverMultistepConfig::new()
            .with_solver_order(2)
            .with_solver_type(DpmSolverType::Midpoint)
            .with_lower_order_final(false)
            .with_final_sigmas_type(FinalSigmas::SigmaMin)
            .with_sigma_spacing(spacing);
        let dpm = DpmSolverMultistep::new(dpm_cfg.clone(), 10).unwrap();
        let uni = test_config()
            .with_sigma_spacing(spacing)
            .with_lower_order_final(false)
            .with_disable_corrector((0..10).collect());
        let u = UniPc::new(uni.clone(), 10).unwrap();
        let flat = |g: &[GridPoint]| -> Vec<f64> {
            g.iter().flat_map(|p| [p.t, p.alpha, p.sigma]).collect()
        };
        assert_close(&flat(u.grid()), &flat(dpm.grid()), 1e-12, 0.0);
        let want = run(&mut Sampler::<B, 4, _>::new(dpm), deter(false));
        let got = run(&mut Sampler::<B, 4, _>::new(u), deter(false));
        assert_close(&got, &want, 1e-5, 1e-6);
        let p = UniPc::new(uni.with_solver_p(Some(dpm_cfg)), 10).unwrap();
        let got_p = run(&mut Sampler::<B, 4, _>::new(p), deter(false));
        assert_close(&got_p, &want, 1e-5, 1e-6);
    }
}

/// With the corrector on, `solver_p` changes only the predictor. It is stepped, as in
/// diffusers, with the raw model output and the *corrected* sample, so for an x₀-predicting
/// model (where the conversion ignores the sample) first-order DPM-Solver++ as `solver_p` equals
/// UniP-1 (both the exponential-integrator Euler step), corrector included; for ε it differs.
#[test]
fn solver_p_first_order_dpm_equals_unip_1() {
    let dpm1 = DpmSolverMultistepConfig::new()
        .with_solver_order(1)
        .with_prediction_type(PredictionType::Sample)
        .with_final_sigmas_type(FinalSigmas::SigmaMin);
    let c = test_config()
        .with_solver_order(1)
        .with_prediction_type(PredictionType::Sample);
    let p = c.clone().with_solver_p(Some(dpm1.clone()));
    let go = |c: UniPcConfig| {
        run(
            &mut Sampler::<B, 4, _>::new(UniPc::new(c, 10).unwrap()),
            deter(false),
        )
    };
    let (a, b) = (go(c.clone()), go(p));
    assert_close(&a, &b, 1e-6, 1e-7);
    // the corrector changes the result
    let d = go(c.with_disable_corrector((0..10).collect()));
    assert!(a.iter().zip(&d).any(|(p, q)| (p - q).abs() > 1e-4));
    // for ε the solver_p conversion sees the corrected sample: a different (finite) result
    let e = go(test_config().with_solver_order(1));
    let f = go(test_config()
        .with_solver_order(1)
        .with_solver_p(Some(dpm1.with_prediction_type(PredictionType::Epsilon))));
    assert!(e.iter().zip(&f).any(|(p, q)| (p - q).abs() > 1e-5));
}

/// `disable_corrector` lists predictor steps whose output is left uncorrected (diffusers: step
/// `i` skips UniC when `i − 1` is listed): disabling step 3 changes nothing before step 4.
#[test]
fn disable_corrector_skips_exactly_the_listed_step() {
    let mk = |d: Vec<usize>| {
        Sampler::<B, 4, _>::new(UniPc::new(test_config().with_disable_corrector(d), 10).unwrap())
    };
    let (mut a, mut b) = (mk(vec![]), mk(vec![3]));
    let (mut x, mut y) = (deter(false), deter(false));
    for i in 0..10 {
        let t = a.next_time().unwrap();
        x = a.step(dummy_model(&x, t), x, None).unwrap().prev_sample;
        y = b.step(dummy_model(&y, t), y, None).unwrap().prev_sample;
        let same = to_vec(x.clone()) == to_vec(y.clone());
        assert_eq!(same, i < 4, "step {i}");
    }
}

/// diffusers' bh1 with its default `final_sigmas_type = "zero"` is NaN by construction
/// (`−α_t·B(h)·0` with `B(h) = −∞`); here the last step is `x = x̂₀` of the last model output.
#[test]
fn bh1_onto_zero_sigma_is_finite_and_lands_on_x0() {
    for order in 1..=3 {
        for lof in [true, false] {
            let c = UniPcConfig::new()
                .with_solver_type(UniPcVariant::Bh1)
                .with_solver_order(order)
                .with_lower_order_final(lof);
            let mut s = Sampler::<B, 4, _>::new(UniPc::new(c, 10).unwrap());
            assert_eq!(s.solver().grid()[10].sigma, 0.0);
            let mut x = deter(false);
            let mut last = None;
            while !s.is_done() {
                let t = s.next_time().unwrap();
                let out = s.step(dummy_model(&x, t), x, None).unwrap();
                x = out.prev_sample;
                last = out.pred_original_sample;
            }
            let v = to_vec(x);
            assert!(v.iter().all(|x| x.is_finite()), "order {order} lof {lof}");
            assert_close(&v, &to_vec(last.unwrap()), 1e-6, 1e-6);
        }
    }
}

/// Karras (and exponential, flow) sigmas with `final_sigmas_type = SigmaMin` repeat the last σ:
/// the final step has `h = 0`, where diffusers' `b` vector is `0/0`. That UniP step is the
/// identity here at every order, with and without `lower_order_final` (shown with the last
/// correction disabled), and the corrected run is finite.
#[test]
fn repeated_last_sigma_step_is_the_identity() {
    for spacing in [
        SigmaSpacing::Karras,
        SigmaSpacing::Exponential,
        SigmaSpacing::Flow { shift: 3.0 },
    ] {
        for order in 1..=3 {
            for lof in [true, false] {
                let c = test_config()
                    .with_sigma_spacing(spacing)
                    .with_solver_order(order)
                    .with_lower_order_final(lof);
                run(
                    &mut Sampler::<B, 4, _>::new(UniPc::new(c.clone(), 10).unwrap()),
                    deter(false),
                );
                let c = c.with_disable_corrector(vec![8]);
                let mut s = Sampler::<B, 4, _>::new(UniPc::new(c, 10).unwrap());
                let g = s.solver().grid().to_vec();
                assert_eq!(g[9].sigma, g[10].sigma, "{spacing:?}");
                let mut x = deter(false);
                for _ in 0..9 {
                    let t = s.next_time().unwrap();
                    x = s.step(dummy_model(&x, t), x, None).unwrap().prev_sample;
                }
                let t = s.next_time().unwrap();
                let out = s.step(dummy_model(&x, t), x.clone(), None).unwrap();
                assert_close(&to_vec(out.prev_sample), &to_vec(x), 1e-7, 1e-7);
            }
        }
    }
}

/// The official `denoise_to_zero`: one more evaluation at the end point returning its x₀.
#[test]
fn denoise_to_zero_adds_one_evaluation_returning_x0() {
    let base = UniPcConfig::official();
    assert_eq!(base.solver_type, UniPcVariant::Bh1);
    let c = base.clone().with_denoise_to_zero(true);
    let plain = UniPc::new(base, 10).unwrap();
    let s = UniPc::new(c.clone(), 10).unwrap();
    assert_eq!(s.time_grid().len(), 11);
    assert_eq!(s.timesteps()[..10], plain.timesteps()[..]);
    assert_eq!(s.timesteps()[10], 0.0);
    let mut a = Sampler::<B, 4, _>::new(plain);
    let mut b = Sampler::<B, 4, _>::new(s);
    let xa = run(&mut a, deter(false));
    let mut x = deter(false);
    for _ in 0..10 {
        let t = b.next_time().unwrap();
        x = b.step(dummy_model(&x, t), x, None).unwrap().prev_sample;
    }
    assert_eq!(to_vec(x.clone()), xa);
    // last evaluation: ε = x·0/1 = 0 at t = 0, so x₀ = x/α_N
    let p = b.solver().grid()[10];
    let out = b.step(dummy_model(&x, 0.0), x, None).unwrap().prev_sample;
    let want: Vec<f64> = xa.iter().map(|v| v / p.alpha).collect();
    assert_close(&to_vec(out), &want, 1e-6, 1e-7);
    assert!(b.is_done());
    // needs a final sigma > 0
    let bad = c.with_final_sigmas_type(FinalSigmas::Zero);
    assert!(matches!(
        UniPc::new(bad, 10),
        Err(SamplerError::InvalidConfig(_))
    ));
}

#[test]
fn invalid_configs_are_typed_errors() {
    let bad = [
        UniPcConfig::new().with_solver_order(0),
        UniPcConfig::new().with_solver_order(4),
        UniPcConfig::new().with_flow_karras_sigmas(true),
        UniPcConfig::new().with_sigma_min(Some(0.1)),
        UniPcConfig::new()
            .with_sigma_spacing(SigmaSpacing::Karras)
            .with_sigma_min(Some(2.0))
            .with_sigma_max(Some(1.0)),
        UniPcConfig::new()
            .with_sigma_spacing(SigmaSpacing::Karras)
            .with_sigma_max(Some(f64::NAN)),
        UniPcConfig::new().with_sigma_spacing(SigmaSpacing::Flow { shift: 0.0 }),
        UniPcConfig::new().with_solver_p(Some(
            DpmSolverMultistepConfig::new().with_algorithm_type(
                preferent_samplers::solvers::DpmAlgorithm::SdeDpmSolverPlusPlus,
            ),
        )),
        UniPcConfig::new()
            .with_solver_p(Some(DpmSolverMultistepConfig::new().with_algorithm_type(
                preferent_samplers::solvers::DpmAlgorithm::DpmSolver,
            ))),
    ];
    for c in bad {
        assert!(UniPc::new(c, 10).is_err());
    }
    assert!(matches!(
        UniPc::new(UniPcConfig::new(), 0),
        Err(SamplerError::InvalidStepCount { .. })
    ));
    assert!(UniPc::with_timesteps(UniPcConfig::new(), &[10, 20]).is_err());
    assert!(
        UniPc::from_grid(UniPcConfig::new(), vec![GridPoint::from_ve_sigma(0.0, 1.0)]).is_err()
    );
}

/// Every timestep spacing and sigma family of the DPM-Solver port builds and samples finitely,
/// with both final sigmas and both predictions.
#[test]
fn every_spacing_and_family_samples_finitely() {
    let families = [
        SigmaSpacing::Timesteps,
        SigmaSpacing::Karras,
        SigmaSpacing::Lu,
        SigmaSpacing::Exponential,
        SigmaSpacing::Flow { shift: 1.0 },
        SigmaSpacing::Flow { shift: 3.0 },
    ];
    for spacing in [
        TimestepSpacing::Linspace,
        TimestepSpacing::Leading,
        TimestepSpacing::Trailing,
    ] {
        for family in families {
            for last in [FinalSigmas::Zero, FinalSigmas::SigmaMin] {
                for x0 in [true, false] {
                    let prediction = match family {
                        SigmaSpacing::Flow { .. } => PredictionType::Flow,
                        _ => PredictionType::Epsilon,
                    };
                    let c = UniPcConfig::new()
                        .with_timestep_spacing(spacing)
                        .with_steps_offset(1)
                        .with_sigma_spacing(family)
                        .with_final_sigmas_type(last)
                        .with_predict_x0(x0)
                        .with_prediction_type(prediction)
                        .with_solver_order(3);
                    let mut s = Sampler::<B, 3, _>::new(UniPc::new(c, 7).unwrap());
                    run(&mut s, deter_1d(false));
                }
            }
        }
    }
    // UniPC's flow sigmas start just below 1 (diffusers subtracts 1e-6).
    let s = UniPc::new(
        UniPcConfig::new().with_sigma_spacing(SigmaSpacing::Flow { shift: 3.0 }),
        10,
    )
    .unwrap();
    assert!((s.grid()[0].sigma - (1.0 - 1e-6)).abs() < 1e-12);
    assert_eq!(s.timesteps()[0], 999.0);
}

// ---- empirical order on the analytic Gaussian mixture ------------------------------------------

/// RMS error of UniPC (or UniP with `corrector = false`) against the f64 RK4 reference on the
/// study's log-SNR grid with `n` steps.
fn gmm_error(
    study: &NfeStudy,
    order: usize,
    variant: UniPcVariant,
    corrector: bool,
    n: usize,
) -> f64 {
    let vp = study.schedule;
    let d = study.mixture.dim();
    let batch = study.x_start.len() / d;
    let (p0, p1) = (vp.point(study.t_start), vp.point(study.t_end));
    let reference = study
        .mixture
        .reference_solution(&study.x_start, p0, p1, study.reference_steps);
    let grid = vp
        .grid(ContinuousSpacing::LogSnr, n, study.t_start, study.t_end)
        .unwrap();
    let mut c = UniPcConfig::new()
        .with_solver_order(order)
        .with_solver_type(variant)
        .with_lower_order_final(false);
    if !corrector {
        c = c.with_disable_corrector((0..n).collect());
    }
    let mut s = Sampler::<B, 2, _>::new(UniPc::from_grid(c, grid).unwrap());
    assert_eq!(s.time_grid().kind(), TimeKind::Continuous);
    let x0: Vec<f32> = study.x_start.iter().map(|v| *v as f32).collect();
    let x = Tensor::<B, 2>::from_data(TensorData::new(x0, [batch, d]), &device());
    let model = |x: &Tensor<B, 2>, t: f64| study.mixture.epsilon(x, vp.alpha(t), vp.sigma(t));
    let out = to_vec(s.sample(model, x, |_| {}).unwrap());
    let mse: f64 = out
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / out.len() as f64;
    mse.sqrt()
}

fn orders(e: &[f64]) -> Vec<f64> {
    e.windows(2).map(|w| (w[0] / w[1]).log2()).collect()
}

/// UniC raises the empirical order: UniP-p converges with order ≈ p, UniPC-p (corrector on)
/// with a clearly higher one (≈ p + 1, the claim of arXiv:2302.04867 §3), and is
/// more accurate at every NFE.
#[test]
fn corrector_raises_the_empirical_order() {
    let study = NfeStudy::default_2d();
    for variant in [UniPcVariant::Bh1, UniPcVariant::Bh2] {
        // Order 3 is left out: its first-order warm-up step (local error O(h²)) caps UniP-3's
        // global order at 2 on a uniform grid (measured ≈ 2.5 at 12–48 steps), as for 3M.
        for order in [1usize, 2] {
            let ns = [16usize, 32, 64];
            let ep: Vec<f64> = ns
                .iter()
                .map(|&n| gmm_error(&study, order, variant, false, n))
                .collect();
            let ec: Vec<f64> = ns
                .iter()
                .map(|&n| gmm_error(&study, order, variant, true, n))
                .collect();
            let (op, oc) = (orders(&ep), orders(&ec));
            eprintln!(
                "{variant:?} p={order}: UniP errors {ep:.3?} orders {op:.2?}; \
                 UniPC errors {ec:.3?} orders {oc:.2?}"
            );
            let p = order as f64;
            assert!(
                op.iter().all(|o| *o > p - 0.3 && *o < p + 0.4),
                "{variant:?} UniP-{order} orders {op:?}"
            );
            assert!(
                oc.iter()
                    .zip(&op)
                    .all(|(c, u)| *c > p + 0.6 && *c > u + 0.6),
                "{variant:?} UniPC-{order} orders {oc:?} vs UniP {op:?}"
            );
            assert!(ec.iter().zip(&ep).all(|(c, p)| c < p), "{ec:?} vs {ep:?}");
        }
    }
}
