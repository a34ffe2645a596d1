//! The exponential-integrator φ-functions, finite for every step size including `h → 0`.
//!
//! ```text
//! φ₀(z) = eᶻ
//! φ₁(z) = (eᶻ − 1)/z
//! φ₂(z) = (eᶻ − 1 − z)/z²
//! φ₃(z) = (eᶻ − 1 − z − z²/2)/z³
//! φ_k(z) = Σ_{j≥0} zʲ/(j+k)!            (series used for |z| < 0.5)
//! φ_k(0) = 1/k!
//! ```
//!
//! The closed forms lose digits to cancellation as `z → 0` and are `0/0` at `z = 0`, which is the
//! dummy step that Karras sigmas with `final_sigmas_type = sigma_min` produce (diffusers#6477).
//! Inside `|z| < 0.5` a 20-term Taylor series is used instead (truncation error < 1e-25).
//!
//! # References
//! Hochbruck & Ostermann, "Exponential integrators", Acta Numerica 2010; DPM-Solver++
//! (arXiv:2211.01095) eqs. (8)–(9) write its updates with these functions.

const SERIES_RADIUS: f64 = 0.5;
const SERIES_TERMS: usize = 20;

fn series(z: f64, k: usize) -> f64 {
    // Σ_{j≥0} z^j / (j+k)!, summed from the smallest term for accuracy.
    let mut fact = 1.0;
    for i in 2..=k {
        fact *= i as f64;
    }
    let mut terms = [0.0f64; SERIES_TERMS];
    let mut term = 1.0 / fact;
    for (j, slot) in terms.iter_mut().enumerate() {
        *slot = term;
        term *= z / (j + k + 1) as f64;
    }
    terms.iter().rev().sum()
}

/// `φ₁(z) = (eᶻ − 1)/z`, with `φ₁(0) = 1`.
pub fn phi1(z: f64) -> f64 {
    if z.abs() < SERIES_RADIUS {
        series(z, 1)
    } else {
        z.exp_m1() / z
    }
}

/// `φ₂(z) = (eᶻ − 1 − z)/z²`, with `φ₂(0) = 1/2`.
pub fn phi2(z: f64) -> f64 {
    if z.abs() < SERIES_RADIUS {
        series(z, 2)
    } else if z.is_infinite() {
        if z > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        (z.exp_m1() - z) / (z * z)
    }
}

/// `φ₃(z) = (eᶻ − 1 − z − z²/2)/z³`, with `φ₃(0) = 1/6`.
pub fn phi3(z: f64) -> f64 {
    if z.abs() < SERIES_RADIUS {
        series(z, 3)
    } else if z.is_infinite() {
        if z > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    } else {
        (z.exp_m1() - z - 0.5 * z * z) / (z * z * z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values from mpmath at 50 digits (tests/reference/phi_reference.py), printed
    // with 17 significant digits.
    #[test]
    #[allow(clippy::excessive_precision)]
    fn phi_functions_match_high_precision_reference() {
        let z = [-3.0, -0.4999, -1e-8, 0.0, 1e-8, 0.4999, 3.0];
        let expected: [[f64; 7]; 3] = [
            [
                0.31673764387737869,
                0.78697476332994784,
                0.99999999500000002,
                1.0,
                1.000000005,
                1.2973722880903975,
                6.3618456410625559,
            ],
            [
                0.22775411870754044,
                0.42613570048020037,
                0.49999999833333334,
                0.5,
                0.50000000166666667,
                0.5948635488905731,
                1.7872818803541853,
            ],
            [
                0.090748627097486521,
                0.14775815066973321,
                0.16666666625,
                0.16666666666666667,
                0.16666666708333333,
                0.18976505079130447,
                0.42909396011806177,
            ],
        ];
        let fs = [phi1, phi2, phi3];
        for (k, (f, row)) in fs.iter().zip(expected).enumerate() {
            for (zi, e) in z.iter().zip(row) {
                let a = f(*zi);
                assert!(
                    (a - e).abs() <= 1e-14 * e.abs(),
                    "phi{}({zi}) = {a}, want {e}",
                    k + 1
                );
            }
        }
    }

    #[test]
    fn series_and_closed_form_agree_at_the_switch() {
        for k in 1..=3 {
            let f = [phi1, phi2, phi3][k - 1];
            let z = SERIES_RADIUS - 1e-12;
            let below = f(z);
            let above = match k {
                1 => z.exp_m1() / z,
                2 => (z.exp_m1() - z) / (z * z),
                _ => (z.exp_m1() - z - 0.5 * z * z) / (z * z * z),
            };
            // The closed forms lose ~|z|⁻ᵏ·1e-16 to cancellation near the switch.
            assert!((below - above).abs() < 1e-13, "phi{k}: {below} vs {above}");
        }
    }
}
