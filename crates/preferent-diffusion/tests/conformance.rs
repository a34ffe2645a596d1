//! The loss conformance suite (`preferent_testkit::loss_conformance!`) for this crate's losses.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use preferent_diffusion::{DiffusionDpoBatch, DiffusionDpoConfig};
use preferent_testkit::loss_conformance;

/// Five `[rows·4]` parts as `[rows, 1, 2, 2]` images: policy w/l, reference w/l, noise.
fn images<B: Backend>(p: Vec<Tensor<B, 1>>) -> DiffusionDpoBatch<B, 4> {
    let img = |k: usize| p[k].clone().reshape([p[k].dims()[0] / 4, 1, 2, 2]);
    DiffusionDpoBatch {
        model_w: img(0),
        model_l: img(1),
        ref_w: img(2),
        ref_l: img(3),
        noise: img(4),
    }
}

loss_conformance!(
    diffusion_dpo,
    DiffusionDpoConfig::new().with_beta(5.0),
    invalid = [DiffusionDpoConfig::new().with_beta(-1.0)],
    parts = 5,
    width = 4,
    grad = [0, 1],
    mismatch = [1],
    build = images
);
