//! Cross-crate tests through the facade: the crates compose as a user would combine them.

use preferent::diffusion::{diffusion_dpo_loss, DiffusionDpoConfig};
use preferent::losses::numerics::log_sigmoid;
use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

/// The Diffusion-DPO loss reduces to −log σ(·) of the losses crate: with one pair and a reference
/// equal to the policy on the loser, its value equals −log σ(−β·(e_θ^w − e_ref^w)).
#[test]
fn diffusion_dpo_is_a_dpo_through_the_losses_crate() {
    let d = device();
    let t = |v: &[f64]| tensor::<TestBackend, 2>(v, [1, 2], &d);
    let noise = [0.5, -0.5];
    let (mw, rw, l) = ([0.7, -0.1], [0.4, -0.6], [0.2, 0.3]);
    let beta = 3.0;
    let loss = diffusion_dpo_loss(
        t(&mw),
        t(&l),
        t(&rw),
        t(&l),
        t(&noise),
        &DiffusionDpoConfig::new().with_beta(beta),
    )
    .unwrap()
    .loss;
    let mse = |p: &[f64]| ((p[0] - noise[0]).powi(2) + (p[1] - noise[1]).powi(2)) / 2.0;
    let inside = -beta * (mse(&mw) - mse(&rw));
    let expected = to_vec(log_sigmoid(tensor::<TestBackend, 1>(&[inside], [1], &d)).neg());
    assert_close(&to_vec(loss), &expected, 1e-6, 1e-7);
}
