//! The loss-family conformance macro.

/// The conformance suite every preference loss instantiates (one interface: `Config::init()` →
/// `PreferenceLoss::forward(batch)` → `LossOutput`).
///
/// ```text
/// loss_conformance!(module, config_expr, invalid = [invalid_config_expr],
///                   parts = N, width = W, grad = [k, …], mismatch = [1], build = path::to::build);
/// ```
/// `build::<B>(parts: Vec<Tensor<B, 1>>) -> Batch<B>` (a generic fn in the calling module) turns `N` host-made `[rows·W]` tensors into
/// the loss's batch (reshaping to `[rows, W]` or wider where the loss wants it). The macro checks,
/// on the lane's backend:
/// - the invalid config (when one is given: `invalid = []` for a loss without hyperparameters)
///   fails at `init()` with `LossError::InvalidParameter`;
/// - a clean batch gives a finite `[1]` loss, finite logged metrics (one read) and a clear
///   `non_finite` flag, and the same batch twice gives the same loss;
/// - NaN or +∞ in any part raises the detached `non_finite` flag (no error, no host check);
/// - an empty batch (`rows = 0`) is `LossError::EmptyBatch`, and a part one row longer than the
///   others (the part named in `mismatch`, when the batch has two parts that must agree) is
///   `LossError::ShapeMismatch`;
/// - on the autodiff backend, the gradient of the loss with respect to every part listed in
///   `grad` equals central finite differences of the forward loss (f32: `h = 1e-2`, tolerance
///   `3e-2` relative + `2e-3` absolute).
#[macro_export]
macro_rules! loss_conformance {
    (
        $name:ident,
        $config:expr,
        invalid = [$($invalid:expr)?],
        parts = $parts:expr,
        width = $width:expr,
        grad = [$($g:expr),* $(,)?],
        mismatch = [$($mis:expr)?],
        build = $build:ident $(,)?
    ) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use ::burn::tensor::backend::Backend;
            use ::burn::tensor::Tensor;
            use ::preferent_losses::base::{LossConfig, LossMetrics, PreferenceLoss};
            use ::preferent_losses::LossError;
            use $crate::{
                assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend,
                TestBackend,
            };

            const ROWS: usize = 4;

            fn values(rows: usize) -> Vec<Vec<f64>> {
                (0..$parts)
                    .map(|k: usize| {
                        (0..rows * $width)
                            .map(|i: usize| -0.25 - 2.5 * (((i * 5 + k * 3) % 7) as f64) / 7.0)
                            .collect()
                    })
                    .collect()
            }

            fn parts<B: Backend>(v: &[Vec<f64>], rows: &[usize]) -> Vec<Tensor<B, 1>> {
                v.iter()
                    .zip(rows)
                    .map(|(x, &r)| {
                        tensor::<B, 1>(&x[..r * $width], [r * $width], &Default::default())
                    })
                    .collect()
            }

            fn forward_loss(v: &[Vec<f64>]) -> Result<f64, LossError> {
                let loss = LossConfig::init(&$config).expect("valid config");
                let out = PreferenceLoss::<TestBackend>::forward(
                    &loss,
                    $build::<TestBackend>(parts(v, &[ROWS; $parts])),
                )?;
                Ok(to_vec(out.loss)[0])
            }

            #[test]
            fn validates_at_init() {
                $(
                    assert!(matches!(
                        LossConfig::init(&$invalid),
                        Err(LossError::InvalidParameter { .. })
                    ));
                )?
                assert!(LossConfig::init(&$config).is_ok());
            }

            #[test]
            fn clean_batch_gives_a_finite_loss_metrics_and_a_clear_flag() {
                let loss = LossConfig::init(&$config).unwrap();
                let v = values(ROWS);
                let out = PreferenceLoss::<TestBackend>::forward(
                    &loss,
                    $build::<TestBackend>(parts(&v, &[ROWS; $parts])),
                )
                .unwrap();
                assert_eq!(out.loss.dims(), [1]);
                assert!(!out.is_non_finite(), "clean batch flagged non-finite");
                for (name, x) in out.metrics.to_log() {
                    assert!(x.is_finite(), "metric {name} = {x}");
                }
                let l = to_vec(out.loss)[0];
                assert!(l.is_finite());
                assert_eq!(forward_loss(&v).unwrap(), l, "same batch, different loss");
            }

            #[test]
            fn nan_or_inf_in_any_part_raises_the_flag() {
                let loss = LossConfig::init(&$config).unwrap();
                for k in 0..$parts {
                    for bad in [f64::NAN, f64::INFINITY] {
                        let mut v = values(ROWS);
                        v[k][0] = bad;
                        let out = PreferenceLoss::<TestBackend>::forward(
                            &loss,
                            $build::<TestBackend>(parts(&v, &[ROWS; $parts])),
                        );
                        match out {
                            Ok(out) => assert!(
                                out.is_non_finite(),
                                "{bad} in part {k} passed unnoticed"
                            ),
                            // A part that is validated on the host (e.g. explicit weights) may
                            // refuse it with a typed error instead.
                            Err(e) => assert!(
                                matches!(e, LossError::OutOfDomain { .. } | LossError::NonFinite { .. }),
                                "{bad} in part {k}: {e}"
                            ),
                        }
                    }
                }
            }

            #[test]
            fn empty_and_mismatched_batches_are_typed_errors() {
                let loss = LossConfig::init(&$config).unwrap();
                let v = values(ROWS + 1);
                let e = PreferenceLoss::<TestBackend>::forward(
                    &loss,
                    $build::<TestBackend>(parts(&v, &[0; $parts])),
                );
                assert!(matches!(e, Err(LossError::EmptyBatch { .. })), "{e:?}");
                $(
                    let mut rows = [ROWS; $parts];
                    rows[$mis] = ROWS + 1;
                    let e = PreferenceLoss::<TestBackend>::forward(
                        &loss,
                        $build::<TestBackend>(parts(&v, &rows)),
                    );
                    assert!(matches!(e, Err(LossError::ShapeMismatch { .. })), "{e:?}");
                )?
            }

            #[test]
            fn gradients_match_finite_differences() {
                let loss = LossConfig::init(&$config).unwrap();
                let v = values(ROWS);
                let leaves: Vec<Tensor<TestAutodiffBackend, 1>> = parts(&v, &[ROWS; $parts])
                    .into_iter()
                    .map(|t| t.require_grad())
                    .collect();
                let out = PreferenceLoss::<TestAutodiffBackend>::forward(
                    &loss,
                    $build::<TestAutodiffBackend>(leaves.clone()),
                )
                .unwrap();
                let grads = out.loss.backward();
                for k in [$($g),*] {
                    let g = to_vec(leaves[k].grad(&grads).expect("gradient reaches the part"));
                    let fd = finite_difference(
                        |x: &[f64]| {
                            let mut w = v.clone();
                            w[k] = x.to_vec();
                            forward_loss(&w).unwrap()
                        },
                        &v[k],
                        1e-2,
                    );
                    assert_close(&g, &fd, 3e-2, 2e-3);
                }
                let _ = device();
            }
        }
    };
}
