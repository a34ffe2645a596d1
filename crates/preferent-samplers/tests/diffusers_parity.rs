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
    DpmSolverSinglestepConfig, FinalSigmas, Sampler, Solver, SolverSpec,
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
fn run<S: Solver<B, 4>>(solver: &mut Sampler<B, 4, S>, mut x: Tensor<B, 4>) -> (f64, f64) {
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
    let mut s = Sampler::<B, 4, _>::new(DpmSolverMultistep::new(config, 10).unwrap());
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
    let mut s = Sampler::<B, 4, _>::new(DpmSolverMultistep::new(multi_config(), 10).unwrap());
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
    let mut s = Sampler::<B, 4, _>::new(DpmSolverSinglestep::new(config, 10).unwrap());
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
    let mut s = Sampler::<B, 4, _>::new(DpmSolverSinglestep::new(single_config(), 10).unwrap());
    let t_start = 5;
    let x = s.add_noise(deter(false), deter(true), t_start).unwrap();
    s.set_begin_index(t_start).unwrap();
    check(run(&mut s, x), Some(269.2187), 0.3505);
}

#[test]
fn singlestep_full_uneven_loop() {
    let mut s = Sampler::<B, 4, _>::new(DpmSolverSinglestep::new(single_config(), 50).unwrap());
    s.set_begin_index(3).unwrap();
    check(run(&mut s, deter(false)), None, 0.2574);
}

// ---- DDIM --------------------------------------------------------------------------------------

fn ddim_config() -> DdimConfig {
    // get_scheduler_config of test_scheduler_ddim.py; eta = 0
    DdimConfig::new().with_clip_sample(true)
}

fn ddim_loop(config: DdimConfig) -> (f64, f64) {
    let mut s = Sampler::<B, 4, _>::new(Ddim::new(config, 10).unwrap());
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
    let mut s = Sampler::<B, 4, _>::new(Ddim::new(ddim_config(), 10).unwrap());
    let t_start = 8;
    let x = s.add_noise(deter(false), deter(true), t_start).unwrap();
    s.set_begin_index(t_start).unwrap();
    check(run(&mut s, x), Some(354.5418), 0.4616);
}

#[test]
fn ddim_variance_matches_diffusers() {
    // test_scheduler_ddim.py::test_variance (tolerance 1e-5)
    let s = Sampler::<B, 4, _>::new(Ddim::new(ddim_config(), 10).unwrap());
    for (t, p, want) in [
        (0, 0, 0.0),
        (420, 400, 0.14771),
        (980, 960, 0.32460),
        (487, 486, 0.00979),
        (999, 998, 0.02),
    ] {
        let v = s.solver().variance(t, p).unwrap();
        assert!(
            (v - want).abs() < 1e-5,
            "variance({t}, {p}) = {v}, want {want}"
        );
    }
}

#[test]
fn ddim_steps_offset_timesteps() {
    // test_scheduler_ddim.py::test_steps_offset
    let s = Sampler::<B, 4, _>::new(Ddim::new(ddim_config().with_steps_offset(1), 5).unwrap());
    assert_eq!(s.timesteps(), &[801.0, 601.0, 401.0, 201.0, 1.0]);
}

// ---- Flow prediction on flow sigmas (diffusers `use_flow_sigmas`, `"flow_prediction"`) ---------
// Goldens from tests/reference/flow_reference.py (diffusers 0.42.1): the same dummy inputs, a
// default-config scheduler (1000 linear betas) with `use_flow_sigmas=True`,
// `prediction_type="flow_prediction"`, 10 steps. Its output:
//   multi_o2_shift1: sum=141.229752 mean=0.18389291
//   multi_o2_shift3: sum=137.282135 mean=0.17875278
//     timesteps [999, 963, 922, 874, 817, 749, 666, 562, 428, 249]
//     sigmas [0.9996665, 0.9639411, 0.9227217, 0.8746352, 0.8178097, 0.7496248, 0.6662961,
//             0.5621483, 0.4282652, 0.2497916, 0.0]
//   multi_o3_shift3: sum=137.579208 mean=0.17913960
//   multi_o2_shift3_sigmamin: sum=166.703766 mean=0.21706219
//   single_o2_shift3: sum=132.770844 mean=0.17287870
//   single_o3_shift1: sum=142.913818 mean=0.18608570

fn flow_multi(order: usize, shift: f64) -> DpmSolverMultistepConfig {
    DpmSolverMultistepConfig::new()
        .with_solver_order(order)
        .with_prediction_type(PredictionType::Flow)
        .with_sigma_spacing(SigmaSpacing::Flow { shift })
}

#[test]
fn multistep_flow_sigmas_and_timesteps() {
    let s = Sampler::<B, 4, _>::new(DpmSolverMultistep::new(flow_multi(2, 3.0), 10).unwrap());
    let ts: Vec<f64> = s.timesteps().to_vec();
    assert_eq!(
        ts,
        [999.0, 963.0, 922.0, 874.0, 817.0, 749.0, 666.0, 562.0, 428.0, 249.0]
    );
    let sig: Vec<f64> = s.solver().grid().iter().map(|p| p.sigma).collect();
    let want = [
        0.9996665, 0.9639411, 0.9227217, 0.8746352, 0.8178097, 0.7496248, 0.6662961, 0.5621483,
        0.4282652, 0.2497916, 0.0,
    ];
    preferent_testkit::assert_close(&sig, &want, 1e-6, 0.0);
    assert!(s
        .solver()
        .grid()
        .iter()
        .all(|p| (p.alpha + p.sigma - 1.0).abs() < 1e-12));
}

#[test]
fn multistep_flow_full_loops() {
    let run_m = |c| multi_loop_steps(c, 10);
    check(run_m(flow_multi(2, 1.0)), Some(141.229752), 0.18389291);
    check(run_m(flow_multi(2, 3.0)), Some(137.282135), 0.17875278);
    check(run_m(flow_multi(3, 3.0)), Some(137.579208), 0.17913960);
    let c = flow_multi(2, 3.0)
        .with_final_sigmas_type(FinalSigmas::SigmaMin)
        .with_lower_order_final(false);
    check(run_m(c), Some(166.703766), 0.21706219);
}

#[test]
fn singlestep_flow_full_loops() {
    let flow = |order: usize, shift: f64| {
        DpmSolverSinglestepConfig::new()
            .with_solver_order(order)
            .with_prediction_type(PredictionType::Flow)
            .with_sigma_spacing(SigmaSpacing::Flow { shift })
    };
    let mut s = Sampler::<B, 4, _>::new(DpmSolverSinglestep::new(flow(2, 3.0), 10).unwrap());
    check(run(&mut s, deter(false)), Some(132.770844), 0.17287870);
    let mut s = Sampler::<B, 4, _>::new(DpmSolverSinglestep::new(flow(3, 1.0), 10).unwrap());
    check(run(&mut s, deter(false)), Some(142.913818), 0.18608570);
}

#[test]
fn flow_shift_must_be_positive() {
    for shift in [0.0, -1.0, f64::NAN] {
        assert!(DpmSolverMultistep::new(flow_multi(2, shift), 10).is_err());
    }
}

fn multi_loop_steps(config: DpmSolverMultistepConfig, steps: usize) -> (f64, f64) {
    let mut s = Sampler::<B, 4, _>::new(DpmSolverMultistep::new(config, steps).unwrap());
    run(&mut s, deter(false))
}

/// Invariant: first-order DPM-Solver++ on the flow grid is the flow-matching Euler step
/// `x_next = x + (σ_next − σ)·u` (diffusers' `FlowMatchEulerDiscreteScheduler` update), at every
/// step of a 10-step loop.
#[test]
fn first_order_dpm_solver_pp_on_flow_sigmas_is_flow_euler() {
    let mut s = Sampler::<B, 4, _>::new(DpmSolverMultistep::new(flow_multi(1, 3.0), 10).unwrap());
    let mut x = deter(false);
    let u_of = |x: &Tensor<B, 4>| deter(true) - x.clone().mul_scalar(0.5);
    for i in 0..10 {
        let (s0, s1) = (s.solver().grid()[i].sigma, s.solver().grid()[i + 1].sigma);
        let u = u_of(&x);
        let euler = to_vec(x.clone() + u.clone().mul_scalar(s1 - s0));
        x = s.step(u, x, None).unwrap().prev_sample;
        preferent_testkit::assert_close(&to_vec(x.clone()), &euler, 1e-5, 1e-5);
    }
}

// ---- FlowMatchEuler (diffusers FlowMatchEulerDiscreteScheduler) --------------------------------
// Goldens from tests/reference/flow_match_euler_reference.py (diffusers 0.42.1), same dummy
// inputs. Its output:
//   shift1_10: sum=133.362030 mean=0.17364848
//     timesteps [1000.0, 889.0, 778.0, 667.0, 556.0, 445.0, 334.0, 223.0, 112.0, 1.0]
//   shift3_10: sum=129.349457 mean=0.16842377
//     sigmas [1.0, 0.9601293, 0.913349, 0.8576923, 0.7903683, 0.7072785, 0.6021506, 0.464876,
//             0.2780488, 0.0089286, 0.0]
//   dyn_exp_mu1.15_8: sum=124.576691 mean=0.16220923
//     sigmas [1.0, 0.9499281, 0.887723, 0.8083667, 0.7036315, 0.5590252, 0.3464282, 0.0031514, 0.0]
//   dyn_lin_mu2_8: sum=128.747513 mean=0.16763999
//     sigmas [1.0, 0.9231598, 0.8335277, 0.7276198, 0.6005598, 0.4453081, 0.2513115, 0.001998, 0.0]
//   shift3_terminal0.1_6: sum=121.731590 mean=0.15850468
//     timesteps [1000.0, 930.38672, 835.56281, 698.80481, 484.39899, 100.0]

mod flow_match {
    use super::*;
    use preferent_samplers::solvers::{FlowMatchEuler, FlowMatchEulerConfig, FlowTimeShift};

    fn fm(steps: usize, shift: FlowTimeShift, terminal: Option<f64>) -> FlowMatchEuler {
        let c = FlowMatchEulerConfig::new()
            .with_time_shift(shift)
            .with_shift_terminal(terminal);
        FlowMatchEuler::new(c, steps).unwrap()
    }

    #[test]
    fn schedules_match_diffusers() {
        let s = fm(10, FlowTimeShift::Static { shift: 1.0 }, None);
        let want = [
            1000.0, 889.0, 778.0, 667.0, 556.0, 445.0, 334.0, 223.0, 112.0, 1.0,
        ];
        preferent_testkit::assert_close(s.timesteps(), &want, 1e-9, 1e-4);
        let cases: [(FlowMatchEuler, &[f64]); 3] = [
            (
                fm(10, FlowTimeShift::Static { shift: 3.0 }, None),
                &[
                    1.0, 0.9601293, 0.913349, 0.8576923, 0.7903683, 0.7072785, 0.6021506, 0.464876,
                    0.2780488, 0.0089286, 0.0,
                ],
            ),
            (
                fm(8, FlowTimeShift::Exponential { mu: 1.15 }, None),
                &[
                    1.0, 0.9499281, 0.887723, 0.8083667, 0.7036315, 0.5590252, 0.3464282,
                    0.0031514, 0.0,
                ],
            ),
            (
                fm(8, FlowTimeShift::Linear { mu: 2.0 }, None),
                &[
                    1.0, 0.9231598, 0.8335277, 0.7276198, 0.6005598, 0.4453081, 0.2513115,
                    0.001998, 0.0,
                ],
            ),
        ];
        for (s, want) in cases {
            preferent_testkit::assert_close(s.sigmas(), want, 0.0, 2e-7);
        }
        let s = fm(6, FlowTimeShift::Static { shift: 3.0 }, Some(0.1));
        let want = [1000.0, 930.38672, 835.56281, 698.80481, 484.39899, 100.0];
        preferent_testkit::assert_close(s.timesteps(), &want, 0.0, 2e-4);
    }

    #[test]
    fn full_loops_match_diffusers() {
        let cases = [
            (
                fm(10, FlowTimeShift::Static { shift: 1.0 }, None),
                133.362030,
                0.17364848,
            ),
            (
                fm(10, FlowTimeShift::Static { shift: 3.0 }, None),
                129.349457,
                0.16842377,
            ),
            (
                fm(8, FlowTimeShift::Exponential { mu: 1.15 }, None),
                124.576691,
                0.16220923,
            ),
            (
                fm(8, FlowTimeShift::Linear { mu: 2.0 }, None),
                128.747513,
                0.16763999,
            ),
            (
                fm(6, FlowTimeShift::Static { shift: 3.0 }, Some(0.1)),
                121.731590,
                0.15850468,
            ),
        ];
        for (s, sum, mean) in cases {
            check(run(&mut Sampler::new(s), deter(false)), Some(sum), mean);
        }
    }

    /// The ODE step is first-order DPM-Solver++ on the same flow sigmas.
    #[test]
    fn ode_step_equals_first_order_dpm_solver_pp_on_the_same_grid() {
        use preferent_samplers::schedule::GridPoint;
        // Start at step 1: σ₀ = 1 is pure noise (α = 0), where DPM-Solver's λ is −∞.
        let mut e = Sampler::<B, 4, _>::new(fm(10, FlowTimeShift::Static { shift: 3.0 }, None));
        e.set_begin_index(1).unwrap();
        let grid: Vec<GridPoint> = e.solver().sigmas()[1..]
            .iter()
            .zip(e.timesteps()[1..].iter().chain([&0.0]))
            .map(|(&s, &t)| GridPoint::from_flow_sigma(t, s))
            .collect();
        let c = DpmSolverMultistepConfig::new()
            .with_solver_order(1)
            .with_prediction_type(PredictionType::Flow);
        let mut d = Sampler::<B, 4, _>::new(DpmSolverMultistep::from_grid(c, grid).unwrap());
        let (mut xe, mut xd) = (deter(false), deter(false));
        for _ in 1..10 {
            let ue = deter(true) - xe.clone().mul_scalar(0.3);
            let ud = deter(true) - xd.clone().mul_scalar(0.3);
            xe = e.step(ue, xe, None).unwrap().prev_sample;
            xd = d.step(ud, xd, None).unwrap().prev_sample;
        }
        preferent_testkit::assert_close(&to_vec(xe), &to_vec(xd), 1e-5, 1e-5);
    }

    #[test]
    fn stochastic_step_exposes_its_transition() {
        let c = FlowMatchEulerConfig::new().with_stochastic_sampling(true);
        let mut s = Sampler::<B, 4, _>::new(FlowMatchEuler::new(c, 4).unwrap());
        let (s0, s1) = (s.solver().sigmas()[0], s.solver().sigmas()[1]);
        let x = deter(false);
        let u = deter(true);
        let z = deter(true).mul_scalar(-1.0);
        let out = s.step(u.clone(), x.clone(), Some(z.clone())).unwrap();
        let x0 = to_vec(x - u.mul_scalar(s0));
        let tr = out.transition.unwrap();
        assert_eq!(tr.std, s1);
        let mean: Vec<f64> = x0.iter().map(|v| v * (1.0 - s1)).collect();
        preferent_testkit::assert_close(&to_vec(tr.mean), &mean, 1e-6, 1e-6);
        let zv = to_vec(z);
        let next: Vec<f64> = mean.iter().zip(&zv).map(|(m, z)| m + s1 * z).collect();
        preferent_testkit::assert_close(&to_vec(out.prev_sample), &next, 1e-6, 1e-6);
    }

    #[test]
    fn bad_settings_are_typed_errors() {
        let bad = [
            FlowMatchEulerConfig::new().with_time_shift(FlowTimeShift::Static { shift: 0.0 }),
            FlowMatchEulerConfig::new().with_time_shift(FlowTimeShift::Linear { mu: -1.0 }),
            FlowMatchEulerConfig::new().with_shift_terminal(Some(1.5)),
        ];
        for c in bad {
            assert!(FlowMatchEuler::new(c, 10).is_err());
        }
        assert!(FlowMatchEuler::new(FlowMatchEulerConfig::new(), 0).is_err());
    }
}
