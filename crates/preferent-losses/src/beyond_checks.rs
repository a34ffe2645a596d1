//! Input validation and host read-back shared by the losses beyond the pairwise DPO family
//! (SimPO, ORPO, KTO, reward-model losses, SRPO, BRAIn, token rewards, DPORM).
//!
//! Private to the crate: every public loss reports problems through [`LossError`].

use burn::tensor::{backend::Backend, Bool, Tensor, TensorData};

use crate::error::LossError;

/// Reads a tensor back to the host as `f64` (detached; any float dtype).
pub(crate) fn host<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.detach().into_data().iter::<f64>().collect()
}

/// Reads a boolean tensor back to the host.
pub(crate) fn host_bool<B: Backend, const D: usize>(t: Tensor<B, D, Bool>) -> Vec<bool> {
    t.float()
        .into_data()
        .iter::<f64>()
        .map(|v| v > 0.5)
        .collect()
}

/// Mean of host values; `0.0` for an empty slice.
pub(crate) fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Fraction of `true` values; `0.0` for an empty slice.
pub(crate) fn fraction(v: impl Iterator<Item = bool>) -> f64 {
    let (mut hit, mut n) = (0usize, 0usize);
    for b in v {
        n += 1;
        hit += usize::from(b);
    }
    if n == 0 {
        0.0
    } else {
        hit as f64 / n as f64
    }
}

/// `Err(ShapeMismatch)` unless `actual == expected`.
pub(crate) fn same_shape(
    name: &'static str,
    actual: &[usize],
    expected: &[usize],
) -> Result<(), LossError> {
    if actual == expected {
        Ok(())
    } else {
        Err(LossError::ShapeMismatch {
            name,
            actual: actual.to_vec(),
            expected: expected.to_vec(),
        })
    }
}

/// `Err(EmptyBatch)` if any dimension is zero.
pub(crate) fn non_empty(name: &'static str, dims: &[usize]) -> Result<(), LossError> {
    if dims.contains(&0) {
        Err(LossError::EmptyBatch { name })
    } else {
        Ok(())
    }
}

/// `Err(InvalidParameter)` unless `value` is finite and `> 0`.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<(), LossError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(LossError::InvalidParameter {
            name,
            value,
            requirement: "finite and > 0",
        })
    }
}

/// `Err(InvalidParameter)` unless `value` is finite and `≥ 0`.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<(), LossError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(LossError::InvalidParameter {
            name,
            value,
            requirement: "finite and >= 0",
        })
    }
}

/// `Err(NonFinite)` if the tensor holds NaN or ±∞ (reads it back to the host).
pub(crate) fn finite_tensor<B: Backend, const D: usize>(
    name: &'static str,
    t: &Tensor<B, D>,
) -> Result<(), LossError> {
    if host(t.clone()).iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(LossError::NonFinite { name })
    }
}

/// A `[rows, cols]` float tensor built from a host predicate (1.0 where `f(r, c)`).
pub(crate) fn indicator<B: Backend>(
    rows: usize,
    cols: usize,
    f: impl Fn(usize, usize) -> bool,
    device: &B::Device,
) -> Tensor<B, 2> {
    let data: Vec<f32> = (0..rows * cols)
        .map(|i| if f(i / cols, i % cols) { 1.0 } else { 0.0 })
        .collect();
    Tensor::from_data(TensorData::new(data, [rows, cols]), device)
}
