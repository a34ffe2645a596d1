//! Diffusion-DPO: DPO on the denoising errors of a diffusion model.
//!
//! ```text
//! e_θ^w = mean_{C,H,W} (ε_θ(x_t^w, t, c) − ε)²        e_ref^w likewise with the frozen model
//! e_θ^l = mean_{C,H,W} (ε_θ(x_t^l, t, c) − ε)²        e_ref^l likewise
//! inside = −β · [(e_θ^w − e_θ^l) − (e_ref^w − e_ref^l)]
//! L      = −mean log σ(inside)
//! ```
//!
//! `β` follows the diffusers port's convention (`beta_dpo = 2500`), which equals the official
//! repository's `β_dpo = 5000` with its factor ½ folded in (`inside = −(β_dpo/2)·[…]`). The noise
//! `ε` and the timestep `t` are shared by the winner and the loser of each pair, as both reference
//! implementations do.
//!
//! # References
//! Wallace et al., "Diffusion Model Alignment Using Direct Preference Optimization",
//! arXiv 2311.12908, eq. 14; `SalesforceAIResearch/DiffusionDPO/train.py` (the loss block) and
//! `diffusers/examples/research_projects/diffusion_dpo/train_diffusion_dpo.py`.

use burn::config::Config;
use burn::tensor::{backend::Backend, Tensor};
use preferent_losses::base::PreferenceLoss;
use preferent_losses::numerics::log_sigmoid;
use preferent_losses::output::{FiniteWatch, LossOutput};

use crate::error::LossError;

/// Hyperparameters of [`diffusion_dpo_loss`].
#[derive(Config, Debug)]
pub struct DiffusionDpoConfig {
    /// Inverse temperature on the error differences. Default 2500: diffusers'
    /// `train_diffusion_dpo.py` (`--beta_dpo`), equal to the official β=5000 with its ½.
    #[config(default = 2500.0)]
    pub beta: f64,
}

preferent_losses::scalar_metrics! {
    /// Detached metrics of [`diffusion_dpo_loss`], as the reference scripts log them (`[1]`
    /// tensors; read them with `read()`).
    pub struct DiffusionDpoMetrics => DiffusionDpoMetricsHost {
        /// Mean squared denoising error of the policy, over winners and losers.
        model_mse: "model_mse",
        /// Mean squared denoising error of the frozen reference, over winners and losers.
        ref_mse: "ref_mse",
        /// Fraction of pairs with `inside > 0` (the implicit preference agrees with the label).
        implicit_acc: "implicit_acc",
    }
}

impl DiffusionDpoConfig {
    /// Checks β.
    ///
    /// # Errors
    /// [`LossError::InvalidParameter`] for β ≤ 0 or non-finite β.
    pub fn validate(&self) -> Result<(), LossError> {
        if !(self.beta.is_finite() && self.beta > 0.0) {
            return Err(LossError::InvalidParameter {
                name: "beta",
                value: self.beta,
                requirement: "finite and > 0",
            });
        }
        Ok(())
    }
}

preferent_losses::validated_loss! {
    /// Diffusion-DPO, validated ([`DiffusionDpoConfig::init`]); see [`diffusion_dpo_loss`].
    DiffusionDpoConfig => DiffusionDpoLoss
}

/// One Diffusion-DPO batch: the policy's and the frozen reference's ε-predictions on the noised
/// winner and loser of each pair, and the shared noise.
///
/// # Shapes
/// Every tensor `[B, …]` (equal shapes, `D ≥ 2`; images are `[B, C, H, W]`).
#[derive(Debug, Clone)]
pub struct DiffusionDpoBatch<B: Backend, const D: usize> {
    /// ε_θ(x_t^w, t, c).
    pub model_w: Tensor<B, D>,
    /// ε_θ(x_t^l, t, c).
    pub model_l: Tensor<B, D>,
    /// ε_ref(x_t^w, t, c) (detached inside the loss).
    pub ref_w: Tensor<B, D>,
    /// ε_ref(x_t^l, t, c).
    pub ref_l: Tensor<B, D>,
    /// The noise ε shared by the pair.
    pub noise: Tensor<B, D>,
}

/// The one-interface form on image batches (`[B, C, H, W]`); [`DiffusionDpoLoss::forward`]
/// takes any rank.
impl<B: Backend> PreferenceLoss<B> for DiffusionDpoLoss {
    type Batch = DiffusionDpoBatch<B, 4>;
    type Metrics = DiffusionDpoMetrics<B>;

    fn forward(
        &self,
        batch: DiffusionDpoBatch<B, 4>,
    ) -> Result<LossOutput<B, DiffusionDpoMetrics<B>>, LossError> {
        diffusion_dpo_forward(batch, &self.config)
    }
}

impl DiffusionDpoLoss {
    /// Evaluates one batch of any rank (see [`diffusion_dpo_loss`] for the formula).
    ///
    /// # Errors
    /// As [`diffusion_dpo_loss`].
    pub fn forward<B: Backend, const D: usize>(
        &self,
        batch: DiffusionDpoBatch<B, D>,
    ) -> Result<LossOutput<B, DiffusionDpoMetrics<B>>, LossError> {
        diffusion_dpo_forward(batch, &self.config)
    }
}

/// Diffusion-DPO loss from the policy's and the reference's ε-predictions on a pair batch.
///
/// All four prediction tensors and `noise` have the layout `[B, C, H, W]`, where row `i` of the
/// winner tensors and row `i` of the loser tensors form a pair noised with the same `noise[i]`
/// and the same timestep. Any trailing layout works as long as the first dimension is the pair
/// index (`D ≥ 2`).
///
/// # Shapes
/// - `model_w`, `model_l`, `ref_w`, `ref_l`, `noise`: `[B, …]` (equal shapes)
/// - returns a loss of shape `[1]`.
///
/// # Errors
/// [`LossError::ShapeMismatch`] when the shapes differ, [`LossError::EmptyBatch`] for
/// `B = 0`, [`LossError::InvalidParameter`] for `β ≤ 0` or non-finite β. NaN/±∞ inputs give
/// the detached [`LossOutput::non_finite`] flag (no host read).
///
/// # References
/// arXiv 2311.12908; see the module docs.
pub fn diffusion_dpo_loss<B: Backend, const D: usize>(
    model_w: Tensor<B, D>,
    model_l: Tensor<B, D>,
    ref_w: Tensor<B, D>,
    ref_l: Tensor<B, D>,
    noise: Tensor<B, D>,
    config: &DiffusionDpoConfig,
) -> Result<LossOutput<B, DiffusionDpoMetrics<B>>, LossError> {
    config.init()?.forward(DiffusionDpoBatch {
        model_w,
        model_l,
        ref_w,
        ref_l,
        noise,
    })
}

fn diffusion_dpo_forward<B: Backend, const D: usize>(
    batch: DiffusionDpoBatch<B, D>,
    config: &DiffusionDpoConfig,
) -> Result<LossOutput<B, DiffusionDpoMetrics<B>>, LossError> {
    let DiffusionDpoBatch {
        model_w,
        model_l,
        ref_w,
        ref_l,
        noise,
    } = batch;
    let expected = noise.dims().to_vec();
    for (name, t) in [
        ("model_w", &model_w),
        ("model_l", &model_l),
        ("ref_w", &ref_w),
        ("ref_l", &ref_l),
    ] {
        if t.dims().to_vec() != expected {
            return Err(LossError::ShapeMismatch {
                name,
                actual: t.dims().to_vec(),
                expected,
            });
        }
    }
    let batch = expected[0];
    if expected.iter().product::<usize>() == 0 {
        return Err(LossError::EmptyBatch { name: "noise" });
    }
    let watch = FiniteWatch::new()
        .watch(&model_w)
        .watch(&model_l)
        .watch(&ref_w)
        .watch(&ref_l)
        .watch(&noise);
    let per_pair = |pred: Tensor<B, D>| -> Tensor<B, 1> {
        (pred - noise.clone())
            .powf_scalar(2.0)
            .reshape([batch as i32, -1])
            .mean_dim(1)
            .reshape([batch])
    };
    let e_model_w = per_pair(model_w);
    let e_model_l = per_pair(model_l);
    let e_ref_w = per_pair(ref_w).detach();
    let e_ref_l = per_pair(ref_l).detach();

    let model_diff = e_model_w.clone() - e_model_l.clone();
    let ref_diff = e_ref_w.clone() - e_ref_l.clone();
    let inside = (model_diff - ref_diff).mul_scalar(-config.beta);
    let loss = log_sigmoid(inside.clone()).mean().neg();

    let metrics = DiffusionDpoMetrics {
        model_mse: (e_model_w + e_model_l).detach().mean().mul_scalar(0.5),
        ref_mse: (e_ref_w + e_ref_l).mean().mul_scalar(0.5),
        implicit_acc: inside.detach().greater_elem(0.0).float().mean(),
    };
    Ok(LossOutput::new(loss, metrics, watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DiffusionError;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    // Fixed pair batch: B = 2 pairs of 1×2×2 "images".
    const NOISE: [f64; 8] = [0.3, -1.2, 0.5, 0.9, -0.4, 0.1, 1.5, -0.7];
    const MW: [f64; 8] = [0.2, -1.0, 0.7, 0.8, -0.1, 0.3, 1.1, -0.9];
    const ML: [f64; 8] = [0.9, -0.2, 0.1, 1.4, -0.5, 0.0, 1.6, -0.6];
    const RW: [f64; 8] = [0.4, -1.1, 0.2, 1.0, -0.3, 0.4, 1.2, -0.5];
    const RL: [f64; 8] = [0.1, -1.3, 0.6, 0.7, -0.9, 0.2, 1.0, -1.0];

    /// Independent f64 host re-derivation of the reference loss (same formula as
    /// `train_diffusion_dpo.py`): used both for the golden value and for finite differences.
    fn host_loss(mw: &[f64], beta: f64) -> f64 {
        let mse = |p: &[f64], i: usize| -> f64 {
            (0..4)
                .map(|k| (p[i * 4 + k] - NOISE[i * 4 + k]).powi(2))
                .sum::<f64>()
                / 4.0
        };
        (0..2)
            .map(|i| {
                let inside = -beta * ((mse(mw, i) - mse(&ML, i)) - (mse(&RW, i) - mse(&RL, i)));
                // -log σ(x) = log(1 + e^{-x}) = max(-x, 0) + log1p(e^{-|x|})
                (-inside).max(0.0) + (-inside.abs()).exp().ln_1p()
            })
            .sum::<f64>()
            / 2.0
    }

    // numpy golden (independent of the Rust code):
    //   import numpy as np
    //   n=np.array(NOISE).reshape(2,4); f=lambda p:((np.array(p).reshape(2,4)-n)**2).mean(1)
    //   inside=-5.0*((f(MW)-f(ML))-(f(RW)-f(RL)))
    //   print(np.mean(np.logaddexp(0,-inside)))   # -> 0.6512900218417218
    //   print(inside)                              # -> [ 2.1125 -0.825 ]
    #[test]
    fn golden_value_and_metrics() {
        let d = device();
        let t = |v: &[f64]| tensor::<TestBackend, 4>(v, [2, 1, 2, 2], &d);
        let LossOutput {
            loss, metrics: m, ..
        } = diffusion_dpo_loss(
            t(&MW),
            t(&ML),
            t(&RW),
            t(&RL),
            t(&NOISE),
            &DiffusionDpoConfig::new().with_beta(5.0),
        )
        .unwrap();
        assert_close(&to_vec(loss), &[0.6512900218417218], 1e-5, 1e-6);
        assert_close(&[host_loss(&MW, 5.0)], &[0.6512900218417218], 1e-12, 0.0);
        assert_close(&[m.read().implicit_acc], &[0.5], 0.0, 1e-12);
    }

    #[test]
    fn identical_policy_and_reference_gives_ln2() {
        let d = device();
        let t = |v: &[f64]| tensor::<TestBackend, 4>(v, [2, 1, 2, 2], &d);
        let LossOutput {
            loss, metrics: m, ..
        } = diffusion_dpo_loss(
            t(&MW),
            t(&ML),
            t(&MW),
            t(&ML),
            t(&NOISE),
            &DiffusionDpoConfig::new(),
        )
        .unwrap();
        assert_close(&to_vec(loss), &[std::f64::consts::LN_2], 1e-6, 0.0);
        let m = m.read();
        assert_close(&[m.model_mse], &[m.ref_mse], 1e-6, 0.0);
    }

    #[test]
    fn gradient_matches_finite_difference() {
        let d = device();
        let ta = |v: &[f64]| tensor::<TestAutodiffBackend, 4>(v, [2, 1, 2, 2], &d);
        let mw = ta(&MW).require_grad();
        let LossOutput { loss, .. } = diffusion_dpo_loss(
            mw.clone(),
            ta(&ML),
            ta(&RW),
            ta(&RL),
            ta(&NOISE),
            &DiffusionDpoConfig::new().with_beta(5.0),
        )
        .unwrap();
        let grads = loss.backward();
        let g = to_vec(mw.grad(&grads).unwrap());
        let fd = finite_difference(|v| host_loss(v, 5.0), &MW, 1e-6);
        assert_close(&g, &fd, 1e-3, 1e-5);
    }

    #[test]
    fn extreme_beta_stays_finite() {
        let d = device();
        let t = |v: &[f64]| tensor::<TestBackend, 4>(v, [2, 1, 2, 2], &d);
        let LossOutput { loss, .. } = diffusion_dpo_loss(
            t(&MW),
            t(&ML),
            t(&RW),
            t(&RL),
            t(&NOISE),
            &DiffusionDpoConfig::new().with_beta(1e6),
        )
        .unwrap();
        let v = to_vec(loss)[0];
        // With β = 1e6 the second pair's inside is −165000: the loss is ≈ 165000/2, still finite.
        assert_close(&[v], &[host_loss(&MW, 1e6)], 1e-5, 0.0);
    }

    #[test]
    fn bad_input_gives_typed_errors() {
        let d = device();
        let t = |v: &[f64]| tensor::<TestBackend, 4>(v, [2, 1, 2, 2], &d);
        let wrong = tensor::<TestBackend, 4>(&MW[..4], [1, 1, 2, 2], &d);
        let err = diffusion_dpo_loss(
            t(&MW),
            wrong,
            t(&RW),
            t(&RL),
            t(&NOISE),
            &DiffusionDpoConfig::new(),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DiffusionError::ShapeMismatch {
                name: "model_l",
                ..
            }
        ));
        let err = diffusion_dpo_loss(
            t(&MW),
            t(&ML),
            t(&RW),
            t(&RL),
            t(&NOISE),
            &DiffusionDpoConfig::new().with_beta(0.0),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            DiffusionError::InvalidParameter { name: "beta", .. }
        ));
        let e = || tensor::<TestBackend, 4>(&[], [0, 1, 2, 2], &d);
        let err =
            diffusion_dpo_loss(e(), e(), e(), e(), e(), &DiffusionDpoConfig::new()).unwrap_err();
        assert!(matches!(err, DiffusionError::EmptyBatch { .. }));
    }
}
