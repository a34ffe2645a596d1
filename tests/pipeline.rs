//! One path from a JSONL file to an aligned model, through the facade: JSONL → tokenizer →
//! collated pair batch → byte LM → concatenated log-probs → every preference loss → backward →
//! optimiser step. Runs on both backend lanes.

use burn::data::dataloader::batcher::Batcher;
use burn::optim::{AdamWConfig, GradientsParams, Optimizer};
use preferent::data::{
    read_jsonl, ByteTokenizer, ChatMlTemplate, CollatorConfig, Encoder, JsonlReaderConfig,
    PairBatch, PairCollator, PairRecord, Tokenizer,
};
use preferent::losses::base::PreferenceLoss;
use preferent::losses::orpo::OrpoConfig;
use preferent::losses::pairwise::{DpoConfig, DpoLossType};
use preferent::losses::simpo::SimpoConfig;
use preferent::models::{pair_logprobs, ByteLm, ByteLmConfig, LogProbPath, PairLogProbs};
use preferent_testkit::{device, TestAutodiffBackend};

type AD = TestAutodiffBackend;

const FIXTURE: &str = "crates/preferent-data/tests/fixtures/pairs_standard.jsonl";

fn setup() -> (ByteLm<AD>, PairBatch<AD>) {
    let d = device();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let (records, report) =
        read_jsonl::<PairRecord>(path, JsonlReaderConfig::new()).expect("fixture reads");
    assert!(records.len() >= 2, "{report:?}");
    let collator = PairCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new(),
    );
    let vocab = collator.encoder.tokenizer.vocab_size();
    let batch: PairBatch<AD> =
        Batcher::<AD, PairRecord, _>::batch(&collator, records, &d).expect("collates");
    // The model takes the tokenizer's vocabulary (BOS/EOS/PAD beyond the 256 bytes).
    let cfg = ByteLmConfig::for_vocab(vocab)
        .with_d_model(32)
        .with_n_layers(1)
        .with_n_heads(2)
        .with_d_ff(64);
    (cfg.init::<AD>(&d).expect("valid config"), batch)
}

/// Policy log-probs with gradients (direct path) and the reference's, detached (chunked path:
/// the same numbers, bounded temporaries).
fn logprobs(lm: &ByteLm<AD>, batch: &PairBatch<AD>) -> (PairLogProbs<AD>, PairLogProbs<AD>) {
    let policy = pair_logprobs(lm, batch, LogProbPath::Direct).unwrap();
    let reference = pair_logprobs(lm, batch, LogProbPath::Chunked { rows: 3 })
        .unwrap()
        .detach();
    (policy, reference)
}

#[test]
fn jsonl_to_an_optimiser_step_through_every_loss() {
    let (mut lm, batch) = setup();
    let (policy, reference) = logprobs(&lm, &batch);
    // Policy = reference at the start: every DPO-family margin is 0.
    let dpo = DpoConfig::new().init().unwrap();
    let out = dpo.forward(policy.pairwise(&reference)).unwrap();
    let m = out.metrics.read();
    assert!((m.rewards_margins).abs() < 1e-4, "{m:?}");
    assert!(
        (out.loss.clone().into_scalar() as f64 - std::f64::consts::LN_2).abs() < 1e-5,
        "DPO at policy = reference must be ln 2"
    );
    assert!(!out.is_non_finite());

    // Every DPO-family loss type, SimPO and ORPO: finite loss, gradients reach the weights.
    let mut losses = Vec::new();
    for kind in DpoLossType::ALL {
        let cfg = DpoConfig::new()
            .with_loss_types(vec![kind])
            .with_label_smoothing(if kind == DpoLossType::ExoPair {
                0.1
            } else {
                0.0
            });
        let (p, r) = logprobs(&lm, &batch);
        losses.push((
            kind.trl_name(),
            cfg.init().unwrap().forward(p.pairwise(&r)).unwrap().loss,
        ));
    }
    let (p, _) = logprobs(&lm, &batch);
    let simpo = SimpoConfig::new().init().unwrap();
    losses.push((
        "simpo",
        PreferenceLoss::forward(&simpo, p.simpo()).unwrap().loss,
    ));
    let (p, _) = logprobs(&lm, &batch);
    let orpo = OrpoConfig::new().init().unwrap();
    losses.push((
        "orpo",
        PreferenceLoss::forward(&orpo, p.orpo()).unwrap().loss,
    ));
    for (name, loss) in losses {
        let v = loss.clone().into_scalar() as f64;
        assert!(v.is_finite(), "{name}: loss {v}");
        let grads = GradientsParams::from_grads(loss.backward(), &lm);
        assert!(!grads.is_empty(), "{name}: no gradient reached the model");
    }

    // A few AdamW steps on DPO move the policy away from the reference in the preferred
    // direction: the implicit reward margin becomes positive and the loss drops below ln 2.
    let reference = pair_logprobs(&lm, &batch, LogProbPath::Direct)
        .unwrap()
        .detach();
    let mut optim = AdamWConfig::new().init();
    let mut first = None;
    let mut last = 0.0;
    for _ in 0..8 {
        let p = pair_logprobs(&lm, &batch, LogProbPath::Direct).unwrap();
        let out = dpo.forward(p.pairwise(&reference)).unwrap();
        last = out.loss.clone().into_scalar() as f64;
        first.get_or_insert(last);
        let grads = GradientsParams::from_grads(out.loss.backward(), &lm);
        lm = optim.step(5e-3, lm, grads);
    }
    let p = pair_logprobs(&lm, &batch, LogProbPath::Direct).unwrap();
    let out = dpo.forward(p.pairwise(&reference)).unwrap();
    let m = out.metrics.read();
    assert!(m.rewards_margins > 0.0, "margin did not grow: {m:?}");
    assert!(
        last < first.unwrap(),
        "DPO loss did not decrease: {first:?} → {last}"
    );
}

/// Prints the lane (and, on wgpu, the adapters): CI runs this first in the Wgpu lane, so its log
/// shows where the representative subset ran.
#[test]
fn lane_report() {
    let lines = preferent_testkit::lane_report_lines();
    assert!(lines[0].starts_with("preferent test lane: "));
    for line in lines {
        println!("{line}");
    }
}
