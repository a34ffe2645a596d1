//! KTO: Kahneman-Tversky optimisation on unpaired desirable/undesirable completions, with a
//! detached, zero-clamped KL reference point.

use burn::config::Config;
use burn::tensor::{backend::Backend, Bool, Tensor};

use crate::base::{read_scalars, LossMetrics, PreferenceLoss};
use crate::beyond_checks::{finite_tensor, non_empty, non_negative, positive, same_shape};
use crate::error::LossError;
use crate::numerics::log_sigmoid;
use crate::output::{FiniteWatch, LossOutput};
use crate::validated_loss;

/// The per-example KTO loss shape (TRL `KTOConfig.loss_type`).
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum KtoLossType {
    /// `λ_D·(1 − σ(β(r − z)))` for desirable, `λ_U·(1 − σ(β(z − r)))` for undesirable rows.
    Kto,
    /// `λ_D·(1 − σ(βr))` and `λ_U·σ(βr)`, with no KL reference point (TRL `apo_zero_unpaired`).
    ApoZeroUnpaired,
}

/// Hyperparameters of [`kto_loss`]. Defaults from TRL `KTOConfig`.
#[derive(Config, Debug)]
pub struct KtoConfig {
    /// β (> 0). Source: TRL `KTOConfig.beta = 0.1`.
    #[config(default = 0.1)]
    pub beta: f64,
    /// λ_D, weight of desirable rows (≥ 0). Source: `desirable_weight = 1.0`.
    #[config(default = 1.0)]
    pub desirable_weight: f64,
    /// λ_U, weight of undesirable rows (≥ 0). Source: `undesirable_weight = 1.0`. TRL warns
    /// unless λ_D·n_D / (λ_U·n_U) lies in [1, 4/3].
    #[config(default = 1.0)]
    pub undesirable_weight: f64,
    /// Which loss. Source: `loss_type = "kto"`.
    #[config(default = "KtoLossType::Kto")]
    pub loss_type: KtoLossType,
    /// Read the inputs back to the host and return [`LossError::NonFinite`] on NaN/±∞.
    #[config(default = false)]
    pub check_finite: bool,
}

impl KtoConfig {
    /// Checks every hyperparameter's range.
    pub fn validate(&self) -> Result<(), LossError> {
        positive("beta", self.beta)?;
        non_negative("desirable_weight", self.desirable_weight)?;
        non_negative("undesirable_weight", self.undesirable_weight)
    }
}

/// Log-probs of the mismatched (prompt, completion) pairs that estimate the KL reference point.
///
/// TRL builds them by pairing each prompt with the completion of the next row (shift by +1
/// within the batch) and running policy and reference on those sequences.
#[derive(Debug, Clone)]
pub struct KtoKlLogps<B: Backend> {
    /// Summed policy log-probs of the mismatched completions, `[M]`.
    pub policy: Tensor<B, 1>,
    /// Summed reference log-probs of the mismatched completions, `[M]`.
    pub reference: Tensor<B, 1>,
}

/// Detached KTO metrics (the names TRL's KTO trainer logs), `[1]` tensors; read them with
/// [`KtoMetrics::read`].
#[derive(Debug, Clone)]
pub struct KtoMetrics<B: Backend> {
    /// `kl`: the reference point z actually used (after the clamp at 0; 0 without KL inputs).
    pub kl: Tensor<B, 1>,
    /// `rewards/chosen`: mean β·r over desirable rows (NaN if there are none).
    pub rewards_chosen: Tensor<B, 1>,
    /// `rewards/rejected`: mean β·r over undesirable rows (NaN if there are none).
    pub rewards_rejected: Tensor<B, 1>,
    /// Number of desirable rows.
    pub num_desirable: Tensor<B, 1>,
    /// Number of undesirable rows.
    pub num_undesirable: Tensor<B, 1>,
}

/// Host copy of [`KtoMetrics`].
#[derive(Debug, Clone, PartialEq)]
pub struct KtoMetricsHost {
    /// `kl`: the reference point z used.
    pub kl: f64,
    /// `rewards/chosen` (`None` without desirable rows).
    pub rewards_chosen: Option<f64>,
    /// `rewards/rejected` (`None` without undesirable rows).
    pub rewards_rejected: Option<f64>,
    /// `rewards/margins`: chosen minus rejected mean reward, when both exist.
    pub rewards_margins: Option<f64>,
    /// Number of desirable rows.
    pub num_desirable: usize,
    /// Number of undesirable rows.
    pub num_undesirable: usize,
}

impl<B: Backend> KtoMetrics<B> {
    /// Reads every metric back with one device transfer.
    pub fn read(&self) -> KtoMetricsHost {
        let v = read_scalars(&[
            &self.kl,
            &self.rewards_chosen,
            &self.rewards_rejected,
            &self.num_desirable,
            &self.num_undesirable,
        ]);
        let (nd, nu) = (v[3].round() as usize, v[4].round() as usize);
        let rc = (nd > 0).then_some(v[1]);
        let rr = (nu > 0).then_some(v[2]);
        KtoMetricsHost {
            kl: v[0],
            rewards_chosen: rc,
            rewards_rejected: rr,
            rewards_margins: rc.zip(rr).map(|(a, b)| a - b),
            num_desirable: nd,
            num_undesirable: nu,
        }
    }
}

impl<B: Backend> LossMetrics for KtoMetrics<B> {
    fn to_log(&self) -> Vec<(&'static str, f64)> {
        let h = self.read();
        let mut v = vec![("kl", h.kl)];
        v.extend(h.rewards_chosen.map(|x| ("rewards/chosen", x)));
        v.extend(h.rewards_rejected.map(|x| ("rewards/rejected", x)));
        v.extend(h.rewards_margins.map(|x| ("rewards/margins", x)));
        v
    }
}

validated_loss! {
    /// KTO, validated ([`KtoConfig::init`]); see [`kto_loss`] for the formula.
    KtoConfig => KtoLoss
}

/// One KTO batch of unpaired completions.
///
/// # Shapes
/// `policy_logps`, `reference_logps`, `desirable`: `[B]`; `kl`: `[M]` each.
#[derive(Debug, Clone)]
pub struct KtoBatch<B: Backend> {
    /// Summed policy log-probs `lp_θ(y_i)`.
    pub policy_logps: Tensor<B, 1>,
    /// Summed reference log-probs `lp_ref(y_i)`.
    pub reference_logps: Tensor<B, 1>,
    /// True where `y_i` is desirable.
    pub desirable: Tensor<B, 1, Bool>,
    /// The mismatched pairs that estimate the KL reference point (`None`: z = 0).
    pub kl: Option<KtoKlLogps<B>>,
}

impl<B: Backend> PreferenceLoss<B> for KtoLoss {
    type Batch = KtoBatch<B>;
    type Metrics = KtoMetrics<B>;

    fn forward(&self, batch: KtoBatch<B>) -> Result<LossOutput<B, KtoMetrics<B>>, LossError> {
        kto_forward(batch, &self.config)
    }
}

/// KTO loss over a batch of unpaired completions.
///
/// ```text
/// r_i = lp_θ(y_i) − lp_ref(y_i)                                    (summed log-probs)
/// z   = max(0, mean_j [lp_θ(y'_j) − lp_ref(y'_j)])   (mismatched pairs y'; detached)
/// ℓ_i = λ_D·(1 − σ(β(r_i − z)))   if y_i is desirable
///     = λ_U·(1 − σ(β(z − r_i)))   otherwise
/// loss = mean_i ℓ_i
/// ```
/// `1 − σ(x)` is evaluated as `exp(log σ(−x))`. z carries no gradient (TRL detaches it); with
/// `kl = None`, z = 0. [`KtoLossType::ApoZeroUnpaired`] ignores `kl`.
///
/// # Shapes
/// `policy_logps`, `reference_logps`: `[B]`; `desirable`: `[B]` (true = desirable);
/// `kl.policy`, `kl.reference`: `[M]` → loss `[1]`.
///
/// # Errors
/// [`LossError::InvalidParameter`], [`LossError::ShapeMismatch`], [`LossError::EmptyBatch`], and
/// [`LossError::NonFinite`] when `check_finite` is set.
///
/// # References
/// Ethayarajh et al., "KTO", arXiv 2402.01306; TRL `trl/trainer/kto_trainer.py::kto_loss`.
pub fn kto_loss<B: Backend>(
    policy_logps: Tensor<B, 1>,
    reference_logps: Tensor<B, 1>,
    desirable: Tensor<B, 1, Bool>,
    kl: Option<KtoKlLogps<B>>,
    config: &KtoConfig,
) -> Result<LossOutput<B, KtoMetrics<B>>, LossError> {
    config.init()?.forward(KtoBatch {
        policy_logps,
        reference_logps,
        desirable,
        kl,
    })
}

fn kto_forward<B: Backend>(
    batch: KtoBatch<B>,
    config: &KtoConfig,
) -> Result<LossOutput<B, KtoMetrics<B>>, LossError> {
    let KtoBatch {
        policy_logps,
        reference_logps,
        desirable,
        kl,
    } = batch;
    let dims = policy_logps.dims();
    non_empty("policy_logps", &dims)?;
    same_shape("reference_logps", &reference_logps.dims(), &dims)?;
    same_shape("desirable", &desirable.dims(), &dims)?;
    if let Some(kl) = &kl {
        non_empty("kl.policy", &kl.policy.dims())?;
        same_shape("kl.reference", &kl.reference.dims(), &kl.policy.dims())?;
    }
    if config.check_finite {
        finite_tensor("policy_logps", &policy_logps)?;
        finite_tensor("reference_logps", &reference_logps)?;
        if let Some(kl) = &kl {
            finite_tensor("kl.policy", &kl.policy)?;
            finite_tensor("kl.reference", &kl.reference)?;
        }
    }
    let beta = config.beta;
    let device = policy_logps.device();
    let mut watch = FiniteWatch::new()
        .watch(&policy_logps)
        .watch(&reference_logps);
    // z stays on the device (detached, clamped at 0): no host read per step.
    let z: Tensor<B, 1> = match (&kl, config.loss_type) {
        (Some(kl), KtoLossType::Kto) => {
            watch = watch.watch(&kl.policy).watch(&kl.reference);
            (kl.policy.clone() - kl.reference.clone())
                .mean()
                .clamp_min(0.0)
                .detach()
        }
        _ => Tensor::zeros([1], &device),
    };
    let r = policy_logps - reference_logps;
    let x = (r.clone() - z.clone()).mul_scalar(beta); // β(r − z)
                                                      // Desirable: 1 − σ(β(r − z)) = σ(−β(r − z)). Undesirable (KTO): 1 − σ(β(z − r)) = σ(β(r − z));
                                                      // (APO-zero): σ(βr), the same expression with z = 0.
    let chosen = log_sigmoid(x.clone().neg()).exp();
    let rejected = log_sigmoid(x).exp();
    let d = desirable.float();
    let u = d.clone().neg().add_scalar(1.0);
    let per_row = chosen.mul(d.clone()).mul_scalar(config.desirable_weight)
        + rejected
            .mul(u.clone())
            .mul_scalar(config.undesirable_weight);
    let loss = per_row.mean();

    let rewards = r.detach().mul_scalar(beta);
    let (nd, nu) = (d.clone().sum(), u.clone().sum());
    let metrics = KtoMetrics {
        kl: z,
        rewards_chosen: (rewards.clone() * d).sum() / nd.clone(),
        rewards_rejected: (rewards * u).sum() / nu.clone(),
        num_desirable: nd,
        num_undesirable: nu,
    };
    Ok(LossOutput::new(loss, metrics, watch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;
    use preferent_testkit::{
        assert_close, device, finite_difference, tensor, to_vec, TestAutodiffBackend, TestBackend,
    };

    const POL: [f64; 6] = [-10.0, -22.0, -8.0, -900.0, -15.0, -7.0];
    const REF: [f64; 6] = [-12.0, -20.0, -9.5, -100.0, -15.5, -700.0];
    const DES: [bool; 6] = [true, false, true, true, false, false];
    const KLP: [f64; 6] = [-14.0, -21.0, -9.0, -16.0, -30.0, -11.0];
    const KLR: [f64; 6] = [-15.0, -20.5, -10.0, -16.2, -29.0, -12.5];

    fn flags<B: Backend>(f: &[bool], d: &B::Device) -> Tensor<B, 1, Bool> {
        Tensor::from_data(TensorData::new(f.to_vec(), [f.len()]), d)
    }

    fn run(
        klp: &[f64],
        klr: &[f64],
        cfg: &KtoConfig,
    ) -> LossOutput<TestBackend, KtoMetrics<TestBackend>> {
        let d = device();
        kto_loss(
            tensor::<TestBackend, 1>(&POL, [6], &d),
            tensor(&REF, [6], &d),
            flags(&DES, &d),
            Some(KtoKlLogps {
                policy: tensor(klp, [6], &d),
                reference: tensor(klr, [6], &d),
            }),
            cfg,
        )
        .unwrap()
    }

    // Goldens: tests/reference/beyond_kto.py (numpy float64, TRL's nanmean over cat(chosen, rejected)).
    #[test]
    fn forward_goldens_with_extreme_log_probs() {
        let out = run(&KLP, &KLR, &KtoConfig::new());
        assert_close(&to_vec(out.loss), &[0.645899233946155], 1e-5, 1e-6);
        let m = out.metrics.read();
        assert_close(&[m.kl], &[0.36666666666666653], 1e-4, 1e-5);
        assert_close(
            &[m.rewards_chosen.unwrap(), m.rewards_rejected.unwrap()],
            &[-26.55, 23.049999999999997],
            1e-5,
            1e-4,
        );
        assert_eq!((m.num_desirable, m.num_undesirable), (3, 3));

        let cfg = KtoConfig::new()
            .with_beta(0.5)
            .with_desirable_weight(1.33)
            .with_undesirable_weight(0.7);
        assert_close(
            &to_vec(run(&KLP, &KLR, &cfg).loss),
            &[0.574142580686621],
            1e-5,
            1e-6,
        );

        // Negative mean KL is clamped to 0.
        let out = run(&KLR, &KLP, &KtoConfig::new());
        assert_eq!(out.metrics.read().kl, 0.0);
        assert_close(&to_vec(out.loss), &[0.6458999260859174], 1e-5, 1e-6);

        // Strongly negative mean KL (−5) at β = 0.5: clamped to 0 (unclamped would give
        // 0.6373544906858536).
        let klp_neg: Vec<f64> = KLR.iter().map(|v| v - 5.0).collect();
        let out = run(&klp_neg, &KLR, &KtoConfig::new().with_beta(0.5));
        assert_eq!(out.metrics.read().kl, 0.0);
        assert_close(&to_vec(out.loss), &[0.570146774075066], 1e-5, 1e-6);

        let cfg = KtoConfig::new().with_loss_type(KtoLossType::ApoZeroUnpaired);
        let out = run(&KLP, &KLR, &cfg);
        assert_eq!(out.metrics.read().kl, 0.0);
        assert_close(&to_vec(out.loss), &[0.6458999260859174], 1e-5, 1e-6);
    }

    fn host_kto(v: &[f64], z: f64, beta: f64, wd: f64, wu: f64, des: &[bool]) -> f64 {
        let n = des.len();
        let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
        let mut tot = 0.0;
        for i in 0..n {
            let r = v[i] - v[n + i];
            tot += if des[i] {
                wd * (1.0 - sig(beta * (r - z)))
            } else {
                wu * (1.0 - sig(beta * (z - r)))
            };
        }
        tot / n as f64
    }

    /// Gradient w.r.t. the policy/reference log-probs matches finite differences with z held
    /// fixed, and no gradient reaches the KL log-probs (z is detached).
    #[test]
    fn gradient_matches_finite_difference_and_kl_is_detached() {
        let d = device();
        let pol = [-10.0, -22.0, -8.0, -30.0];
        let rf = [-12.0, -20.0, -9.5, -31.0];
        let des = [true, false, true, false];
        let klp = [-14.0, -21.0, -9.0, -16.0];
        let klr = [-16.0, -20.5, -10.0, -17.0]; // mean KL = 0.875 > 0
        let z = 0.875;
        let p = tensor::<TestAutodiffBackend, 1>(&pol, [4], &d).require_grad();
        let r = tensor::<TestAutodiffBackend, 1>(&rf, [4], &d).require_grad();
        let kp = tensor::<TestAutodiffBackend, 1>(&klp, [4], &d).require_grad();
        let kr = tensor::<TestAutodiffBackend, 1>(&klr, [4], &d).require_grad();
        let cfg = KtoConfig::new().with_beta(0.5).with_desirable_weight(1.2);
        let out = kto_loss(
            p.clone(),
            r.clone(),
            flags(&des, &d),
            Some(KtoKlLogps {
                policy: kp.clone(),
                reference: kr.clone(),
            }),
            &cfg,
        )
        .unwrap();
        assert_close(&[out.metrics.read().kl], &[z], 1e-5, 1e-6);
        let grads = out.loss.backward();
        let mut g = to_vec(p.grad(&grads).unwrap());
        g.extend(to_vec(r.grad(&grads).unwrap()));
        let x: Vec<f64> = pol.iter().chain(&rf).copied().collect();
        let fd = finite_difference(|v| host_kto(v, z, 0.5, 1.2, 1.0, &des), &x, 1e-5);
        assert_close(&g, &fd, 1e-3, 1e-6);
        for t in [kp, kr] {
            if let Some(gk) = t.grad(&grads) {
                assert!(
                    to_vec(gk).iter().all(|&v| v == 0.0),
                    "KL baseline leaked gradient"
                );
            }
        }
    }

    #[test]
    fn typed_errors() {
        let d = device();
        let a = || tensor::<TestBackend, 1>(&[-1.0, -2.0], [2], &d);
        let f = || flags::<TestBackend>(&[true, false], &d);
        let cfg = KtoConfig::new();
        let e = kto_loss(a(), tensor(&[-1.0], [1], &d), f(), None, &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "reference_logps",
                ..
            }
        ));
        let e = kto_loss(a(), a(), flags(&[true], &d), None, &cfg).unwrap_err();
        assert!(matches!(
            e,
            LossError::ShapeMismatch {
                name: "desirable",
                ..
            }
        ));
        let empty = || tensor::<TestBackend, 1>(&[], [0], &d);
        let e = kto_loss(empty(), empty(), flags(&[], &d), None, &cfg).unwrap_err();
        assert!(matches!(e, LossError::EmptyBatch { .. }));
        let e = kto_loss(a(), a(), f(), None, &KtoConfig::new().with_beta(0.0)).unwrap_err();
        assert!(matches!(
            e,
            LossError::InvalidParameter { name: "beta", .. }
        ));
        let checked = KtoConfig::new().with_check_finite(true);
        let kl = KtoKlLogps {
            policy: tensor::<TestBackend, 1>(&[f64::NAN], [1], &d),
            reference: tensor(&[0.0], [1], &d),
        };
        let e = kto_loss(a(), a(), f(), Some(kl), &checked).unwrap_err();
        assert_eq!(e, LossError::NonFinite { name: "kl.policy" });
    }
}
