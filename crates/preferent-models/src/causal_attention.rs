//! Causal (decoder) self-attention and the pre-norm transformer block built on it.
//!
//! burn's `MultiHeadAttention` masks future positions with `mask_fill` and a boolean mask
//! broadcast over heads; on the CPU backend (burn-flex 0.21) that broadcast is materialised
//! element by element, forward and backward, and took ≈ 10 % of a `ByteLm` training step.
//! Here the causal mask is an **additive bias** `[1, 1, T, T]` (0 on and below the diagonal,
//! [`CAUSAL_MASK_BIAS`] above), so the forward is one broadcast add and the backward a
//! pass-through. The numbers equal burn's module with the same weights (tested).

use burn::config::Config;
use burn::module::Module;
use burn::nn::transformer::{PositionWiseFeedForward, PositionWiseFeedForwardConfig};
use burn::nn::{
    Dropout, DropoutConfig, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig,
};
use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::error::invalid;

/// Value added to the attention score of every future position: after the max-shift inside the
/// softmax its exponential is exactly 0 in f32, like burn's `mask_fill` with −10⁴.
pub const CAUSAL_MASK_BIAS: f32 = -1.0e9;

/// The additive causal mask for `t` positions, ready to broadcast over `[batch, heads, t, t]`.
///
/// ```text
/// bias[0, 0, i, j] = 0 if j ≤ i,  CAUSAL_MASK_BIAS if j > i
/// ```
///
/// # Shapes
/// → `[1, 1, t, t]`
pub fn causal_bias<B: Backend>(t: usize, device: &B::Device) -> Tensor<B, 4> {
    let values: Vec<f32> = (0..t * t)
        .map(|k| if k % t > k / t { CAUSAL_MASK_BIAS } else { 0.0 })
        .collect();
    Tensor::<B, 2>::from_data(TensorData::new(values, [t, t]), device).reshape([1, 1, t, t])
}

/// Softmax over the last axis with the max-shift taken from a detached copy.
///
/// ```text
/// y = exp(x − m) / Σ exp(x − m),   m = stop_gradient(max x)
/// ```
///
/// Softmax is shift-invariant, so the gradient through `m` is zero in exact arithmetic; burn's
/// `softmax` still back-propagates into its `max_dim` (a scatter into a zero `[B, H, T, T]`
/// tensor plus a row sum per call). Detaching `m` gives the same values and gradients without it.
/// The normalisation multiplies by `1/s` rather than dividing by `s`: burn-autodiff's division
/// backward spends four full-size passes on the divisor's gradient, a product spends two.
fn softmax_last<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let m = x.clone().detach().max_dim(3);
    let e = (x - m).exp();
    let s = e.clone().sum_dim(3);
    e * s.recip()
}

/// burn's default initializer for attention and feed-forward weights
/// (`KaimingUniform { gain: 1/√3 }`, as in `MultiHeadAttentionConfig`).
fn default_initializer() -> Initializer {
    Initializer::KaimingUniform {
        gain: 1.0 / 3.0f64.sqrt(),
        fan_out_only: false,
    }
}

/// Configuration of [`CausalSelfAttention`]; the initializer follows burn's `MultiHeadAttentionConfig`,
/// dropout defaults to 0 (burn: 0.1) as in [`ByteLmConfig`](crate::ByteLmConfig).
#[derive(Config, Debug)]
pub struct CausalSelfAttentionConfig {
    /// Model width (must be a multiple of `n_heads`).
    pub d_model: usize,
    /// Number of heads.
    pub n_heads: usize,
    /// Dropout on the attention weights.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Initializer of the four projections.
    #[config(default = "default_initializer()")]
    pub initializer: Initializer,
}

impl CausalSelfAttentionConfig {
    /// Checks the configuration: `n_heads ≥ 1` divides `d_model ≥ 1`, dropout in `[0, 1)`.
    pub fn validate(&self) -> crate::Result<()> {
        if self.d_model == 0 || self.n_heads == 0 || !self.d_model.is_multiple_of(self.n_heads) {
            return Err(invalid(
                "n_heads",
                format!("{} (d_model {})", self.n_heads, self.d_model),
                "must be positive and divide d_model",
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(invalid("dropout", self.dropout, "must be in [0, 1)"));
        }
        Ok(())
    }

    /// Builds the module.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) when [`validate`](Self::validate)
    /// fails.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<CausalSelfAttention<B>> {
        self.validate()?;
        let linear = || {
            LinearConfig::new(self.d_model, self.d_model)
                .with_initializer(self.initializer.clone())
                .init(device)
        };
        Ok(CausalSelfAttention {
            query: linear(),
            key: linear(),
            value: linear(),
            output: linear(),
            dropout: DropoutConfig::new(self.dropout).init(),
            n_heads: self.n_heads,
        })
    }
}

/// Multi-head self-attention in which position `i` attends to positions `0..=i` only.
///
/// ```text
/// Q, K, V = x W_q + b_q, x W_k + b_k, x W_v + b_v          split into H heads of width d_k = D / H
/// A_h = softmax(Q_h K_hᵀ / √d_k + causal_bias)              (dropout on A_h in training)
/// out = concat_h(A_h V_h) W_o + b_o
/// ```
///
/// Same parameters and numbers as burn's `MultiHeadAttention` with an autoregressive `mask_attn`.
///
/// # Shapes
/// - `x` `[batch, T, D]`, `bias` `[1, 1, T, T]` (from [`causal_bias`]) → `[batch, T, D]`
///
/// # References
/// Vaswani et al. 2017, "Attention Is All You Need"; Radford et al. 2018/2019 (GPT decoder).
#[derive(Module, Debug)]
pub struct CausalSelfAttention<B: Backend> {
    /// Query projection.
    pub query: Linear<B>,
    /// Key projection.
    pub key: Linear<B>,
    /// Value projection.
    pub value: Linear<B>,
    /// Output projection.
    pub output: Linear<B>,
    /// Dropout on the attention weights.
    pub dropout: Dropout,
    /// Number of heads.
    pub n_heads: usize,
}

impl<B: Backend> CausalSelfAttention<B> {
    /// Attends each position to itself and the positions before it.
    ///
    /// # Shapes
    /// `x` `[batch, T, D]`, `bias` `[1, 1, T, T]` → `[batch, T, D]`
    pub fn forward(&self, x: Tensor<B, 3>, bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let [b, t, d] = x.dims();
        self.forward_rows(x.reshape([b * t, d]), b, t, bias)
            .reshape([b, t, d])
    }

    /// [`forward`](Self::forward) on the `B·T` positions as rows of a 2-d tensor.
    ///
    /// The projections run on `[B·T, D]` so that each weight gradient is one `[D, B·T]·[B·T, D]`
    /// product: on a 3-d input burn's default linear backward forms a `[B, D, D]` batch of
    /// products and sums it over the batch (an extra `B·D²` temporary and a reduction per
    /// projection).
    fn forward_rows(
        &self,
        x: Tensor<B, 2>,
        b: usize,
        t: usize,
        bias: Tensor<B, 4>,
    ) -> Tensor<B, 2> {
        let [_, d] = x.dims();
        let h = self.n_heads;
        let d_k = d / h;
        let heads = |y: Tensor<B, 2>| y.reshape([b, t, h, d_k]).swap_dims(1, 2);
        // Scaling Q (B·T·D values) is cheaper than scaling the scores (B·H·T·T), and scaling it
        // before the head split keeps it contiguous (burn-flex's SIMD path, not its strided one).
        let q = heads(
            self.query
                .forward(x.clone())
                .mul_scalar(1.0 / (d_k as f64).sqrt()),
        );
        let k = heads(self.key.forward(x.clone()));
        let v = heads(self.value.forward(x));
        // Added as `[B·H, T·T] + [1, T·T]`: burn-flex runs that shared-row broadcast as one SIMD
        // loop, while the 4-d `[B, H, T, T] + [1, 1, T, T]` takes its scalar strided path.
        let scores = q.matmul(k.swap_dims(2, 3)).reshape([b * h, t * t]) + bias.reshape([1, t * t]);
        let scores = scores.reshape([b, h, t, t]);
        let weights = self.dropout.forward(softmax_last(scores));
        let context = weights.matmul(v).swap_dims(1, 2).reshape([b * t, d]);
        self.output.forward(context)
    }
}

/// Configuration of [`CausalBlock`]; LayerNorm ε and initializers follow burn's
/// `TransformerEncoderConfig`, dropout defaults to 0 (burn: 0.1) as in [`ByteLmConfig`](crate::ByteLmConfig).
#[derive(Config, Debug)]
pub struct CausalBlockConfig {
    /// Model width.
    pub d_model: usize,
    /// Feed-forward width.
    pub d_ff: usize,
    /// Number of heads.
    pub n_heads: usize,
    /// Dropout on attention weights, feed-forward hidden units and both residual branches.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// LayerNorm ε.
    #[config(default = 1e-5)]
    pub layer_norm_eps: f64,
}

impl CausalBlockConfig {
    /// Checks the configuration: the attention's checks, `d_ff ≥ 1`, and a finite LayerNorm
    /// `ε > 0`.
    pub fn validate(&self) -> crate::Result<()> {
        CausalSelfAttentionConfig::new(self.d_model, self.n_heads)
            .with_dropout(self.dropout)
            .validate()?;
        if self.d_ff == 0 {
            return Err(invalid("d_ff", self.d_ff, "must be positive"));
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps.is_finite()) {
            return Err(invalid(
                "layer_norm_eps",
                self.layer_norm_eps,
                "must be finite and positive",
            ));
        }
        Ok(())
    }

    /// Builds the block.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`](crate::Error::InvalidConfig) when [`validate`](Self::validate)
    /// fails.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<CausalBlock<B>> {
        self.validate()?;
        let norm = || {
            LayerNormConfig::new(self.d_model)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        Ok(CausalBlock {
            norm_attn: norm(),
            attn: CausalSelfAttentionConfig::new(self.d_model, self.n_heads)
                .with_dropout(self.dropout)
                .init(device)?,
            norm_ff: norm(),
            ff: PositionWiseFeedForwardConfig::new(self.d_model, self.d_ff)
                .with_dropout(self.dropout)
                .with_initializer(default_initializer())
                .init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        })
    }
}

/// Pre-norm (GPT-2 style) decoder block: causal self-attention and a GELU feed-forward, each on
/// a LayerNorm'd copy of the residual stream.
///
/// ```text
/// x = x + Dropout(CausalSelfAttention(LayerNorm_attn(x)))
/// x = x + Dropout(FF(LayerNorm_ff(x)))             FF(y) = W₂ Dropout(GELU(W₁ y + b₁)) + b₂
/// ```
///
/// Equals burn's `TransformerEncoderLayer` with `norm_first = true` and an autoregressive mask
/// (whose `norm_2` is this block's `norm_attn` and `norm_1` its `norm_ff`).
///
/// # Shapes
/// - `x` `[batch, T, D]`, `bias` `[1, 1, T, T]` (from [`causal_bias`]) → `[batch, T, D]`
///
/// # References
/// Radford et al. 2019 (GPT-2: LayerNorm moved to the input of each sub-block).
#[derive(Module, Debug)]
pub struct CausalBlock<B: Backend> {
    /// LayerNorm before the attention.
    pub norm_attn: LayerNorm<B>,
    /// Causal self-attention.
    pub attn: CausalSelfAttention<B>,
    /// LayerNorm before the feed-forward.
    pub norm_ff: LayerNorm<B>,
    /// Position-wise feed-forward (GELU).
    pub ff: PositionWiseFeedForward<B>,
    /// Dropout on both residual branches.
    pub dropout: Dropout,
}

impl<B: Backend> CausalBlock<B> {
    /// Applies the block.
    ///
    /// # Shapes
    /// `x` `[batch, T, D]`, `bias` `[1, 1, T, T]` → `[batch, T, D]`
    pub fn forward(&self, x: Tensor<B, 3>, bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let [b, t, d] = x.dims();
        // Positions as rows of a 2-d tensor for the linear layers (see
        // `CausalSelfAttention::forward_rows`); LayerNorm and the residuals are row-wise anyway.
        let x = x.reshape([b * t, d]);
        let a = self
            .attn
            .forward_rows(self.norm_attn.forward(x.clone()), b, t, bias);
        let x = x + self.dropout.forward(a);
        let f = self.ff.forward(self.norm_ff.forward(x.clone()));
        (x + self.dropout.forward(f)).reshape([b, t, d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::nn::attention::generate_autoregressive_mask;
    use burn::nn::transformer::{
        TransformerEncoder, TransformerEncoderConfig, TransformerEncoderInput,
    };
    use preferent_testkit::{
        assert_close, device, to_vec, TestAutodiffBackend as AD, TestBackend as B, F32_MATMUL_RTOL,
    };

    /// Same matmuls in a different order (Q scaled before QKᵀ): f32 rounding, or TF32 on Cuda.
    fn tol() -> f64 {
        1e-5f64.max(F32_MATMUL_RTOL)
    }

    fn copy_linear<Bk: Backend>(dst: &mut Linear<Bk>, src: &Linear<Bk>) {
        dst.weight = Param::from_tensor(src.weight.val());
        dst.bias = src.bias.as_ref().map(|b| Param::from_tensor(b.val()));
    }

    fn input<Bk: Backend>(b: usize, t: usize, d: usize, salt: usize) -> Tensor<Bk, 3> {
        let values: Vec<f32> = (0..b * t * d)
            .map(|i| (((i + salt) * 37 % 101) as f32 / 101.0 - 0.5) * 2.0)
            .collect();
        Tensor::from_data(TensorData::new(values, [b, t, d]), &Default::default())
    }

    /// burn's own `TransformerEncoderLayer` (pre-norm, one layer) and a `CausalBlock` holding the
    /// same weights, with non-trivial LayerNorm parameters so a swapped norm would show.
    fn paired<Bk: Backend>(
        d: usize,
        h: usize,
        ff: usize,
    ) -> (TransformerEncoder<Bk>, CausalBlock<Bk>) {
        let device = Default::default();
        let mut reference = TransformerEncoderConfig::new(d, ff, h, 1)
            .with_dropout(0.0)
            .with_norm_first(true)
            .init::<Bk>(&device);
        let layer = &reference.layers[0];
        let mut block = CausalBlockConfig::new(d, ff, h)
            .init::<Bk>(&device)
            .unwrap();
        copy_linear(&mut block.attn.query, &layer.mha.query);
        copy_linear(&mut block.attn.key, &layer.mha.key);
        copy_linear(&mut block.attn.value, &layer.mha.value);
        copy_linear(&mut block.attn.output, &layer.mha.output);
        copy_linear(&mut block.ff.linear_inner, &layer.pwff.linear_inner);
        copy_linear(&mut block.ff.linear_outer, &layer.pwff.linear_outer);
        // burn's pre-norm layer normalises the attention input with norm_2, the FF input with norm_1.
        block.norm_attn = layer.norm_2.clone();
        block.norm_ff = layer.norm_1.clone();
        block.norm_attn.gamma =
            Param::from_tensor(block.norm_attn.gamma.val().mul_scalar(1.5).detach());
        block.norm_ff.beta = block
            .norm_ff
            .beta
            .as_ref()
            .map(|b| Param::from_tensor(b.val().add_scalar(0.25).detach()));
        reference.layers[0].norm_2 = block.norm_attn.clone();
        reference.layers[0].norm_1 = block.norm_ff.clone();
        (reference, block)
    }

    fn reference_forward<Bk: Backend>(
        reference: &TransformerEncoder<Bk>,
        x: Tensor<Bk, 3>,
    ) -> Tensor<Bk, 3> {
        let [b, t, _] = x.dims();
        let mask = generate_autoregressive_mask::<Bk>(b, t, &x.device());
        reference.forward(TransformerEncoderInput::new(x).mask_attn(mask))
    }

    /// The reference is burn's own `TransformerEncoderLayer` with an autoregressive mask: with its
    /// weights copied in, the block must give the same outputs.
    #[test]
    fn block_equals_burn_encoder_layer_with_autoregressive_mask() {
        let (b, t, d) = (2, 7, 16);
        let (reference, block) = paired::<B>(d, 4, 32);
        let x = input::<B>(b, t, d, 0);
        let want = reference_forward(&reference, x.clone());
        let got = block.forward(x, causal_bias::<B>(t, &device()));
        assert_close(&to_vec(got), &to_vec(want), tol(), tol());
    }

    /// Gradients (input and a projection weight) equal those through burn's layer: the detached
    /// max-shift in [`softmax_last`] changes no gradient.
    #[test]
    fn block_gradients_equal_burn_encoder_layer() {
        let (b, t, d) = (2, 5, 8);
        let (reference, block) = paired::<AD>(d, 2, 16);
        let weights = input::<AD>(b, t, d, 11);
        let x = input::<AD>(b, t, d, 3);
        let run = |out: Tensor<AD, 3>, x: &Tensor<AD, 3>, wq: &Param<Tensor<AD, 2>>| {
            let grads = (out * weights.clone()).sum().backward();
            (
                to_vec(x.grad(&grads).unwrap()),
                to_vec(wq.val().grad(&grads).unwrap()),
            )
        };
        let x_ref = x.clone().require_grad();
        let want = run(
            reference_forward(&reference, x_ref.clone()),
            &x_ref,
            &reference.layers[0].mha.query.weight,
        );
        let x_ours = x.require_grad();
        let got = run(
            block.forward(x_ours.clone(), causal_bias::<AD>(t, &device())),
            &x_ours,
            &block.attn.query.weight,
        );
        assert_close(&got.0, &want.0, tol(), tol());
        assert_close(&got.1, &want.1, tol(), tol());
        assert!(
            got.1.iter().any(|g| g.abs() > 1e-4),
            "query gradient is all zero"
        );
    }

    /// Position i's output must not depend on tokens after i.
    #[test]
    fn attention_is_causal() {
        let device = device();
        let (b, t, d) = (1, 6, 8);
        let attn = CausalSelfAttentionConfig::new(d, 2)
            .init::<B>(&device)
            .unwrap();
        let x = input::<B>(b, t, d, 0);
        let changed = x.clone().slice_assign(
            [0..1, 4..6, 0..d],
            Tensor::<B, 3>::ones([1, 2, d], &device).mul_scalar(3.0),
        );
        let bias = causal_bias::<B>(t, &device);
        let y0 = attn.forward(x, bias.clone());
        let y1 = attn.forward(changed, bias);
        let head = |y: Tensor<B, 3>| to_vec(y.slice([0..1, 0..4, 0..d]));
        assert_close(&head(y0.clone()), &head(y1.clone()), 0.0, 0.0);
        // …while the changed positions themselves do see the change.
        let tail = |y: Tensor<B, 3>| to_vec(y.slice([0..1, 4..6, 0..d]));
        let (a, c) = (tail(y0), tail(y1));
        assert!(a.iter().zip(&c).any(|(p, q)| (p - q).abs() > 1e-3));
    }

    #[test]
    fn causal_bias_layout() {
        let bias = causal_bias::<B>(3, &device());
        let m = CAUSAL_MASK_BIAS;
        assert_eq!(bias.dims(), [1, 1, 3, 3]);
        assert_eq!(
            to_vec(bias),
            [0.0, m, m, 0.0, 0.0, m, 0.0, 0.0, 0.0].map(f64::from)
        );
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        let device = device();
        let field = |r: crate::Result<CausalBlock<B>>| match r {
            Err(crate::Error::InvalidConfig { field, .. }) => field,
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("accepted a bad config"),
        };
        assert_eq!(
            field(CausalBlockConfig::new(10, 16, 4).init(&device)),
            "n_heads"
        );
        assert_eq!(
            field(CausalBlockConfig::new(8, 16, 0).init(&device)),
            "n_heads"
        );
        assert_eq!(
            field(CausalBlockConfig::new(0, 16, 2).init(&device)),
            "n_heads"
        );
        assert_eq!(field(CausalBlockConfig::new(8, 0, 2).init(&device)), "d_ff");
        assert_eq!(
            field(
                CausalBlockConfig::new(8, 16, 2)
                    .with_dropout(1.0)
                    .init(&device)
            ),
            "dropout"
        );
        assert_eq!(
            field(
                CausalBlockConfig::new(8, 16, 2)
                    .with_layer_norm_eps(0.0)
                    .init(&device)
            ),
            "layer_norm_eps"
        );
        assert!(CausalSelfAttentionConfig::new(12, 5)
            .init::<B>(&device)
            .is_err());
        assert!(CausalBlockConfig::new(8, 16, 2).init::<B>(&device).is_ok());
    }
}
