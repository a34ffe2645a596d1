//! The preference trainer on a tiny synthetic task: it learns, resumes exactly, stops on (or
//! skips) a NaN step with a typed error naming the step, and rejects bad configs at init.

use preferent_data::{
    ByteTokenizer, ChatMlTemplate, CollatorConfig, EncodedPair, Encoder, JsonlReader,
    JsonlReaderConfig, PairCollator, PairRecord, Tokenizer, TruncationConfig,
};
use preferent_losses::pairwise::DpoConfig;
use preferent_losses::simpo::SimpoConfig;
use preferent_losses::LossError;
use preferent_models::train::{
    adamw, batch_indices, frozen_reference, reference_cache, FitOptions, NonFinitePolicy,
    PreferenceLossConfig, PreferenceTrainer, PreferenceTrainerConfig, Reference,
};
use preferent_models::{pair_logprobs, ByteLm, ByteLmConfig, Error, LogProbPath};
use preferent_testkit::{device, to_vec, TestAutodiffBackend as AB, TestBackend as IB};

type Collator = PairCollator<ByteTokenizer, ChatMlTemplate>;

fn collator() -> Collator {
    PairCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new().with_truncation(TruncationConfig::new().with_max_length(Some(16))),
    )
}

/// `n` pairs: prompt = two letters, chosen = the first letter doubled, rejected = "zz".
fn pairs(c: &Collator, n: usize, offset: usize) -> Vec<EncodedPair> {
    let letters = b"abcdefgh";
    let mut jsonl = String::new();
    for i in offset..offset + n {
        let (a, b) = (letters[i % 8] as char, letters[(i / 8) % 8] as char);
        jsonl.push_str(&format!(
            "{{\"prompt\": \"{a}{b}:\", \"chosen\": \"{a}{a}\", \"rejected\": \"zz\"}}\n"
        ));
    }
    let (records, _) =
        JsonlReader::<_, PairRecord>::new(jsonl.as_bytes(), "synthetic", JsonlReaderConfig::new())
            .read_all()
            .unwrap();
    records.iter().map(|r| c.encoder.pair(r).unwrap()).collect()
}

fn model(c: &Collator) -> ByteLm<AB> {
    ByteLmConfig::for_vocab(c.encoder.tokenizer.vocab_size())
        .with_d_model(16)
        .with_n_heads(2)
        .with_n_layers(1)
        .with_d_ff(32)
        .with_max_seq_len(16)
        .init::<AB>(&device())
        .unwrap()
}

fn dpo(max_steps: usize) -> PreferenceTrainerConfig {
    PreferenceTrainerConfig::new(
        PreferenceLossConfig::Dpo(DpoConfig::new().with_beta(0.5)),
        max_steps,
    )
    .with_learning_rate(1e-2)
    .with_min_lr_ratio(0.1)
    .with_per_device_train_batch_size(8)
    .with_per_device_eval_batch_size(16)
}

fn params(m: &ByteLm<AB>) -> Vec<f64> {
    let mut v = to_vec(m.tok_emb.weight.val());
    v.extend(to_vec(m.head.weight.val()));
    v.extend(to_vec(m.norm.gamma.val()));
    v
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("preferent-pref-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn dpo_loss_decreases_and_eval_accuracy_rises() {
    let c = collator();
    let (train, eval) = (pairs(&c, 32, 0), pairs(&c, 16, 32));
    let policy = model(&c);
    let reference = Reference::frozen(&policy);
    let cfg = dpo(24).with_logging_steps(4).with_eval_steps(Some(12));
    let mut tr = cfg.init(policy, reference, &device()).unwrap();
    let before = tr.evaluate(&c, &eval).unwrap();
    // Policy = reference: every margin is 0, DPO's loss ln 2, strict accuracy 0.
    assert!(
        (before.loss - std::f64::consts::LN_2).abs() < 1e-4,
        "{before:?}"
    );
    assert_eq!(before.rewards_accuracies, 0.0);
    assert_eq!(before.count, 16);

    let dir = temp_dir("learn");
    let opts = FitOptions {
        metrics_csv: Some(dir.join("metrics.csv")),
        eval_csv: Some(dir.join("eval.csv")),
        ..FitOptions::default()
    };
    let s = tr.fit(&c, &train, &eval, &opts).unwrap();
    assert_eq!(s.steps, 24);
    assert_eq!(s.train.len(), 6, "one row per logging window");
    assert_eq!(s.eval.len(), 2, "steps 12 and 24");
    let (first, last) = (s.train[0], *s.train.last().unwrap());
    assert!(
        last.loss < first.loss,
        "loss did not decrease: {first:?} → {last:?}"
    );
    let after = *s.eval.last().unwrap();
    assert!(
        after.rewards_accuracies >= 0.9 && after.rewards_margins > 0.0,
        "eval accuracy did not rise: {before:?} → {after:?}"
    );
    assert!(after.loss < before.loss);
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "header + 6 rows:\n{csv}");
    assert!(csv.starts_with("step,lr,count,loss,rewards/chosen"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn simpo_trains_without_a_reference() {
    let c = collator();
    let train = pairs(&c, 16, 0);
    let cfg = PreferenceTrainerConfig::new(PreferenceLossConfig::Simpo(SimpoConfig::new()), 6)
        .with_learning_rate(1e-2)
        .with_logging_steps(3);
    let mut tr = cfg.init(model(&c), Reference::None, &device()).unwrap();
    let s = tr.fit(&c, &train, &[], &FitOptions::default()).unwrap();
    assert_eq!(s.train.len(), 2);
    assert!(s.train.iter().all(|r| r.loss.is_finite()), "{:?}", s.train);
}

#[test]
fn resume_from_a_checkpoint_reproduces_the_uninterrupted_run() {
    let c = collator();
    let (train, eval) = (pairs(&c, 20, 0), pairs(&c, 8, 40));
    let d = device();
    let cfg = dpo(6)
        .with_logging_steps(1)
        .with_eval_steps(Some(3))
        .with_save_steps(Some(3))
        .with_warmup_steps(2);
    let dir = temp_dir("resume");
    let opts = FitOptions {
        checkpoint_dir: Some(dir.clone()),
        ..FitOptions::default()
    };
    let policy = model(&c);
    let reference = Reference::frozen(&policy);
    let mut full = cfg.init(policy, reference, &d).unwrap();
    let s_full = full.fit(&c, &train, &eval, &opts).unwrap();
    assert_eq!(s_full.checkpoints.len(), 2);

    // Fresh, differently initialised policy and reference: everything comes from the checkpoint.
    let fresh = model(&c);
    let mut resumed =
        PreferenceTrainer::load(&dir.join("checkpoint-3"), &cfg, fresh, fresh_ref(&c), &d).unwrap();
    assert_eq!(resumed.trainer.step, 3);
    let s_res = resumed
        .fit(&c, &train, &eval, &FitOptions::default())
        .unwrap();
    assert_eq!(params(&resumed.trainer.model), params(&full.trainer.model));
    assert_eq!(
        s_res.train,
        s_full.train[3..].to_vec(),
        "metrics after the resume differ"
    );
    // (Debug strings: evaluation rows carry lr = NaN, which `==` never matches.)
    assert_eq!(
        format!("{:?}", s_res.eval.last()),
        format!("{:?}", s_full.eval.last())
    );

    // Control: the same checkpoint with a fresh optimiser state does not reproduce the run, so
    // the comparison above can fail.
    let mut naive = PreferenceTrainer::load(
        &dir.join("checkpoint-3"),
        &cfg,
        model(&c),
        fresh_ref(&c),
        &d,
    )
    .unwrap();
    naive.trainer.optim = adamw(0.0, Some(1.0)).with_epsilon(1e-8).init();
    naive.fit(&c, &train, &[], &FitOptions::default()).unwrap();
    assert_ne!(params(&naive.trainer.model), params(&full.trainer.model));
    let _ = std::fs::remove_dir_all(&dir);
}

fn fresh_ref(c: &Collator) -> Reference<IB> {
    Reference::frozen(&model(c))
}

/// Steps 0..4 on one batch with caller-supplied reference log-probs, NaN at step 2; each
/// step's result and the parameters after it.
fn run_with_nan_at_2(
    tr: &mut PreferenceTrainer<AB>,
    c: &Collator,
) -> Vec<(Result<(), Error>, Vec<f64>)> {
    let d = device();
    let train = pairs(c, 8, 0);
    let host = c.collate_encoded(&train).unwrap();
    let batch = host.to_device::<AB>(&d);
    let reference = frozen_reference(&tr.trainer.model);
    let ref_lp = pair_logprobs(&reference, &host.to_device::<IB>(&d), LogProbPath::Direct).unwrap();
    (0..4)
        .map(|s| {
            let mut r = ref_lp.clone();
            if s == 2 {
                r.chosen = r.chosen.add_scalar(f64::NAN);
            }
            let res = tr.step_with_reference(&batch, r).map(|_| ());
            (res, params(&tr.trainer.model))
        })
        .collect()
}

#[test]
fn a_nan_step_stops_with_a_typed_error_naming_the_step() {
    let c = collator();
    let cfg = dpo(10).with_nonfinite_check_steps(Some(2));
    let mut tr = cfg.init(model(&c), fresh_ref(&c), &device()).unwrap();
    let results = run_with_nan_at_2(&mut tr, &c);
    assert!(results[..3].iter().all(|r| r.0.is_ok()), "{results:?}");
    match &results[3].0 {
        Err(Error::NonFiniteLoss {
            step,
            restored_step,
            ..
        }) => assert_eq!((*step, *restored_step), (2, 2)),
        other => panic!("expected NonFiniteLoss at step 2, got {other:?}"),
    }
    assert_eq!(tr.trainer.step, 2, "restored to the last good check");
    assert!(params(&tr.trainer.model).iter().all(|v| v.is_finite()));
}

#[test]
fn a_nan_step_is_skipped_by_flag() {
    let c = collator();
    let cfg = dpo(10).with_on_non_finite(NonFinitePolicy::Skip);
    let mut tr = cfg.init(model(&c), fresh_ref(&c), &device()).unwrap();
    let results = run_with_nan_at_2(&mut tr, &c);
    assert!(results.iter().all(|r| r.0.is_ok()), "{results:?}");
    assert_eq!(tr.skipped_steps(), &[2]);
    assert_eq!(
        results[1].1, results[2].1,
        "the skipped step changed the weights"
    );
    assert_ne!(
        results[2].1, results[3].1,
        "training went on after the skip"
    );
    assert_eq!(tr.trainer.step, 4);
    assert!(params(&tr.trainer.model).iter().all(|v| v.is_finite()));
}

#[test]
fn invalid_configs_are_typed_errors_at_init() {
    let c = collator();
    let d = device();
    let field = |cfg: PreferenceTrainerConfig, reference: Reference<IB>| match cfg
        .init(model(&c), reference, &d)
        .map(|_| ())
    {
        Err(Error::InvalidConfig { field, .. }) => field.to_string(),
        Err(Error::Loss(LossError::InvalidParameter { name, .. })) => format!("loss.{name}"),
        other => panic!("expected a typed config error, got {other:?}"),
    };
    let r = || fresh_ref(&c);
    assert_eq!(field(dpo(0), r()), "max_steps");
    assert_eq!(field(dpo(5).with_learning_rate(0.0), r()), "learning_rate");
    assert_eq!(field(dpo(5).with_warmup_steps(6), r()), "warmup_steps");
    assert_eq!(field(dpo(5).with_logging_steps(0), r()), "logging_steps");
    assert_eq!(
        field(dpo(5).with_max_grad_norm(Some(-1.0)), r()),
        "max_grad_norm"
    );
    assert_eq!(
        field(dpo(5).with_per_device_train_batch_size(0), r()),
        "per_device_train_batch_size"
    );
    assert_eq!(field(dpo(5), Reference::None), "reference");
    let bad_beta = PreferenceTrainerConfig::new(
        PreferenceLossConfig::Dpo(DpoConfig::new().with_beta(-1.0)),
        5,
    );
    assert_eq!(field(bad_beta, r()), "loss.beta");
    assert!(matches!(
        PreferenceLossConfig::from_trl("nonsense"),
        Err(Error::Loss(LossError::UnknownVariant { .. }))
    ));
    // Reference-free losses need no reference.
    let free = PreferenceTrainerConfig::new(
        PreferenceLossConfig::Dpo(DpoConfig::new().with_reference_free(true)),
        5,
    );
    assert!(free.init(model(&c), Reference::None, &d).is_ok());
}

#[test]
fn batches_cover_each_epoch_once_and_depend_only_on_the_step() {
    for epoch in 0..3 {
        let mut seen: Vec<usize> = (0..4)
            .flat_map(|p| batch_indices(10, 3, 7, epoch * 4 + p))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }
    assert_eq!(batch_indices(10, 3, 7, 5), batch_indices(10, 3, 7, 5));
    assert_ne!(batch_indices(10, 3, 7, 0), batch_indices(10, 3, 7, 4));
    assert_eq!(
        batch_indices(10, 3, 7, 3).len(),
        1,
        "last partial batch kept"
    );
}

#[test]
fn a_precomputed_reference_cache_trains_like_the_frozen_model() {
    let c = collator();
    let (train, eval) = (pairs(&c, 16, 0), pairs(&c, 8, 40));
    let d = device();
    let cfg = dpo(4).with_logging_steps(2);
    let policy = model(&c);
    let frozen = frozen_reference(&policy);
    let cache = |ps: &[EncodedPair]| reference_cache(&frozen, &c, ps, 5, 7, &d).unwrap();
    let cached = Reference::Cache {
        train: cache(&train),
        eval: Some(cache(&eval)),
    };
    let mut a = cfg.init(policy.clone(), cached, &d).unwrap();
    let mut b = cfg
        .init(policy, Reference::Model(Box::new(frozen.clone())), &d)
        .unwrap();
    let (sa, sb) = (
        a.fit(&c, &train, &eval, &FitOptions::default()).unwrap(),
        b.fit(&c, &train, &eval, &FitOptions::default()).unwrap(),
    );
    for (x, y) in sa
        .train
        .iter()
        .zip(&sb.train)
        .chain(sa.eval.iter().zip(&sb.eval))
    {
        assert!((x.loss - y.loss).abs() < 1e-4, "{x:?} vs {y:?}");
        assert!((x.rewards_margins - y.rewards_margins).abs() < 1e-4);
    }
    // Evaluation with a cache but no eval cache is a typed error, not a silent skip.
    let no_eval = Reference::Cache {
        train: cache(&train),
        eval: None,
    };
    let t = cfg.init(model(&c), no_eval, &d).unwrap();
    assert!(matches!(
        t.evaluate(&c, &eval),
        Err(Error::InvalidConfig {
            field: "reference",
            ..
        })
    ));
}
