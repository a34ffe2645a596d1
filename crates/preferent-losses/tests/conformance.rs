//! The loss conformance suite (`preferent_testkit::loss_conformance!`), instantiated for every
//! preference loss of this crate through the one interface (`Config::init()` →
//! `PreferenceLoss::forward`).

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Tensor, TensorData};
use preferent_losses::bradley_terry::{BradleyTerryBatch, BradleyTerryConfig};
use preferent_losses::brain::{BrainBatch, BrainConfig, BrainTarget};
use preferent_losses::kto::{KtoBatch, KtoConfig, KtoKlLogps};
use preferent_losses::orpo::{OrpoBatch, OrpoConfig};
use preferent_losses::pairwise::{DpoConfig, DpoLossType, PairwiseBatch};
use preferent_losses::plackett_luce::{PlackettLuceConfig, RankedBatch};
use preferent_losses::simpo::{SimpoBatch, SimpoConfig};
use preferent_losses::srpo::{SrpoBatch, SrpoConfig, SrpoLogps};
use preferent_testkit::loss_conformance;

fn pairwise<B: Backend>(p: Vec<Tensor<B, 1>>) -> PairwiseBatch<B> {
    let mut p = p.into_iter();
    let mut next = || p.next().unwrap();
    PairwiseBatch::new(next(), next(), next(), next())
}

/// With completion lengths `|y| = 10·|x|` (positive) for IPO / length-normalised losses.
fn pairwise_with_lengths<B: Backend>(p: Vec<Tensor<B, 1>>) -> PairwiseBatch<B> {
    let (lw, ll) = (
        p[4].clone().neg().mul_scalar(10.0),
        p[5].clone().neg().mul_scalar(10.0),
    );
    pairwise(p[..4].to_vec()).with_lengths(lw, ll)
}

fn simpo<B: Backend>(p: Vec<Tensor<B, 1>>) -> SimpoBatch<B> {
    SimpoBatch {
        chosen_avg_logps: p[0].clone(),
        rejected_avg_logps: p[1].clone(),
    }
}

fn orpo<B: Backend>(p: Vec<Tensor<B, 1>>) -> OrpoBatch<B> {
    OrpoBatch {
        chosen_avg_logps: p[0].clone(),
        rejected_avg_logps: p[1].clone(),
        nll_chosen: None,
    }
}

fn kto<B: Backend>(p: Vec<Tensor<B, 1>>) -> KtoBatch<B> {
    let rows = p[0].dims()[0];
    let flags: Vec<bool> = (0..rows).map(|i| i % 2 == 0).collect();
    let desirable = Tensor::<B, 1, Bool>::from_data(TensorData::new(flags, [rows]), &p[0].device());
    KtoBatch {
        policy_logps: p[0].clone(),
        reference_logps: p[1].clone(),
        desirable,
        kl: Some(KtoKlLogps {
            policy: p[2].clone(),
            reference: p[3].clone(),
        }),
    }
}

fn bradley_terry<B: Backend>(p: Vec<Tensor<B, 1>>) -> BradleyTerryBatch<B> {
    BradleyTerryBatch {
        rewards_chosen: p[0].clone(),
        rewards_rejected: p[1].clone(),
        margin: None,
    }
}

fn ranked<B: Backend>(p: Vec<Tensor<B, 1>>) -> RankedBatch<B> {
    let rows = p[0].dims()[0] / 3;
    RankedBatch {
        scores: p[0].clone().reshape([rows, 3]),
        mask: None,
    }
}

fn srpo<B: Backend>(p: Vec<Tensor<B, 1>>) -> SrpoBatch<B> {
    let logps = |o: usize| SrpoLogps {
        chosen: p[o].clone(),
        rejected: p[o + 1].clone(),
        chosen_given_rejected: p[o + 2].clone(),
        rejected_given_rejected: p[o + 3].clone(),
        chosen_given_chosen: p[o + 4].clone(),
        rejected_given_chosen: p[o + 5].clone(),
    };
    SrpoBatch {
        policy: logps(0),
        reference: logps(6),
    }
}

fn brain<B: Backend>(p: Vec<Tensor<B, 1>>) -> BrainBatch<B> {
    // Each part keeps its own row count, so a mismatched part reaches the loss's shape check.
    let m = |k: usize| p[k].clone().reshape([p[k].dims()[0] / 3, 3]);
    BrainBatch {
        policy_logps: m(0),
        proposal_logps: m(1),
        target: BrainTarget::Posterior {
            sft_logps: m(2),
            reward_log_likelihood: m(3),
        },
    }
}

loss_conformance!(
    dpo_sigmoid,
    DpoConfig::new(),
    invalid = [DpoConfig::new().with_beta(0.0)],
    parts = 4,
    width = 1,
    grad = [0, 1],
    mismatch = [1],
    build = pairwise
);
loss_conformance!(
    dpo_robust_and_hinge,
    DpoConfig::new()
        .with_label_smoothing(0.2)
        .with_loss_types(vec![DpoLossType::Robust, DpoLossType::Hinge]),
    invalid = [DpoConfig::new().with_label_smoothing(0.5)],
    parts = 4,
    width = 1,
    grad = [0, 1],
    mismatch = [1],
    build = pairwise
);
loss_conformance!(
    dpo_ipo_with_rpo,
    DpoConfig::new()
        .with_loss_types(vec![DpoLossType::Ipo])
        .with_rpo_alpha(Some(1.0)),
    invalid = [DpoConfig::new().with_rpo_alpha(Some(-1.0))],
    parts = 6,
    width = 1,
    grad = [0, 1],
    mismatch = [1],
    build = pairwise_with_lengths
);
loss_conformance!(
    simpo_sigmoid,
    SimpoConfig::new().with_sft_weight(0.5),
    invalid = [SimpoConfig::new().with_beta(-1.0)],
    parts = 2,
    width = 1,
    grad = [0, 1],
    mismatch = [1],
    build = simpo
);
loss_conformance!(
    orpo_odds_ratio,
    OrpoConfig::new(),
    invalid = [OrpoConfig::new().with_beta(f64::NAN)],
    parts = 2,
    width = 1,
    grad = [0, 1],
    mismatch = [1],
    build = orpo
);
loss_conformance!(
    kto_with_kl,
    KtoConfig::new(),
    invalid = [KtoConfig::new().with_desirable_weight(-1.0)],
    parts = 4,
    width = 1,
    grad = [0],
    mismatch = [1],
    build = kto
);
loss_conformance!(
    bradley_terry_centered,
    BradleyTerryConfig::new().with_center_rewards_coefficient(Some(0.01)),
    invalid = [BradleyTerryConfig::new().with_center_rewards_coefficient(Some(-1.0))],
    parts = 2,
    width = 1,
    grad = [0, 1],
    mismatch = [1],
    build = bradley_terry
);
loss_conformance!(
    srpo_self_improving,
    SrpoConfig::new(),
    invalid = [SrpoConfig::new().with_beta(0.0)],
    parts = 12,
    width = 1,
    grad = [0, 2],
    mismatch = [1],
    build = srpo
);
loss_conformance!(
    brain_posterior,
    BrainConfig::new(),
    invalid = [],
    parts = 4,
    width = 3,
    grad = [0],
    mismatch = [1],
    build = brain
);
loss_conformance!(
    plackett_luce_lists,
    PlackettLuceConfig::new().with_beta(0.5),
    invalid = [PlackettLuceConfig::new().with_beta(0.0)],
    parts = 1,
    width = 3,
    grad = [0],
    mismatch = [],
    build = ranked
);
// Hinge saturates at 0 for a +∞ margin: only the input watch (not the loss) can flag it.
loss_conformance!(
    dpo_hinge,
    DpoConfig::new().with_loss_types(vec![DpoLossType::Hinge]),
    invalid = [DpoConfig::new().with_loss_types(vec![])],
    parts = 4,
    width = 1,
    grad = [0, 1],
    mismatch = [1],
    build = pairwise
);
