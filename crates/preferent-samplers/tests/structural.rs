//! Structural tests (diffusers' SchedulerCommonTest ideas): step counts, custom timesteps,
//! duplicated timesteps, config serde round trips, no NaN over algorithm × order × solver type ×
//! prediction type, typed errors, injected noise and Gaussian transitions, and the sample loop.

use burn::tensor::Tensor;
use preferent_samplers::prediction::PredictionType;
use preferent_samplers::schedule::{DiscreteScheduleConfig, SigmaSpacing, TimestepSpacing};
use preferent_samplers::solvers::{
    sample, sample_with_noise, Ddim, DdimConfig, Ddpm, DdpmConfig, DpmAlgorithm,
    DpmSolverMultistep, DpmSolverMultistepConfig, DpmSolverSinglestep, DpmSolverSinglestepConfig,
    DpmSolverType, EdmConfig, EulerEdm, FinalSigmas, FlowMatchEuler, FlowMatchEulerConfig,
    FlowTimeShift, HeunEdm, Reduction, Sampler, Solver, SolverSpec,
};
use preferent_samplers::thresholding::ThresholdingConfig;
use preferent_samplers::SamplerError;
use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

type B = TestBackend;

fn small() -> Tensor<B, 2> {
    let v: Vec<f64> = (0..6).map(|i| (i as f64 - 2.5) / 3.0).collect();
    tensor::<B, 2>(&v, [2, 3], &device())
}

fn noise_like(k: usize) -> Tensor<B, 2> {
    let v: Vec<f64> = (0..6)
        .map(|i| (((i + 7 * k) * 37 % 11) as f64 - 5.0) / 4.0)
        .collect();
    tensor::<B, 2>(&v, [2, 3], &device())
}

/// diffusers' dummy model: sample · t/(t+1).
fn dummy(x: &Tensor<B, 2>, t: f64) -> Tensor<B, 2> {
    x.clone().mul_scalar(t / (t + 1.0))
}

fn run<S: Solver<B, 2>>(s: &mut Sampler<B, 2, S>) -> Vec<f64> {
    let mut k = 0;
    let out = sample_with_noise(
        s,
        dummy,
        small(),
        |_| {
            k += 1;
            Some(noise_like(k))
        },
        |_| {},
    )
    .unwrap();
    to_vec(out)
}

#[track_caller]
fn finite(v: &[f64], what: &str) {
    assert!(
        v.iter().all(|x| x.is_finite()),
        "{what}: non-finite output {v:?}"
    );
}

#[test]
fn inference_step_counts_including_one_and_all() {
    for n in [1usize, 2, 3, 5, 10, 50, 100, 999, 1000] {
        for order in 1..=3 {
            let c = DpmSolverMultistepConfig::new().with_solver_order(order);
            let mut s = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c, n).unwrap());
            assert_eq!(s.timesteps().len(), n);
            finite(&run(&mut s), &format!("multistep order {order}, N = {n}"));
            let c = DpmSolverSinglestepConfig::new().with_solver_order(order);
            let mut s = Sampler::<B, 2, _>::new(DpmSolverSinglestep::new(c, n).unwrap());
            finite(&run(&mut s), &format!("singlestep order {order}, N = {n}"));
        }
        let mut d = Sampler::<B, 2, _>::new(Ddim::new(DdimConfig::new(), n).unwrap());
        assert_eq!(d.timesteps().len(), n);
        finite(&run(&mut d), &format!("ddim N = {n}"));
        for stochastic in [false, true] {
            let c = FlowMatchEulerConfig::new()
                .with_time_shift(FlowTimeShift::Static { shift: 3.0 })
                .with_stochastic_sampling(stochastic);
            let mut f = Sampler::<B, 2, _>::new(FlowMatchEuler::new(c, n).unwrap());
            assert_eq!(f.timesteps().len(), n);
            assert!(
                f.solver().sigmas().windows(2).all(|w| w[1] < w[0]),
                "N = {n}"
            );
            finite(&run(&mut f), &format!("flow-match Euler N = {n}"));
        }
    }
}

#[test]
fn flow_match_config_round_trips_through_serde() {
    let c = FlowMatchEulerConfig::new()
        .with_time_shift(FlowTimeShift::Exponential { mu: 1.15 })
        .with_shift_terminal(Some(0.1));
    let js = serde_json::to_string(&c).unwrap();
    let back: FlowMatchEulerConfig = serde_json::from_str(&js).unwrap();
    assert_eq!(back.time_shift, FlowTimeShift::Exponential { mu: 1.15 });
    assert_eq!(back.shift_terminal, Some(0.1));
    assert_eq!(
        FlowMatchEuler::new(back, 7).unwrap().sigmas(),
        FlowMatchEuler::new(c, 7).unwrap().sigmas()
    );
}

#[test]
fn every_step_count_builds_a_valid_schedule() {
    // Host-only construction for every N in 1..=1000 and every spacing.
    for n in 1..=1000usize {
        for spacing in [
            TimestepSpacing::Linspace,
            TimestepSpacing::Leading,
            TimestepSpacing::Trailing,
        ] {
            let c = DpmSolverMultistepConfig::new().with_timestep_spacing(spacing);
            let s = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c, n).unwrap());
            // numpy's float `arange(1000, 0, -1000/n)` (trailing) yields n + 1 values for some n
            // (e.g. 61 → 62), and diffusers then runs len(timesteps) steps; we match numpy.
            let len = s.timesteps().len();
            let ok = len == n || (spacing == TimestepSpacing::Trailing && len == n + 1);
            assert!(ok, "{spacing:?} N = {n}: {len} timesteps");
            // (the extra trailing value can be round(ε) − 1 = −1, as in numpy/diffusers)
            assert!(s.timesteps().iter().all(|t| (-1.0..1000.0).contains(t)));
            assert!(
                s.solver()
                    .grid()
                    .windows(2)
                    .all(|w| w[1].sigma <= w[0].sigma),
                "{spacing:?} N = {n}"
            );
            let d = Sampler::<B, 2, _>::new(
                Ddim::new(DdimConfig::new().with_timestep_spacing(spacing), n).unwrap(),
            );
            let len = d.timesteps().len();
            assert!(len == n || (spacing == TimestepSpacing::Trailing && len == n + 1));
        }
    }
}

#[test]
fn duplicated_timesteps_stay_finite() {
    // linspace(0, 999, 1001).round() repeats values: λ-spacings of 0 must not give NaN.
    let s0 = Sampler::<B, 2, _>::new(
        DpmSolverMultistep::new(DpmSolverMultistepConfig::new(), 1000).unwrap(),
    );
    let ts = s0.timesteps();
    assert!(
        ts.windows(2).any(|w| w[0] == w[1]),
        "expected duplicated timesteps"
    );
    for order in 2..=3 {
        for st in [DpmSolverType::Midpoint, DpmSolverType::Heun] {
            let c = DpmSolverMultistepConfig::new()
                .with_solver_order(order)
                .with_solver_type(st);
            let mut s = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c, 1000).unwrap());
            finite(&run(&mut s), "duplicated timesteps");
        }
    }
}

#[test]
fn custom_timesteps_reproduce_the_default_schedule() {
    let c = DpmSolverMultistepConfig::new();
    let mut a = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c.clone(), 10).unwrap());
    let ts: Vec<i64> = a.timesteps().iter().map(|t| *t as i64).collect();
    let mut b = Sampler::<B, 2, _>::new(DpmSolverMultistep::with_timesteps(c, &ts).unwrap());
    assert_close(&run(&mut b), &run(&mut a), 1e-5, 1e-5);

    let c = DpmSolverSinglestepConfig::new().with_final_sigmas_type(FinalSigmas::SigmaMin);
    let mut a = Sampler::<B, 2, _>::new(DpmSolverSinglestep::new(c.clone(), 10).unwrap());
    let ts: Vec<i64> = a.timesteps().iter().map(|t| *t as i64).collect();
    let mut b = Sampler::<B, 2, _>::new(DpmSolverSinglestep::with_timesteps(c, &ts).unwrap());
    assert_close(&run(&mut b), &run(&mut a), 1e-5, 1e-5);

    let mut a = Sampler::<B, 2, _>::new(Ddim::new(DdimConfig::new(), 10).unwrap());
    let ts: Vec<i64> = a.timesteps().iter().map(|t| *t as i64).collect();
    let mut b = Sampler::<B, 2, _>::new(Ddim::with_timesteps(DdimConfig::new(), &ts).unwrap());
    assert_close(&run(&mut b), &run(&mut a), 1e-5, 1e-5);
}

#[test]
fn configs_round_trip_through_serde() {
    let m = DpmSolverMultistepConfig::new()
        .with_solver_order(3)
        .with_algorithm_type(DpmAlgorithm::SdeDpmSolverPlusPlus)
        .with_solver_type(DpmSolverType::Heun)
        .with_sigma_spacing(SigmaSpacing::Karras)
        .with_lambda_min_clipped(Some(-5.1))
        .with_thresholding(Some(ThresholdingConfig::new().with_ratio(0.9)))
        .with_schedule(DiscreteScheduleConfig::new().with_trained_betas(Some(vec![0.1, 0.2])));
    let js = serde_json::to_string(&m).unwrap();
    let back: DpmSolverMultistepConfig = serde_json::from_str(&js).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), js);
    assert_eq!(back.solver_order, 3);
    assert_eq!(back.lambda_min_clipped, Some(-5.1));

    let s = DpmSolverSinglestepConfig::new().with_prediction_type(PredictionType::VPrediction);
    let js = serde_json::to_string(&s).unwrap();
    let back: DpmSolverSinglestepConfig = serde_json::from_str(&js).unwrap();
    assert_eq!(back.prediction_type, PredictionType::VPrediction);

    let f = DpmSolverMultistepConfig::new()
        .with_prediction_type(PredictionType::Flow)
        .with_sigma_spacing(SigmaSpacing::Flow { shift: 3.0 });
    let js = serde_json::to_string(&f).unwrap();
    let back: DpmSolverMultistepConfig = serde_json::from_str(&js).unwrap();
    assert_eq!(back.sigma_spacing, SigmaSpacing::Flow { shift: 3.0 });
    assert_eq!(back.prediction_type, PredictionType::Flow);

    let d = DdimConfig::new()
        .with_eta(0.7)
        .with_timestep_spacing(TimestepSpacing::Trailing);
    let js = serde_json::to_string(&d).unwrap();
    let back: DdimConfig = serde_json::from_str(&js).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), js);

    for js in [
        serde_json::to_string(&DdpmConfig::new()).unwrap(),
        serde_json::to_string(&EdmConfig::new()).unwrap(),
    ] {
        let v: serde_json::Value = serde_json::from_str(&js).unwrap();
        assert!(v.is_object());
    }
    // A round-tripped config drives an identical sampler (diffusers' check_over_configs).
    let c = DpmSolverMultistepConfig::new().with_solver_order(3);
    let c2: DpmSolverMultistepConfig =
        serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
    let mut a = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c, 25).unwrap());
    let mut b = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c2, 25).unwrap());
    assert_eq!(run(&mut a), run(&mut b));
}

#[test]
fn no_nan_over_algorithm_order_type_prediction() {
    let algs = [
        DpmAlgorithm::DpmSolver,
        DpmAlgorithm::DpmSolverPlusPlus,
        DpmAlgorithm::SdeDpmSolver,
        DpmAlgorithm::SdeDpmSolverPlusPlus,
    ];
    let preds = [
        PredictionType::Epsilon,
        PredictionType::Sample,
        PredictionType::VPrediction,
        PredictionType::Score,
        PredictionType::Flow,
    ];
    for alg in algs {
        for st in [DpmSolverType::Midpoint, DpmSolverType::Heun] {
            for order in 1..=3 {
                for p in preds {
                    let fin = if alg.predicts_x0() {
                        FinalSigmas::Zero
                    } else {
                        FinalSigmas::SigmaMin
                    };
                    let c = DpmSolverMultistepConfig::new()
                        .with_algorithm_type(alg)
                        .with_solver_type(st)
                        .with_solver_order(order)
                        .with_prediction_type(p)
                        .with_final_sigmas_type(fin);
                    match DpmSolverMultistep::new(c, 12) {
                        Ok(s) => finite(
                            &run(&mut Sampler::new(s)),
                            &format!("multi {alg:?} {st:?} {order} {p:?}"),
                        ),
                        Err(e) => {
                            assert!(alg == DpmAlgorithm::SdeDpmSolver && order == 3, "{e}");
                            assert!(matches!(e, SamplerError::UnsupportedOrder { .. }));
                        }
                    }
                    let c = DpmSolverSinglestepConfig::new()
                        .with_algorithm_type(alg)
                        .with_solver_type(st)
                        .with_solver_order(order)
                        .with_prediction_type(p)
                        .with_final_sigmas_type(fin);
                    match DpmSolverSinglestep::new(c, 12) {
                        Ok(s) => finite(
                            &run(&mut Sampler::new(s)),
                            &format!("single {alg:?} {st:?} {order} {p:?}"),
                        ),
                        Err(e) => {
                            assert!(alg.is_sde() && order == 3, "{e}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn no_nan_on_flow_sigmas_over_order_type_and_step_count() {
    for alg in [
        DpmAlgorithm::DpmSolverPlusPlus,
        DpmAlgorithm::SdeDpmSolverPlusPlus,
    ] {
        for st in [DpmSolverType::Midpoint, DpmSolverType::Heun] {
            for order in 1..=3 {
                for steps in [1, 2, 3, 7, 50] {
                    let spacing = SigmaSpacing::Flow { shift: 3.0 };
                    let c = DpmSolverMultistepConfig::new()
                        .with_algorithm_type(alg)
                        .with_solver_type(st)
                        .with_solver_order(order)
                        .with_prediction_type(PredictionType::Flow)
                        .with_sigma_spacing(spacing);
                    let mut s = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c, steps).unwrap());
                    finite(
                        &run(&mut s),
                        &format!("flow multi {alg:?} {st:?} {order} {steps}"),
                    );
                    let c = DpmSolverSinglestepConfig::new()
                        .with_algorithm_type(alg)
                        .with_solver_type(st)
                        .with_solver_order(order)
                        .with_prediction_type(PredictionType::Flow)
                        .with_sigma_spacing(spacing);
                    match DpmSolverSinglestep::new(c, steps) {
                        Ok(s) => finite(
                            &run(&mut Sampler::new(s)),
                            &format!("flow single {alg:?} {order} {steps}"),
                        ),
                        Err(e) => assert!(alg.is_sde() && order == 3, "{e}"),
                    }
                }
            }
        }
    }
}

#[test]
fn bad_configs_are_typed_errors() {
    let c = DpmSolverMultistepConfig::new();
    assert!(matches!(
        DpmSolverMultistep::new(c.clone(), 0),
        Err(SamplerError::InvalidStepCount {
            steps: 0,
            max: 1000
        })
    ));
    assert!(matches!(
        DpmSolverMultistep::new(c.clone(), 1001),
        Err(SamplerError::InvalidStepCount { .. })
    ));
    assert!(matches!(
        DpmSolverMultistep::new(c.clone().with_solver_order(4), 10),
        Err(SamplerError::UnsupportedOrder { order: 4, .. })
    ));
    assert!(matches!(
        DpmSolverMultistep::new(c.clone().with_algorithm_type(DpmAlgorithm::DpmSolver), 10),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        DpmSolverMultistep::with_timesteps(c.clone(), &[500, 1000]),
        Err(SamplerError::InvalidTimesteps(_))
    ));
    assert!(matches!(
        DpmSolverMultistep::with_timesteps(
            c.clone().with_sigma_spacing(SigmaSpacing::Karras),
            &[5]
        ),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        Ddim::new(DdimConfig::new(), 0),
        Err(SamplerError::InvalidStepCount { .. })
    ));
    assert!(matches!(
        Ddim::new(DdimConfig::new().with_eta(-1.0), 5),
        Err(SamplerError::InvalidConfig(_))
    ));
    assert!(matches!(
        EulerEdm::new(EdmConfig::new().with_sigma_min(100.0), 5),
        Err(SamplerError::InvalidConfig(_))
    ));

    let mut s = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c, 1).unwrap());
    let wrong = tensor::<B, 2>(&[0.0; 4], [2, 2], &device());
    assert!(matches!(
        s.step(wrong, small(), None),
        Err(SamplerError::ShapeMismatch {
            what: "model_output",
            ..
        })
    ));
    s.step(small(), small(), None).unwrap();
    assert!(matches!(
        s.step(small(), small(), None),
        Err(SamplerError::PastEnd { index: 1, len: 1 })
    ));
}

#[test]
fn injected_noise_is_deterministic_and_transition_is_consistent() {
    let c = DpmSolverMultistepConfig::new().with_algorithm_type(DpmAlgorithm::SdeDpmSolverPlusPlus);
    let mut a = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c.clone(), 10).unwrap());
    let mut b = Sampler::<B, 2, _>::new(DpmSolverMultistep::new(c, 10).unwrap());
    assert_eq!(run(&mut a), run(&mut b));

    // One step: prev = mean + std·z, and log p(prev) = Σ(−z²/2) − n(log std + ½ log 2π).
    let mut s = Sampler::<B, 2, _>::new(
        DpmSolverMultistep::new(
            DpmSolverMultistepConfig::new().with_algorithm_type(DpmAlgorithm::SdeDpmSolverPlusPlus),
            10,
        )
        .unwrap(),
    );
    let z = noise_like(3);
    let out = s
        .step(dummy(&small(), 999.0), small(), Some(z.clone()))
        .unwrap();
    let tr = out.transition.expect("SDE steps expose their transition");
    assert!(tr.std > 0.0);
    let recon = to_vec(tr.mean.clone() + z.clone().mul_scalar(tr.std));
    assert_close(&to_vec(out.prev_sample.clone()), &recon, 1e-5, 1e-5);
    let zh = to_vec(z);
    let c = tr.std.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln();
    let want: Vec<f64> = zh
        .chunks(3)
        .map(|r| r.iter().map(|z| -0.5 * z * z - c).sum())
        .collect();
    assert_close(
        &to_vec(tr.log_prob(&out.prev_sample, Reduction::Sum).unwrap()),
        &want,
        1e-4,
        1e-4,
    );
    let want_mean: Vec<f64> = want.iter().map(|w| w / 3.0).collect();
    assert_close(
        &to_vec(tr.log_prob(&out.prev_sample, Reduction::Mean).unwrap()),
        &want_mean,
        1e-4,
        1e-4,
    );
    // Deterministic solvers expose no transition.
    let mut d = Sampler::<B, 2, _>::new(Ddim::new(DdimConfig::new(), 10).unwrap());
    assert!(d.step(small(), small(), None).unwrap().transition.is_none());
}

/// DDIM with η = 1 is the DDPM ancestral step (Song et al. 2021, eq. 16): same mean and std.
#[test]
fn ddim_eta_one_equals_ddpm_posterior() {
    let mut d = Sampler::<B, 2, _>::new(
        Ddim::new(DdimConfig::new().with_eta(1.0).with_clip_sample(false), 10).unwrap(),
    );
    let mut p =
        Sampler::<B, 2, _>::new(Ddpm::new(DdpmConfig::new().with_clip_sample(false), 10).unwrap());
    assert_eq!(d.timesteps(), p.timesteps());
    for i in 0..9 {
        let t = d.timesteps()[i];
        let (x, out) = (noise_like(i), dummy(&noise_like(i + 1), t));
        let a = d
            .step(out.clone(), x.clone(), None)
            .unwrap()
            .transition
            .unwrap();
        let b = p.step(out, x, None).unwrap().transition.unwrap();
        assert!(
            (a.std - b.std).abs() < 1e-9 * b.std,
            "step {i}: {} vs {}",
            a.std,
            b.std
        );
        assert_close(&to_vec(a.mean), &to_vec(b.mean), 1e-5, 1e-5);
    }
}

#[test]
fn sample_loop_reports_progress_and_respects_begin_index() {
    let mut s = Sampler::<B, 2, _>::new(
        DpmSolverMultistep::new(DpmSolverMultistepConfig::new(), 7).unwrap(),
    );
    let mut seen = Vec::new();
    sample(&mut s, dummy, small(), |p| {
        seen.push((p.step, p.total, p.t))
    })
    .unwrap();
    assert_eq!(seen.len(), 7);
    assert_eq!(seen[0], (0, 7, 999.0));
    s.set_begin_index(4).unwrap();
    let mut count = 0;
    sample(&mut s, dummy, small(), |_| count += 1).unwrap();
    assert_eq!(count, 3);
    assert!(s.set_begin_index(7).is_err());
}

#[test]
fn heun_edm_uses_two_evaluations_per_step_except_the_last() {
    let mut h = Sampler::<B, 2, _>::new(HeunEdm::new(EdmConfig::new(), 5).unwrap());
    assert_eq!(h.timesteps().len(), 9);
    assert_eq!(h.init_noise_sigma(), 80.0);
    let x = small().mul_scalar(80.0);
    // Denoiser D(x; σ) = 0: the exact flow is x_σ = x_T·σ/σ_max, reaching 0 at σ = 0.
    let out = sample(&mut h, |x: &Tensor<B, 2>, _s| x.zeros_like(), x, |_| {}).unwrap();
    assert_close(&to_vec(out), &[0.0; 6], 0.0, 1e-4);
    let mut e = Sampler::<B, 2, _>::new(EulerEdm::new(EdmConfig::new(), 5).unwrap());
    let x = small().mul_scalar(80.0);
    let mut calls = 0;
    let out = sample(
        &mut e,
        |x: &Tensor<B, 2>, _s| x.zeros_like(),
        x,
        |_| calls += 1,
    )
    .unwrap();
    assert_eq!(calls, 5);
    assert_close(&to_vec(out), &[0.0; 6], 0.0, 1e-4);
}

/// Issue #19 §3: options that were accepted and then silently wrong are typed errors now.
#[test]
fn accepted_then_wrong_options_are_rejected() {
    // diffusers raises when steps_offset pushes the first timestep to N_train; so do we.
    assert!(matches!(
        Ddim::new(DdimConfig::new().with_steps_offset(1), 1000),
        Err(SamplerError::InvalidTimesteps(_))
    ));
    assert!(matches!(
        Ddpm::new(DdpmConfig::new().with_steps_offset(1), 1000),
        Err(SamplerError::InvalidTimesteps(_))
    ));
    // …and still builds one step below it.
    assert_eq!(
        Ddim::new(DdimConfig::new().with_steps_offset(1), 500)
            .unwrap()
            .timesteps()[0],
        999.0
    );
    // User sigmas no longer skip the prediction-type check (a v-prediction was treated as x₀).
    let v = EdmConfig::new().with_prediction_type(PredictionType::VPrediction);
    for r in [
        EulerEdm::with_sigmas(v.clone(), vec![10.0, 1.0, 0.0]).map(|_| ()),
        HeunEdm::with_sigmas(v, vec![10.0, 1.0, 0.0]).map(|_| ()),
    ] {
        assert!(matches!(r, Err(SamplerError::InvalidConfig(_))), "{r:?}");
    }
}

/// Issue #19 §3: a trained β = 1 (ᾱ = 0, α = 0) used to pass and give an all-NaN sample.
#[test]
fn trained_beta_of_one_is_rejected() {
    let mut betas = vec![0.01; 10];
    betas[9] = 1.0;
    let s = DiscreteScheduleConfig::new()
        .with_num_train_timesteps(10)
        .with_trained_betas(Some(betas.clone()));
    assert!(matches!(s.init(), Err(SamplerError::InvalidBetas(_))));
    let c = DpmSolverMultistepConfig::new().with_schedule(s);
    assert!(matches!(
        DpmSolverMultistep::new(c, 5),
        Err(SamplerError::InvalidBetas(_))
    ));
    betas[9] = 0.999;
    let s = DiscreteScheduleConfig::new()
        .with_num_train_timesteps(10)
        .with_trained_betas(Some(betas));
    assert!(s.init().is_ok());
}

/// Issue #19 §2: `DiscreteSchedule::alpha(T)` on a T-step schedule panicked (index out of
/// bounds); the schedule's lookups are typed now.
#[test]
fn schedule_lookups_past_the_end_are_typed() {
    let s = DiscreteScheduleConfig::new().init().unwrap();
    let n = s.len();
    assert!((s.alpha(0).unwrap() - (1.0f64 - 1e-4).sqrt()).abs() < 1e-12);
    for r in [s.alpha(n), s.sigma(n), s.lambda(n)] {
        assert!(matches!(r, Err(SamplerError::PastEnd { index, len }) if index == n && len == n));
    }
}
