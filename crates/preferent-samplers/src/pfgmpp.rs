//! PFGM++ (Xu et al., arXiv:2302.04265): the perturbation kernel, the training target with EDM's
//! preconditioning, the heavy-tailed prior, and sampling with EDM's Heun solver.
//!
//! PFGM++ embeds `N`-dimensional data in `N + D` dimensions and lets the norm `r` of the `D`
//! augmented coordinates play the role of time. Its perturbation kernel is
//!
//! ```text
//! p_r(x | y) ∝ 1 / (‖x − y‖² + r²)^{(N+D)/2}
//! x = y + R·u,   u uniform on S^{N−1},   R = r·√X,   X ~ BetaPrime(N/2, D/2)
//! r = σ·√D                       (alignment with EDM's σ; D → ∞ gives x = y + σ·n, n ~ N(0, I))
//! E‖R·u‖² = r²·E X = σ²·N·D/(D − 2)      (D > 2)
//! ```
//! With `r = σ√D` the network keeps EDM's σ-conditioning and preconditioning, is trained to
//! predict the clean `y`, and samples with EDM's Heun solver unchanged; only the prior differs.
//!
//! The beta-prime is drawn as a ratio of Gammas, `X = G_N/G_D` (`G_k ~ Gamma(k/2, 1)`), which
//! stays well conditioned for large `N`, where `B ~ Beta(N/2, D/2)` is close to 1 and `B/(1−B)`
//! loses precision. Host draws use a seeded `StdRng` (rand 0.9) and `rand_distr` 0.5, so the same
//! kernel or prior draw can be uploaded to every backend.
//!
//! # Official code and its two draws
//! Training (`training/loss.py`, `EDMLoss.__call__`, lines 113-175) draws `B` with numpy and
//! *clips* it to `[1e-3, 1 − 1e-3]` (`:126`) before `R = r·√(B/(1−B+1e-8) + 1e-8)` (`:128-131`);
//! sampling (`generate.py:208-231`, `rand_beta_prime`) draws an *unclipped* torch `Beta`. Here one
//! kernel serves both, with the clip explicit: [`PfgmppConfig::train_clip`] (default on, as in
//! training) is used by [`Pfgmpp::draw_radii`]; the prior ([`crate::solvers::Prior::Pfgmpp`])
//! never clips.
//!
//! # References
//! Xu, Liu, Tian, Tong, Tegmark, Jaakkola, "PFGM++: Unlocking the Potential of Physics-Inspired
//! Generative Models", ICML 2023, arXiv:2302.04265: §3 (the perturbation kernel and its
//! beta-prime radius), §4 (D → ∞ equivalence with diffusion models and the alignment r = σ√D),
//! Appendix C.2 (hyper-parameter transfer from EDM). Official code: Newbeeer/pfgmpp @ d57c1ee,
//! `training/loss.py:100-175`, `training/networks.py:662-716`, `generate.py:28-75, 208-231, 288`.
//! Equation numbers of the paper were not checked against the PDF here, so sections are cited.

use crate::error::{check_shape, SamplerError, SamplerResult};
use crate::prediction::PredictionType;
use crate::solvers::{EdmConfig, HeunEdm, Prior};
use burn::config::Config;
use burn::tensor::{backend::Backend, Distribution, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Gamma, StandardNormal};

/// Configuration of PFGM++: the augmentation dimension, the aligned EDM schedule, EDM's
/// preconditioning and training σ distribution, and the training kernel's clip.
///
/// Defaults (Newbeeer/pfgmpp @ d57c1ee): `aug_dim` D = 128 (`generate.py:288`, `train.py:57`);
/// σ_min = 0.002, σ_max = 80, ρ = 7 (`generate.py:30`, `edm_sampler`; EDM arXiv:2206.00364
/// Table 1); σ_data = 0.5 (`training/networks.py:672`, `training/loss.py:101`);
/// P_mean = −1.2, P_std = 1.2 (`training/loss.py:101`); `train_clip = Some(1e-3)`
/// (`training/loss.py:126`).
///
/// ```text
/// r = σ·√D,   x = y + R·u,   R = r·√X,   X ~ BetaPrime(N/2, D/2)   (clip: train_clip)
/// training σ:  ln σ ~ N(P_mean, P_std²)
/// sampling σ:  σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, σ_n = 0
/// ```
/// Validate with [`PfgmppConfig::init`] (or [`PfgmppConfig::validate`]).
///
/// # Shapes
/// Host scalars only; `N` (coordinates per row) is read from the tensors it is used with.
///
/// # References
/// Xu et al. (arXiv:2302.04265) §3-§4, Appendix C.2 (EDM hyper-parameters reused through
/// r = σ√D); Newbeeer/pfgmpp `training/loss.py:100-131`, `generate.py:28-45, 288`.
#[derive(Config, Debug)]
pub struct PfgmppConfig {
    /// The augmentation dimension D (≥ 2, as the official `--aug_dim` `IntRange(min=2)`;
    /// D = 1 is PFGM, D → ∞ is EDM).
    #[config(default = 128)]
    pub aug_dim: usize,
    /// Smallest nonzero σ of the sampling schedule.
    #[config(default = 0.002)]
    pub sigma_min: f64,
    /// Largest σ of the sampling schedule; the prior's `r_max = σ_max·√D`.
    #[config(default = 80.0)]
    pub sigma_max: f64,
    /// Karras ρ of the sampling schedule.
    #[config(default = 7.0)]
    pub rho: f64,
    /// EDM's σ_data of the preconditioning and the loss weight.
    #[config(default = 0.5)]
    pub sigma_data: f64,
    /// Mean of ln σ in training (EDM's P_mean).
    #[config(default = -1.2)]
    pub p_mean: f64,
    /// Standard deviation of ln σ in training (EDM's P_std).
    #[config(default = 1.2)]
    pub p_std: f64,
    /// The training kernel's clip ε: `B = X/(1+X)` is clipped to `[ε, 1 − ε]` and the radius is
    /// formed as in the official loss, `R = r·√(B/(1−B+1e-8) + 1e-8)`. `None` draws the exact
    /// beta-prime `R = r·√X`. Must lie in `(0, ½)`.
    #[config(default = "Some(1e-3)")]
    pub train_clip: Option<f64>,
}

impl PfgmppConfig {
    /// Checks the configuration.
    ///
    /// # Errors
    /// [`SamplerError::InvalidConfig`] naming the field: `aug_dim < 2`; not
    /// `0 < σ_min < σ_max < ∞`; ρ, σ_data or P_std not finite and positive; P_mean not finite;
    /// `train_clip` outside `(0, ½)`.
    ///
    /// # References
    /// `generate.py:288` / `train.py:57` (`--aug_dim` `IntRange(min=2)`).
    pub fn validate(&self) -> SamplerResult<()> {
        let bad = |m: String| Err(SamplerError::InvalidConfig(m));
        if self.aug_dim < 2 {
            return bad(format!(
                "PFGM++ needs aug_dim D ≥ 2 (the official --aug_dim IntRange(min=2)), got {}",
                self.aug_dim
            ));
        }
        if !(self.sigma_min > 0.0 && self.sigma_min < self.sigma_max && self.sigma_max.is_finite())
        {
            return bad(format!(
                "need 0 < sigma_min ({}) < sigma_max ({}) < ∞",
                self.sigma_min, self.sigma_max
            ));
        }
        for (name, v) in [
            ("rho", self.rho),
            ("sigma_data", self.sigma_data),
            ("p_std", self.p_std),
        ] {
            if !(v > 0.0 && v.is_finite()) {
                return bad(format!("{name} must be finite and > 0, got {v}"));
            }
        }
        if !self.p_mean.is_finite() {
            return bad(format!("p_mean must be finite, got {}", self.p_mean));
        }
        if let Some(eps) = self.train_clip {
            if !(eps > 0.0 && eps < 0.5) {
                return bad(format!("train_clip must lie in (0, 0.5), got {eps}"));
            }
        }
        Ok(())
    }

    /// The validated PFGM++ handle.
    ///
    /// # Errors
    /// As [`PfgmppConfig::validate`].
    pub fn init(self) -> SamplerResult<Pfgmpp> {
        self.validate()?;
        Ok(Pfgmpp { config: self })
    }
}

/// EDM's preconditioning coefficients at one σ (PFGM++ keeps them unchanged, conditioning on σ,
/// not r).
///
/// ```text
/// c_skip  = σ_d² / (σ² + σ_d²)
/// c_out   = σ·σ_d / √(σ² + σ_d²)
/// c_in    = 1 / √(σ² + σ_d²)
/// c_noise = ln(σ) / 4
/// D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise)
/// ```
///
/// # Shapes
/// Host scalars (one σ); [`Pfgmpp::denoise`] applies them per batch row.
///
/// # References
/// Karras et al. (arXiv:2206.00364) Table 1; Newbeeer/pfgmpp `training/networks.py:700-709`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EdmPrecond {
    /// Skip-connection weight.
    pub c_skip: f64,
    /// Output scale.
    pub c_out: f64,
    /// Input scale.
    pub c_in: f64,
    /// Noise conditioning fed to the network.
    pub c_noise: f64,
}

/// A validated PFGM++ configuration: the kernel, training target, prior and sampler.
///
/// ```text
/// training:  σ ~ LogNormal(P_mean, P_std²);  x = y + R·u (kernel, clip);  loss λ(σ)·(D(x; σ) − y)²
/// sampling:  x_T ~ Prior::Pfgmpp { σ_max, D };  EDM Heun in σ down to 0
/// ```
///
/// # Shapes
/// Tensors `[batch, …]` with `N = numel/batch` coordinates per row; per-row host values
/// (σ, radii) have length `batch`.
///
/// # References
/// Xu et al. (arXiv:2302.04265) §3-§4; Newbeeer/pfgmpp `training/loss.py:100-175`,
/// `generate.py:28-75, 208-231`.
///
/// # Example
/// ```
/// use burn::backend::Flex;
/// use burn::tensor::Tensor;
/// use preferent_samplers::pfgmpp::PfgmppConfig;
///
/// let pfgm = PfgmppConfig::new().with_aug_dim(32).init().unwrap();
/// let x0: Tensor<Flex, 2> = Tensor::zeros([2, 3], &Default::default());
/// let (x, radii) = pfgm.perturb_seeded(x0, &[0.5, 2.0], 7).unwrap();
/// assert_eq!(x.dims(), [2, 3]);
/// assert_eq!(radii.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct Pfgmpp {
    config: PfgmppConfig,
}

impl Pfgmpp {
    /// The (validated) configuration.
    pub fn config(&self) -> &PfgmppConfig {
        &self.config
    }

    /// The augmentation dimension D.
    pub fn aug_dim(&self) -> usize {
        self.config.aug_dim
    }

    /// The aligned radius of the augmented coordinates.
    ///
    /// ```text
    /// r = σ·√D
    /// ```
    ///
    /// # References
    /// arXiv:2302.04265 §4 (alignment); `training/loss.py:121`.
    pub fn r_of_sigma(&self, sigma: f64) -> f64 {
        sigma * (self.config.aug_dim as f64).sqrt()
    }

    /// EDM's preconditioning at `sigma` (see [`EdmPrecond`]).
    ///
    /// ```text
    /// c_skip = σ_d²/(σ²+σ_d²),  c_out = σσ_d/√(σ²+σ_d²),  c_in = 1/√(σ²+σ_d²),  c_noise = ln σ/4
    /// ```
    ///
    /// # References
    /// `training/networks.py:700-703`.
    pub fn precond(&self, sigma: f64) -> EdmPrecond {
        let sd = self.config.sigma_data;
        let v = sigma * sigma + sd * sd;
        EdmPrecond {
            c_skip: sd * sd / v,
            c_out: sigma * sd / v.sqrt(),
            c_in: 1.0 / v.sqrt(),
            c_noise: sigma.ln() / 4.0,
        }
    }

    /// EDM's loss weight.
    ///
    /// ```text
    /// λ(σ) = (σ² + σ_d²) / (σ·σ_d)²     (= 1/c_out²)
    /// ```
    ///
    /// # References
    /// Karras et al. (arXiv:2206.00364) Table 1; `training/loss.py:142`.
    pub fn loss_weight(&self, sigma: f64) -> f64 {
        let sd = self.config.sigma_data;
        (sigma * sigma + sd * sd) / (sigma * sd).powi(2)
    }

    /// The training kernel's radius from its two Gamma draws, with the configured clip
    /// ([`radius_from_gammas`] with `r = σ√D` and [`PfgmppConfig::train_clip`]).
    ///
    /// ```text
    /// R = r·√(G_N/G_D)                                  (train_clip = None)
    /// R = r·√(B/(1−B+1e-8) + 1e-8),  B = clamp(G_N/(G_N+G_D), ε, 1−ε)   (Some(ε))
    /// ```
    ///
    /// # References
    /// `training/loss.py:121-131`.
    pub fn training_radius(&self, sigma: f64, g_n: f64, g_d: f64) -> f64 {
        radius_from_gammas(self.r_of_sigma(sigma), g_n, g_d, self.config.train_clip)
    }

    /// Draws training σs.
    ///
    /// ```text
    /// σ = exp(P_mean + P_std·z),  z ~ N(0, 1)
    /// ```
    ///
    /// # Shapes
    /// Returns `batch` values.
    ///
    /// # References
    /// `training/loss.py:115-116` (EDM's σ distribution; the `--lsun` ×380/80 is left to the
    /// caller).
    pub fn draw_sigmas<R: Rng + ?Sized>(&self, rng: &mut R, batch: usize) -> Vec<f64> {
        (0..batch)
            .map(|_| {
                let z: f64 = rng.sample(StandardNormal);
                (self.config.p_mean + self.config.p_std * z).exp()
            })
            .collect()
    }

    /// Draws one training-kernel radius per σ for data of `n` coordinates per row.
    ///
    /// ```text
    /// G_N ~ Gamma(N/2, 1),  G_D ~ Gamma(D/2, 1)   (independent, per row)
    /// R = radius_from_gammas(σ√D, G_N, G_D, train_clip)
    /// ```
    ///
    /// # Shapes
    /// `sigmas: [batch]`; returns `batch` radii.
    ///
    /// # Errors
    /// [`SamplerError::InvalidConfig`] for `n = 0` or a σ that is not finite and > 0.
    ///
    /// # References
    /// `training/loss.py:121-131`.
    pub fn draw_radii<R: Rng + ?Sized>(
        &self,
        sigmas: &[f64],
        n: usize,
        rng: &mut R,
    ) -> SamplerResult<Vec<f64>> {
        check_sigmas(sigmas)?;
        let (gn, gd) = gammas(n, self.config.aug_dim)?;
        Ok(sigmas
            .iter()
            .map(|&s| {
                let (a, b) = (rng.sample(gn), rng.sample(gd));
                self.training_radius(s, a, b)
            })
            .collect())
    }

    /// Perturbs clean data with given radii and a given standard normal (rng-free).
    ///
    /// ```text
    /// x[b] = x0[b] + R_b · g[b] / ‖g[b]‖
    /// ```
    ///
    /// # Shapes
    /// `x0`, `gaussian`: `[batch, …]`; `radii: [batch]`; returns `[batch, …]`.
    ///
    /// # Errors
    /// [`SamplerError::ShapeMismatch`] if `gaussian`'s shape differs from `x0`'s or
    /// `radii.len() ≠ batch`; [`SamplerError::InvalidConfig`] for a negative or non-finite radius.
    ///
    /// # References
    /// `training/loss.py:134-145`.
    pub fn perturb<B: Backend, const D: usize>(
        &self,
        x0: Tensor<B, D>,
        radii: &[f64],
        gaussian: Tensor<B, D>,
    ) -> SamplerResult<Tensor<B, D>> {
        let dims = x0.dims();
        check_shape("gaussian", &gaussian.dims(), &dims)?;
        check_shape("radii (one per batch row)", &[radii.len()], &dims[..1])?;
        if radii.iter().any(|r| !(r.is_finite() && *r >= 0.0)) {
            return Err(SamplerError::InvalidConfig(
                "PFGM++ radii must be finite and ≥ 0".into(),
            ));
        }
        let inv = inverse_row_norms(&gaussian);
        let scale = column::<B, D>(radii, &dims, &x0.device()) * inv;
        Ok(x0 + gaussian * scale)
    }

    /// Perturbs clean data from one σ per row and the kernel's raw draws (rng-free): the two
    /// Gammas per row and a standard normal for the direction.
    ///
    /// ```text
    /// R_b = training_radius(σ_b, G_N[b], G_D[b]);   x[b] = x0[b] + R_b·g[b]/‖g[b]‖
    /// ```
    ///
    /// # Shapes
    /// `x0`, `gaussian`: `[batch, …]`; `sigmas`, `gammas`: `[batch]`; returns `[batch, …]`.
    ///
    /// # Errors
    /// [`SamplerError::ShapeMismatch`] for lengths other than `batch`;
    /// [`SamplerError::InvalidConfig`] for a σ that is not finite and > 0 or a Gamma draw that
    /// is not finite and > 0; as [`Pfgmpp::perturb`].
    ///
    /// # References
    /// `training/loss.py:121-145`.
    pub fn perturb_from_draws<B: Backend, const D: usize>(
        &self,
        x0: Tensor<B, D>,
        sigmas: &[f64],
        gammas: &[(f64, f64)],
        gaussian: Tensor<B, D>,
    ) -> SamplerResult<Tensor<B, D>> {
        let batch = x0.dims()[0];
        check_shape("sigmas (one per batch row)", &[sigmas.len()], &[batch])?;
        check_shape("gammas (one pair per batch row)", &[gammas.len()], &[batch])?;
        check_sigmas(sigmas)?;
        if gammas
            .iter()
            .any(|&(a, b)| !(a.is_finite() && a > 0.0 && b.is_finite() && b > 0.0))
        {
            return Err(SamplerError::InvalidConfig(
                "PFGM++ Gamma draws must be finite and > 0".into(),
            ));
        }
        let radii: Vec<f64> = sigmas
            .iter()
            .zip(gammas)
            .map(|(&s, &(a, b))| self.training_radius(s, a, b))
            .collect();
        self.perturb(x0, &radii, gaussian)
    }

    /// Perturbs clean data with every random draw made on the host from `StdRng(seed)` (per
    /// row: `n` standard normals for the direction, then `G_N`, `G_D`), so the same seed gives
    /// the same `x` on every backend. Returns `x` and the radii.
    ///
    /// # Shapes
    /// `x0: [batch, …]`; `sigmas: [batch]`; returns `([batch, …], batch radii)`.
    ///
    /// # Errors
    /// As [`Pfgmpp::draw_radii`] and [`Pfgmpp::perturb`].
    pub fn perturb_seeded<B: Backend, const D: usize>(
        &self,
        x0: Tensor<B, D>,
        sigmas: &[f64],
        seed: u64,
    ) -> SamplerResult<(Tensor<B, D>, Vec<f64>)> {
        let dims = x0.dims();
        check_shape("sigmas (one per batch row)", &[sigmas.len()], &dims[..1])?;
        check_sigmas(sigmas)?;
        let n: usize = dims[1..].iter().product();
        let (gn, gd) = gammas(n, self.config.aug_dim)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut g = Vec::with_capacity(n * sigmas.len());
        let mut radii = Vec::with_capacity(sigmas.len());
        for &s in sigmas {
            g.extend((0..n).map(|_| rng.sample::<f64, _>(StandardNormal) as f32));
            let (a, b) = (rng.sample(gn), rng.sample(gd));
            radii.push(self.training_radius(s, a, b));
        }
        let gaussian = Tensor::from_data(TensorData::new(g, dims), &x0.device());
        Ok((self.perturb(x0, &radii, gaussian)?, radii))
    }

    /// The preconditioned denoiser around any network `net(c_in·x, c_noise) → F`.
    ///
    /// ```text
    /// D(x; σ_b) = c_skip(σ_b)·x + c_out(σ_b)·F(c_in(σ_b)·x, c_noise(σ_b))    (per row b)
    /// ```
    /// `net` receives the scaled input and `c_noise` per row (`[batch]`); on an autodiff backend
    /// gradients flow through `F`.
    ///
    /// # Shapes
    /// `x: [batch, …]`; `sigmas: [batch]`; `net` returns `[batch, …]`; returns `[batch, …]`.
    ///
    /// # Errors
    /// [`SamplerError::ShapeMismatch`] for `sigmas.len() ≠ batch` or a network output of another
    /// shape; [`SamplerError::InvalidConfig`] for a σ that is not finite and > 0.
    ///
    /// # References
    /// `training/networks.py:691-709` (`EDMPrecond.forward`).
    pub fn denoise<B: Backend, const D: usize, F>(
        &self,
        x: Tensor<B, D>,
        sigmas: &[f64],
        net: F,
    ) -> SamplerResult<Tensor<B, D>>
    where
        F: FnOnce(Tensor<B, D>, Tensor<B, 1>) -> Tensor<B, D>,
    {
        let dims = x.dims();
        check_shape("sigmas (one per batch row)", &[sigmas.len()], &dims[..1])?;
        check_sigmas(sigmas)?;
        let device = x.device();
        let pre: Vec<EdmPrecond> = sigmas.iter().map(|&s| self.precond(s)).collect();
        let col = |f: fn(&EdmPrecond) -> f64| {
            let v: Vec<f64> = pre.iter().map(f).collect();
            column::<B, D>(&v, &dims, &device)
        };
        let noise: Vec<f32> = pre.iter().map(|p| p.c_noise as f32).collect();
        let c_noise = Tensor::<B, 1>::from_data(TensorData::new(noise, [sigmas.len()]), &device);
        let f = net(x.clone() * col(|p| p.c_in), c_noise);
        check_shape("network output", &f.dims(), &dims)?;
        Ok(x * col(|p| p.c_skip) + f * col(|p| p.c_out))
    }

    /// The training loss per element: EDM's weighted squared error against the clean data (the
    /// PFGM++ target without STF is `y` itself).
    ///
    /// ```text
    /// loss[b, …] = λ(σ_b)·(D(y + R·u; σ_b) − y)²,   λ(σ) = (σ² + σ_d²)/(σ·σ_d)²
    /// ```
    /// The official training loop sums it and divides by the batch size.
    ///
    /// # Shapes
    /// `denoised`, `target: [batch, …]`; `sigmas: [batch]`; returns `[batch, …]`.
    ///
    /// # Errors
    /// [`SamplerError::ShapeMismatch`]; [`SamplerError::InvalidConfig`] for a σ that is not
    /// finite and > 0.
    ///
    /// # References
    /// `training/loss.py:142, 171-175` (`target = y` unless `--stf`; the STF target is not
    /// implemented here).
    pub fn loss<B: Backend, const D: usize>(
        &self,
        denoised: Tensor<B, D>,
        target: Tensor<B, D>,
        sigmas: &[f64],
    ) -> SamplerResult<Tensor<B, D>> {
        let dims = target.dims();
        check_shape("denoised", &denoised.dims(), &dims)?;
        check_shape("sigmas (one per batch row)", &[sigmas.len()], &dims[..1])?;
        check_sigmas(sigmas)?;
        let w: Vec<f64> = sigmas.iter().map(|&s| self.loss_weight(s)).collect();
        let weight = column::<B, D>(&w, &dims, &target.device());
        Ok((denoised - target).powi_scalar(2) * weight)
    }

    /// The sampling prior: the unclipped kernel at σ_max around 0 ([`Prior::Pfgmpp`]).
    ///
    /// ```text
    /// x_T = σ_max·√D·√X·u,  X ~ BetaPrime(N/2, D/2),  u uniform on S^{N−1}
    /// ```
    ///
    /// # References
    /// `generate.py:208-231`.
    pub fn prior(&self) -> Prior {
        Prior::Pfgmpp {
            sigma_max: self.config.sigma_max,
            aug_dim: self.config.aug_dim,
        }
    }

    /// The aligned EDM schedule: `EdmConfig` with σ_min, σ_max, ρ and a denoiser output.
    ///
    /// # References
    /// `generate.py:28-45` (the official sampler is EDM's, on σ).
    pub fn edm_config(&self) -> EdmConfig {
        EdmConfig::new()
            .with_sigma_min(self.config.sigma_min)
            .with_sigma_max(self.config.sigma_max)
            .with_rho(self.config.rho)
            .with_prediction_type(PredictionType::Sample)
    }

    /// EDM's Heun sampler on the aligned Karras schedule, starting from the PFGM++ prior.
    ///
    /// ```text
    /// σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ,  i < n;   σ_n = 0
    /// d_i = (x_i − D(x_i; σ_i))/σ_i,  Heun step in σ, no correction on the last step to 0
    /// x_n from x_0 ~ Prior::Pfgmpp { σ_max, D }
    /// ```
    /// With `r = σ√D` the PFGM++ ODE `dx/dr` in the data coordinates is EDM's `dx/dσ`, so the
    /// solver is [`HeunEdm`] itself (with [`HeunEdm::with_prior`]); the model is the
    /// preconditioned denoiser called with `t = σ`. `steps = 18` is the official default
    /// (NFE 35).
    ///
    /// # Errors
    /// [`SamplerError::InvalidStepCount`] for `steps = 0`.
    ///
    /// # References
    /// `generate.py:28-75` (`edm_sampler` with `S_churn = S_noise = 0`); Karras et al.
    /// (arXiv:2206.00364) Algorithm 1.
    pub fn heun(&self, steps: usize) -> SamplerResult<HeunEdm> {
        Ok(HeunEdm::new(self.edm_config(), steps)?.with_prior(self.prior()))
    }
}

/// PFGM++'s sampler from a configuration: [`PfgmppConfig::init`] then [`Pfgmpp::heun`].
///
/// # Shapes
/// Samples `[batch, …]`, as [`HeunEdm`].
///
/// # Errors
/// As [`PfgmppConfig::validate`] and [`Pfgmpp::heun`].
///
/// # Example
/// ```
/// use burn::backend::Flex;
/// use burn::tensor::Tensor;
/// use preferent_samplers::pfgmpp::{pfgmpp_heun, PfgmppConfig};
/// use preferent_samplers::solvers::{Sampler, SolverSpec};
///
/// let config = PfgmppConfig::new().with_aug_dim(2048);
/// let pfgm = config.clone().init().unwrap();
/// let solver = pfgmpp_heun(config, 18).unwrap();
/// // x_T from the heavy-tailed prior, drawn on the host: the same on every backend.
/// let x_t = solver.prior().sample_seeded::<Flex, 2>([2, 4], 0, &Default::default()).unwrap();
/// let mut sampler = Sampler::<Flex, 2, _>::new(solver);
/// // Any network F(c_in·x, c_noise) behind EDM's preconditioning; here F = 0.
/// let model = |x: &Tensor<Flex, 2>, sigma: f64| {
///     pfgm.denoise(x.clone(), &[sigma, sigma], |x_in, _c_noise| x_in.zeros_like()).unwrap()
/// };
/// let x0 = sampler.sample(model, x_t, |_| {}).unwrap();
/// assert_eq!(x0.dims(), [2, 4]);
/// ```
///
/// # References
/// `generate.py:28-75, 208-231`.
pub fn pfgmpp_heun(config: PfgmppConfig, steps: usize) -> SamplerResult<HeunEdm> {
    config.init()?.heun(steps)
}

/// The kernel's radius from its two Gamma draws.
///
/// ```text
/// X = G_N / G_D                           (BetaPrime(N/2, D/2) when G_k ~ Gamma(k/2, 1))
/// clip = None:     R = r·√X
/// clip = Some(ε):  B = clamp(G_N/(G_N + G_D), ε, 1 − ε)
///                  R = r·√(B/(1 − B + 1e-8) + 1e-8)        (the official training formula)
/// ```
///
/// # References
/// arXiv:2302.04265 §3 (R² / r² is beta-prime); `training/loss.py:123-131` (clip and the 1e-8
/// guards); `generate.py:213-225` (unclipped).
pub fn radius_from_gammas(r: f64, g_n: f64, g_d: f64, clip: Option<f64>) -> f64 {
    match clip {
        None => r * (g_n / g_d).sqrt(),
        Some(eps) => {
            let b = (g_n / (g_n + g_d)).clamp(eps, 1.0 - eps);
            r * (b / (1.0 - b + 1e-8) + 1e-8).sqrt()
        }
    }
}

/// The expected squared norm of the kernel's displacement, `E‖R·u‖² = σ²·N·D/(D − 2)`
/// (`+∞` for `D ≤ 2`). Unclipped.
///
/// ```text
/// E X = (N/2)/(D/2 − 1)  for X ~ BetaPrime(N/2, D/2)   ⇒   E R² = σ²·D·N/(D − 2)
/// ```
///
/// # References
/// arXiv:2302.04265 §3-§4 (the moment behind the D → ∞ limit E R² → σ²N).
pub fn expected_sq_radius(sigma: f64, n: usize, aug_dim: usize) -> f64 {
    if aug_dim <= 2 {
        return f64::INFINITY;
    }
    let d = aug_dim as f64;
    sigma * sigma * n as f64 * d / (d - 2.0)
}

/// Per-coordinate RMS of the prior, `σ_max·√(D/(D − 2))` (`+∞` for `D ≤ 2`).
pub(crate) fn prior_rms(sigma_max: f64, aug_dim: usize) -> f64 {
    if aug_dim <= 2 {
        return f64::INFINITY;
    }
    let d = aug_dim as f64;
    sigma_max * (d / (d - 2.0)).sqrt()
}

/// `σ_max·√D·g/‖h‖` per row with `h ~ N(0, I_D)` from burn's random stream.
pub(crate) fn prior_from_device_normal<B: Backend, const D: usize>(
    g: Tensor<B, D>,
    sigma_max: f64,
    aug_dim: usize,
) -> Tensor<B, D> {
    let dims = g.dims();
    let h = Tensor::<B, 2>::random(
        [dims[0], aug_dim],
        Distribution::Normal(0.0, 1.0),
        &g.device(),
    );
    let inv = inverse_row_norms(&h); // [batch, 1]
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    let scale = inv
        .mul_scalar(sigma_max * (aug_dim as f64).sqrt())
        .reshape(shape);
    g * scale
}

/// Host `std·g` with `g` from `StdRng(seed)`.
pub(crate) fn host_gaussian(shape: &[usize], std: f64, seed: u64) -> Vec<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let numel: usize = shape.iter().product();
    (0..numel)
        .map(|_| std * rng.sample::<f64, _>(StandardNormal))
        .collect()
}

/// Host PFGM++ prior: per row `n` normals, then `G_N`, `G_D`; `x = σ_max√D·√(G_N/G_D)·g/‖g‖`.
pub(crate) fn host_prior(
    shape: &[usize],
    sigma_max: f64,
    aug_dim: usize,
    seed: u64,
) -> SamplerResult<Vec<f64>> {
    let batch = shape.first().copied().unwrap_or(0);
    let n: usize = shape.iter().skip(1).product();
    let (gn, gd) = gammas(n, aug_dim)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let r = sigma_max * (aug_dim as f64).sqrt();
    let mut out = Vec::with_capacity(batch * n);
    for _ in 0..batch {
        let g: Vec<f64> = (0..n).map(|_| rng.sample(StandardNormal)).collect();
        let (a, b) = (rng.sample(gn), rng.sample(gd));
        let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        let scale = radius_from_gammas(r, a, b, None) / norm;
        out.extend(g.iter().map(|v| v * scale));
    }
    Ok(out)
}

/// `Gamma(N/2, 1)` and `Gamma(D/2, 1)`.
fn gammas(n: usize, aug_dim: usize) -> SamplerResult<(Gamma<f64>, Gamma<f64>)> {
    if n == 0 || aug_dim == 0 {
        return Err(SamplerError::InvalidConfig(format!(
            "PFGM++ needs N ≥ 1 data coordinates per row and D ≥ 1, got N = {n}, D = {aug_dim}"
        )));
    }
    let g = |k: usize| {
        Gamma::new(k as f64 / 2.0, 1.0)
            .map_err(|e| SamplerError::InvalidConfig(format!("Gamma({k}/2, 1): {e}")))
    };
    Ok((g(n)?, g(aug_dim)?))
}

fn check_sigmas(sigmas: &[f64]) -> SamplerResult<()> {
    if let Some(s) = sigmas.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(SamplerError::InvalidConfig(format!(
            "PFGM++ σ must be finite and > 0, got {s}"
        )));
    }
    Ok(())
}

/// `1/‖x[b]‖` per row, shaped `[batch, 1, …, 1]` (rank of `x`).
fn inverse_row_norms<B: Backend, const D: usize>(x: &Tensor<B, D>) -> Tensor<B, D> {
    let dims = x.dims();
    let b = dims[0];
    let n: usize = dims[1..].iter().product();
    let flat: Tensor<B, 2> = x.clone().reshape([b, n]);
    let mut shape = [1usize; D];
    shape[0] = b;
    flat.powi_scalar(2).sum_dim(1).sqrt().recip().reshape(shape)
}

/// Host values, one per batch row, uploaded as `[batch, 1, …, 1]`.
fn column<B: Backend, const D: usize>(
    values: &[f64],
    dims: &[usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::<B, 1>::from_data(TensorData::new(v, [values.len()]), device).reshape(shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radius_formulas() {
        // Unclipped: r·√(G_N/G_D); the clip is inactive away from the ends.
        let r = 2.0;
        assert!((radius_from_gammas(r, 3.0, 1.5, None) - 2.0 * 2f64.sqrt()).abs() < 1e-15);
        let b: f64 = 3.0 / 4.5;
        let want = r * (b / (1.0 - b + 1e-8) + 1e-8).sqrt();
        assert!((radius_from_gammas(r, 3.0, 1.5, Some(1e-3)) - want).abs() < 1e-15);
        // Clip active: B → 1 − ε.
        let b: f64 = 1.0 - 1e-3;
        let want = r * (b / (1.0 - b + 1e-8) + 1e-8).sqrt();
        assert!((radius_from_gammas(r, 1e6, 1.0, Some(1e-3)) - want).abs() < 1e-12);
    }

    #[test]
    fn moments_and_rms() {
        assert_eq!(expected_sq_radius(1.0, 4, 2), f64::INFINITY);
        assert!((expected_sq_radius(2.0, 3, 6) - 4.0 * 3.0 * 6.0 / 4.0).abs() < 1e-12);
        assert!((prior_rms(80.0, 128) - 80.0 * (128.0f64 / 126.0).sqrt()).abs() < 1e-12);
        assert_eq!(prior_rms(80.0, 2), f64::INFINITY);
    }

    #[test]
    fn precond_identities() {
        let p = PfgmppConfig::new().init().unwrap();
        for s in [0.002, 0.5, 3.0, 80.0] {
            let c = p.precond(s);
            // λ = 1/c_out² and c_in² (σ² + σ_d²) = 1.
            assert!((p.loss_weight(s) * c.c_out * c.c_out - 1.0).abs() < 1e-12);
            assert!((c.c_in * c.c_in * (s * s + 0.25) - 1.0).abs() < 1e-12);
        }
    }
}
