//! APO: anchored preference optimisation (zero and down anchors).

use burn::tensor::{activation::sigmoid, backend::Backend, Tensor};

/// APO-zero: raise the chosen and lower the rejected likelihood (use when the chosen outputs are
/// better than the model's own).
///
/// ```text
/// ℓ = 1 − σ(β·r_w) + σ(β·r_l)
/// ```
///
/// Uses the raw log-ratios `r`, ignoring the f-divergence (as TRL HEAD).
///
/// # Shapes
/// `chosen_logratios, rejected_logratios: [B]` → `[B]`.
///
/// # References
/// D'Oosterlinck et al., "Anchored Preference Optimization", arXiv 2408.06266, Eq. 7; TRL
/// `dpo_trainer.py` (`apo_zero`).
pub fn apo_zero_loss<B: Backend>(
    chosen_logratios: Tensor<B, 1>,
    rejected_logratios: Tensor<B, 1>,
    beta: f64,
) -> Tensor<B, 1> {
    sigmoid(chosen_logratios.mul_scalar(beta))
        .neg()
        .add_scalar(1.0)
        + sigmoid(rejected_logratios.mul_scalar(beta))
}

/// APO-down: lower the chosen likelihood and the rejected one more (use when the chosen outputs
/// are worse than the model's own).
///
/// ```text
/// ℓ = σ(β·r_w) + 1 − σ(β·(s_w − s_l))
/// ```
///
/// As TRL HEAD: the chosen term uses the raw log-ratio, the margin term the f-divergence score.
///
/// # Shapes
/// `chosen_logratios, delta_score: [B]` → `[B]`.
///
/// # References
/// arXiv 2408.06266, Eq. 8; TRL `dpo_trainer.py` (`apo_down`).
pub fn apo_down_loss<B: Backend>(
    chosen_logratios: Tensor<B, 1>,
    delta_score: Tensor<B, 1>,
    beta: f64,
) -> Tensor<B, 1> {
    sigmoid(chosen_logratios.mul_scalar(beta))
        + sigmoid(delta_score.mul_scalar(beta)).neg().add_scalar(1.0)
}
