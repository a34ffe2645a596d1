//! Dynamic thresholding of the x₀ prediction (Imagen), with diffusers' clamp semantics.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};

/// Dynamic-thresholding parameters (diffusers `dynamic_thresholding_ratio`, `sample_max_value`).
///
/// Defaults: ratio 0.995, max 1.0 (diffusers; Imagen arXiv:2205.11487 §2.3).
#[derive(Config, Debug, PartialEq)]
pub struct ThresholdingConfig {
    /// Quantile of |x₀| per batch item.
    #[config(default = 0.995)]
    pub ratio: f64,
    /// Upper clamp of the threshold s.
    #[config(default = 1.0)]
    pub sample_max_value: f64,
}

/// Dynamic thresholding of a batch of x₀ predictions.
///
/// ```text
/// per batch item b (over all non-batch elements):
///   s_b = quantile(|x₀_b|, ratio)              (linear interpolation, as torch.quantile)
///   s_b = min(max(s_b, 1), sample_max_value)   (torch.clamp(min=1, max=m); m < 1 gives m)
///   x₀_b ← clamp(x₀_b, −s_b, s_b) / s_b
/// ```
///
/// # Shapes
/// `x0: [batch, …]` (D ≥ 1); returns the same shape.
///
/// # References
/// Saharia et al., Imagen (arXiv:2205.11487) §2.3; diffusers `_threshold_sample`.
pub fn dynamic_threshold<B: Backend, const D: usize>(
    x0: Tensor<B, D>,
    ratio: f64,
    sample_max_value: f64,
) -> Tensor<B, D> {
    let dims = x0.dims();
    let b = dims[0];
    let n: usize = dims[1..].iter().product();
    let flat: Tensor<B, 2> = x0.reshape([b, n]);
    let sorted = flat.clone().abs().sort(1);
    let pos = ratio.clamp(0.0, 1.0) * (n.max(1) - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = pos - lo as f64;
    let v_lo = sorted.clone().narrow(1, lo, 1);
    let v_hi = sorted.narrow(1, hi, 1);
    let s = v_lo.clone() + (v_hi - v_lo).mul_scalar(frac);
    // torch.clamp(s, min=1, max=m) = min(max(s, 1), m), which is m when m < 1.
    let s = s.clamp_min(1.0).clamp_max(sample_max_value).expand([b, n]);
    let clamped = flat.max_pair(s.clone().neg()).min_pair(s.clone()) / s;
    clamped.reshape(dims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    // Reference (torch semantics, reproduced with numpy; tests/reference/threshold_reference.py):
    //   x = [[-3, -1, 0.5, 2], [0.1, -0.2, 0.3, 0.4]]; ratio 0.75, max 2.5
    //   item 0: |x| sorted [0.5, 1, 2, 3]; q = 2 + 0.25·1 = 2.25 → s = 2.25
    //           → [-1, -0.444444, 0.222222, 0.888889]
    //   item 1: q = 0.325 → s = 1 → unchanged
    #[test]
    fn thresholding_golden() {
        let d = device();
        let x = tensor::<TestBackend, 2>(&[-3., -1., 0.5, 2., 0.1, -0.2, 0.3, 0.4], [2, 4], &d);
        let y = to_vec(dynamic_threshold(x, 0.75, 2.5));
        let e = [
            -1.0,
            -0.4444444444444444,
            0.2222222222222222,
            0.8888888888888888,
            0.1,
            -0.2,
            0.3,
            0.4,
        ];
        assert_close(&y, &e, 1e-6, 1e-6);
    }

    // max < 1: torch.clamp(min=1, max=0.5) returns 0.5, so x ↦ clamp(x, −0.5, 0.5)/0.5.
    #[test]
    fn max_below_one_follows_torch_clamp() {
        let d = device();
        let x = tensor::<TestBackend, 2>(&[0.1, -0.4, 0.9, -2.0], [1, 4], &d);
        let y = to_vec(dynamic_threshold(x, 0.995, 0.5));
        assert_close(&y, &[0.2, -0.8, 1.0, -1.0], 1e-6, 1e-6);
    }
}
