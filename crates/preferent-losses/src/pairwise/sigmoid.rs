//! DPO's sigmoid loss, with cDPO label smoothing.

use burn::tensor::{backend::Backend, Tensor};

use crate::numerics::log_sigmoid;

/// DPO / cDPO: the logistic loss on the score margin, optionally label-smoothed.
///
/// ```text
/// z = β·(s_w − s_l)
/// ℓ = −(1−ε)·log σ(z) − ε·log σ(−z)
/// ```
///
/// With ε = 0 this is DPO (ℓ = ln 2 at zero margin). With ε > 0 it is conservative DPO, whose
/// optimum is the bounded margin `σ(z*) = 1 − ε`. Defaults (TRL): β = 0.1, ε = 0.
/// TRL HEAD dropped the ε term from `sigmoid` (legacy ≤ v0.23 had it); preferent keeps it, and
/// both agree at the default ε = 0.
///
/// # Shapes
/// `delta_score: [B]` → `[B]` (per-pair loss).
///
/// # References
/// Rafailov et al., DPO, arXiv 2305.18290, Eq. 7; Mitchell, cDPO note (ericmitchell.ai/cdpo.pdf);
/// TRL v0.23.0 `dpo_trainer.py::dpo_loss`.
pub fn sigmoid_loss<B: Backend>(
    delta_score: Tensor<B, 1>,
    beta: f64,
    label_smoothing: f64,
) -> Tensor<B, 1> {
    let z = delta_score.mul_scalar(beta);
    let pos = log_sigmoid(z.clone()).mul_scalar(-(1.0 - label_smoothing));
    if label_smoothing == 0.0 {
        pos
    } else {
        pos - log_sigmoid(z.neg()).mul_scalar(label_smoothing)
    }
}
