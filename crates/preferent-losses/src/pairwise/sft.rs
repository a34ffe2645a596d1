//! The SFT term (and RPO's NLL term): token-mean negative log-likelihood of the chosen responses.

use burn::tensor::{backend::Backend, Tensor};

/// Token-mean cross-entropy over all chosen completion tokens in the batch, broadcast to `[B]`.
///
/// ```text
/// NLL = −Σ_i lp_θ(y_w,i) / Σ_i |y_w,i|          ℓ_i = NLL for every i
/// ```
///
/// This is TRL HEAD's `sft` loss type (`F.cross_entropy` over the masked chosen tokens) and legacy
/// TRL's RPO term (`rpo_alpha · NLL`, paper default α = 1.0), which HEAD replaces by
/// `loss_type=["sigmoid", "sft"]`. A batch with no chosen tokens gives 0 (the denominator is
/// clamped at 1).
///
/// # Shapes
/// `policy_chosen_logps` (summed), `chosen_lengths: [B]` → `[B]`.
///
/// # References
/// Pang et al., "Iterative Reasoning Preference Optimization" (RPO), arXiv 2404.19733, Eq. 1;
/// TRL `dpo_trainer.py` (`sft`; v0.23.0 `rpo_alpha`).
pub fn sft_loss<B: Backend>(
    policy_chosen_logps: Tensor<B, 1>,
    chosen_lengths: Tensor<B, 1>,
) -> Tensor<B, 1> {
    let [b] = policy_chosen_logps.dims();
    let nll = policy_chosen_logps.sum().neg() / chosen_lengths.sum().clamp_min(1.0);
    nll.expand([b])
}
