//! Reference networks and training utilities for preferent experiments, tests and the demo.
//!
//! Every network is generic over a burn [`Backend`](burn::tensor::backend::Backend) and built
//! from a `#[derive(Config)]` configuration:
//!
//! - [`ByteLm`]: byte-level causal transformer LM with per-token log-probabilities;
//! - [`CausalBlock`] / [`CausalSelfAttention`]: its pre-norm decoder block, with the causal
//!   mask as an additive bias (same numbers as burn's encoder layer, without its mask broadcast);
//! - [`RewardModel`]: Bradley-Terry reward head on the LM trunk;
//! - [`MlpDenoiser`]: ε-prediction MLP with a sinusoidal time embedding for low-dimensional data;
//! - [`UNet`]: small conv U-Net for 8×8 / 16×16 images with optional cross-attention;
//! - [`MlpClassifier`]: small classifier with a feature layer, for sample-quality metrics.
//!
//! Each network's `forward` follows burn's convention (shapes are the caller's contract; bad ones
//! panic inside burn). On data of your own, call the checked entry points instead —
//! [`ByteLm::try_forward`], [`ByteLm::try_token_log_probs`], [`ByteLm::lm_loss`],
//! [`RewardModel::try_forward`], [`MlpDenoiser::try_forward`], [`MlpClassifier::try_forward`],
//! [`UNet::try_forward`], [`try_bradley_terry_loss`] — which return [`Error::Shape`] / [`Error::TokenOutOfRange`] instead.
//! A byte LM fed by a tokenizer must be built for its vocabulary
//! ([`ByteLmConfig::for_vocab`]`(tokenizer.vocab_size())`).
//!
//! [`preference`] joins preferent-data's collated pair batches to preferent-losses' inputs in
//! one call ([`pair_logprobs`], TRL's `concatenated_forward`).
//!
//! [`train`] holds the training state on burn's optimisers and schedulers with safetensors
//! checkpoints; [`datasets`] ships the UCI 8×8 digits and seeded 2-D sets. With the `learner`
//! feature, `learner` plugs the networks into burn-train's `Learner` (epochs, metrics,
//! checkpoints, multi-device data-parallel training).
//!
//! ## Training the byte LM
//!
//! ```
//! # fn main() -> Result<(), preferent_models::Error> {
//! use burn::backend::{Autodiff, Flex};
//! use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
//! use burn::tensor::{Int, Tensor, TensorData};
//! use preferent_models::ByteLmConfig;
//!
//! type B = Autodiff<Flex>;
//! let device = Default::default();
//! let mut lm = ByteLmConfig::tiny().init::<B>(&device)?;
//! let mut optim = AdamWConfig::new().init();
//! let text = b"2413=1234\n".map(i64::from);
//! let tokens = Tensor::<B, 2, Int>::from_data(TensorData::new(text.to_vec(), [1, 10]), &device);
//! // Position i scores token i + 1; score only the answer after '=' (tokens 5..10).
//! let score: Vec<f32> = (0..9).map(|i| if i >= 4 { 1.0 } else { 0.0 }).collect();
//! let mask = Tensor::<B, 2>::from_data(TensorData::new(score, [1, 9]), &device);
//!
//! let first = lm.lm_loss(tokens.clone(), mask.clone())?.into_scalar();
//! for _ in 0..10 {
//!     let loss = lm.lm_loss(tokens.clone(), mask.clone())?;
//!     let grads = GradientsParams::from_grads(loss.backward(), &lm);
//!     lm = optim.step(3e-3, lm, grads);
//! }
//! assert!(lm.lm_loss(tokens.clone(), mask)?.into_scalar() < first);
//! assert_eq!(lm.token_log_probs(tokens).dims(), [1, 9]); // log p(token i+1 | tokens 0..=i)
//! # Ok(())
//! # }
//! ```

mod causal_attention;
mod classifier;
pub mod datasets;
mod error;
#[cfg(feature = "learner")]
pub mod learner;
mod lm;
mod mlp_denoiser;
mod reward;
mod time_embedding;
pub mod train;
mod unet;

pub use causal_attention::{
    causal_bias, CausalBlock, CausalBlockConfig, CausalSelfAttention, CausalSelfAttentionConfig,
    CAUSAL_MASK_BIAS,
};
pub use classifier::{MlpClassifier, MlpClassifierConfig};
pub use error::{Error, Result};
pub use lm::{ByteLm, ByteLmConfig};
pub use mlp_denoiser::{MlpDenoiser, MlpDenoiserConfig};
pub mod preference;
pub use preference::{pair_logprobs, CausalLm, LogProbPath, PairLogProbs};
pub use reward::{bradley_terry_loss, try_bradley_terry_loss, RewardModel, RewardModelConfig};
pub use time_embedding::sinusoidal_embedding;
pub use train::{PreferenceTrainer, PreferenceTrainerConfig};
pub use unet::{CrossAttnBlock, ResBlock, UNet, UNetConfig};
