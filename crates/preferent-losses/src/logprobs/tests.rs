//! Tests of the log-prob paths. Goldens from `tests/reference/logprobs_reference.py` (numpy
//! float64 + scipy `logsumexp`), output pasted in `golden`.

use burn::tensor::{backend::Backend, Bool, Int, Tensor, TensorData};
use preferent_testkit::{
    assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    F32_MATMUL_RTOL,
};

use super::*;
use crate::LossError;

/// `(rtol, atol)` of fused-vs-direct gradient comparisons: `(1e-4, 1e-5)` in full f32, widened to
/// the lane's [`F32_MATMUL_RTOL`] where matmuls run in TF32 (Cuda).
fn grad_tol() -> (f64, f64) {
    (
        1e-4f64.max(F32_MATMUL_RTOL),
        1e-5f64.max(F32_MATMUL_RTOL / 10.0),
    )
}

#[rustfmt::skip]
mod golden {
    pub(super) const PER_TOKEN: [f64; 6] = [-0.4722606813865564, -1.4643687841079327, 0.0, 0.0, -5.723829785599185, -0.6063617369361509];
    pub(super) const SUM: [f64; 2] = [-1.936629465494489, -6.330191522535336];
    pub(super) const MEAN: [f64; 2] = [-0.9683147327472446, -3.165095761267668];
    pub(super) const COUNTS: [f64; 2] = [2.0, 2.0];
    pub(super) const FUSED_PER_TOKEN: [f64; 6] = [-2.767094125257767, -4.380314056665784, 0.0, 0.0, -4.5528456798265635, -2.468492611510855];
    pub(super) const FUSED_SUM: [f64; 2] = [-7.147408181923551, -7.021338291337418];
}

#[rustfmt::skip]
const LOGITS: [f64; 30] = [
    1.0, 2.0, 0.5, -1.0, 3.0,  1000.0, 999.0, -1000.0, 0.0, 998.5,  -0.3, 0.2, 0.1, 0.0, -2.0,
    0.0, 0.0, 0.0, 0.0, 0.0,  -5.0, 4.0, 2.5, -1.5, 0.25,  -800.0, -801.0, -799.5, -900.0, -805.0,
];
const LABELS: [i64; 6] = [4, 1, -100, 2, 3, 2];
const MASK: [bool; 6] = [true, true, false, false, true, true];
#[rustfmt::skip]
const HIDDEN: [f64; 24] = [
    0.5, -1.0, 2.0, 0.25,  1.5, 0.0, -0.5, 1.0,  -2.0, 0.75, 0.3, -0.1,
    0.2, 0.4, -0.6, 0.8,  -1.2, 2.2, 0.1, -0.3,  0.9, -0.7, 1.1, 0.05,
];
#[rustfmt::skip]
const WEIGHT: [f64; 20] = [
    0.3, -0.2, 0.5, 1.0,  -0.4, 0.8, 0.1, -0.6,  1.2, 0.05, -0.9, 0.3,  0.0, -1.1, 0.7, 0.2,
    0.6, 0.4, 0.4, -0.8,
];
const BIAS: [f64; 5] = [0.1, -0.2, 0.0, 0.3, -0.05];

fn labels<B: Backend>(values: &[i64], shape: [usize; 2]) -> Tensor<B, 2, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}

fn mask<B: Backend>(values: &[bool], shape: [usize; 2]) -> Tensor<B, 2, Bool> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), &Default::default())
}

fn logits<B: Backend>() -> Tensor<B, 3> {
    tensor::<B, 3>(&LOGITS, [2, 3, 5], &Default::default())
}

fn check_golden<B: Backend>(out: SequenceLogProbs<B>) {
    let per_token = to_vec(out.per_token);
    assert!(per_token.iter().all(|x| x.is_finite()));
    assert_close(&per_token, &golden::PER_TOKEN, 1e-5, 1e-5);
    assert_close(&to_vec(out.sum), &golden::SUM, 1e-5, 1e-5);
    assert_close(&to_vec(out.mean), &golden::MEAN, 1e-5, 1e-5);
    assert_close(&to_vec(out.token_counts), &golden::COUNTS, 0.0, 0.0);
}

#[test]
fn direct_path_matches_numpy_including_extreme_logits() {
    let out =
        sequence_logprobs::<TestBackend>(logits(), labels(&LABELS, [2, 3]), mask(&MASK, [2, 3]))
            .unwrap();
    check_golden(out);
}

#[test]
fn chunked_path_matches_numpy_for_every_chunk_size() {
    for rows in [1, 2, 4, 6, 100] {
        let out = sequence_logprobs_chunked::<TestBackend>(
            logits(),
            labels(&LABELS, [2, 3]),
            mask(&MASK, [2, 3]),
            rows,
        )
        .unwrap();
        check_golden(out);
    }
}

#[test]
fn fused_path_matches_numpy_and_direct_path() {
    let d = device();
    for rows in [1, 4, 100] {
        let out = sequence_logprobs_fused::<TestBackend>(
            tensor(&HIDDEN, [2, 3, 4], &d),
            tensor(&WEIGHT, [5, 4], &d),
            Some(tensor(&BIAS, [5], &d)),
            labels(&LABELS, [2, 3]),
            mask(&MASK, [2, 3]),
            rows,
        )
        .unwrap();
        // The hidden × weight product runs in TF32 on Cuda (testkit::F32_MATMUL_RTOL).
        let mm = F32_MATMUL_RTOL;
        assert_close(&to_vec(out.per_token), &golden::FUSED_PER_TOKEN, mm, mm);
        assert_close(&to_vec(out.sum), &golden::FUSED_SUM, mm, mm);
    }
    // without bias = direct path on explicitly formed logits
    let h: Tensor<TestBackend, 3> = tensor(&HIDDEN, [2, 3, 4], &d);
    let w: Tensor<TestBackend, 2> = tensor(&WEIGHT, [5, 4], &d);
    let full = h
        .clone()
        .reshape([6, 4])
        .matmul(w.clone().transpose())
        .reshape([2, 3, 5]);
    let direct = sequence_logprobs(full, labels(&LABELS, [2, 3]), mask(&MASK, [2, 3])).unwrap();
    let fused =
        sequence_logprobs_fused(h, w, None, labels(&LABELS, [2, 3]), mask(&MASK, [2, 3]), 2)
            .unwrap();
    assert_close(
        &to_vec(fused.per_token),
        &to_vec(direct.per_token),
        F32_MATMUL_RTOL,
        F32_MATMUL_RTOL / 10.0,
    );
}

/// Host f64 reference of `Σ_bt c_bt·per_token + Σ_b u_b·mean_b` for the FD gradient check.
fn host_objective(x: &[f64]) -> f64 {
    let (c, u) = weights();
    let mut total = 0.0;
    let mut sums = [0.0; 2];
    for row in 0..6 {
        if !MASK[row] {
            continue;
        }
        let z = &x[row * 5..row * 5 + 5];
        let m = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
        let lp = z[LABELS[row] as usize] - lse;
        total += c[row] * lp;
        sums[row / 3] += lp;
    }
    total + u[0] * sums[0] / 2.0 + u[1] * sums[1] / 2.0
}

fn weights() -> ([f64; 6], [f64; 2]) {
    ([0.7, -1.3, 2.0, 0.4, 1.1, -0.6], [0.9, -0.35])
}

fn objective<B: Backend>(out: SequenceLogProbs<B>) -> Tensor<B, 1> {
    let d = out.per_token.device();
    let (c, u) = weights();
    (out.per_token * tensor::<B, 2>(&c, [2, 3], &d)).sum()
        + (out.mean * tensor::<B, 1>(&u, [2], &d)).sum()
}

type Path = fn(Tensor<TestAutodiffBackend, 3>) -> SequenceLogProbs<TestAutodiffBackend>;

#[test]
fn direct_and_chunked_gradients_match_finite_differences() {
    let fd = finite_difference(host_objective, &LOGITS, 1e-6);
    let paths: [(&str, Path); 3] = [
        ("direct", |x| {
            sequence_logprobs(x, labels(&LABELS, [2, 3]), mask(&MASK, [2, 3])).unwrap()
        }),
        ("chunked(1)", |x| {
            sequence_logprobs_chunked(x, labels(&LABELS, [2, 3]), mask(&MASK, [2, 3]), 1).unwrap()
        }),
        ("chunked(4)", |x| {
            sequence_logprobs_chunked(x, labels(&LABELS, [2, 3]), mask(&MASK, [2, 3]), 4).unwrap()
        }),
    ];
    for (name, path) in paths {
        let x = logits::<TestAutodiffBackend>().require_grad();
        let grads = objective(path(x.clone())).backward();
        let g = to_vec(x.grad(&grads).expect("gradient"));
        for (i, (a, e)) in g.iter().zip(&fd).enumerate() {
            assert!(
                (a - e).abs() <= 1e-3 * e.abs() + 1e-4,
                "{name}: index {i}: {a} vs FD {e}"
            );
        }
    }
}

#[test]
fn fused_gradients_equal_direct_gradients_for_hidden_weight_and_bias() {
    let d = device();
    let leaves = || {
        (
            tensor::<TestAutodiffBackend, 3>(&HIDDEN, [2, 3, 4], &d).require_grad(),
            tensor::<TestAutodiffBackend, 2>(&WEIGHT, [5, 4], &d).require_grad(),
            tensor::<TestAutodiffBackend, 1>(&BIAS, [5], &d).require_grad(),
        )
    };
    // direct: form the logits explicitly
    let (h, w, b) = leaves();
    let full = h.clone().reshape([6, 4]).matmul(w.clone().transpose()) + b.clone().reshape([1, 5]);
    let out = sequence_logprobs(
        full.reshape([2, 3, 5]),
        labels(&LABELS, [2, 3]),
        mask(&MASK, [2, 3]),
    )
    .unwrap();
    let grads = objective(out).backward();
    let expected: Vec<Vec<f64>> = vec![
        to_vec(h.grad(&grads).unwrap()),
        to_vec(w.grad(&grads).unwrap()),
        to_vec(b.grad(&grads).unwrap()),
    ];
    for rows in [1, 4] {
        let (h, w, b) = leaves();
        let out = sequence_logprobs_fused(
            h.clone(),
            w.clone(),
            Some(b.clone()),
            labels(&LABELS, [2, 3]),
            mask(&MASK, [2, 3]),
            rows,
        )
        .unwrap();
        let grads = objective(out).backward();
        let got = [
            to_vec(h.grad(&grads).unwrap()),
            to_vec(w.grad(&grads).unwrap()),
            to_vec(b.grad(&grads).unwrap()),
        ];
        let (grtol, gatol) = grad_tol();
        for (g, e) in got.iter().zip(&expected) {
            assert_close(g, e, grtol, gatol);
        }
    }
}

#[test]
fn cpu_chunk_rows_targets_half_a_mebibyte_of_f32_rows() {
    // 524 288 B / (4 B · V), at least one row
    assert_eq!(cpu_chunk_rows(32000), 4);
    assert_eq!(cpu_chunk_rows(256), 512);
    assert_eq!(cpu_chunk_rows(131_072), 1);
    assert_eq!(cpu_chunk_rows(1_000_000), 1);
    assert_eq!(cpu_chunk_rows(0), cpu_chunk_rows(1));
    assert_eq!(cpu_chunk_rows(1), CPU_CHUNK_BYTES / 4);
}

#[test]
fn shift_for_next_token_drops_last_score_and_first_label() {
    let d = device();
    let scores =
        tensor::<TestBackend, 3>(&(0..24).map(f64::from).collect::<Vec<_>>(), [2, 4, 3], &d);
    let ids = labels::<TestBackend>(&[10, 11, 12, 13, 20, 21, 22, 23], [2, 4]);
    let m = mask::<TestBackend>(
        &[false, false, true, true, false, true, true, false],
        [2, 4],
    );
    let a = shift_for_next_token(scores, ids, m).unwrap();
    assert_eq!(a.scores.dims(), [2, 3, 3]);
    assert_close(
        &to_vec(a.scores.slice([1..2, 0..1, 0..3])),
        &[12.0, 13.0, 14.0],
        0.0,
        0.0,
    );
    let l: Vec<i64> = a.labels.into_data().iter::<i64>().collect();
    assert_eq!(l, vec![11, 12, 13, 21, 22, 23]);
    let mk: Vec<bool> = preferent_testkit::to_bool_vec(a.mask);
    assert_eq!(mk, vec![false, true, true, true, true, false]);
    let short = tensor::<TestBackend, 3>(&[1.0, 2.0], [1, 1, 2], &d);
    assert_eq!(
        shift_for_next_token(short, labels(&[0], [1, 1]), mask(&[true], [1, 1])).unwrap_err(),
        LossError::EmptyBatch { name: "scores" }
    );
}

#[test]
fn bad_inputs_are_typed_errors() {
    let d = device();
    let e = sequence_logprobs::<TestBackend>(
        logits(),
        labels(&[0, 1, 2, 3], [2, 2]),
        mask(&MASK, [2, 3]),
    )
    .unwrap_err();
    assert_eq!(
        e,
        LossError::ShapeMismatch {
            name: "labels",
            actual: vec![2, 2],
            expected: vec![2, 3]
        }
    );
    let e = sequence_logprobs::<TestBackend>(
        logits(),
        labels(&LABELS, [2, 3]),
        mask(&[true; 4], [2, 2]),
    )
    .unwrap_err();
    assert!(matches!(e, LossError::ShapeMismatch { name: "mask", .. }));
    // an unmasked label outside [0, V)
    let e = sequence_logprobs::<TestBackend>(
        logits(),
        labels(&[4, 5, 0, 0, 0, 0], [2, 3]),
        mask(&MASK, [2, 3]),
    )
    .unwrap_err();
    assert_eq!(
        e,
        LossError::IndexOutOfRange {
            name: "labels",
            value: 5,
            bound: 5
        }
    );
    let e = sequence_logprobs_chunked::<TestBackend>(
        logits(),
        labels(&[-100, 1, 0, 0, 0, 0], [2, 3]),
        mask(&MASK, [2, 3]),
        2,
    )
    .unwrap_err();
    assert_eq!(
        e,
        LossError::IndexOutOfRange {
            name: "labels",
            value: -100,
            bound: 5
        }
    );
    let empty = Tensor::<TestBackend, 3>::zeros([0, 3, 5], &d);
    let e = sequence_logprobs(empty, labels(&[], [0, 3]), mask(&[], [0, 3])).unwrap_err();
    assert_eq!(e, LossError::EmptyBatch { name: "labels" });
    let e = sequence_logprobs_chunked::<TestBackend>(
        logits(),
        labels(&LABELS, [2, 3]),
        mask(&MASK, [2, 3]),
        0,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        LossError::InvalidParameter {
            name: "chunk_rows",
            ..
        }
    ));
    let h = || tensor::<TestBackend, 3>(&HIDDEN, [2, 3, 4], &d);
    let e = sequence_logprobs_fused(
        h(),
        tensor(&WEIGHT[..15], [5, 3], &d),
        None,
        labels(&LABELS, [2, 3]),
        mask(&MASK, [2, 3]),
        2,
    )
    .unwrap_err();
    assert_eq!(
        e,
        LossError::ShapeMismatch {
            name: "weight",
            actual: vec![5, 3],
            expected: vec![5, 4]
        }
    );
    let e = sequence_logprobs_fused(
        h(),
        tensor(&WEIGHT, [5, 4], &d),
        Some(tensor(&BIAS[..4], [4], &d)),
        labels(&LABELS, [2, 3]),
        mask(&MASK, [2, 3]),
        2,
    )
    .unwrap_err();
    assert!(matches!(e, LossError::ShapeMismatch { name: "bias", .. }));
}

#[test]
fn fused_autodiff_values_and_gradients_equal_direct_path() {
    let d = device();
    let leaves = || {
        (
            tensor::<TestAutodiffBackend, 3>(&HIDDEN, [2, 3, 4], &d).require_grad(),
            tensor::<TestAutodiffBackend, 2>(&WEIGHT, [5, 4], &d).require_grad(),
            tensor::<TestAutodiffBackend, 1>(&BIAS, [5], &d).require_grad(),
        )
    };
    for with_bias in [true, false] {
        let (h, w, b) = leaves();
        let mut full = h.clone().reshape([6, 4]).matmul(w.clone().transpose());
        if with_bias {
            full = full + b.clone().reshape([1, 5]);
        }
        let direct = sequence_logprobs(
            full.reshape([2, 3, 5]),
            labels(&LABELS, [2, 3]),
            mask(&MASK, [2, 3]),
        )
        .unwrap();
        let direct_values = to_vec(direct.per_token.clone());
        let grads = objective(direct).backward();
        let expected = [
            to_vec(h.grad(&grads).unwrap()),
            to_vec(w.grad(&grads).unwrap()),
        ];
        let expected_bias = with_bias.then(|| to_vec(b.grad(&grads).unwrap()));
        for rows in [1, 4, 100] {
            let (h, w, b) = leaves();
            let out = sequence_logprobs_fused_autodiff(
                h.clone(),
                w.clone(),
                with_bias.then(|| b.clone()),
                labels(&LABELS, [2, 3]),
                mask(&MASK, [2, 3]),
                rows,
            )
            .unwrap();
            // Chunked and full matmuls round differently in TF32 on Cuda.
            let mm = F32_MATMUL_RTOL;
            assert_close(
                &to_vec(out.per_token.clone()),
                &direct_values,
                mm,
                mm / 10.0,
            );
            if with_bias {
                assert_close(
                    &to_vec(out.per_token.clone()),
                    &golden::FUSED_PER_TOKEN,
                    mm,
                    mm,
                );
            }
            let grads = objective(out).backward();
            let (grtol, gatol) = grad_tol();
            assert_close(&to_vec(h.grad(&grads).unwrap()), &expected[0], grtol, gatol);
            assert_close(&to_vec(w.grad(&grads).unwrap()), &expected[1], grtol, gatol);
            if let Some(eb) = &expected_bias {
                assert_close(&to_vec(b.grad(&grads).unwrap()), eb, grtol, gatol);
            }
        }
    }
    // only the weight tracked (frozen hidden states): still correct
    let (_, w, _) = leaves();
    let h = tensor::<TestAutodiffBackend, 3>(&HIDDEN, [2, 3, 4], &d);
    let out = sequence_logprobs_fused_autodiff(
        h,
        w.clone(),
        None,
        labels(&LABELS, [2, 3]),
        mask(&MASK, [2, 3]),
        2,
    )
    .unwrap();
    let grads = objective(out).backward();
    assert_eq!(to_vec(w.grad(&grads).unwrap()).len(), 20);
    let e = sequence_logprobs_fused_autodiff(
        tensor::<TestAutodiffBackend, 3>(&HIDDEN, [2, 3, 4], &d),
        tensor::<TestAutodiffBackend, 2>(&WEIGHT, [5, 4], &d),
        None,
        labels(&LABELS, [2, 3]),
        mask(&MASK, [2, 3]),
        0,
    )
    .unwrap_err();
    assert!(matches!(
        e,
        LossError::InvalidParameter {
            name: "chunk_rows",
            ..
        }
    ));
}
