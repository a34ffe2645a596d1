//! A small convolutional U-Net for 8×8 / 16×16 images with optional cross-attention conditioning.

use burn::config::Config;
use burn::module::{Module, ModuleVisitor, Param};
use burn::nn::attention::{CrossAttention, CrossAttentionConfig};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{GroupNorm, GroupNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::silu;
use burn::tensor::module::avg_pool2d;
use burn::tensor::{backend::Backend, Tensor};

use crate::error::invalid;
use crate::time_embedding::sinusoidal_embedding;

/// Configuration of [`UNet`].
///
/// One down/up level (H×W → H/2×W/2), GroupNorm-SiLU-conv residual blocks with an additive time
/// embedding as in DDPM, and, when `context_dim` is set, one cross-attention layer at the bottleneck
/// (the Stable Diffusion conditioning pattern, at toy scale).
#[derive(Config, Debug)]
pub struct UNetConfig {
    /// Image channels.
    #[config(default = 1)]
    pub in_channels: usize,
    /// Channels at full resolution (the bottleneck has twice as many).
    #[config(default = 32)]
    pub base_channels: usize,
    /// Width of the sinusoidal time embedding.
    #[config(default = 64)]
    pub time_dim: usize,
    /// GroupNorm groups (must divide `base_channels`).
    #[config(default = 8)]
    pub groups: usize,
    /// Width of the conditioning tokens; `None` builds an unconditional network.
    #[config(default = "None")]
    pub context_dim: Option<usize>,
    /// Cross-attention heads (must divide `2·base_channels`).
    #[config(default = 1)]
    pub n_heads: usize,
}

impl UNetConfig {
    /// Builds the U-Net.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<UNet<B>> {
        let c = self.base_channels;
        if self.in_channels == 0 || c == 0 || self.groups == 0 || !c.is_multiple_of(self.groups) {
            return Err(invalid(
                "groups",
                self.groups,
                "channels must be positive and groups must divide base_channels",
            ));
        }
        if self.time_dim < 2 {
            return Err(invalid("time_dim", self.time_dim, "must be ≥ 2"));
        }
        if self.n_heads == 0 || !(2 * c).is_multiple_of(self.n_heads) {
            return Err(invalid(
                "n_heads",
                self.n_heads,
                "must divide 2·base_channels",
            ));
        }
        let t = 4 * c;
        let conv3 = |i: usize, o: usize| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let attn = match self.context_dim {
            None => None,
            Some(0) => return Err(invalid("context_dim", 0, "must be positive")),
            Some(dc) => Some(CrossAttnBlock {
                norm: GroupNormConfig::new(self.groups, 2 * c).init(device),
                attn: CrossAttentionConfig::new(
                    2 * c,
                    dc,
                    self.n_heads,
                    self.n_heads,
                    2 * c / self.n_heads,
                )
                .with_dropout(0.0)
                .init(device),
            }),
        };
        let model = UNet {
            time_1: LinearConfig::new(self.time_dim, t).init(device),
            time_2: LinearConfig::new(t, t).init(device),
            conv_in: conv3(self.in_channels, c),
            down: ResBlock::new(c, c, t, self.groups, device),
            mid_1: ResBlock::new(c, 2 * c, t, self.groups, device),
            attn,
            mid_2: ResBlock::new(2 * c, 2 * c, t, self.groups, device),
            up: ResBlock::new(3 * c, c, t, self.groups, device),
            norm_out: GroupNormConfig::new(self.groups, c).init(device),
            conv_out: conv3(c, self.in_channels),
            time_dim: self.time_dim,
        };
        crate::train::materialize(&model);
        Ok(model)
    }
}

/// GroupNorm → SiLU → conv → (+ time) → GroupNorm → SiLU → conv, plus a (1×1) skip.
#[derive(Module, Debug)]
pub struct ResBlock<B: Backend> {
    /// First norm.
    pub norm_1: GroupNorm<B>,
    /// First 3×3 conv.
    pub conv_1: Conv2d<B>,
    /// Time-embedding projection to channels.
    pub time: Linear<B>,
    /// Second norm.
    pub norm_2: GroupNorm<B>,
    /// Second 3×3 conv.
    pub conv_2: Conv2d<B>,
    /// 1×1 skip when the channel count changes.
    pub skip: Option<Conv2d<B>>,
}

impl<B: Backend> ResBlock<B> {
    fn new(i: usize, o: usize, t: usize, groups: usize, device: &B::Device) -> Self {
        let conv3 = |i: usize, o: usize| {
            Conv2dConfig::new([i, o], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        let g_in = if i.is_multiple_of(groups) { groups } else { 1 };
        Self {
            norm_1: GroupNormConfig::new(g_in, i).init(device),
            conv_1: conv3(i, o),
            time: LinearConfig::new(t, o).init(device),
            norm_2: GroupNormConfig::new(groups, o).init(device),
            conv_2: conv3(o, o),
            skip: (i != o).then(|| Conv2dConfig::new([i, o], [1, 1]).init(device)),
        }
    }

    /// `[b, i, h, w]`, time `[b, t]` → `[b, o, h, w]`.
    pub fn forward(&self, x: Tensor<B, 4>, temb: Tensor<B, 2>) -> Tensor<B, 4> {
        let h = self
            .conv_1
            .forward(silu(group_norm(&self.norm_1, x.clone())));
        let [b, o, hh, ww] = h.dims();
        // `[B·O, H·W] + [B·O, 1]`: burn-flex's SIMD per-row path (a 4-d `[B,O,H,W] + [B,O,1,1]`
        // broadcast takes its scalar strided one).
        let h = (h.reshape([b * o, hh * ww]) + self.time.forward(silu(temb)).reshape([b * o, 1]))
            .reshape([b, o, hh, ww]);
        let h = self.conv_2.forward(silu(group_norm(&self.norm_2, h)));
        let skip = match &self.skip {
            Some(conv) => conv.forward(x),
            None => x,
        };
        h + skip
    }
}

/// Pre-norm residual cross-attention from image positions to conditioning tokens.
#[derive(Module, Debug)]
pub struct CrossAttnBlock<B: Backend> {
    /// Norm on the image features.
    pub norm: GroupNorm<B>,
    /// burn's cross-attention (queries: pixels, keys/values: context tokens).
    pub attn: CrossAttention<B>,
}

impl<B: Backend> CrossAttnBlock<B> {
    /// `[b, c, h, w]`, context `[b, L, d_ctx]` → `[b, c, h, w]`.
    pub fn forward(&self, x: Tensor<B, 4>, context: Tensor<B, 3>) -> Tensor<B, 4> {
        let [b, c, h, w] = x.dims();
        let q = group_norm(&self.norm, x.clone())
            .reshape([b, c, h * w])
            .swap_dims(1, 2);
        let a = self.attn.forward(q, context, None);
        x + a.swap_dims(1, 2).reshape([b, c, h, w])
    }
}

/// Small ε-prediction U-Net.
///
/// ```text
/// e = Lin(SiLU(Lin(sinusoidal(t))))
/// h0 = conv_in(x);  h1 = Res(h0, e)                          (H×W, c)
/// m  = Res(AvgPool2(h1), e) → [CrossAttn(m, ctx)] → Res(·, e)  (H/2×W/2, 2c)
/// u  = Res(concat(Upsample2(m), h1), e)                      (H×W, c)
/// ε̂  = conv_out(SiLU(GroupNorm(u)))
/// ```
///
/// # Shapes
/// - x `[batch, C, H, W]` (H, W even), t `[batch]`, context `[batch, L, context_dim]` → `[batch, C, H, W]`
///
/// # References
/// Ronneberger et al. 2015 (arXiv 1505.04597); Ho et al. 2020 (arXiv 2006.11239) Appendix B;
/// Rombach et al. 2022 (arXiv 2112.10752) §3.3 (cross-attention conditioning).
#[derive(Module, Debug)]
pub struct UNet<B: Backend> {
    /// Time MLP, first layer.
    pub time_1: Linear<B>,
    /// Time MLP, second layer.
    pub time_2: Linear<B>,
    /// Input conv.
    pub conv_in: Conv2d<B>,
    /// Full-resolution block.
    pub down: ResBlock<B>,
    /// First bottleneck block.
    pub mid_1: ResBlock<B>,
    /// Optional cross-attention at the bottleneck.
    pub attn: Option<CrossAttnBlock<B>>,
    /// Second bottleneck block.
    pub mid_2: ResBlock<B>,
    /// Decoder block on the concatenated skip.
    pub up: ResBlock<B>,
    /// Output norm.
    pub norm_out: GroupNorm<B>,
    /// Output conv.
    pub conv_out: Conv2d<B>,
    /// Width of the sinusoidal embedding.
    pub time_dim: usize,
}

impl<B: Backend> UNet<B> {
    /// Predicts ε, failing on a channel count other than the network's, odd or empty spatial
    /// sizes, a `t` that is not `[batch]`, or a context that does not match the config (missing,
    /// unexpected, or not `[batch, L ≥ 1, context_dim]`).
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) naming the offending argument.
    pub fn try_forward(
        &self,
        x: Tensor<B, 4>,
        t: Tensor<B, 1>,
        context: Option<Tensor<B, 3>>,
    ) -> crate::Result<Tensor<B, 4>> {
        let [b, c, h, w] = x.dims();
        let channels = self.conv_in.weight.dims()[1];
        if h % 2 != 0 || w % 2 != 0 || h == 0 || w == 0 || b == 0 || c != channels {
            return Err(crate::Error::Shape {
                what: "x",
                expected: format!("[batch ≥ 1, {channels}, H, W] with H and W even and positive"),
                got: x.dims().to_vec(),
            });
        }
        if t.dims() != [b] {
            return Err(crate::Error::Shape {
                what: "t",
                expected: format!("[{b}]"),
                got: t.dims().to_vec(),
            });
        }
        match (&self.attn, &context) {
            (Some(_), None) => {
                return Err(crate::Error::Shape {
                    what: "context",
                    expected: "a context tensor (the network was built with context_dim)".into(),
                    got: vec![],
                })
            }
            (None, Some(c)) => {
                return Err(crate::Error::Shape {
                    what: "context",
                    expected: "no context (the network was built without context_dim)".into(),
                    got: c.dims().to_vec(),
                })
            }
            (Some(block), Some(ctx)) => {
                let [cb, len, dc] = ctx.dims();
                let want = context_width(&block.attn);
                if cb != b || len == 0 || dc != want {
                    return Err(crate::Error::Shape {
                        what: "context",
                        expected: format!("[{b}, L ≥ 1, {want}]"),
                        got: ctx.dims().to_vec(),
                    });
                }
            }
            (None, None) => {}
        }
        Ok(self.forward(x, t, context))
    }

    /// Predicts ε (see [`UNet::try_forward`] for the checked version).
    ///
    /// # Panics
    /// On the inputs [`UNet::try_forward`] rejects (odd H/W, a wrong channel count or context).
    pub fn forward(
        &self,
        x: Tensor<B, 4>,
        t: Tensor<B, 1>,
        context: Option<Tensor<B, 3>>,
    ) -> Tensor<B, 4> {
        let e = sinusoidal_embedding(t, self.time_dim, 10_000.0);
        let e = self.time_2.forward(silu(self.time_1.forward(e)));
        let h1 = self.down.forward(self.conv_in.forward(x), e.clone());
        let m = avg_pool2d(h1.clone(), [2, 2], [2, 2], [0, 0], true, false);
        let mut m = self.mid_1.forward(m, e.clone());
        if let (Some(attn), Some(ctx)) = (&self.attn, context) {
            m = attn.forward(m, ctx);
        }
        let m = self.mid_2.forward(m, e.clone());
        let [b, c2, hh, ww] = m.dims();
        let up = m
            .reshape([b, c2, hh, 1, ww, 1])
            .expand([b, c2, hh, 2, ww, 2])
            .reshape([b, c2, 2 * hh, 2 * ww]);
        let u = self.up.forward(Tensor::cat(vec![up, h1], 1), e);
        self.conv_out.forward(silu(group_norm(&self.norm_out, u)))
    }
}

/// Parameter shapes in module-visit order.
struct ParamShapes(Vec<Vec<usize>>);

impl<B: Backend> ModuleVisitor<B> for ParamShapes {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.0.push(param.val().dims().to_vec());
    }
}

/// The context width `d_context` of burn's `CrossAttention` (whose fields are private): the
/// input width of its key projection, the third parameter in visit order (query weight and bias,
/// then key weight `[d_context, ·]`).
fn context_width<B: Backend>(attn: &CrossAttention<B>) -> usize {
    let mut shapes = ParamShapes(Vec::new());
    attn.visit(&mut shapes);
    shapes
        .0
        .get(2)
        .and_then(|s| s.first().copied())
        .unwrap_or(0)
}

/// burn's `GroupNorm::forward` on `[B, C, H, W]`, with every broadcast laid out as
/// `[rows, n] op [rows, 1]`.
///
/// ```text
/// x̂ = (x − mean_g) / √(var_g + ε)   over each group g of C/G channels × H × W (biased variance)
/// y = γ_c · x̂ + β_c                   (when the norm is affine)
/// ```
///
/// burn applies γ and β as `[B, C, H, W] · [1, C, 1, 1]`, which burn-flex evaluates element by
/// element through its strided fallback, forward and backward. Here γ and β are expanded to one
/// value per `(b, c)` row and applied to `[B·C, H·W]` (its SIMD per-row path). Same parameters, same
/// numbers up to f32 rounding (tested, values and gradients).
///
/// # Shapes
/// `[B, C, H, W]` → `[B, C, H, W]`
///
/// # References
/// Wu & He 2018, "Group Normalization"; burn-nn `GroupNorm`.
fn group_norm<B: Backend>(norm: &GroupNorm<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [b, c, h, w] = x.dims();
    let g = norm.num_groups;
    let grouped = x.reshape([b * g, c / g * h * w]);
    let centered = grouped.clone() - grouped.mean_dim(1);
    let inv_std = centered
        .clone()
        .square()
        .mean_dim(1)
        .add_scalar(norm.epsilon)
        .sqrt()
        .recip();
    let rows = (centered * inv_std).reshape([b * c, h * w]);
    let per_row = |p: Tensor<B, 1>| p.reshape([1, c]).expand([b, c]).reshape([b * c, 1]);
    let rows = match (&norm.gamma, &norm.beta) {
        (Some(gamma), Some(beta)) if norm.affine => {
            rows * per_row(gamma.val()) + per_row(beta.val())
        }
        _ => rows,
    };
    rows.reshape([b, c, h, w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::TensorData;
    use preferent_testkit::{assert_close, device, to_vec, TestAutodiffBackend as AD, TestBackend};

    fn values(n: usize, salt: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (((i + salt) * 37 % 101) as f32 / 101.0 - 0.5) * 3.0)
            .collect()
    }

    /// A norm with non-trivial γ and β, so that a swapped or dropped affine term would show.
    fn norm<Bk: Backend>(groups: usize, c: usize, affine: bool) -> GroupNorm<Bk> {
        let d = Default::default();
        let mut norm = GroupNormConfig::new(groups, c)
            .with_affine(affine)
            .init::<Bk>(&d);
        if affine {
            let gamma = values(c, 3).iter().map(|v| 1.0 + v).collect::<Vec<_>>();
            norm.gamma = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(gamma, [c]),
                &d,
            )));
            norm.beta = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(values(c, 11), [c]),
                &d,
            )));
        }
        norm
    }

    #[test]
    fn group_norm_equals_burn_group_norm() {
        let d = device();
        let ([b, c, h, w], groups) = ([3, 6, 2, 4], 3);
        for affine in [true, false] {
            let norm = norm::<TestBackend>(groups, c, affine);
            let x = Tensor::<TestBackend, 4>::from_data(
                TensorData::new(values(b * c * h * w, 0), [b, c, h, w]),
                &d,
            );
            let ours = to_vec(group_norm(&norm, x.clone()));
            let burns = to_vec(norm.forward(x));
            assert_close(&ours, &burns, 1e-5, 1e-5);
        }
    }

    #[test]
    fn group_norm_gradients_equal_burn_group_norm() {
        let d = device();
        let ([b, c, h, w], groups) = ([2, 4, 3, 2], 2);
        let n = b * c * h * w;
        let norm = norm::<AD>(groups, c, true);
        // A weighted sum, so that every output position carries a different gradient.
        let weights = Tensor::<AD, 4>::from_data(TensorData::new(values(n, 7), [b, c, h, w]), &d);
        let grads = |use_ours: bool| {
            let x = Tensor::<AD, 4>::from_data(TensorData::new(values(n, 1), [b, c, h, w]), &d)
                .require_grad();
            let y = if use_ours {
                group_norm(&norm, x.clone())
            } else {
                norm.forward(x.clone())
            };
            let g = (y * weights.clone()).sum().backward();
            let gamma = norm.gamma.as_ref().unwrap().val();
            let beta = norm.beta.as_ref().unwrap().val();
            [
                to_vec(x.grad(&g).unwrap()),
                to_vec(gamma.grad(&g).unwrap()),
                to_vec(beta.grad(&g).unwrap()),
            ]
        };
        let (ours, burns) = (grads(true), grads(false));
        for (o, r) in ours.iter().zip(&burns) {
            assert_close(o, r, 1e-4, 1e-5);
        }
        // The weighted objective reaches every input: no zero gradient slipped through.
        assert!(ours[0].iter().any(|v| v.abs() > 1e-3));
    }
}
