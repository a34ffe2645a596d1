//! burn-train's Learner on the digits classifier (feature `learner`): single device and the
//! multi-device data-parallel strategy both train to a validation accuracy a linear model on
//! these pixels reaches (≈ 0.9), starting from chance (≈ 0.1).
#![cfg(feature = "learner")]

use burn::tensor::ElementConversion;
use preferent_models::datasets::load_digits;
use preferent_models::learner::{fit_digits_classifier, DigitsBatcher, DigitsLearnerConfig};
use preferent_models::MlpClassifier;
use preferent_testkit::{device, TestAutodiffBackend, TestBackend};

use burn::data::dataloader::batcher::Batcher;

fn valid_accuracy(model: &MlpClassifier<TestBackend>, cfg: &DigitsLearnerConfig) -> f64 {
    let digits = load_digits().unwrap();
    let idx: Vec<usize> = (0..digits.len())
        .filter(|i| i % cfg.valid_every == 0)
        .collect();
    let batch: preferent_models::learner::DigitsBatch<TestBackend> =
        DigitsBatcher.batch(digits.items(&idx), &device());
    let pred = model.forward(batch.images).argmax(1).flatten::<1>(0, 1);
    let correct = pred
        .equal(batch.targets)
        .int()
        .sum()
        .into_scalar()
        .elem::<f64>();
    correct / idx.len() as f64
}

fn run(devices: usize, name: &str) -> f64 {
    let digits = load_digits().unwrap();
    let cfg = DigitsLearnerConfig::new().with_epochs(4);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let untrained = cfg.model.init::<TestBackend>(&device()).unwrap();
    let before = valid_accuracy(&untrained, &cfg);
    let model =
        fit_digits_classifier::<TestAutodiffBackend>(&digits, &cfg, vec![device(); devices], &dir)
            .unwrap();
    let after = valid_accuracy(&model, &cfg);
    eprintln!("{name}: validation accuracy {before:.3} -> {after:.3}");
    assert!(before < 0.3, "untrained accuracy {before}");
    assert!(after > 0.85, "{name}: trained accuracy {after}");
    // burn-train logged per-epoch metrics under the run directory.
    assert!(
        dir.join("train").exists() && dir.join("valid").exists(),
        "{dir:?}"
    );
    after
}

#[test]
fn learner_single_and_multi_device_train_the_digits_classifier() {
    // One test: burn-train installs a process-wide logger on each launch.
    run(1, "learner-single");
    run(2, "learner-multi");
}

#[test]
fn bad_settings_are_typed_errors() {
    let digits = load_digits().unwrap();
    let dir = std::env::temp_dir();
    let cfg = DigitsLearnerConfig::new();
    assert!(fit_digits_classifier::<TestAutodiffBackend>(&digits, &cfg, vec![], &dir).is_err());
    let cfg0 = DigitsLearnerConfig::new().with_epochs(0);
    assert!(
        fit_digits_classifier::<TestAutodiffBackend>(&digits, &cfg0, vec![device()], &dir).is_err()
    );
    let cfg1 = DigitsLearnerConfig::new().with_valid_every(1);
    assert!(
        fit_digits_classifier::<TestAutodiffBackend>(&digits, &cfg1, vec![device()], &dir).is_err()
    );
}
