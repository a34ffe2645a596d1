//! A Bradley-Terry reward model: the byte LM trunk with a scalar head.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
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

    /// [`RewardModel::forward`], checked: tokens as [`ByteLm::try_forward`] and `lengths` of
    /// shape `[batch]` with every length in `1..=T` (ids and lengths are read back to the host
    /// once).
    ///
    /// # Shapes
    /// tokens `[batch, T]`, lengths `[batch]` → `[batch]`
    ///
    /// # Errors
    /// As [`ByteLm::try_forward`]; [`Error::Shape`](crate::Error::Shape) for `lengths` of the
    /// wrong shape; [`Error::Sequence`](crate::Error::Sequence) for a length outside `1..=T`.
    pub fn try_forward(
        &self,
        tokens: Tensor<B, 2, Int>,
        lengths: Tensor<B, 1, Int>,
    ) -> crate::Result<Tensor<B, 1>> {
        let [b, t] = tokens.dims();
        if lengths.dims() != [b] {
            return Err(crate::Error::Shape {
                what: "lengths",
                expected: format!("[{b}]"),
                got: lengths.dims().to_vec(),
            });
        }
        let h = self.lm.try_hidden(tokens)?;
        let lens: Vec<i64> = lengths
            .to_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .map_err(|e| crate::Error::Sequence(format!("reading lengths: {e:?}")))?;
        if let Some((row, len)) = lens
            .iter()
            .enumerate()
            .find(|(_, l)| **l < 1 || **l > t as i64)
        {
            return Err(crate::Error::Sequence(format!(
                "lengths[{row}] = {len} is outside 1..={t}"
            )));
        }
        Ok(self.score_hidden(h, lengths))
    }

    /// Rewards of a batch of (right-padded) sequences.
    ///
    /// # Panics
    /// On the inputs [`RewardModel::try_forward`] rejects (use it on untrusted input).
    pub fn forward(&self, tokens: Tensor<B, 2, Int>, lengths: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        let h = self.lm.hidden(tokens);
        self.score_hidden(h, lengths)
    }

    /// The head on the hidden state at each row's last real token.
    fn score_hidden(&self, h: Tensor<B, 3>, lengths: Tensor<B, 1, Int>) -> Tensor<B, 1> {
        let [b, _, d] = h.dims();
        let idx = (lengths - 1).reshape([b, 1, 1]).expand([b, 1, d]);
        let last = h.gather(1, idx).reshape([b, d]);
        self.head.forward(last).reshape([b])
    }
}

/// Bradley-Terry negative log-likelihood of "chosen ≻ rejected", averaged over the batch:
/// preferent-losses' [`bradley_terry_loss`](preferent_losses::bradley_terry::bradley_terry_loss)
/// (the one definition) without margin or centering, returning just the loss.
///
/// ```text
/// L = −mean log σ(r_chosen − r_rejected)
/// ```
///
/// # Shapes
/// `[batch]`, `[batch]` → `[1]`
///
/// # Panics
/// On rewards of different shapes or an empty batch (use [`try_bradley_terry_loss`] on untrusted
/// input).
///
/// # References
/// Bradley & Terry 1952; Ouyang et al. 2022 (arXiv 2203.02155) eq. 1.
pub fn bradley_terry_loss<B: Backend>(
    chosen: Tensor<B, 1>,
    rejected: Tensor<B, 1>,
) -> Tensor<B, 1> {
    match try_bradley_terry_loss(chosen, rejected) {
        Ok(l) => l,
        Err(e) => panic!("bradley_terry_loss: {e}"),
    }
}

/// [`bradley_terry_loss`], checked: both rewards must be `[batch ≥ 1]` with the same `batch`.
/// For the metrics, the margin and the centering penalty use
/// [`BradleyTerryConfig`](preferent_losses::bradley_terry::BradleyTerryConfig) directly.
///
/// # Errors
/// [`Error::Loss`](crate::Error::Loss) with `ShapeMismatch` naming `rewards_rejected`, or
/// `EmptyBatch`.
pub fn try_bradley_terry_loss<B: Backend>(
    chosen: Tensor<B, 1>,
    rejected: Tensor<B, 1>,
) -> crate::Result<Tensor<B, 1>> {
    use preferent_losses::bradley_terry::{bradley_terry_loss as bt, BradleyTerryConfig};
    Ok(bt(chosen, rejected, None, &BradleyTerryConfig::new())?.loss)
}
