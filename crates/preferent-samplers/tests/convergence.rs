//! Empirical convergence orders on the analytic Gaussian mixture (exact ε under VP), against an
//! f64 RK4 reference with 4000 log-SNR steps ([`preferent_samplers::analytic`]).
//!
//! Bands are set around the theoretical order with room for the pre-asymptotic regime; the
//! printed tables (run with `--nocapture`) show the measured numbers.

use burn::tensor::{Tensor, TensorData};
use preferent_samplers::analytic::{
    empirical_orders, nfe_error_table, AnalyticSolver, NfeErrorRow, NfeStudy,
};
use preferent_samplers::schedule::GridPoint;
use preferent_samplers::solvers::{
    sample, DpmAlgorithm, DpmSolverMultistep, DpmSolverMultistepConfig, FinalSigmas, Sampler,
    ThirdOrderRule,
};
use preferent_testkit::{device, to_vec, TestBackend};

type B = TestBackend;

fn table(solver: AnalyticSolver, nfes: &[usize]) -> Vec<NfeErrorRow> {
    let study = NfeStudy::default_2d();
    let rows = nfe_error_table::<B>(&study, &[solver], nfes, &device()).unwrap();
    for r in &rows {
        eprintln!(
            "{:10} NFE {:4}  RMS error {:.3e}",
            r.solver.label(),
            r.nfe,
            r.error
        );
    }
    rows
}

#[track_caller]
fn assert_orders(rows: &[NfeErrorRow], lo: f64, hi: f64) {
    let o = empirical_orders(rows);
    eprintln!("  empirical orders {o:?}");
    assert!(
        o.iter().all(|p| *p > lo && *p < hi),
        "{}: empirical orders {o:?} outside ({lo}, {hi})",
        rows[0].solver.label()
    );
}

#[test]
fn ddim_is_first_order() {
    assert_orders(&table(AnalyticSolver::Ddim, &[16, 32, 64]), 0.85, 1.15);
}

#[test]
fn dpm_solver_pp_2m_is_second_order() {
    assert_orders(
        &table(AnalyticSolver::DpmSolverPlusPlusMultistep(2), &[16, 32, 64]),
        1.7,
        2.3,
    );
}

#[test]
fn dpm_solver_v1_2m_is_second_order() {
    assert_orders(
        &table(AnalyticSolver::DpmSolverMultistep(2), &[16, 32, 64]),
        1.6,
        2.3,
    );
}

#[test]
fn dpm_solver_pp_2s_is_second_order() {
    assert_orders(
        &table(
            AnalyticSolver::DpmSolverPlusPlusSinglestep(2),
            &[16, 32, 64],
        ),
        1.6,
        2.3,
    );
}

#[test]
fn dpm_solver_pp_3s_is_third_order() {
    assert_orders(
        &table(
            AnalyticSolver::DpmSolverPlusPlusSinglestep(3),
            &[24, 48, 96],
        ),
        2.5,
        3.6,
    );
}

/// 3M on a grid whose first two (lower-order warm-up) steps are shrunk to `h³` size, so only
/// the third-order update itself is measured. diffusers' D₂ weight gives order ≈ 2 (its local
/// error is `O(h³)`, see [`ThirdOrderRule`]); the Taylor weight gives a higher order and a
/// smaller error at every NFE.
fn three_m_accurate_warmup(alg: DpmAlgorithm, rule: ThirdOrderRule, ns: &[usize]) -> Vec<f64> {
    let study = NfeStudy::default_2d();
    let vp = study.schedule;
    let (l0, l1) = (vp.lambda(study.t_start), vp.lambda(study.t_end));
    let d = study.mixture.dim();
    let batch = study.x_start.len() / d;
    let (p0, p1) = (vp.point(study.t_start), vp.point(study.t_end));
    let reference = study
        .mixture
        .reference_solution(&study.x_start, p0, p1, study.reference_steps);
    let mut errs = Vec::new();
    for &n in ns {
        let h = (l1 - l0) / n as f64;
        let delta = h.powi(3);
        let mut lams = vec![l0, l0 + delta, l0 + 2.0 * delta];
        let h2 = (l1 - lams[2]) / n as f64;
        let l2 = lams[2];
        lams.extend((1..=n).map(|i| l2 + i as f64 * h2));
        let grid: Vec<GridPoint> = lams
            .iter()
            .map(|&l| vp.point(vp.inverse_lambda(l)))
            .collect();
        let c = DpmSolverMultistepConfig::new()
            .with_solver_order(3)
            .with_algorithm_type(alg)
            .with_third_order_rule(rule)
            .with_lower_order_final(false)
            .with_final_sigmas_type(FinalSigmas::SigmaMin);
        let mut s = Sampler::<B, 2, _>::new(DpmSolverMultistep::from_grid(c, grid).unwrap());
        let x0: Vec<f32> = study.x_start.iter().map(|v| *v as f32).collect();
        let x = Tensor::<B, 2>::from_data(TensorData::new(x0, [batch, d]), &device());
        let model = |x: &Tensor<B, 2>, t: f64| study.mixture.epsilon(x, vp.alpha(t), vp.sigma(t));
        let out = to_vec(sample(&mut s, model, x, |_| {}).unwrap());
        let mse: f64 = out
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / out.len() as f64;
        errs.push(mse.sqrt());
    }
    let o: Vec<f64> = errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
    eprintln!("{alg:?} 3M {rule:?}, accurate warm-up: errors {errs:?}, orders {o:?}");
    errs
}

#[test]
fn three_m_orders_diffusers_vs_taylor() {
    let ns = [16usize, 32, 64];
    for alg in [DpmAlgorithm::DpmSolverPlusPlus, DpmAlgorithm::DpmSolver] {
        let ed = three_m_accurate_warmup(alg, ThirdOrderRule::Diffusers, &ns);
        let et = three_m_accurate_warmup(alg, ThirdOrderRule::Taylor, &ns);
        let od: Vec<f64> = ed.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
        let ot: Vec<f64> = et.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
        // diffusers' weight: second order (the O(h³) local error dominates).
        assert!(
            od.iter().all(|p| *p > 1.7 && *p < 2.5),
            "{alg:?} diffusers 3M orders {od:?}"
        );
        // Taylor weight: strictly more accurate, order rising above 2 towards 3.
        assert!(
            et.iter().zip(&ed).all(|(t, d)| t < d),
            "{alg:?}: {et:?} vs {ed:?}"
        );
        assert!(
            ot.iter().all(|p| *p > 2.0 && *p < 3.6),
            "{alg:?} Taylor 3M orders {ot:?}"
        );
        assert!(
            ot[ot.len() - 1] > od[od.len() - 1] + 0.3,
            "{alg:?}: {ot:?} vs {od:?}"
        );
    }
}

#[test]
fn multistep_3m_beats_2m() {
    let nfes = [16, 32, 64];
    let e2 = table(AnalyticSolver::DpmSolverPlusPlusMultistep(2), &nfes);
    let e3 = table(AnalyticSolver::DpmSolverPlusPlusMultistep(3), &nfes);
    for (a, b) in e2.iter().zip(&e3) {
        assert!(
            b.error < a.error,
            "NFE {}: 3M error {} ≥ 2M error {}",
            a.nfe,
            b.error,
            a.error
        );
    }
}

/// EDM Euler (order 1) and Heun (order 2) in VE σ space on Karras sigmas 80 → 0.002, with the
/// mixture's exact ε at the VP-equivalent point (α = 1/√(1+σ²), x_VP = α·x_VE).
#[test]
fn edm_euler_and_heun_orders() {
    use preferent_samplers::prediction::PredictionType;
    use preferent_samplers::schedule::karras_sigmas;
    use preferent_samplers::solvers::{EdmConfig, EulerEdm, HeunEdm, Sampler};
    let study = NfeStudy::default_2d();
    let g = &study.mixture;
    let d = g.dim();
    let batch = study.x_start.len() / d;
    let (s_max, s_min) = (80.0, 0.002);
    let (p0, p1) = (
        GridPoint::from_ve_sigma(s_max, s_max),
        GridPoint::from_ve_sigma(s_min, s_min),
    );
    let x_ve: Vec<f64> = study.x_start.iter().map(|v| v * s_max).collect();
    let x_vp: Vec<f64> = x_ve.iter().map(|v| v * p0.alpha).collect();
    let reference: Vec<f64> = g
        .reference_solution(&x_vp, p0, p1, 8000)
        .iter()
        .map(|v| v / p1.alpha)
        .collect();
    let model = |x: &Tensor<B, 2>, s: f64| {
        let a = 1.0 / (1.0 + s * s).sqrt();
        g.epsilon(&x.clone().mul_scalar(a), a, s * a)
    };
    let cfg = EdmConfig::new().with_prediction_type(PredictionType::Epsilon);
    let x_start = || {
        let x0: Vec<f32> = x_ve.iter().map(|v| *v as f32).collect();
        Tensor::<B, 2>::from_data(TensorData::new(x0, [batch, d]), &device())
    };
    let rmse = |out: Tensor<B, 2>| -> f64 {
        let out = to_vec(out);
        let mse: f64 = out
            .iter()
            .zip(&reference)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / out.len() as f64;
        mse.sqrt()
    };
    let ns = [32usize, 64, 128];
    let mut eu = Vec::new();
    let mut he = Vec::new();
    for &n in &ns {
        let sig = karras_sigmas(n + 1, s_min, s_max, 7.0);
        let euler = EulerEdm::with_sigmas(cfg.clone(), sig.clone()).unwrap();
        let heun = HeunEdm::with_sigmas(cfg.clone(), sig).unwrap();
        eu.push(rmse(
            Sampler::<B, 2, _>::new(euler)
                .sample(model, x_start(), |_| {})
                .unwrap(),
        ));
        he.push(rmse(
            Sampler::<B, 2, _>::new(heun)
                .sample(model, x_start(), |_| {})
                .unwrap(),
        ));
    }
    let order = |e: &[f64]| -> Vec<f64> { e.windows(2).map(|w| (w[0] / w[1]).log2()).collect() };
    let (oe, oh) = (order(&eu), order(&he));
    eprintln!("EDM Euler errors {eu:?} orders {oe:?}; Heun errors {he:?} orders {oh:?}");
    assert!(
        oe.iter().all(|p| *p > 0.8 && *p < 1.3),
        "Euler orders {oe:?}"
    );
    assert!(
        oh.iter().all(|p| *p > 1.7 && *p < 2.4),
        "Heun orders {oh:?}"
    );
}

/// Adaptive DPM-Solver++-12/23 on the mixture: both reach the reference, tighter tolerances
/// lower the error, and the 23 pair needs fewer evaluations than 12 at the same tolerance.
#[test]
fn adaptive_dpm_solver_12_and_23() {
    use preferent_samplers::solvers::{adaptive_sample, AdaptiveConfig};
    let study = NfeStudy::default_2d();
    let vp = study.schedule;
    let d = study.mixture.dim();
    let batch = study.x_start.len() / d;
    let (p0, p1) = (vp.point(study.t_start), vp.point(study.t_end));
    let reference = study
        .mixture
        .reference_solution(&study.x_start, p0, p1, study.reference_steps);
    let model = |x: &Tensor<B, 2>, t: f64| study.mixture.epsilon(x, vp.alpha(t), vp.sigma(t));
    let mut results = Vec::new();
    for order in [2usize, 3] {
        for rtol in [0.05, 0.005] {
            let c = AdaptiveConfig::new()
                .with_order(order)
                .with_rtol(rtol)
                .with_atol(rtol / 10.0);
            let x0: Vec<f32> = study.x_start.iter().map(|v| *v as f32).collect();
            let x = Tensor::<B, 2>::from_data(TensorData::new(x0, [batch, d]), &device());
            let out = adaptive_sample(&c, &vp, model, x, study.t_start, study.t_end).unwrap();
            let v = to_vec(out.sample);
            let err = (v
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                / v.len() as f64)
                .sqrt();
            eprintln!(
                "adaptive order {order} rtol {rtol}: NFE {} (accepted {}, rejected {}), RMS error {err:.3e}",
                out.nfe, out.accepted, out.rejected
            );
            results.push((order, rtol, out.nfe, err));
        }
    }
    for &(order, rtol, _, err) in &results {
        assert!(err < rtol, "order {order} rtol {rtol}: error {err}");
    }
    for order in [2usize, 3] {
        let r: Vec<_> = results.iter().filter(|r| r.0 == order).collect();
        assert!(
            r[1].3 < r[0].3,
            "order {order}: tighter rtol must reduce the error"
        );
    }
    // Same (tight) tolerance: 23 needs fewer evaluations than 12.
    assert!(results[3].2 < results[1].2, "{results:?}");
}

/// Flow-matching path: DPM-Solver++ (1M, 2M) on a grid uniform in the flow sigma `s`
/// (`α = 1 − s`, `σ = s`), the model giving the exact flow velocity `u = ε − x₀` of the mixture.
/// The probability-flow ODE in `(x/α, λ)` is the same for every (α, σ) path, so the VP RK4
/// reference solved between the same λ's and rescaled by `α_flow/α_vp` is the exact answer.
/// Asserts order ≈ 1 for first order (= flow Euler) and ≈ 2 for 2M.
#[test]
fn dpm_solver_pp_on_flow_sigmas_converges_with_its_order() {
    let study = NfeStudy::default_2d();
    let d = study.mixture.dim();
    let batch = study.x_start.len() / d;
    let (s0, s1) = (0.9, 0.1);
    let vp_at = |s: f64| {
        // The VP point with the flow point's λ = log((1 − s)/s): ρ = e^{−λ} = s/(1 − s).
        let rho = s / (1.0 - s);
        GridPoint::from_ve_sigma(0.0, rho)
    };
    let flow0 = GridPoint::from_flow_sigma(s0, s0);
    let flow1 = GridPoint::from_flow_sigma(s1, s1);
    let (v0, v1) = (vp_at(s0), vp_at(s1));
    let start_vp: Vec<f64> = study
        .x_start
        .iter()
        .map(|x| x * v0.alpha / flow0.alpha)
        .collect();
    let reference: Vec<f64> = study
        .mixture
        .reference_solution(&start_vp, v0, v1, study.reference_steps)
        .into_iter()
        .map(|x| x * flow1.alpha / v1.alpha)
        .collect();
    let mixture = &study.mixture;
    let model = |x: &Tensor<B, 2>, s: f64| {
        let (a, sg) = (1.0 - s, s);
        let eps = mixture.epsilon(x, a, sg);
        let x0 = (x.clone() - eps.clone().mul_scalar(sg)).div_scalar(a);
        eps - x0
    };
    for (order, lo, hi) in [(1usize, 0.85, 1.15), (2, 1.7, 2.3)] {
        let mut errs = Vec::new();
        for n in [16usize, 32, 64] {
            let grid: Vec<GridPoint> = (0..=n)
                .map(|i| {
                    let s = s0 + (s1 - s0) * i as f64 / n as f64;
                    GridPoint::from_flow_sigma(s, s)
                })
                .collect();
            let c = DpmSolverMultistepConfig::new()
                .with_solver_order(order)
                .with_prediction_type(preferent_samplers::prediction::PredictionType::Flow)
                .with_lower_order_final(false)
                .with_final_sigmas_type(FinalSigmas::SigmaMin);
            let mut s = Sampler::<B, 2, _>::new(DpmSolverMultistep::from_grid(c, grid).unwrap());
            let x0: Vec<f32> = study.x_start.iter().map(|v| *v as f32).collect();
            let x = Tensor::<B, 2>::from_data(TensorData::new(x0, [batch, d]), &device());
            let out = to_vec(sample(&mut s, model, x, |_| {}).unwrap());
            let mse: f64 = out
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
                / out.len() as f64;
            errs.push(mse.sqrt());
        }
        let o: Vec<f64> = errs.windows(2).map(|w| (w[0] / w[1]).log2()).collect();
        eprintln!("flow DPM++ {order}M: errors {errs:?}, orders {o:?}");
        assert!(
            o.iter().all(|p| *p > lo && *p < hi),
            "flow DPM++ {order}M orders {o:?} outside ({lo}, {hi})"
        );
    }
}
