//! Test support shared by the preferent crates.
//!
//! One test suite, several backends: every generic test body is instantiated through
//! [`TestBackend`] / [`TestAutodiffBackend`], which the `wgpu` feature switches from burn's pure-Rust
//! CPU backend `Flex` to `Wgpu`, and the `cuda` feature to `Cuda` (`cuda` wins when both are on).
//!
//! ```text
//! cargo test --workspace                                     # Flex lane
//! cargo test --workspace --features preferent-testkit/wgpu   # Wgpu lane
//! cargo test --workspace --features preferent-testkit/cuda   # Cuda lane (needs an NVIDIA GPU)
//! ```

use burn::tensor::{backend::Backend, Tensor, TensorData};

/// The backend of the current test lane (`Flex` by default, `Wgpu` with the `wgpu` feature,
/// `Cuda` with the `cuda` feature).
#[cfg(not(any(feature = "wgpu", feature = "cuda")))]
pub type TestBackend = burn::backend::Flex;
/// The backend of the current test lane (`Flex` by default, `Wgpu` with the `wgpu` feature,
/// `Cuda` with the `cuda` feature).
#[cfg(all(feature = "wgpu", not(feature = "cuda")))]
pub type TestBackend = burn::backend::Wgpu;
/// The backend of the current test lane (`Flex` by default, `Wgpu` with the `wgpu` feature,
/// `Cuda` with the `cuda` feature).
#[cfg(feature = "cuda")]
pub type TestBackend = burn::backend::Cuda;

/// [`TestBackend`] with reverse-mode automatic differentiation.
pub type TestAutodiffBackend = burn::backend::Autodiff<TestBackend>;

/// Relative accuracy to expect from an `f32` matmul on the current lane: `2e-3` on Cuda, `1e-5`
/// elsewhere.
///
/// burn's CUDA backend multiplies `f32` matrices on tensor cores in TF32 (cubecl's matmul stages
/// `f32` operands as `tf32` whenever the device supports it: a 10-bit mantissa, unit roundoff
/// 2⁻¹¹ ≈ 4.9e-4 per operand); Flex and Wgpu multiply in full `f32`. Tests whose values pass
/// through a matmul compare with this tolerance (seen on an H200: a fused log-prob off by 1.6e-4
/// at magnitude 4.4, i.e. 3.7e-5 relative, against a 1e-5 f32 tolerance).
pub const F32_MATMUL_RTOL: f64 = if cfg!(feature = "cuda") { 2e-3 } else { 1e-5 };

/// The device of the current lane.
pub fn device() -> burn::tensor::Device<TestBackend> {
    Default::default()
}

/// Human-readable name of the current lane, printed by the lane-report test so CI logs show
/// which backend (and, for wgpu, which adapter) ran.
pub fn lane_name() -> &'static str {
    if cfg!(feature = "cuda") {
        "cuda"
    } else if cfg!(feature = "wgpu") {
        "wgpu"
    } else {
        "flex"
    }
}

/// The lines CI prints to show where a test binary ran: the lane, then (on the wgpu lane) every
/// adapter wgpu can see.
///
/// # Panics
/// On the wgpu lane, when wgpu finds no adapter (the lane would otherwise fail later, less
/// clearly).
pub fn lane_report_lines() -> Vec<String> {
    #[allow(unused_mut)]
    let mut lines = vec![format!("preferent test lane: {}", lane_name())];
    #[cfg(all(feature = "wgpu", not(feature = "cuda")))]
    {
        let adapters = wgpu_adapters();
        assert!(!adapters.is_empty(), "the wgpu lane found no adapter");
        lines.extend(adapters.into_iter().map(|a| format!("wgpu adapter: {a}")));
    }
    lines
}

/// The adapters wgpu can see, as `name (device type, backend, driver)`, on the wgpu lane.
///
/// burn-wgpu picks among these (the default device prefers a discrete GPU, then integrated, then
/// a CPU adapter such as Mesa's llvmpipe); CI prints this list so its log shows where the wgpu
/// lane ran.
#[cfg(feature = "wgpu")]
pub fn wgpu_adapters() -> Vec<String> {
    let instance = wgpu::Instance::default();
    let adapters =
        futures_lite::future::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    adapters
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!(
                "{} ({:?}, {:?}, {} {})",
                i.name, i.device_type, i.backend, i.driver, i.driver_info
            )
        })
        .collect()
}

/// Builds a tensor on the lane's device from host `f64` values (cast to the backend's float).
///
/// Cross-backend tests build their inputs on the host so that every lane sees the same numbers.
pub fn tensor<B: Backend, const D: usize>(
    values: &[f64],
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let data: Vec<f32> = values.iter().map(|&v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// Reads a tensor back to the host as `f64` values.
pub fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("float tensor data")
        .into_iter()
        .map(f64::from)
        .collect()
}

/// Reads a boolean tensor back to the host.
///
/// Goes through an integer tensor: backends store booleans differently (Flex natively, wgpu as
/// `u32`), and `TensorData::to_vec::<bool>` only accepts the native layout.
pub fn to_bool_vec<B: Backend, const D: usize>(t: Tensor<B, D, burn::tensor::Bool>) -> Vec<bool> {
    t.int()
        .into_data()
        .convert::<i64>()
        .to_vec::<i64>()
        .expect("int tensor data")
        .into_iter()
        .map(|v| v != 0)
        .collect()
}

/// Asserts `|a - e| <= atol + rtol·|e|` elementwise, naming the first index at fault.
#[track_caller]
pub fn assert_close(actual: &[f64], expected: &[f64], rtol: f64, atol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "length mismatch: actual {} vs expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        let tol = atol + rtol * e.abs();
        assert!(
            (a - e).abs() <= tol && a.is_finite() == e.is_finite(),
            "index {i}: actual {a} vs expected {e} (|diff| = {}, tol = {tol})",
            (a - e).abs()
        );
    }
}

/// Central finite-difference gradient of a scalar function of a host vector, in `f64`.
///
/// `f` is evaluated at `x ± h·e_i` for every coordinate `i`; the result approximates `∂f/∂x_i`
/// with error `O(h²)`.
pub fn finite_difference(f: impl Fn(&[f64]) -> f64, x: &[f64], h: f64) -> Vec<f64> {
    let mut xp = x.to_vec();
    (0..x.len())
        .map(|i| {
            let orig = xp[i];
            xp[i] = orig + h;
            let fp = f(&xp);
            xp[i] = orig - h;
            let fm = f(&xp);
            xp[i] = orig;
            (fp - fm) / (2.0 * h)
        })
        .collect()
}

mod loss_conformance;
mod solver_conformance;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finite_difference_of_cubic_matches_derivative() {
        // d/dx (x^3 + 2y) = (3x^2, 2)
        let g = finite_difference(|v| v[0].powi(3) + 2.0 * v[1], &[1.5, -0.25], 1e-5);
        assert_close(&g, &[6.75, 2.0], 1e-8, 1e-8);
    }

    #[test]
    #[should_panic(expected = "index 1")]
    fn assert_close_names_the_index_at_fault() {
        assert_close(&[1.0, 2.0], &[1.0, 2.1], 0.0, 1e-3);
    }

    /// Prints the lane (and, on wgpu, the adapters) so the CI log shows where the suite ran.
    #[test]
    fn lane_report() {
        for line in lane_report_lines() {
            println!("{line}");
        }
        let expected = if cfg!(feature = "cuda") {
            "cuda"
        } else if cfg!(feature = "wgpu") {
            "wgpu"
        } else {
            "flex"
        };
        assert_eq!(lane_name(), expected);
    }

    #[test]
    fn host_round_trip_on_lane() {
        let d = device();
        let t = tensor::<TestBackend, 2>(&[1.0, -2.0, 3.5, 0.25], [2, 2], &d);
        assert_eq!(t.dims(), [2, 2]);
        assert_close(&to_vec(t.clone()), &[1.0, -2.0, 3.5, 0.25], 0.0, 0.0);
        assert_eq!(
            to_bool_vec(t.greater_elem(0.5)),
            vec![true, false, true, false]
        );
    }
}
