//! AOT: alignment via optimal transport (distributional dominance through sorting).

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

fn smoothed_logistic<B: Backend>(d: Tensor<B, 1>, beta: f64, eps: f64) -> Tensor<B, 1> {
    let z = d.mul_scalar(beta);
    log_sigmoid(z.clone()).mul_scalar(-(1.0 - eps)) - log_sigmoid(z.neg()).mul_scalar(eps)
}

/// AOT (paired): sort the policy and reference log-ratio margins across the batch and compare
/// them quantile by quantile.
///
/// ```text
/// d = sort_batch(lp_θ(y_w) − lp_θ(y_l)) − sort_batch(lp_ref(y_w) − lp_ref(y_l))
/// ℓ = −(1−ε)·log σ(β·d) − ε·log σ(−β·d)
/// ```
///
/// Works on raw log-probs: the f-divergence is ignored (as in TRL). The loss of row `i` belongs to
/// the `i`-th quantile, not to pair `i`. TRL refuses WPO weighting with AOT.
///
/// # Shapes
/// `policy_chosen, policy_rejected, reference_chosen, reference_rejected: [B]` → `[B]`.
///
/// # References
/// Melnyk et al., "Distributional Preference Alignment of LLMs via Optimal Transport",
/// arXiv 2406.05882; TRL `dpo_trainer.py` (`aot`).
pub fn aot_loss<B: Backend>(
    policy_chosen: Tensor<B, 1>,
    policy_rejected: Tensor<B, 1>,
    reference_chosen: Tensor<B, 1>,
    reference_rejected: Tensor<B, 1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<B, 1> {
    let d =
        (policy_chosen - policy_rejected).sort(0) - (reference_chosen - reference_rejected).sort(0);
    smoothed_logistic(d, beta, label_smoothing)
}

/// AOT (unpaired; legacy TRL `aot_pair`): sort chosen and rejected log-ratios separately.
///
/// ```text
/// d = sort_batch(r_w) − sort_batch(r_l)
/// ℓ = −(1−ε)·log σ(β·d) − ε·log σ(−β·d)
/// ```
///
/// # Shapes
/// `chosen_logratios, rejected_logratios: [B]` → `[B]`.
///
/// # References
/// arXiv 2406.05882; TRL `dpo_trainer.py` (`aot_unpaired`).
pub fn aot_unpaired_loss<B: Backend>(
    chosen_logratios: Tensor<B, 1>,
    rejected_logratios: Tensor<B, 1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<B, 1> {
    let d = chosen_logratios.sort(0) - rejected_logratios.sort(0);
    smoothed_logistic(d, beta, label_smoothing)
}
