//! A byte-level causal transformer language model.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{backend::Backend, Int, Tensor, TensorData};
use rand::Rng;

use crate::causal_attention::{causal_bias, CausalBlock, CausalBlockConfig};
use crate::error::invalid;

/// Configuration of [`ByteLm`], a pre-norm GPT-style decoder over bytes.
///
/// Defaults (≈2.7 M parameters) follow the nanoGPT "baby" character model scaled down to CPU
/// size: 6 layers, width 192, 6 heads, 4× feed-forward, no dropout. [`ByteLmConfig::tiny`] gives
/// a ≈0.1 M-parameter model for tests and the quick demo.
///
/// # References
/// Radford et al. 2019 (GPT-2, pre-norm blocks); karpathy/nanoGPT `model.py`.
#[derive(Config, Debug)]
pub struct ByteLmConfig {
    /// Vocabulary size: token ids must lie in `0..vocab_size`.
    ///
    /// The default 256 covers raw bytes only. A model fed by a tokenizer must take that
    /// tokenizer's `vocab_size()`: preferent-data's `ByteTokenizer` has 259 ids (256 bytes plus
    /// BOS, EOS and PAD at 256–258), so build the config with [`ByteLmConfig::for_vocab`] (or
    /// `with_vocab_size`) from `tokenizer.vocab_size()`. The checked entry points
    /// ([`ByteLm::try_forward`], [`ByteLm::lm_loss`], …) name any id outside the vocabulary.
    #[config(default = 256)]
    pub vocab_size: usize,
    /// Model width.
    #[config(default = 192)]
    pub d_model: usize,
    /// Attention heads (must divide `d_model`).
    #[config(default = 6)]
    pub n_heads: usize,
    /// Transformer blocks.
    #[config(default = 6)]
    pub n_layers: usize,
    /// Feed-forward width.
    #[config(default = 768)]
    pub d_ff: usize,
    /// Longest sequence the learned position table covers.
    #[config(default = 128)]
    pub max_seq_len: usize,
    /// Dropout (0 keeps training deterministic).
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ByteLmConfig {
    /// The default-size model over a vocabulary of `vocab_size` ids: pass the tokenizer's
    /// `vocab_size()` so that every id the tokenizer (and its collators, with their BOS, EOS and
    /// PAD ids) emits has an embedding row.
    ///
    /// ```
    /// use preferent_models::ByteLmConfig;
    /// // preferent-data's `ByteTokenizer::vocab_size()` is 259: bytes + BOS/EOS/PAD.
    /// let config = ByteLmConfig::for_vocab(259);
    /// assert_eq!(config.vocab_size, 259);
    /// // The small test model over the same vocabulary:
    /// assert_eq!(ByteLmConfig::tiny().with_vocab_size(259).vocab_size, 259);
    /// ```
    pub fn for_vocab(vocab_size: usize) -> Self {
        Self::new().with_vocab_size(vocab_size)
    }

    /// A small model (width 64, 2 layers, 4 heads, context 32) for tests and the quick demo.
    pub fn tiny() -> Self {
        Self::new()
            .with_d_model(64)
            .with_n_heads(4)
            .with_n_layers(2)
            .with_d_ff(256)
            .with_max_seq_len(32)
    }

    /// Checks the configuration.
    pub fn validate(&self) -> crate::Result<()> {
        if self.vocab_size == 0 {
            return Err(invalid("vocab_size", self.vocab_size, "must be positive"));
        }
        if self.d_model == 0 || self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return Err(invalid(
                "n_heads",
                self.n_heads,
                "must be positive and divide d_model",
            ));
        }
        if self.n_layers == 0 || self.d_ff == 0 || self.max_seq_len == 0 {
            return Err(invalid(
                "n_layers/d_ff/max_seq_len",
                format!("{}/{}/{}", self.n_layers, self.d_ff, self.max_seq_len),
                "must be positive",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid("dropout", self.dropout, "must be in [0, 1)"));
        }
        Ok(())
    }

    /// Builds the model with freshly initialised weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<ByteLm<B>> {
        self.validate()?;
        let model = ByteLm {
            tok_emb: EmbeddingConfig::new(self.vocab_size, self.d_model).init(device),
            pos_emb: EmbeddingConfig::new(self.max_seq_len, self.d_model).init(device),
            blocks: (0..self.n_layers)
                .map(|_| {
                    CausalBlockConfig::new(self.d_model, self.d_ff, self.n_heads)
                        .with_dropout(self.dropout)
                        .init(device)
                })
                .collect::<crate::Result<_>>()?,
            norm: LayerNormConfig::new(self.d_model).init(device),
            head: LinearConfig::new(self.d_model, self.vocab_size)
                .with_bias(false)
                .init(device),
            vocab_size: self.vocab_size,
            max_seq_len: self.max_seq_len,
        };
        crate::train::materialize(&model);
        Ok(model)
    }
}

/// Byte-level causal transformer LM: token + learned position embeddings, pre-norm transformer
/// blocks with a causal mask, final LayerNorm, linear head.
///
/// ```text
/// h_0 = E_tok[x] + E_pos[0..T]
/// h_l = CausalBlock_l(h_{l−1})        l = 1 … L   (pre-norm, causal self-attention)
/// logits = W · LayerNorm(h_L)
/// ```
///
/// # Shapes
/// - tokens `[batch, T]` (Int, ids < `vocab_size`, `T ≤ max_seq_len`) → logits `[batch, T, vocab]`
#[derive(Module, Debug)]
pub struct ByteLm<B: Backend> {
    /// Token embedding.
    pub tok_emb: Embedding<B>,
    /// Learned position embedding.
    pub pos_emb: Embedding<B>,
    /// Pre-norm causal transformer blocks.
    pub blocks: Vec<CausalBlock<B>>,
    /// Final LayerNorm.
    pub norm: LayerNorm<B>,
    /// Output projection to the vocabulary.
    pub head: Linear<B>,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Context length.
    pub max_seq_len: usize,
}

impl<B: Backend> ByteLm<B> {
    /// Checks that `tokens` can be scored by this model: rank-2 `[batch ≥ 1, T]` with
    /// `2 ≤ T ≤ max_seq_len` (a next-token log-prob needs at least two tokens) and every id in
    /// `0..vocab_size`.
    ///
    /// This is the check [`ByteLm::try_token_log_probs`] and [`ByteLm::lm_loss`] run;
    /// [`ByteLm::try_forward`] also accepts `T = 1`. It reads the ids back to the host (one small
    /// transfer of `batch · T` integers).
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) on an empty batch or a `T` outside `2..=max_seq_len`;
    /// [`Error::TokenOutOfRange`](crate::Error::TokenOutOfRange) naming the first id outside the
    /// vocabulary, with its row and position.
    pub fn check_tokens(&self, tokens: &Tensor<B, 2, Int>) -> crate::Result<()> {
        self.check_tokens_min_len(tokens, 2)
    }

    /// [`ByteLm::check_tokens`] with a minimum sequence length of `min_t`.
    fn check_tokens_min_len(&self, tokens: &Tensor<B, 2, Int>, min_t: usize) -> crate::Result<()> {
        let [b, t] = tokens.dims();
        if b == 0 || t < min_t || t > self.max_seq_len {
            return Err(crate::Error::Shape {
                what: "tokens",
                expected: format!("[batch ≥ 1, {min_t} ≤ T ≤ {}]", self.max_seq_len),
                got: vec![b, t],
            });
        }
        let ids: Vec<i64> = tokens
            .to_data()
            .convert::<i64>()
            .to_vec::<i64>()
            .map_err(|e| crate::Error::Sequence(format!("reading token ids: {e:?}")))?;
        if let Some(i) = ids
            .iter()
            .position(|&x| x < 0 || x >= self.vocab_size as i64)
        {
            return Err(crate::Error::TokenOutOfRange {
                id: ids[i],
                row: i / t,
                position: i % t,
                vocab_size: self.vocab_size,
            });
        }
        Ok(())
    }

    /// [`ByteLm::forward`], checked: the tokens must be `[batch ≥ 1, 1 ≤ T ≤ max_seq_len]` with
    /// every id in `0..vocab_size` (ids are read back to the host once).
    ///
    /// # Shapes
    /// `[batch, T]` → `[batch, T, vocab_size]`
    ///
    /// # Errors
    /// As [`ByteLm::check_tokens`], except that `T = 1` is accepted.
    pub fn try_forward(&self, tokens: Tensor<B, 2, Int>) -> crate::Result<Tensor<B, 3>> {
        self.check_tokens_min_len(&tokens, 1)?;
        Ok(self.forward(tokens))
    }

    /// [`ByteLm::hidden`], checked as [`ByteLm::try_forward`].
    ///
    /// # Shapes
    /// `[batch, T]` → `[batch, T, d_model]`
    ///
    /// # Errors
    /// As [`ByteLm::try_forward`].
    pub fn try_hidden(&self, tokens: Tensor<B, 2, Int>) -> crate::Result<Tensor<B, 3>> {
        self.check_tokens_min_len(&tokens, 1)?;
        Ok(self.hidden(tokens))
    }

    /// [`ByteLm::token_log_probs`], checked with [`ByteLm::check_tokens`] (`T ≥ 2`).
    ///
    /// # Shapes
    /// `[batch, T]` → `[batch, T−1]`
    ///
    /// # Errors
    /// As [`ByteLm::check_tokens`].
    pub fn try_token_log_probs(&self, tokens: Tensor<B, 2, Int>) -> crate::Result<Tensor<B, 2>> {
        self.check_tokens(&tokens)?;
        Ok(self.token_log_probs(tokens))
    }

    /// Final hidden states (after the last LayerNorm).
    ///
    /// # Shapes
    /// `[batch, T]` → `[batch, T, d_model]`
    ///
    /// # Panics
    /// If `T = 0`, `T > max_seq_len` or an id is not below `vocab_size` (use
    /// [`ByteLm::try_hidden`] on untrusted input).
    pub fn hidden(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [_, t] = tokens.dims();
        let device = tokens.device();
        let pos = Tensor::<B, 1, Int>::arange(0..t as i64, &device).reshape([1, t]);
        let mut h = self.tok_emb.forward(tokens) + self.pos_emb.forward(pos);
        let bias = causal_bias::<B>(t, &device);
        for block in &self.blocks {
            h = block.forward(h, bias.clone());
        }
        self.norm.forward(h)
    }

    /// Next-token logits at every position.
    ///
    /// # Shapes
    /// `[batch, T]` → `[batch, T, vocab_size]`
    ///
    /// # Panics
    /// If `T = 0`, `T > max_seq_len` or an id is not below `vocab_size` (use
    /// [`ByteLm::try_forward`] on untrusted input).
    pub fn forward(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let h = self.hidden(tokens);
        let [b, t, d] = h.dims();
        // The head on `[B·T, D]` rows: one weight-gradient product instead of a batch of `B`
        // summed afterwards (burn's default linear backward on a 3-d input).
        self.head
            .forward(h.reshape([b * t, d]))
            .reshape([b, t, self.vocab_size])
    }

    /// Per-token log-probabilities of the given sequences under the model.
    ///
    /// ```text
    /// out[b, i] = log p(x[b, i+1] | x[b, 0..=i]),   i = 0 … T−2
    /// ```
    ///
    /// # Shapes
    /// `[batch, T]` → `[batch, T−1]` (position `i` scores token `i+1`)
    ///
    /// # Panics
    /// If `T < 2`, `T > max_seq_len` or an id is not below `vocab_size` (use
    /// [`ByteLm::try_token_log_probs`] on untrusted input).
    pub fn token_log_probs(&self, tokens: Tensor<B, 2, Int>) -> Tensor<B, 2> {
        let [b, t] = tokens.dims();
        let h = self.hidden(tokens.clone());
        let d = h.dims()[2];
        // Only positions 0 … T−2 predict a token; the head and the log-softmax run on those rows
        // as one contiguous `[B·(T−1), D]` tensor (a sliced `[B, T−1, V]` view of the full logits
        // would send every log-softmax op down burn-flex's strided path).
        let rows = h.slice([0..b, 0..t - 1, 0..d]).reshape([b * (t - 1), d]);
        let logp = log_softmax(self.head.forward(rows), 1);
        let targets = tokens.slice([0..b, 1..t]).reshape([b * (t - 1), 1]);
        logp.gather(1, targets).reshape([b, t - 1])
    }

    /// Mean next-token cross-entropy over positions where `loss_mask` is 1.
    ///
    /// ```text
    /// L = −Σ_{b,i} m[b,i] · log p(x[b,i+1] | x[b,0..=i]) / max(1, Σ m)
    /// ```
    ///
    /// The tokens are checked with [`ByteLm::check_tokens`] (one small read-back of the ids) and
    /// the mask's shape against them before anything runs.
    ///
    /// # Shapes
    /// tokens `[batch, T]`, loss_mask `[batch, T−1]` (1 = score token `i+1`) → `[1]`
    ///
    /// # Errors
    /// As [`ByteLm::check_tokens`]; [`Error::Shape`](crate::Error::Shape) for a `loss_mask` that
    /// is not `[batch, T−1]` (e.g. the off-by-one `[batch, T]`).
    pub fn lm_loss(
        &self,
        tokens: Tensor<B, 2, Int>,
        loss_mask: Tensor<B, 2>,
    ) -> crate::Result<Tensor<B, 1>> {
        let [b, t] = tokens.dims();
        self.check_tokens(&tokens)?;
        if loss_mask.dims() != [b, t - 1] {
            return Err(crate::Error::Shape {
                what: "loss_mask",
                expected: format!("[{b}, {}] (position i scores token i + 1)", t - 1),
                got: loss_mask.dims().to_vec(),
            });
        }
        let lp = self.token_log_probs(tokens);
        let denom = loss_mask.clone().sum().clamp_min(1.0);
        Ok((lp * loss_mask).sum().neg() / denom)
    }

    /// Autoregressive sampling (no KV cache: the whole prefix is re-run each step, fine for the
    /// short sequences this model is for).
    ///
    /// Every prompt must have the same length. Sampling uses `temperature` (≤ 0 means greedy
    /// argmax). Generation of a row stops after `stop` is produced; the returned completions exclude
    /// the prompt and include the stop byte if produced.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) for a NaN `temperature`;
    /// [`Error::Sequence`](crate::Error::Sequence) for empty or unequal prompts or a total length
    /// over `max_seq_len`; [`Error::TokenOutOfRange`](crate::Error::TokenOutOfRange) for a prompt
    /// id outside the vocabulary.
    pub fn generate<R: Rng>(
        &self,
        prompts: &[Vec<u32>],
        max_new_tokens: usize,
        temperature: f64,
        stop: Option<u32>,
        rng: &mut R,
        device: &B::Device,
    ) -> crate::Result<Vec<Vec<u32>>> {
        if temperature.is_nan() {
            return Err(crate::error::invalid(
                "temperature",
                temperature,
                "must not be NaN (≤ 0 means greedy)",
            ));
        }
        let Some(first) = prompts.first() else {
            return Ok(Vec::new());
        };
        let p_len = first.len();
        if p_len == 0 || prompts.iter().any(|p| p.len() != p_len) {
            return Err(crate::Error::Sequence(
                "generate needs non-empty prompts of one common length".into(),
            ));
        }
        if p_len + max_new_tokens > self.max_seq_len {
            return Err(crate::Error::Sequence(format!(
                "prompt length {p_len} + {max_new_tokens} new tokens exceeds max_seq_len {}",
                self.max_seq_len
            )));
        }
        for (row, prompt) in prompts.iter().enumerate() {
            if let Some(position) = prompt.iter().position(|&x| x as usize >= self.vocab_size) {
                return Err(crate::Error::TokenOutOfRange {
                    id: i64::from(prompt[position]),
                    row,
                    position,
                    vocab_size: self.vocab_size,
                });
            }
        }
        let n = prompts.len();
        let v = self.vocab_size;
        let mut seqs: Vec<Vec<u32>> = prompts.to_vec();
        let mut done = vec![false; n];
        for _ in 0..max_new_tokens {
            if done.iter().all(|&d| d) {
                break;
            }
            let t = seqs[0].len();
            let flat: Vec<i64> = seqs.iter().flatten().map(|&x| x as i64).collect();
            let tokens = Tensor::<B, 2, Int>::from_data(TensorData::new(flat, [n, t]), device);
            let logits = self
                .forward(tokens)
                .slice([0..n, t - 1..t, 0..v])
                .reshape([n, v]);
            let rows: Vec<f32> = logits
                .into_data()
                .convert::<f32>()
                .to_vec::<f32>()
                .map_err(|e| crate::Error::Sequence(format!("reading logits: {e:?}")))?;
            for (i, seq) in seqs.iter_mut().enumerate() {
                let next = if done[i] {
                    0
                } else {
                    sample_row(&rows[i * v..(i + 1) * v], temperature, rng)
                };
                seq.push(next);
                if stop == Some(next) {
                    done[i] = true;
                }
            }
        }
        Ok(seqs
            .into_iter()
            .map(|s| {
                let mut c = s[p_len..].to_vec();
                if let Some(pos) = stop.and_then(|st| c.iter().position(|&x| x == st)) {
                    c.truncate(pos + 1);
                }
                c
            })
            .collect())
    }
}

/// Draws one index from softmax(logits / temperature) (argmax when `temperature ≤ 0`).
fn sample_row<R: Rng>(logits: &[f32], temperature: f64, rng: &mut R) -> u32 {
    let argmax = logits
        .iter()
        .enumerate()
        .fold((0usize, f32::NEG_INFINITY), |acc, (i, &x)| {
            if x > acc.1 {
                (i, x)
            } else {
                acc
            }
        })
        .0;
    if temperature <= 0.0 {
        return argmax as u32;
    }
    let m = logits[argmax] as f64;
    let w: Vec<f64> = logits
        .iter()
        .map(|&x| ((x as f64 - m) / temperature).exp())
        .collect();
    let total: f64 = w.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (i, wi) in w.iter().enumerate() {
        u -= wi;
        if u <= 0.0 {
            return i as u32;
        }
    }
    argmax as u32
}
