//! EXO: reverse-KL "efficient exact optimisation" for pairs.

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

/// EXO-pref (K = 2): `KL(p_θ ‖ p_target)` between the model's pair distribution and the
/// ε-smoothed target.
///
/// ```text
/// z = β·(s_w − s_l),  q_w = σ(z),  q_l = σ(−z)
/// ℓ = q_w·(log q_w − log(1−ε)) + q_l·(log q_l − log ε)
/// ```
///
/// Needs ε ∈ (0, 0.5): TRL HEAD raises at ε = 0 (legacy silently used 1e−3); preferent returns
/// [`LossError::InvalidParameter`](crate::LossError::InvalidParameter) from the config check.
/// `q` is computed as `exp(log σ)`, so it is finite for every finite margin.
///
/// # Shapes
/// `delta_score: [B]` → `[B]`.
///
/// # References
/// Ji et al., "Towards Efficient Exact Optimization of LM Alignment", arXiv 2402.00856, Eq. 16;
/// TRL `dpo_trainer.py` (`exo_pair`).
pub fn exo_pair_loss<B: Backend>(
    delta_score: Tensor<B, 1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<B, 1> {
    let z = delta_score.mul_scalar(beta);
    let log_qw = log_sigmoid(z.clone());
    let log_ql = log_sigmoid(z.neg());
    let qw = log_qw.clone().exp();
    let ql = log_ql.clone().exp();
    qw * log_qw.sub_scalar((1.0 - label_smoothing).ln())
        + ql * log_ql.sub_scalar(label_smoothing.ln())
}
