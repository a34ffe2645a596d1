//! A Bradley-Terry reward model: the byte LM trunk with a scalar head.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::{backend::Backend, Int, Tensor};

use crate::lm::{ByteLm, ByteLmConfig};

/// Configuration of [`RewardModel`].
#[derive(Config, Debug)]
pub struct RewardModelConfig {
    /// The transformer trunk.
    pub lm: ByteLmConfig,
}

impl RewardModelConfig {
    /// Builds a reward model with a fresh trunk.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<RewardModel<B>> {
        let lm = self.lm.init(device)?;
        Ok(RewardModel::from_lm(lm, device))
    }
}

/// Scalar reward `r(x)` read from the LM's final hidden state at the last real token.
///
/// ```text
/// r(x) = w · h_L[len(x) − 1] + b
/// ```
///
/// # Shapes
/// - tokens `[batch, T]`, lengths `[batch]` (1 ≤ len ≤ T) → `[batch]`
///
/// # References
/// Ouyang et al. 2022 (InstructGPT, arXiv 2203.02155) §3.5; TRL `RewardTrainer`.
#[derive(Module, Debug)]
pub struct RewardModel<B: Backend> {
    /// Trunk (typically initialised from a pretrained [`ByteLm`]).
    pub lm: ByteLm<B>,
    /// Scalar head.
    pub head: Linear<B>,
}

impl<B: Backend> RewardModel<B> {
    /// Puts a fresh scalar head on an existing LM trunk.
    pub fn from_lm(lm: ByteLm<B>, device: &B::Device) -> Self {
        let d = lm.tok_emb.weight.dims()[1];
        let model = Self {
            lm,
            head: LinearConfig::new(d, 1).init(device),
        };
        crate::train::materialize(&model);
        model
    }

    /// Rewards of a batch of (right-padded) sequences.
    pub fn forward(&self, tokens: Tensor<B, 2, Int>, lengths: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        let h = self.lm.hidden(tokens);
        let [b, _, d] = h.dims();
        let idx = (lengths - 1).reshape([b, 1, 1]).expand([b, 1, d]);
        let last = h.gather(1, idx).reshape([b, d]);
        self.head.forward(last).reshape([b])
    }
}

/// Bradley-Terry negative log-likelihood of "chosen ≻ rejected", averaged over the batch.
///
/// ```text
/// L = −mean log σ(r_chosen − r_rejected)
/// ```
///
/// # Shapes
/// `[batch]`, `[batch]` → `[1]`
///
/// # References
/// Bradley & Terry 1952; Ouyang et al. 2022 (arXiv 2203.02155) eq. 1.
pub fn bradley_terry_loss<B: Backend>(
    chosen: Tensor<B, 1>,
    rejected: Tensor<B, 1>,
) -> Tensor<B, 1> {
    log_sigmoid(chosen - rejected).mean().neg()
}
