//! The solver-family conformance macro.

/// The conformance suite every [`preferent_samplers`](../preferent_samplers/index.html) solver
/// instantiates (diffusers' `SchedulerCommonTest`, argmin's `test_trait_impl!`).
///
/// `solver_conformance!(module, ConfigType, config_expr, |config, steps| constructor)` generates
/// a test module that checks, on the current lane's backend and `[2, 3]` host-built inputs:
/// - shapes of every step output and of the final sample, and that the typed grid agrees with
///   the sampler (`timesteps` = model times of the grid's evaluation points);
/// - determinism (two runs with the same injected noise are equal) and that a serde round trip of
///   the configuration drives an identical run (and an identical [`TimeGrid`]);
/// - every step count `1..=1000` builds a grid of monotone non-increasing σ, and full runs at
///   1, 2, 3, 10 and 1000 steps stay finite (1000 steps duplicates training timesteps);
/// - `Send + Sync` for the solver, its state and the sampler;
/// - clone-then-step equals step, `peek` equals `step` and commits nothing;
/// - a recorded trajectory re-scored with its own model outputs reproduces every step;
/// - typed errors: past the end, mismatched shapes, a begin index past the end, and a NaN model
///   output reported as `NonFinite` by the sampling loop;
/// - forward noising at evaluation `k` is `α_k x₀ + σ_k n` of the grid point, per row too.
///
/// [`TimeGrid`]: ../preferent_samplers/schedule/struct.TimeGrid.html
#[macro_export]
macro_rules! solver_conformance {
    ($name:ident, $cfg:ty, $config:expr, $build:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use ::burn::tensor::Tensor;
            use ::preferent_samplers::solvers::{Sampler, Solver, SolverSpec};
            use ::preferent_samplers::{SamplerError, SamplerResult};
            use $crate::{assert_close, device, tensor, to_vec, TestBackend as B};

            fn config() -> $cfg {
                $config
            }

            fn make(c: $cfg, steps: usize) -> SamplerResult<impl Solver<B, 2>> {
                let f = $build;
                f(c, steps)
            }

            fn sampler(steps: usize) -> Sampler<B, 2, impl Solver<B, 2>> {
                Sampler::new(make(config(), steps).expect("default config builds"))
            }

            fn x0() -> Tensor<B, 2> {
                let v: Vec<f64> = (0..6).map(|i| (i as f64 - 2.5) / 3.0).collect();
                tensor::<B, 2>(&v, [2, 3], &device())
            }

            fn noise(k: usize) -> Tensor<B, 2> {
                let v: Vec<f64> = (0..6)
                    .map(|i| (((i + 7 * k) * 37 % 11) as f64 - 5.0) / 4.0)
                    .collect();
                tensor::<B, 2>(&v, [2, 3], &device())
            }

            /// diffusers' dummy model: `x · t/(t + 1)` (bounded for every time kind).
            fn model(x: &Tensor<B, 2>, t: f64) -> Tensor<B, 2> {
                x.clone().mul_scalar(t.abs() / (t.abs() + 1.0))
            }

            fn run<S: Solver<B, 2>>(s: &mut Sampler<B, 2, S>) -> Vec<f64> {
                let x = x0().mul_scalar(s.init_noise_sigma());
                to_vec(
                    s.sample_with_noise(model, x, |k| Some(noise(k)), |_| {})
                        .expect("sampling succeeds"),
                )
            }

            #[test]
            fn shapes_grid_and_determinism() {
                let mut s = sampler(8);
                let grid = s.time_grid().clone();
                assert_eq!(grid.len(), s.len());
                assert_eq!(grid.model_times(), s.timesteps());
                for k in 0..grid.len() {
                    assert_eq!(grid.point(k).map(|p| p.t), Some(s.timesteps()[k]));
                }
                assert!(s.order() >= 1);
                let mut x = x0();
                while !s.is_done() {
                    let t = s.next_time().unwrap();
                    let out = s.step(model(&x, t), x, Some(noise(1))).unwrap();
                    assert_eq!(out.prev_sample.dims(), [2, 3]);
                    if let Some(p) = &out.pred_original_sample {
                        assert_eq!(p.dims(), [2, 3]);
                    }
                    if let Some(tr) = &out.transition {
                        assert_eq!(tr.mean.dims(), [2, 3]);
                        assert!(s.is_stochastic(), "a deterministic solver exposed a transition");
                    }
                    x = out.prev_sample;
                }
                let (a, b) = (run(&mut sampler(8)), run(&mut sampler(8)));
                assert_eq!(a.len(), 6);
                assert_eq!(a, b, "same noise, different samples");
            }

            #[test]
            fn serde_round_trip_drives_an_identical_run() {
                let c = config();
                let js = ::serde_json::to_string(&c).unwrap();
                let back: $cfg = ::serde_json::from_str(&js).unwrap();
                assert_eq!(::serde_json::to_string(&back).unwrap(), js);
                let (a, b) = (make(c, 9).unwrap(), make(back, 9).unwrap());
                let grid_js = ::serde_json::to_string(a.time_grid()).unwrap();
                let grid_back: ::preferent_samplers::schedule::TimeGrid =
                    ::serde_json::from_str(&grid_js).unwrap();
                // serde_json's default float parser may be off by one ulp.
                assert_eq!(grid_back.kind(), a.time_grid().kind());
                assert_eq!(grid_back.len(), a.time_grid().len());
                let flat = |g: &::preferent_samplers::schedule::TimeGrid| -> Vec<f64> {
                    g.points().iter().flat_map(|p| [p.t, p.alpha, p.sigma]).collect()
                };
                assert_close(&flat(&grid_back), &flat(a.time_grid()), 1e-15, 1e-300);
                assert_eq!(a.time_grid(), b.time_grid());
                assert_eq!(run(&mut Sampler::new(a)), run(&mut Sampler::new(b)));
            }

            #[test]
            fn every_step_count_builds_and_samples_finitely() {
                for n in 1..=1000usize {
                    let s = make(config(), n).unwrap_or_else(|e| panic!("N = {n}: {e}"));
                    let g = s.time_grid();
                    assert!(!g.is_empty(), "N = {n}");
                    let pts = g.points();
                    assert!(
                        pts.windows(2).all(|w| w[1].sigma <= w[0].sigma * (1.0 + 1e-12)),
                        "N = {n}: σ increases along the grid"
                    );
                }
                for n in [1usize, 2, 3, 10, 1000] {
                    let v = run(&mut sampler(n));
                    assert!(v.iter().all(|x| x.is_finite()), "N = {n}: {v:?}");
                }
            }

            #[test]
            fn send_sync_and_clone() {
                fn send_sync<T: Send + Sync + Clone>(_: &T) {}
                let s = sampler(5);
                send_sync(s.solver());
                send_sync(s.state());
                send_sync(&s);
            }

            #[test]
            fn clone_then_step_equals_step_and_peek_commits_nothing() {
                let mut s = sampler(10);
                let mut x = x0();
                for k in 0..4 {
                    let t = s.next_time().unwrap();
                    x = s.step(model(&x, t), x, Some(noise(k))).unwrap().prev_sample;
                }
                let t = s.next_time().unwrap();
                let mut c = s.clone();
                let peeked = s.peek(model(&x, t), x.clone(), Some(noise(9))).unwrap();
                assert_eq!(s.step_index(), 4, "peek moved the sampler");
                let a = s.step(model(&x, t), x.clone(), Some(noise(9))).unwrap();
                let b = c.step(model(&x, t), x, Some(noise(9))).unwrap();
                assert_eq!(s.step_index(), 5);
                assert_eq!(to_vec(a.prev_sample.clone()), to_vec(b.prev_sample));
                assert_eq!(to_vec(a.prev_sample), to_vec(peeked.prev_sample));
            }

            #[test]
            fn trajectory_rescore_reproduces_every_step() {
                let mut s = sampler(6);
                let x = x0().mul_scalar(s.init_noise_sigma());
                let tr = s
                    .sample_trajectory(model, x, |k| Some(noise(k)), |_| {})
                    .unwrap();
                assert_eq!(tr.steps.len(), s.len());
                for (k, st) in tr.steps.iter().enumerate() {
                    assert_eq!(st.index, k);
                    let again = tr.rescore(k, model(&st.sample, st.t)).unwrap();
                    assert_close(&to_vec(again.prev_sample), &to_vec(st.next.clone()), 1e-6, 1e-6);
                }
                let last = tr.steps.last().unwrap();
                assert_eq!(to_vec(tr.sample.clone()), to_vec(last.next.clone()));
            }

            #[test]
            fn typed_errors() {
                let mut s = sampler(1);
                let wrong = tensor::<B, 2>(&[0.0; 4], [2, 2], &device());
                assert!(matches!(
                    s.step(wrong, x0(), None),
                    Err(SamplerError::ShapeMismatch { .. })
                ));
                assert_eq!(s.step_index(), 0, "a failed step moved the sampler");
                if s.is_stochastic() {
                    let bad = tensor::<B, 2>(&[0.0; 4], [2, 2], &device());
                    assert!(matches!(
                        s.step(x0(), x0(), Some(bad)),
                        Err(SamplerError::ShapeMismatch { what: "noise", .. })
                    ));
                }
                while !s.is_done() {
                    s.step(x0(), x0(), None).unwrap();
                }
                let len = s.len();
                assert!(matches!(
                    s.step(x0(), x0(), None),
                    Err(SamplerError::PastEnd { index, .. }) if index == len
                ));
                assert!(s.set_begin_index(len).is_err());
                s.reset();
                assert_eq!(s.step_index(), 0);
                let nan = |x: &Tensor<B, 2>, _t: f64| x.clone().mul_scalar(f64::NAN);
                let mut s = sampler(4);
                assert!(matches!(
                    s.sample(nan, x0(), |_| {}),
                    Err(SamplerError::NonFinite { .. })
                ));
                let mut s = sampler(4);
                assert!(matches!(
                    s.sample_trajectory(nan, x0(), |_| None, |_| {}),
                    Err(SamplerError::NonFinite { step: 0, .. })
                ));
            }

            #[test]
            fn forward_noising_matches_the_grid() {
                let s = sampler(7);
                let g = s.time_grid().clone();
                let k = g.len() - 1;
                let p = g.point(k).unwrap();
                let got = to_vec(s.add_noise(x0(), noise(2), k).unwrap());
                let want: Vec<f64> = to_vec(x0())
                    .iter()
                    .zip(to_vec(noise(2)))
                    .map(|(a, n)| p.alpha * a + p.sigma * n)
                    .collect();
                assert_close(&got, &want, 1e-5, 1e-5);
                let rows = to_vec(s.add_noise_rows(x0(), noise(2), &[k, 0]).unwrap());
                let q = g.point(0).unwrap();
                assert_close(&rows[..3], &want[..3], 1e-5, 1e-5);
                let x = to_vec(x0());
                let n = to_vec(noise(2));
                let row1: Vec<f64> = (3..6).map(|i| q.alpha * x[i] + q.sigma * n[i]).collect();
                assert_close(&rows[3..], &row1, 1e-5, 1e-5);
                assert!(s.add_noise(x0(), noise(2), g.len()).is_err());
            }
        }
    };
}
