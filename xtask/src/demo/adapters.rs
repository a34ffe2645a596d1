//! The demo's only contact points with the loss and sampler crates.
//!
//! Every function here is a thin call into `preferent::losses` (DPO, rDPO, SimPO) or
//! `preferent::samplers` (DDIM, DPM-Solver++ multistep, the `Sampler` loop), shaped for the demo.

use burn::tensor::{backend::Backend, Tensor};
use preferent::losses::pairwise::{
    dpo_loss as pairwise_dpo, DpoConfig, DpoLossType, PairwiseBatch,
};
use preferent::losses::simpo::{simpo_loss as simpo, SimpoConfig};
use preferent::samplers::schedule::{DiscreteScheduleConfig, TimestepSpacing};
use preferent::samplers::solvers::{
    Ddim, DdimConfig, DpmSolverMultistep, DpmSolverMultistepConfig, Sampler,
};

fn batch<B: Backend>(
    pc: Tensor<B, 1>,
    pr: Tensor<B, 1>,
    rc: Tensor<B, 1>,
    rr: Tensor<B, 1>,
) -> PairwiseBatch<B> {
    PairwiseBatch::new(pc, pr, rc, rr)
}

/// DPO (sigmoid) loss, mean over the batch: `−mean log σ(β[(π_c − ref_c) − (π_r − ref_r)])`.
///
/// Calls `preferent::losses::pairwise::dpo_loss` with `DpoConfig { beta, loss_types: [Sigmoid] }`.
pub fn dpo_loss<B: Backend>(
    pi_c: Tensor<B, 1>,
    pi_r: Tensor<B, 1>,
    ref_c: Tensor<B, 1>,
    ref_r: Tensor<B, 1>,
    beta: f64,
) -> Result<Tensor<B, 1>, String> {
    let cfg = DpoConfig::new().with_beta(beta);
    pairwise_dpo(&cfg, batch(pi_c, pi_r, ref_c, ref_r))
        .map(|o| o.loss)
        .map_err(|e| format!("DPO loss: {e}"))
}

/// Robust DPO (rDPO) for labels flipped with known rate `eps`, mean over the batch.
///
/// Calls `preferent::losses::pairwise::dpo_loss` with loss type `Robust` and
/// `label_smoothing = eps` (TRL's convention; Chowdhury et al. 2024, arXiv 2403.00409).
pub fn rdpo_loss<B: Backend>(
    pi_c: Tensor<B, 1>,
    pi_r: Tensor<B, 1>,
    ref_c: Tensor<B, 1>,
    ref_r: Tensor<B, 1>,
    beta: f64,
    eps: f64,
) -> Result<Tensor<B, 1>, String> {
    let cfg = DpoConfig::new()
        .with_beta(beta)
        .with_label_smoothing(eps)
        .with_loss_types(vec![DpoLossType::Robust]);
    pairwise_dpo(&cfg, batch(pi_c, pi_r, ref_c, ref_r))
        .map(|o| o.loss)
        .map_err(|e| format!("rDPO loss: {e}"))
}

/// SimPO loss on length-normalised log-probs: `−mean log σ(β·avg_c − β·avg_r − γ)`.
///
/// Calls `preferent::losses::simpo::simpo_loss` with `beta` and `gamma_beta_ratio = γ/β`.
pub fn simpo_loss<B: Backend>(
    avg_c: Tensor<B, 1>,
    avg_r: Tensor<B, 1>,
    beta: f64,
    gamma: f64,
) -> Result<Tensor<B, 1>, String> {
    let cfg = SimpoConfig::new()
        .with_beta(beta)
        .with_gamma_beta_ratio(gamma / beta);
    simpo(avg_c, avg_r, &cfg)
        .map(|o| o.loss)
        .map_err(|e| format!("SimPO loss: {e}"))
}

/// The DDPM training schedule (linear β 1e-4 … 0.02, T = 1000): `ᾱ_t`, t = 0 … T−1, from
/// `preferent::samplers::schedule::DiscreteScheduleConfig`'s defaults.
pub struct DdpmSchedule {
    /// Cumulative products of `1 − β_t`.
    pub alphas_cumprod: Vec<f64>,
}

impl DdpmSchedule {
    /// The samplers crate's default discrete schedule.
    pub fn ddpm_default() -> Result<Self, String> {
        let s = DiscreteScheduleConfig::new()
            .init()
            .map_err(|e| format!("schedule: {e}"))?;
        Ok(Self {
            alphas_cumprod: s.alphas_cumprod().to_vec(),
        })
    }

    /// Number of training steps T.
    pub fn len(&self) -> usize {
        self.alphas_cumprod.len()
    }
}

/// The two solvers the demo compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// DDIM, η = 0, trailing timestep spacing, no x₀ clipping.
    Ddim,
    /// DPM-Solver++(2M) multistep (diffusers defaults: linspace spacing, lower-order final,
    /// final σ = 0), no thresholding.
    DpmSolverPp2M,
}

impl Solver {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Ddim => "DDIM",
            Solver::DpmSolverPp2M => "DPM-Solver++(2M)",
        }
    }

    /// Settings in words, for the report.
    pub fn settings(self) -> &'static str {
        match self {
            Solver::Ddim => "η = 0, trailing spacing, no clipping",
            Solver::DpmSolverPp2M => "order 2, midpoint, linspace spacing, final σ = 0",
        }
    }
}

/// Samples from an ε-prediction model with `nfe` model evaluations from `x_t` ~ N(0, I), with
/// `preferent::samplers::solvers::Sampler::sample`.
pub fn sample<B: Backend>(
    solver: Solver,
    nfe: usize,
    x_t: Tensor<B, 2>,
    eps_model: impl Fn(Tensor<B, 2>, Tensor<B, 1>) -> Tensor<B, 2>,
) -> Result<Tensor<B, 2>, String> {
    let n = x_t.dims()[0];
    let device = x_t.device();
    let model =
        |x: &Tensor<B, 2>, t: f64| eps_model(x.clone(), Tensor::<B, 1>::ones([n], &device) * t);
    let err = |e: preferent::samplers::SamplerError| format!("{}: {e}", solver.name());
    match solver {
        Solver::Ddim => {
            let cfg = DdimConfig::new()
                .with_clip_sample(false)
                .with_timestep_spacing(TimestepSpacing::Trailing);
            let s = Ddim::new(cfg, nfe).map_err(err)?;
            Sampler::<B, 2, _>::new(s)
                .sample(model, x_t, |_| {})
                .map_err(err)
        }
        Solver::DpmSolverPp2M => {
            let s = DpmSolverMultistep::new(DpmSolverMultistepConfig::new(), nfe).map_err(err)?;
            Sampler::<B, 2, _>::new(s)
                .sample(model, x_t, |_| {})
                .map_err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    type B = burn::backend::Flex;

    fn t1(v: &[f32]) -> Tensor<B, 1> {
        Tensor::from_floats(v, &Default::default())
    }

    fn scalar(t: Tensor<B, 1>) -> f64 {
        t.into_scalar() as f64
    }

    #[test]
    fn dpo_at_zero_margin_is_ln2_and_rdpo_reduces_to_dpo_at_eps_zero() {
        let z = t1(&[0.0, 0.0]);
        let l = scalar(dpo_loss(z.clone(), z.clone(), z.clone(), z.clone(), 0.1).unwrap());
        assert!((l - std::f64::consts::LN_2).abs() < 1e-6);
        let (a, b) = (t1(&[-3.0, -1.0]), t1(&[-2.0, -4.0]));
        let d = scalar(dpo_loss(a.clone(), b.clone(), b.clone(), a.clone(), 0.5).unwrap());
        let r = scalar(rdpo_loss(a.clone(), b.clone(), b.clone(), a.clone(), 0.5, 0.0).unwrap());
        assert!((d - r).abs() < 1e-6);
    }

    const DPO_GOLD: f64 = 0.37086726606684367;
    const RDPO_GOLD: f64 = -0.12913273393315633;
    const SIMPO_GOLD: f64 = 0.7886315165327823;

    #[test]
    fn losses_match_numpy() {
        // python3: import numpy as np; ls=lambda x: -np.logaddexp(0,-x)
        // h=np.array([(-3+2)-(-2+1),(-1+4)-(-4+1)])*0.5    -> DPO: -ls(h).mean()
        // z=h; rdpo=((0.8*-ls(z))-(0.2*-ls(-z)))/0.6; print(-ls(h).mean(), rdpo.mean())
        // simpo: print(-ls(2*np.array([-1.,-0.5])-2*np.array([-1.5,-0.4])-0.5).mean())
        let (pc, pr, rc, rr) = (
            t1(&[-3.0, -1.0]),
            t1(&[-2.0, -4.0]),
            t1(&[-2.0, -4.0]),
            t1(&[-1.0, -1.0]),
        );
        let d = scalar(dpo_loss(pc.clone(), pr.clone(), rc.clone(), rr.clone(), 0.5).unwrap());
        let r = scalar(rdpo_loss(pc, pr, rc, rr, 0.5, 0.2).unwrap());
        let s = scalar(simpo_loss(t1(&[-1.0, -0.5]), t1(&[-1.5, -0.4]), 2.0, 0.5).unwrap());
        assert!((d - DPO_GOLD).abs() < 1e-5, "{d}");
        assert!((r - RDPO_GOLD).abs() < 1e-5, "{r}");
        assert!((s - SIMPO_GOLD).abs() < 1e-5, "{s}");
    }

    #[test]
    fn samplers_recover_a_point_mass_with_the_oracle_denoiser() {
        // Data = point mass at c: the exact ε(x_t, t) = (x_t − √ᾱ_t c)/√(1−ᾱ_t); both solvers
        // must then land on c.
        let sched = DdpmSchedule::ddpm_default().unwrap();
        let c = 0.7f64;
        for solver in [Solver::Ddim, Solver::DpmSolverPp2M] {
            let x = Tensor::<B, 2>::from_floats([[1.3f32, -0.4], [0.2, 2.0]], &Default::default());
            let out = sample(solver, 10, x, |x, t| {
                let ti = t.into_data().to_vec::<f32>().unwrap()[0] as usize;
                let a = sched.alphas_cumprod[ti];
                (x - c * a.sqrt()) / (1.0 - a).sqrt()
            })
            .unwrap();
            for v in out.into_data().to_vec::<f32>().unwrap() {
                assert!((v as f64 - c).abs() < 1e-3, "{solver:?}: {v}");
            }
        }
    }
}
