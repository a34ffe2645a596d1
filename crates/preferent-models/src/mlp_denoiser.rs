//! An ε-prediction MLP denoiser for low-dimensional data.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::silu;
use burn::tensor::{backend::Backend, Tensor};

use crate::error::invalid;
use crate::time_embedding::sinusoidal_embedding;

/// Configuration of [`MlpDenoiser`].
///
/// Defaults are the "3×128 MLP with a sinusoidal t-embedding" of the preferent CPU experiment
/// plan (align_rl.md §10), the usual toy-diffusion substrate.
#[derive(Config, Debug)]
pub struct MlpDenoiserConfig {
    /// Data dimension (2 for toy sets, 64 for 8×8 digits).
    pub dim: usize,
    /// Hidden width.
    #[config(default = 128)]
    pub hidden: usize,
    /// Number of residual hidden blocks.
    #[config(default = 3)]
    pub n_blocks: usize,
    /// Width of the sinusoidal time embedding.
    #[config(default = 64)]
    pub time_dim: usize,
    /// `max_period` of the sinusoidal embedding (10 000 as in DDPM / Transformer).
    #[config(default = 10000.0)]
    pub max_period: f64,
}

impl MlpDenoiserConfig {
    /// Builds the denoiser.
    pub fn init<B: Backend>(&self, device: &B::Device) -> crate::Result<MlpDenoiser<B>> {
        if self.dim == 0 || self.hidden == 0 || self.time_dim < 2 {
            return Err(invalid(
                "dim/hidden/time_dim",
                format!("{}/{}/{}", self.dim, self.hidden, self.time_dim),
                "dim and hidden must be positive, time_dim ≥ 2",
            ));
        }
        if self.max_period.is_nan() || self.max_period <= 1.0 {
            return Err(invalid("max_period", self.max_period, "must exceed 1"));
        }
        let model = MlpDenoiser {
            time_1: LinearConfig::new(self.time_dim, self.hidden).init(device),
            time_2: LinearConfig::new(self.hidden, self.hidden).init(device),
            input: LinearConfig::new(self.dim, self.hidden).init(device),
            blocks: (0..self.n_blocks)
                .map(|_| LinearConfig::new(self.hidden, self.hidden).init(device))
                .collect(),
            time_proj: (0..self.n_blocks)
                .map(|_| LinearConfig::new(self.hidden, self.hidden).init(device))
                .collect(),
            output: LinearConfig::new(self.hidden, self.dim).init(device),
            time_dim: self.time_dim,
            max_period: self.max_period,
        };
        crate::train::materialize(&model);
        Ok(model)
    }
}

/// ε-prediction MLP with residual blocks and a sinusoidal time embedding.
///
/// ```text
/// e   = Lin(SiLU(Lin(sinusoidal(t))))
/// h_0 = Lin(x) + e
/// h_k = h_{k−1} + Lin_k(SiLU(h_{k−1} + P_k e))      k = 1 … n_blocks
/// ε̂   = Lin(SiLU(h_n))
/// ```
///
/// # Shapes
/// - x `[batch, dim]`, t `[batch]` (timestep, any scale) → `[batch, dim]`
///
/// # References
/// Ho et al. 2020 (DDPM, arXiv 2006.11239) §3.2 (ε-parameterisation).
#[derive(Module, Debug)]
pub struct MlpDenoiser<B: Backend> {
    /// Time MLP, first layer.
    pub time_1: Linear<B>,
    /// Time MLP, second layer.
    pub time_2: Linear<B>,
    /// Input projection.
    pub input: Linear<B>,
    /// Residual blocks.
    pub blocks: Vec<Linear<B>>,
    /// Per-block projection of the time embedding.
    pub time_proj: Vec<Linear<B>>,
    /// Output projection.
    pub output: Linear<B>,
    /// Width of the sinusoidal embedding.
    pub time_dim: usize,
    /// Sinusoidal `max_period`.
    pub max_period: f64,
}

impl<B: Backend> MlpDenoiser<B> {
    /// [`MlpDenoiser::forward`], checked: `x` must be `[batch, dim]` and `t` `[batch]`.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) naming the argument of the wrong shape.
    pub fn try_forward(&self, x: Tensor<B, 2>, t: Tensor<B, 1>) -> crate::Result<Tensor<B, 2>> {
        let [b, dim] = x.dims();
        let want = self.input.weight.dims()[0];
        if dim != want || b == 0 {
            return Err(crate::Error::Shape {
                what: "x",
                expected: format!("[batch ≥ 1, {want}]"),
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
        Ok(self.forward(x, t))
    }

    /// Predicts the noise ε in `x_t`.
    ///
    /// # Panics
    /// On shapes [`MlpDenoiser::try_forward`] rejects (use it on untrusted input).
    pub fn forward(&self, x: Tensor<B, 2>, t: Tensor<B, 1>) -> Tensor<B, 2> {
        let e = sinusoidal_embedding(t, self.time_dim, self.max_period);
        let e = self.time_2.forward(silu(self.time_1.forward(e)));
        let mut h = self.input.forward(x) + e.clone();
        for (block, proj) in self.blocks.iter().zip(&self.time_proj) {
            h = h.clone() + block.forward(silu(h + proj.forward(e.clone())));
        }
        self.output.forward(silu(h))
    }
}
