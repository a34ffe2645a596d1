//! Seeded generated 2-D data sets.

use burn::tensor::{backend::Backend, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::error::{invalid, Result};

/// A set of 2-D points, row-major `[x0, y0, x1, y1, …]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Points2d {
    /// Coordinates, `2 · n` values.
    pub xy: Vec<f32>,
    /// Component / class index of each point.
    pub labels: Vec<u32>,
}

impl Points2d {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The points as a `[n, 2]` tensor.
    pub fn tensor<B: Backend>(&self, device: &B::Device) -> Tensor<B, 2> {
        Tensor::from_data(TensorData::new(self.xy.clone(), [self.len(), 2]), device)
    }
}

fn standard_normal<R: Rng>(rng: &mut R) -> f64 {
    // Box–Muller on (0, 1].
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// `n` points from a mixture of `k` isotropic Gaussians (std `sigma`) whose means sit evenly on a
/// circle of `radius`, component `j` at angle `2πj/k`; components drawn uniformly.
///
/// ```text
/// j ~ U{0..k−1},  x = radius·(cos 2πj/k, sin 2πj/k) + sigma·N(0, I)
/// ```
///
/// The preferent experiment plan uses `k = 8, radius = 2, sigma = 0.1` (align_rl.md §10).
pub fn ring_of_gaussians(
    n: usize,
    k: usize,
    radius: f64,
    sigma: f64,
    seed: u64,
) -> Result<Points2d> {
    if k == 0 {
        return Err(invalid("k", k, "need at least one component"));
    }
    if !(sigma >= 0.0 && radius.is_finite() && sigma.is_finite()) {
        return Err(invalid("sigma", sigma, "must be finite and non-negative"));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut xy = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let j = rng.random_range(0..k);
        let a = 2.0 * std::f64::consts::PI * j as f64 / k as f64;
        xy.push((radius * a.cos() + sigma * standard_normal(&mut rng)) as f32);
        xy.push((radius * a.sin() + sigma * standard_normal(&mut rng)) as f32);
        labels.push(j as u32);
    }
    Ok(Points2d { xy, labels })
}

/// `n` points from the two interleaving half-circles ("two moons") with Gaussian noise, as
/// scikit-learn's `make_moons` (upper moon: `(cos s, sin s)`, lower moon: `(1 − cos s, 0.5 − sin s)`,
/// `s ∈ [0, π]`), here with `s` drawn uniformly and the moon chosen by a fair coin.
pub fn two_moons(n: usize, noise: f64, seed: u64) -> Result<Points2d> {
    if !(noise >= 0.0 && noise.is_finite()) {
        return Err(invalid("noise", noise, "must be finite and non-negative"));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut xy = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let s = rng.random::<f64>() * std::f64::consts::PI;
        let moon = rng.random_range(0..2u32);
        let (x, y) = if moon == 0 {
            (s.cos(), s.sin())
        } else {
            (1.0 - s.cos(), 0.5 - s.sin())
        };
        xy.push((x + noise * standard_normal(&mut rng)) as f32);
        xy.push((y + noise * standard_normal(&mut rng)) as f32);
        labels.push(moon);
    }
    Ok(Points2d { xy, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_points_lie_near_their_component_mean_and_are_seeded() {
        let p = ring_of_gaussians(2000, 8, 2.0, 0.1, 7).unwrap();
        assert_eq!(p, ring_of_gaussians(2000, 8, 2.0, 0.1, 7).unwrap());
        assert_ne!(p, ring_of_gaussians(2000, 8, 2.0, 0.1, 8).unwrap());
        let mut sq = 0.0;
        for i in 0..p.len() {
            let a = 2.0 * std::f64::consts::PI * p.labels[i] as f64 / 8.0;
            let dx = p.xy[2 * i] as f64 - 2.0 * a.cos();
            let dy = p.xy[2 * i + 1] as f64 - 2.0 * a.sin();
            sq += dx * dx + dy * dy;
        }
        // E‖x − μ‖² = 2σ² = 0.02; with 2000 points the sample mean is within ±10 % w.h.p.
        let msd = sq / p.len() as f64;
        assert!((msd - 0.02).abs() < 0.002, "mean squared deviation {msd}");
        let mut counts = [0usize; 8];
        p.labels.iter().for_each(|&l| counts[l as usize] += 1);
        assert!(
            counts.iter().all(|&c| (150..350).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn noiseless_moons_lie_on_their_arcs() {
        let p = two_moons(500, 0.0, 3).unwrap();
        for i in 0..p.len() {
            let (x, y) = (p.xy[2 * i] as f64, p.xy[2 * i + 1] as f64);
            let r = if p.labels[i] == 0 {
                (x * x + y * y).sqrt()
            } else {
                ((1.0 - x).powi(2) + (0.5 - y).powi(2)).sqrt()
            };
            assert!((r - 1.0).abs() < 1e-5, "point {i} off its arc: r = {r}");
        }
        assert!(two_moons(10, -1.0, 0).is_err());
        assert!(ring_of_gaussians(10, 0, 1.0, 0.1, 0).is_err());
    }
}
