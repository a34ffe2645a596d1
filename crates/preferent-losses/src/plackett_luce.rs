//! Plackett-Luce listwise ranking loss over K ≥ 2 ranked responses per prompt, with an optional
//! validity mask for ragged lists.

use burn::config::Config;
use burn::tensor::{backend::Backend, Bool, Tensor};

use crate::base::PreferenceLoss;
use crate::beyond_checks::{host, host_bool, indicator, positive};
use crate::error::LossError;
use crate::output::{FiniteWatch, LossOutput};
use crate::{scalar_metrics, validated_loss};

/// Hyperparameters of [`plackett_luce_loss`].
#[derive(Config, Debug)]
pub struct PlackettLuceConfig {
    /// Scale β applied to the scores (> 0). Default 1.0 for raw reward-model scores; use the DPO β
    /// (e.g. 0.1) when the scores are policy/reference log-ratios, as in the DPO paper's
    /// Plackett-Luce objective (Rafailov et al., arXiv 2305.18290, appendix on Plackett-Luce rankings).
    #[config(default = 1.0)]
    pub beta: f64,
    /// Read the scores back to the host and return [`LossError::NonFinite`] on NaN/±∞ in a
    /// valid entry.
    #[config(default = false)]
    pub check_finite: bool,
}

impl PlackettLuceConfig {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<(), LossError> {
        positive("beta", self.beta)
    }
}

scalar_metrics! {
    /// Detached Plackett-Luce metrics, `[1]` tensors.
    pub struct PlackettLuceMetrics => PlackettLuceMetricsHost {
        /// Fraction of ordered valid pairs (i ranked above j) with score_i > score_j.
        pairwise_accuracy: "pairwise_accuracy",
        /// Fraction of rows whose top-ranked valid item has the strictly highest score.
        top1_accuracy: "top1_accuracy",
        /// Mean number of valid items per row.
        mean_list_length: "mean_list_length",
    }
}

validated_loss! {
    /// Plackett–Luce, validated ([`PlackettLuceConfig::init`]); see [`plackett_luce_loss`].
    PlackettLuceConfig => PlackettLuceLoss
}

/// One ranked batch: K scores per row, best first, with an optional validity mask.
///
/// # Shapes
/// `scores`, `mask`: `[B, K]`.
#[derive(Debug, Clone)]
pub struct RankedBatch<B: Backend> {
    /// Scores of the ranked items, best first.
    pub scores: Tensor<B, 2>,
    /// True where an entry is valid (`None` = all valid).
    pub mask: Option<Tensor<B, 2, Bool>>,
}

impl<B: Backend> PreferenceLoss<B> for PlackettLuceLoss {
    type Batch = RankedBatch<B>;
    type Metrics = PlackettLuceMetrics<B>;

    fn forward(
        &self,
        batch: RankedBatch<B>,
    ) -> Result<LossOutput<B, PlackettLuceMetrics<B>>, LossError> {
        plackett_luce_forward(batch.scores, batch.mask, &self.config)
    }
}

/// Plackett-Luce negative log-likelihood of the given rankings.
///
/// Row b lists its items best first; with `x_k = β·s_k` and V the valid positions:
/// ```text
/// ℓ_b  = −Σ_{k∈V} [ x_k − log Σ_{j∈V, j≥k} exp(x_j) ]
/// loss = mean_b ℓ_b
/// ```
/// Invalid positions are skipped wherever they sit (their scores are never read, so padding may
/// hold any finite value). For K = 2 this is the Bradley-Terry loss `−log σ(x_1 − x_2)`. Each
/// suffix log-sum-exp uses its own max shift, so scores in the hundreds stay finite.
///
/// # Shapes
/// `scores`: `[B, K]` (K ≥ 2); `mask`: `[B, K]` (true = valid; `None` = all valid) → loss `[1]`.
///
/// # Errors
/// [`LossError::InvalidParameter`], [`LossError::ShapeMismatch`] (also for K < 2),
/// [`LossError::EmptyBatch`], [`LossError::OutOfDomain`] when a row has fewer than 2 valid
/// entries, and [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Plackett (1975), Luce (1959); Rafailov et al., "DPO", arXiv 2305.18290 (Plackett-Luce appendix); TRL issue
/// #1831 (listwise preferences).
pub fn plackett_luce_loss<B: Backend>(
    scores: Tensor<B, 2>,
    mask: Option<Tensor<B, 2, Bool>>,
    config: &PlackettLuceConfig,
) -> Result<LossOutput<B, PlackettLuceMetrics<B>>, LossError> {
    config.init()?.forward(RankedBatch { scores, mask })
}

fn plackett_luce_forward<B: Backend>(
    scores: Tensor<B, 2>,
    mask: Option<Tensor<B, 2, Bool>>,
    config: &PlackettLuceConfig,
) -> Result<LossOutput<B, PlackettLuceMetrics<B>>, LossError> {
    let [b, k] = scores.dims();
    if b == 0 || k == 0 {
        return Err(LossError::EmptyBatch { name: "scores" });
    }
    if k < 2 {
        return Err(LossError::ShapeMismatch {
            name: "scores",
            actual: vec![b, k],
            expected: vec![b, 2],
        });
    }
    let device = scores.device();
    let valid: Vec<bool> = match &mask {
        Some(m) => {
            if m.dims() != [b, k] {
                return Err(LossError::ShapeMismatch {
                    name: "mask",
                    actual: m.dims().to_vec(),
                    expected: vec![b, k],
                });
            }
            host_bool(m.clone())
        }
        None => vec![true; b * k],
    };
    if let Some(row) = (0..b).find(|r| valid[r * k..(r + 1) * k].iter().filter(|v| **v).count() < 2)
    {
        return Err(LossError::OutOfDomain {
            name: "mask",
            index: row,
            requirement: "at least 2 valid entries per row",
        });
    }
    if config.check_finite
        && host(scores.clone())
            .iter()
            .zip(&valid)
            .any(|(s, v)| *v && !s.is_finite())
    {
        return Err(LossError::NonFinite { name: "scores" });
    }

    let valid_f = indicator::<B>(b, k, |r, c| valid[r * k + c], &device);
    // Padding may hold any finite value: watch the valid entries only.
    let watch = FiniteWatch::new().watch(&(scores.clone() * valid_f.clone()));
    let metrics = ranking_metrics(&scores, &valid_f);
    let invalid = valid_f.clone().lower_elem(0.5);
    let x = scores
        .mul_scalar(config.beta)
        .mask_fill(invalid.clone(), 0.0);
    // A per-row value ≤ every valid entry, used to neutralise invalid positions.
    let fill = x.clone().detach().min_dim(1); // [B, 1]
    let x_safe = x.mask_where(invalid, fill.clone().expand([b, k]));
    // suffix[k, j] = 1 where j ≥ k.
    let suffix = indicator::<B>(k, k, |r, c| c >= r, &device).unsqueeze_dim::<3>(0); // [1, K, K]
    let member = suffix.expand([b, k, k]) * valid_f.clone().unsqueeze_dim::<3>(1); // [B, K, K]
    let x3 = x_safe.clone().unsqueeze_dim::<3>(1).expand([b, k, k]); // x3[b, k, j] = x_j
    let not_member = member.clone().lower_elem(0.5);
    let fill3 = fill.unsqueeze_dim::<3>(2).expand([b, k, k]);
    let suffix_max = x3
        .clone()
        .detach()
        .mask_where(not_member.clone(), fill3)
        .max_dim(2); // [B, K, 1]
                     // Shift by the suffix max, then zero the exponent outside the suffix (before `exp`, so a
                     // large earlier score cannot overflow into `inf · 0`).
    let shifted = (x3 - suffix_max.clone()).mask_fill(not_member, 0.0);
    let sums = (shifted.exp() * member).sum_dim(2); // [B, K, 1]
    let invalid_pad = valid_f.clone().neg().add_scalar(1.0).unsqueeze_dim::<3>(2);
    let lse = (sums + invalid_pad).log() + suffix_max; // [B, K, 1]
    let lse: Tensor<B, 2> = lse.reshape([b, k]);
    let per_row = ((x_safe - lse) * valid_f).sum_dim(1).neg(); // [B, 1]
    let loss = per_row.mean();

    Ok(LossOutput::new(loss, metrics, watch))
}

/// Ranking metrics on the device: `P[b,i,j] = 1[s_i > s_j]` over valid `i` ranked above valid
/// `j`; the top-ranked valid item of a row is the valid `i` with no valid entry before it.
fn ranking_metrics<B: Backend>(
    scores: &Tensor<B, 2>,
    valid_f: &Tensor<B, 2>,
) -> PlackettLuceMetrics<B> {
    let [b, k] = scores.dims();
    let device = scores.device();
    let s = scores.clone().detach();
    let si = s.clone().unsqueeze_dim::<3>(2).expand([b, k, k]);
    let sj = s.unsqueeze_dim::<3>(1).expand([b, k, k]);
    let vi = valid_f.clone().unsqueeze_dim::<3>(2).expand([b, k, k]);
    let vj = valid_f.clone().unsqueeze_dim::<3>(1).expand([b, k, k]);
    let above = indicator::<B>(k, k, |r, c| c > r, &device)
        .unsqueeze_dim::<3>(0)
        .expand([b, k, k]);
    let pair = above * vi * vj; // [B, K, K]
    let wins = si.greater(sj).float() * pair.clone();
    let pairwise = wins.clone().sum() / pair.clone().sum();
    // before[b, i] = number of valid entries ranked above i.
    let lower = indicator::<B>(k, k, |r, c| r < c, &device); // [j, i] = 1 where j < i
    let before = valid_f.clone().matmul(lower);
    let first = valid_f.clone() * before.lower_elem(0.5).float(); // [B, K]
    let w: Tensor<B, 2> = wins.sum_dim(2).reshape([b, k]);
    let n: Tensor<B, 2> = pair.sum_dim(2).reshape([b, k]);
    let top = (first * w.equal(n).float()).sum_dim(1); // [B, 1]
    PlackettLuceMetrics {
        pairwise_accuracy: pairwise,
        top1_accuracy: top.mean(),
        mean_list_length: valid_f.clone().detach().sum_dim(1).mean(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bradley_terry::{bradley_terry_loss, BradleyTerryConfig};
    use burn::tensor::TensorData;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    const S: [f64; 16] = [
        2.0, 1.0, 0.5, -1.0, //
        0.3, 0.9, -0.2, 0.0, //
        700.0, -600.0, 5.0, 1.0, //
        1.0, 3.0, 99.0, -99.0,
    ];
    const M: [bool; 16] = [
        true, true, true, true, //
        true, true, true, false, //
        true, true, true, true, //
        true, true, false, false,
    ];

    fn mask<B: Backend>(m: &[bool], shape: [usize; 2], d: &B::Device) -> Tensor<B, 2, Bool> {
        Tensor::from_data(TensorData::new(m.to_vec(), shape), d)
    }

    // Goldens: tests/reference/beyond_ranking.py (numpy float64).
    #[test]
    fn forward_goldens_with_mask_and_extreme_scores() {
        let d = device();
        let s = || tensor::<TestBackend, 2>(&S, [4, 4], &d);
        let cfg = PlackettLuceConfig::new();
        let out = plackett_luce_loss(s(), None, &cfg).unwrap();
        assert_close(&to_vec(out.loss), &[200.76683571096189], 1e-5, 1e-4);
        let out = plackett_luce_loss(s(), Some(mask(&M, [4, 4], &d)), &cfg).unwrap();
        assert_close(&to_vec(out.loss), &[152.48357043198374], 1e-5, 1e-4);
        assert_close(
            &[
                out.metrics.read().pairwise_accuracy,
                out.metrics.read().top1_accuracy,
            ],
            &[0.75, 0.5],
            0.0,
            1e-12,
        );
        let cfg = PlackettLuceConfig::new().with_beta(0.5);
        let out = plackett_luce_loss(s(), Some(mask(&M, [4, 4], &d)), &cfg).unwrap();
        assert_close(&to_vec(out.loss), &[76.91194965807533], 1e-5, 1e-4);
    }

    /// Padding values are never read: NaN-free garbage in invalid slots changes nothing.
    #[test]
    fn invalid_entries_are_ignored() {
        let d = device();
        let mut garbage = S;
        garbage[7] = 1e30;
        garbage[14] = -3e20;
        garbage[15] = 5e25;
        let cfg = PlackettLuceConfig::new();
        let a = plackett_luce_loss(
            tensor::<TestBackend, 2>(&S, [4, 4], &d),
            Some(mask(&M, [4, 4], &d)),
            &cfg,
        )
        .unwrap();
        let b = plackett_luce_loss(
            tensor::<TestBackend, 2>(&garbage, [4, 4], &d),
            Some(mask(&M, [4, 4], &d)),
            &cfg,
        )
        .unwrap();
        assert_close(&to_vec(b.loss), &to_vec(a.loss), 1e-6, 0.0);
    }

    #[test]
    fn two_items_equal_bradley_terry() {
        let d = device();
        let c = [1.5, -0.3, 2.0, 600.0, -0.7];
        let r = [0.5, 0.2, 2.0, -550.0, 800.0];
        let s: Vec<f64> = c.iter().zip(&r).flat_map(|(a, b)| [*a, *b]).collect();
        let pl = plackett_luce_loss(
            tensor::<TestBackend, 2>(&s, [5, 2], &d),
            None,
            &PlackettLuceConfig::new(),
        )
        .unwrap();
        let bt = bradley_terry_loss(
            tensor::<TestBackend, 1>(&c, [5], &d),
            tensor(&r, [5], &d),
            None,
            &BradleyTerryConfig::new(),
        )
        .unwrap();
        assert_close(&to_vec(pl.loss), &to_vec(bt.loss), 1e-6, 1e-6);
        assert_eq!(
            pl.metrics.read().pairwise_accuracy,
            bt.metrics.read().accuracy
        );
    }

    fn host_pl(v: &[f64], valid: &[bool], k: usize, beta: f64) -> f64 {
        let rows = v.len() / k;
        let mut tot = 0.0;
        for r in 0..rows {
            let x: Vec<f64> = (0..k)
                .filter(|&c| valid[r * k + c])
                .map(|c| beta * v[r * k + c])
                .collect();
            for i in 0..x.len() {
                let m = x[i..].iter().cloned().fold(f64::MIN, f64::max);
                let lse = m + x[i..].iter().map(|y| (y - m).exp()).sum::<f64>().ln();
                tot -= x[i] - lse;
            }
        }
        tot / rows as f64
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let s = [
            2.0, 1.0, 0.5, -1.0, 0.3, 0.9, -0.2, 0.0, 1.0, -2.0, 5.0, 1.0, 1.0, 3.0, 9.0, -9.0,
        ];
        let x = tensor::<TestAutodiffBackend, 2>(&s, [4, 4], &d).require_grad();
        let cfg = PlackettLuceConfig::new().with_beta(0.7);
        let out = plackett_luce_loss(x.clone(), Some(mask(&M, [4, 4], &d)), &cfg).unwrap();
        let grads = out.loss.backward();
        let g = to_vec(x.grad(&grads).unwrap());
        let fd = finite_difference(|v| host_pl(v, &M, 4, 0.7), &s, 1e-5);
        assert_close(&g, &fd, 1e-3, 1e-5);
        // Invalid positions get exactly zero gradient.
        for (i, valid) in M.iter().enumerate() {
            if !valid {
                assert_eq!(g[i], 0.0, "index {i}");
            }
        }
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let cfg = PlackettLuceConfig::new();
        let s = || tensor::<TestBackend, 2>(&[1.0, 2.0, 3.0, 4.0], [2, 2], &d);
        let e = plackett_luce_loss(
            tensor::<TestBackend, 2>(&[1.0, 2.0], [2, 1], &d),
            None,
            &cfg,
        )
        .unwrap_err();
        assert!(matches!(e, LossError::ShapeMismatch { name: "scores", .. }));
        let e =
            plackett_luce_loss(tensor::<TestBackend, 2>(&[], [0, 3], &d), None, &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let e =
            plackett_luce_loss(s(), Some(mask(&[true, true, true], [1, 3], &d)), &cfg).unwrap_err();
        assert!(matches!(e, LossError::ShapeMismatch { name: "mask", .. }));
        let e = plackett_luce_loss(
            s(),
            Some(mask(&[true, true, true, false], [2, 2], &d)),
            &cfg,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            LossError::OutOfDomain {
                name: "mask",
                index: 1,
                ..
            }
        ));
        let e =
            plackett_luce_loss(s(), None, &PlackettLuceConfig::new().with_beta(0.0)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "beta", .. }
        ));
        let nan = tensor::<TestBackend, 2>(&[1.0, f64::NAN, 3.0, 4.0], [2, 2], &d);
        let checked = PlackettLuceConfig::new().with_check_finite(true);
        let e = plackett_luce_loss(nan, None, &checked).unwrap_err();
        assert_eq!(e, LossError::NonFinite { name: "scores" });
    }
}
