//! Numerically stable scalar functions on tensors, shared by every loss.
//!
//! burn's plain `log(sigmoid(x))` under- or overflows for |x| ≳ 90 in f32; these helpers use the
//! max-shift forms so that margins in the hundreds (|log p| ≥ 500 is routine for long sequences)
//! stay finite.

use burn::tensor::{backend::Backend, Tensor};

/// `log σ(x) = min(x, 0) − log(1 + e^{−|x|})`, stable for every finite `x`.
///
/// `min(x, 0)` is written `(x − |x|)/2` so that the autodiff subgradients at `x = 0` add up to the
/// true derivative `σ(0) = ½` (a `clamp_max` would give 1 there).
///
/// # Shapes
/// Elementwise; any shape.
///
/// # References
/// The standard max-shift identity, as in PyTorch's `F.logsigmoid`.
pub fn log_sigmoid<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    let abs = x.clone().abs();
    (x - abs.clone()).mul_scalar(0.5) - abs.neg().exp().log1p()
}

/// `softplus(x) = log(1 + eˣ) = −log σ(−x)`, stable for every finite `x`.
///
/// # Shapes
/// Elementwise; any shape.
pub fn softplus<B: Backend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    log_sigmoid(x.neg()).neg()
}

/// `log Σ_j exp(x_j)` along `dim` with the max shift, keeping the reduced dimension (size 1).
///
/// # Shapes
/// `x: [.., N, ..]` → `[.., 1, ..]` along `dim`.
pub fn logsumexp<B: Backend, const D: usize>(x: Tensor<B, D>, dim: usize) -> Tensor<B, D> {
    let m = x.clone().max_dim(dim).detach();
    (x - m.clone()).exp().sum_dim(dim).log() + m
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Tensor;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    // Golden values from numpy (float64):
    //   import numpy as np
    //   x = np.array([-800., -30., -1., 0., 0.5, 30., 800.])
    //   np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x)))
    //   -> [-800., -3.0000000000000935e+01, -1.3132616875182228, -0.6931471805599453,
    //       -0.47407698418010663, -9.357622968839299e-14, 0.]
    #[test]
    fn log_sigmoid_golden_and_extremes() {
        let d = device();
        let x = [-800., -30., -1., 0., 0.5, 30., 800.];
        let y = to_vec(log_sigmoid(tensor::<TestBackend, 1>(&x, [7], &d)));
        let expected = [
            -800.,
            -30.000000000000092,
            -1.3132616875182228,
            -std::f64::consts::LN_2,
            -0.47407698418010663,
            -9.357622968839299e-14,
            0.,
        ];
        assert_close(&y, &expected, 1e-6, 1e-6);
        // softplus(x) = -log_sigmoid(-x)
        let s = to_vec(softplus(tensor::<TestBackend, 1>(&x, [7], &d)));
        assert_close(&s[3..4], &[std::f64::consts::LN_2], 1e-6, 0.0);
        assert_close(&s[6..7], &[800.0], 1e-6, 0.0);
    }

    // numpy: x = [[1., 2., 3.], [1000., 1000., -1000.]];
    //   scipy.special.logsumexp(x, axis=1) -> [3.40760596444438, 1000.6931471805599]
    #[test]
    fn logsumexp_golden_with_large_values() {
        let d = device();
        let x = tensor::<TestBackend, 2>(&[1., 2., 3., 1000., 1000., -1000.], [2, 3], &d);
        let y = to_vec(logsumexp(x, 1));
        assert_close(&y, &[3.40760596444438, 1000.6931471805599], 1e-6, 1e-6);
    }

    #[test]
    fn log_sigmoid_gradient_matches_finite_difference() {
        let d = device();
        let xs = [-40.0, -2.0, -0.3, 0.0, 0.7, 5.0, 40.0];
        let x = tensor::<TestAutodiffBackend, 1>(&xs, [7], &d).require_grad();
        let y: Tensor<TestAutodiffBackend, 1> = log_sigmoid(x.clone()).sum();
        let grads = y.backward();
        let g = to_vec(x.grad(&grads).expect("gradient"));
        let host = |v: &[f64]| {
            v.iter()
                .map(|&x| x.min(0.0) - (-x.abs()).exp().ln_1p())
                .sum::<f64>()
        };
        let fd = finite_difference(host, &xs, 1e-6);
        assert_close(&g, &fd, 1e-4, 1e-5);
    }
}
