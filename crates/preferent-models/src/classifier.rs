//! A small MLP classifier with an exposed feature layer (for quality metrics on samples).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{backend::Backend, Tensor};

use crate::error::invalid;

/// Configuration of [`MlpClassifier`].
#[derive(Config, Debug)]
pub struct MlpClassifierConfig {
    /// Input dimension (64 for 8×8 digits).
    pub input: usize,
    /// Number of classes.
    #[config(default = 10)]
    pub classes: usize,
    /// First hidden width.
    #[config(default = 128)]
    pub hidden: usize,
    /// Width of the penultimate feature layer (used for Fréchet distances).
    #[config(default = 64)]
    pub features: usize,
}

impl MlpClassifierConfig {
    /// Builds the classifier.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<MlpClassifier<B>> {
        if self.input == 0 || self.classes < 2 || self.hidden == 0 || self.features == 0 {
            return Err(invalid(
                "input/classes/hidden/features",
                format!(
                    "{}/{}/{}/{}",
                    self.input, self.classes, self.hidden, self.features
                ),
                "widths must be positive and classes ≥ 2",
            ));
        }
        let model = MlpClassifier {
            l1: LinearConfig::new(self.input, self.hidden).init(device),
            l2: LinearConfig::new(self.hidden, self.features).init(device),
            out: LinearConfig::new(self.features, self.classes).init(device),
        };
        crate::train::materialize(&model);
        Ok(model)
    }
}

/// Two-hidden-layer ReLU MLP classifier.
///
/// ```text
/// f(x) = ReLU(W2 ReLU(W1 x))       (features, penultimate layer)
/// logits = W3 f(x)
/// ```
///
/// # Shapes
/// `[batch, input]` → features `[batch, features]`, logits `[batch, classes]`
#[derive(Module, Debug)]
pub struct MlpClassifier<B: Backend> {
    /// First layer.
    pub l1: Linear<B>,
    /// Feature layer.
    pub l2: Linear<B>,
    /// Output layer.
    pub out: Linear<B>,
}

impl<B: Backend> MlpClassifier<B> {
    /// Checks that `x` is `[batch ≥ 1, input]`.
    fn check_input(&self, x: &Tensor<B, 2>) -> crate::Result<()> {
        let [b, input] = x.dims();
        let want = self.l1.weight.dims()[0];
        if input != want || b == 0 {
            return Err(crate::Error::Shape {
                what: "x",
                expected: format!("[batch ≥ 1, {want}]"),
                got: x.dims().to_vec(),
            });
        }
        Ok(())
    }

    /// [`MlpClassifier::features`], checked: `x` must be `[batch ≥ 1, input]`.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) for any other shape.
    pub fn try_features(&self, x: Tensor<B, 2>) -> crate::Result<Tensor<B, 2>> {
        self.check_input(&x)?;
        Ok(self.features(x))
    }

    /// [`MlpClassifier::forward`], checked: `x` must be `[batch ≥ 1, input]`.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) for any other shape.
    pub fn try_forward(&self, x: Tensor<B, 2>) -> crate::Result<Tensor<B, 2>> {
        self.check_input(&x)?;
        Ok(self.forward(x))
    }

    /// Penultimate features.
    ///
    /// # Panics
    /// If `x` is not `[batch, input]` (use [`MlpClassifier::try_features`] on untrusted input).
    pub fn features(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        relu(self.l2.forward(relu(self.l1.forward(x))))
    }

    /// Class logits.
    ///
    /// # Panics
    /// If `x` is not `[batch, input]` (use [`MlpClassifier::try_forward`] on untrusted input).
    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        self.out.forward(self.features(x))
    }
}
