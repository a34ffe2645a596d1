//! Classifier-free guidance and the classifier-guidance hook.

use burn::tensor::{backend::Backend, Tensor};

/// Classifier-free guidance combination.
///
/// ```text
/// out = u + w·(c − u)        (w = 1 returns c; w = 0 returns u)
/// ```
///
/// Works for any linear parameterisation (ε, x₀, v).
///
/// # Shapes
/// `uncond`, `cond`: identical shapes; returns that shape.
///
/// # References
/// Ho & Salimans, "Classifier-Free Diffusion Guidance" (arXiv:2207.12598) eq. (6);
/// DPM-Solver `model_wrapper(guidance_type="classifier-free")`.
pub fn classifier_free_guidance<B: Backend, const D: usize>(
    uncond: Tensor<B, D>,
    cond: Tensor<B, D>,
    scale: f64,
) -> Tensor<B, D> {
    uncond.clone() + (cond - uncond).mul_scalar(scale)
}

/// Wraps a conditional and an unconditional model into one guided model closure.
///
/// At `scale == 1` the unconditional model is not called (as in DPM-Solver's wrapper).
///
/// # Shapes
/// Each model maps `x: S` to `S`; the result does too.
pub fn guided_model<B, const D: usize, U, C>(
    uncond: U,
    cond: C,
    scale: f64,
) -> impl Fn(&Tensor<B, D>, f64) -> Tensor<B, D>
where
    B: Backend,
    U: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
    C: Fn(&Tensor<B, D>, f64) -> Tensor<B, D>,
{
    move |x, t| {
        let c = cond(x, t);
        if scale == 1.0 {
            c
        } else {
            classifier_free_guidance(uncond(x, t), c, scale)
        }
    }
}

/// Classifier guidance on an ε prediction.
///
/// ```text
/// ε̃ = ε − w·σ_t·∇ₓ log p(c | x_t)
/// ```
///
/// # Shapes
/// `epsilon`, `grad_log_prob`: identical shapes.
///
/// # References
/// Dhariwal & Nichol (arXiv:2105.05233) Algorithm 2; DPM-Solver `model_wrapper(guidance_type=
/// "classifier")`.
pub fn classifier_guidance<B: Backend, const D: usize>(
    epsilon: Tensor<B, D>,
    grad_log_prob: Tensor<B, D>,
    sigma: f64,
    scale: f64,
) -> Tensor<B, D> {
    epsilon - grad_log_prob.mul_scalar(scale * sigma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    // u = [1, 2], c = [3, -2], w = 7.5: u + 7.5(c − u) = [16, -28]
    #[test]
    fn cfg_combination_and_wrapper() {
        let d = device();
        let u = tensor::<TestBackend, 1>(&[1., 2.], [2], &d);
        let c = tensor::<TestBackend, 1>(&[3., -2.], [2], &d);
        assert_close(
            &to_vec(classifier_free_guidance(u.clone(), c.clone(), 7.5)),
            &[16., -28.],
            1e-6,
            1e-6,
        );
        let m = guided_model(
            |x: &Tensor<TestBackend, 1>, _t| x.clone(),
            |x: &Tensor<TestBackend, 1>, _t| x.clone().mul_scalar(2.0),
            3.0,
        );
        // u = x, c = 2x → x + 3x = 4x
        assert_close(&to_vec(m(&u, 0.0)), &[4., 8.], 1e-6, 1e-6);
        let g = classifier_guidance(u, c, 0.5, 2.0);
        assert_close(&to_vec(g), &[-2., 4.], 1e-6, 1e-6);
    }
}
