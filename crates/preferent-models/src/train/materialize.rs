//! Forcing burn's lazily initialised parameters.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{backend::Backend, Tensor};

struct Touch;

impl<B: Backend> ModuleVisitor<B> for Touch {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Runs the initialiser of every still-lazy parameter of `module`, in place.
///
/// burn 0.21 initialises parameters on first use, and a *clone* of a not-yet-used parameter
/// re-runs the initialiser independently (burn-core `Param::clone`). So cloning a freshly built
/// model (to keep a frozen reference, or to start two runs from one init) silently yields a
/// different random model. Every `init` in this crate calls this; call it yourself on modules
/// built elsewhere before cloning them.
pub fn materialize<B: Backend, M: Module<B>>(module: &M) {
    module.visit(&mut Touch);
}
