//! Frozen reference models.

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

/// A frozen copy of `model` for use as the reference policy in DPO-style losses.
///
/// The copy lives on the inner (non-autodiff) backend, so evaluating it records no graph and
/// costs no gradient memory; later updates of `model` do not affect it (burn tensors are
/// immutable). Bring its outputs back next to the policy's with `Tensor::from_inner`.
///
/// ```text
/// let reference = frozen_reference(&policy);
/// let ref_lp = Tensor::from_inner(reference.token_log_probs(tokens.inner()));
/// ```
pub fn frozen_reference<B: AutodiffBackend, M: AutodiffModule<B>>(model: &M) -> M::InnerModule {
    super::materialize(model);
    model.clone().valid()
}
