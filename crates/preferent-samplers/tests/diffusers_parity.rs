//! Ports of diffusers' scheduler full-loop tests (tests/schedulers/test_scheduler_dpm_multi.py,
//! test_scheduler_dpm_single.py, test_scheduler_ddim.py), with their golden numbers and
//! tolerances (|Δsum| < 1e-2, |Δmean| < 1e-3).
//!
//! The dummy inputs are SchedulerCommonTest's:
//! ```python
//! sample = torch.arange(768).reshape(3, 8, 8, 4) / 768; sample = sample.permute(3, 0, 1, 2)
//! noise  = torch.arange(768).flip(-1).reshape(3, 8, 8, 4) / 768; noise.permute(3, 0, 1, 2)
//! model(sample, t) = sample * t / (t + 1)
//! ```
//! so element `[b, c, h, w]` of the sample is `(((c·8 + h)·8 + w)·4 + b)/768` and of the noise
//! `(767 − that index)/768`.

use burn::tensor::Tensor;
use preferent_samplers::prediction::PredictionType;
use preferent_samplers::schedule::{DiscreteScheduleConfig, SigmaSpacing};
use preferent_samplers::solvers::{
    Ddim, DdimConfig, DpmSolverMultistep, DpmSolverMultistepConfig, DpmSolverSinglestep,
    DpmSolverSinglestepConfig, FinalSigmas, Solver,
};
use preferent_samplers::thresholding::ThresholdingConfig;
use preferent_testkit::{device, tensor, to_vec, TestBackend};

type B = TestBackend;

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

fn dummy_model(x: &Tensor<B, 4>, t: f64) -> Tensor<B, 4> {
    x.clone().mul_scalar(t / (t + 1.0))
}

/// Runs the loop from the solver's current step index; returns (sum |x|, mean |x|).
fn run<S: Solver<B, 4>>(solver: &mut S, mut x: Tensor<B, 4>) -> (f64, f64) {
    while solver.step_index() < solver.timesteps().len() {
        let t = solver.timesteps()[solver.step_index()];
        let out = dummy_model(&x, t);
        x = solver.step(out, x, None).unwrap().prev_sample;
    }
    let v = to_vec(x);
    assert!(v.iter().all(|x| x.is_finite()), "NaN/inf in the result");
    let sum: f64 = v.iter().map(|x| x.abs()).sum();
    (sum, sum / v.len() as f64)
}

#[track_caller]
fn check(got: (f64, f64), sum: Option<f64>, mean: f64) {
    eprintln!("result_sum = {:.4}, result_mean = {:.5}", got.0, got.1);
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

// ---- DPMSolverMultistep ------------------------------------------------------------------------

fn multi_config() -> DpmSolverMultistepConfig {
    // get_scheduler_config of test_scheduler_dpm_multi.py
    DpmSolverMultistepConfig::new()
        .with_solver_order(2)
        .with_lower_order_final(false)
        .with_euler_at_final(false)
        .with_final_sigmas_type(FinalSigmas::SigmaMin)
}

fn multi_loop(config: DpmSolverMultistepConfig) -> (f64, f64) {
    let mut s = DpmSolverMultistep::<B, 4>::new(config, 10).unwrap();
    run(&mut s, deter(false))
}

#[test]
fn multistep_full_loop_no_noise() {
    check(multi_loop(multi_config()), None, 0.3301);
}

#[test]
fn multistep_full_loop_no_noise_thres() {
    let c = multi_config().with_thresholding(Some(
        ThresholdingConfig::new()
            .with_ratio(0.87)
            .with_sample_max_value(0.5),
    ));
    check(multi_loop(c), None, 1.1364);
}

#[test]
fn multistep_full_loop_with_v_prediction() {
    let c = multi_config().with_prediction_type(PredictionType::VPrediction);
    check(multi_loop(c), None, 0.2251);
}

#[test]
fn multistep_full_loop_with_karras_and_v_prediction() {
    let c = multi_config()
        .with_prediction_type(PredictionType::VPrediction)
        .with_sigma_spacing(SigmaSpacing::Karras);
    check(multi_loop(c), None, 0.2096);
}

#[test]
fn multistep_full_loop_with_lu_and_v_prediction() {
    let c = multi_config()
        .with_prediction_type(PredictionType::VPrediction)
        .with_sigma_spacing(SigmaSpacing::Lu);
    check(multi_loop(c), None, 0.1554);
}

#[test]
fn multistep_full_loop_with_noise() {
    let mut s = DpmSolverMultistep::<B, 4>::new(multi_config(), 10).unwrap();
    let t_start = 5;
    let x = s.add_noise(deter(false), deter(true), t_start).unwrap();
    s.set_begin_index(t_start).unwrap();
    check(run(&mut s, x), Some(318.4111), 0.4146);
}

// ---- DPMSolverSinglestep -----------------------------------------------------------------------

fn single_config() -> DpmSolverSinglestepConfig {
    // get_scheduler_config of test_scheduler_dpm_single.py (current diffusers main passes
    // "final_sigmas_type": "sigma_min"; lower_order_final keeps its default False)
    DpmSolverSinglestepConfig::new()
        .with_solver_order(2)
        .with_final_sigmas_type(FinalSigmas::SigmaMin)
}

fn single_loop(config: DpmSolverSinglestepConfig) -> (f64, f64) {
    let mut s = DpmSolverSinglestep::<B, 4>::new(config, 10).unwrap();
    run(&mut s, deter(false))
}

#[test]
fn singlestep_full_loop_no_noise() {
    check(single_loop(single_config()), None, 0.2791);
}

#[test]
fn singlestep_full_loop_with_karras() {
    let c = single_config().with_sigma_spacing(SigmaSpacing::Karras);
    check(single_loop(c), None, 0.2248);
}

#[test]
fn singlestep_full_loop_with_v_prediction() {
    let c = single_config().with_prediction_type(PredictionType::VPrediction);
    check(single_loop(c), None, 0.1453);
}

#[test]
fn singlestep_full_loop_with_karras_and_v_prediction() {
    let c = single_config()
        .with_prediction_type(PredictionType::VPrediction)
        .with_sigma_spacing(SigmaSpacing::Karras);
    check(single_loop(c), None, 0.0649);
}

#[test]
fn singlestep_full_loop_with_noise() {
    let mut s = DpmSolverSinglestep::<B, 4>::new(single_config(), 10).unwrap();
    let t_start = 5;
    let x = s.add_noise(deter(false), deter(true), t_start).unwrap();
    s.set_begin_index(t_start).unwrap();
    check(run(&mut s, x), Some(269.2187), 0.3505);
}

#[test]
fn singlestep_full_uneven_loop() {
    let mut s = DpmSolverSinglestep::<B, 4>::new(single_config(), 50).unwrap();
    s.set_begin_index(3).unwrap();
    check(run(&mut s, deter(false)), None, 0.2574);
}

// ---- DDIM --------------------------------------------------------------------------------------

fn ddim_config() -> DdimConfig {
    // get_scheduler_config of test_scheduler_ddim.py; eta = 0
    DdimConfig::new().with_clip_sample(true)
}

fn ddim_loop(config: DdimConfig) -> (f64, f64) {
    let mut s = Ddim::<B, 4>::new(config, 10).unwrap();
    run(&mut s, deter(false))
}

#[test]
fn ddim_full_loop_no_noise() {
    check(ddim_loop(ddim_config()), Some(172.0067), 0.223967);
}

#[test]
fn ddim_full_loop_with_v_prediction() {
    let c = ddim_config().with_prediction_type(PredictionType::VPrediction);
    check(ddim_loop(c), Some(52.5302), 0.0684);
}

#[test]
fn ddim_full_loop_with_set_alpha_to_one() {
    let c = ddim_config()
        .with_set_alpha_to_one(true)
        .with_schedule(DiscreteScheduleConfig::new().with_beta_start(0.01));
    check(ddim_loop(c), Some(149.8295), 0.1951);
}

#[test]
fn ddim_full_loop_with_no_set_alpha_to_one() {
    let c = ddim_config()
        .with_set_alpha_to_one(false)
        .with_schedule(DiscreteScheduleConfig::new().with_beta_start(0.01));
    check(ddim_loop(c), Some(149.0784), 0.1941);
}

#[test]
fn ddim_full_loop_with_noise() {
    let mut s = Ddim::<B, 4>::new(ddim_config(), 10).unwrap();
    let t_start = 8;
    let x = s.add_noise(deter(false), deter(true), t_start).unwrap();
    s.set_begin_index(t_start).unwrap();
    check(run(&mut s, x), Some(354.5418), 0.4616);
}

#[test]
fn ddim_variance_matches_diffusers() {
    // test_scheduler_ddim.py::test_variance (tolerance 1e-5)
    let s = Ddim::<B, 4>::new(ddim_config(), 10).unwrap();
    for (t, p, want) in [
        (0, 0, 0.0),
        (420, 400, 0.14771),
        (980, 960, 0.32460),
        (487, 486, 0.00979),
        (999, 998, 0.02),
    ] {
        let v = s.variance(t, p).unwrap();
        assert!(
            (v - want).abs() < 1e-5,
            "variance({t}, {p}) = {v}, want {want}"
        );
    }
}

#[test]
fn ddim_steps_offset_timesteps() {
    // test_scheduler_ddim.py::test_steps_offset
    let s = Ddim::<B, 4>::new(ddim_config().with_steps_offset(1), 5).unwrap();
    assert_eq!(s.timesteps(), &[801.0, 601.0, 401.0, 201.0, 1.0]);
}
