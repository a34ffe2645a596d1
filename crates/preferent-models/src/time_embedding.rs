//! Sinusoidal time (noise-level) embedding shared by the denoisers.

use burn::tensor::{backend::Backend, Tensor};

/// Sinusoidal embedding of a batch of scalar times, as in the Transformer positional encoding
/// and the DDPM time embedding.
///
/// ```text
/// freq_i = exp(−ln(max_period) · i / half),  i = 0 … half−1,  half = dim / 2
/// emb(t) = [cos(t · freq_0) … cos(t · freq_{half−1}), sin(t · freq_0) … sin(t · freq_{half−1})]
/// ```
///
/// Times may be discrete steps (0…T−1) or continuous; the caller chooses the scale. `dim` must
/// be even (an odd `dim` gets a trailing zero column).
///
/// # Shapes
/// - `t`: `[batch]` → `[batch, dim]`
///
/// # References
/// Vaswani et al. 2017 (arXiv 1706.03762) §3.5; diffusers `get_timestep_embedding`
/// (`src/diffusers/models/embeddings.py`, `flip_sin_to_cos=True` ordering: cos first).
pub fn sinusoidal_embedding<B: Backend>(
    t: Tensor<B, 1>,
    dim: usize,
    max_period: f64,
) -> Tensor<B, 2> {
    let [batch] = t.dims();
    let device = t.device();
    let half = dim / 2;
    let freqs: Vec<f32> = (0..half)
        .map(|i| (-(max_period.ln()) * i as f64 / half.max(1) as f64).exp() as f32)
        .collect();
    let freqs = Tensor::<B, 1>::from_floats(freqs.as_slice(), &device).reshape([1, half]);
    let args = t.reshape([batch, 1]) * freqs;
    let mut parts = vec![args.clone().cos(), args.sin()];
    if dim % 2 == 1 {
        parts.push(Tensor::zeros([batch, 1], &device));
    }
    Tensor::cat(parts, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use preferent_testkit::{assert_close, device, tensor, to_vec, TestBackend};

    #[test]
    fn matches_numpy_reference() {
        // python3:
        // import numpy as np
        // t=np.array([0.,3.,250.]); half=3
        // f=np.exp(-np.log(10000.)*np.arange(half)/half); a=t[:,None]*f[None]
        // print(np.concatenate([np.cos(a),np.sin(a)],1).ravel().tolist())
        let expected = [
            1.0,
            1.0,
            1.0,
            0.0,
            0.0,
            0.0, //
            -0.9899924966004454,
            0.990320699135675,
            0.9999791129229608,
            0.1411200080598672,
            0.13879810108005047,
            0.0064632590701896395, //
            0.24098830528525864,
            0.5715534824215669,
            0.8584231825001146,
            -0.9705280195418053,
            -0.8205648156798947,
            0.5129421407394551,
        ];
        let d = device();
        let t = tensor::<TestBackend, 1>(&[0.0, 3.0, 250.0], [3], &d);
        let e = sinusoidal_embedding(t, 6, 10_000.0);
        assert_eq!(e.dims(), [3, 6]);
        assert_close(&to_vec(e), &expected, 1e-4, 1e-4);
    }
}
