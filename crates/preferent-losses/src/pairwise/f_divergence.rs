//! f-divergence scores (f-DPO): the transform applied to the log-ratio before every loss type.

use burn::tensor::{backend::Backend, Tensor};

use super::base::FDivergenceType;
use crate::numerics::log_sigmoid;

/// Cap on the exponent of the forward-KL and α scores, so that `exp` stays finite in f32.
///
/// TRL HEAD clamps the α-divergence exponent at 80 for f32/bf16; preferent applies the same cap
/// to forward KL (TRL HEAD leaves `−exp(−r)` uncapped, which overflows for `r < −88`).
pub const SCORE_EXP_CAP: f64 = 80.0;

/// The f-DPO score `s(r)` of a log-ratio `r = log π_θ(y) − log π_ref(y)`.
///
/// ```text
/// reverse KL : s(r) = r
/// forward KL : s(r) = −exp(min(−r, 80))
/// JS         : s(r) = log σ(r)
/// α (coef a) : s(r) = exp(min((a−1)·r, 80)) / (a−1);   s(r) = r if |a−1| < 1e−6
/// ```
///
/// Each is `f′(e^r)` up to an additive constant (constants cancel in `s(r_w) − s(r_l)`). The α
/// form is TRL-HEAD's `f_alpha_divergence_coef` convention; the f-DPO paper's α is `1 − a` (see
/// [`alpha_coef_from_paper`]).
///
/// # Shapes
/// Elementwise; `r: [B]` → `[B]`.
///
/// # References
/// Wang et al., "Beyond Reverse KL" (f-DPO), arXiv 2309.16240, Table 1; TRL
/// `trl/trainer/dpo_trainer.py::_compute_loss` (HEAD `f2cd577`).
pub fn f_divergence_score<B: Backend>(
    r: Tensor<B, 1>,
    kind: FDivergenceType,
    alpha_coef: f64,
) -> Tensor<B, 1> {
    match kind {
        FDivergenceType::ReverseKl => r,
        FDivergenceType::ForwardKl => r.neg().clamp_max(SCORE_EXP_CAP).exp().neg(),
        FDivergenceType::JsDivergence => log_sigmoid(r),
        FDivergenceType::AlphaDivergence => {
            if (alpha_coef - 1.0).abs() < 1e-6 {
                r
            } else {
                let k = alpha_coef - 1.0;
                r.mul_scalar(k).clamp_max(SCORE_EXP_CAP).exp().div_scalar(k)
            }
        }
    }
}

/// Converts the f-DPO paper's α (also legacy TRL ≤ v0.23's `f_alpha_divergence_coef`) to
/// preferent's / TRL-HEAD's coefficient `a = 1 − α`.
///
/// ```text
/// paper:  f′(u) = (1 − u^{−α}) / α          HEAD:  s(r) = e^{(a−1) r} / (a−1)
/// with u = e^r and a = 1 − α the two differ by the constant 1/α, which cancels in s_w − s_l.
/// ```
///
/// So paper α = 0.7 equals HEAD a = 0.3; the conventions coincide only at 0.5 (the HEAD
/// default). Paper α → 0 is reverse KL, α = 1 is forward KL.
///
/// # References
/// arXiv 2309.16240 §4; TRL v0.23.0 vs HEAD `dpo_trainer.py`.
pub fn alpha_coef_from_paper(alpha_paper: f64) -> f64 {
    1.0 - alpha_paper
}
