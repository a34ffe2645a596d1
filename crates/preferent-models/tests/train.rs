//! Training utilities: exact resume from a checkpoint, frozen reference, CSV metrics.

use burn::module::{AutodiffModule, Module};
use burn::tensor::{Tensor, TensorData};
use preferent_models::train::{adamw, frozen_reference, CsvLogger, Trainer, WarmupCosineConfig};
use preferent_models::{MlpDenoiser, MlpDenoiserConfig};
use preferent_testkit::{device, to_vec, TestAutodiffBackend as AB};
use rand::{Rng, SeedableRng};

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("preferent-models-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config() -> MlpDenoiserConfig {
    MlpDenoiserConfig::new(3)
        .with_hidden(16)
        .with_n_blocks(2)
        .with_time_dim(8)
}

fn sched() -> burn::optim::lr_scheduler::composed::ComposedLrScheduler {
    WarmupCosineConfig::new(5e-3, 10)
        .with_warmup_steps(3)
        .init()
        .unwrap()
}

/// One step on a batch drawn from the trainer's step seed.
fn train_step<S: burn::optim::lr_scheduler::LrScheduler>(
    tr: &mut Trainer<AB, MlpDenoiser<AB>, burn::optim::AdamW, S>,
) {
    let d = device();
    let mut rng = rand::rngs::StdRng::seed_from_u64(tr.step_seed());
    let x: Vec<f32> = (0..8 * 3)
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    let t: Vec<f32> = (0..8).map(|_| rng.random_range(0.0..100.0)).collect();
    let x = Tensor::<AB, 2>::from_data(TensorData::new(x, [8, 3]), &d);
    let t = Tensor::<AB, 1>::from_data(TensorData::new(t, [8]), &d);
    let loss = (tr.model.forward(x.clone(), t) - x.flip([1]))
        .powi_scalar(2)
        .mean();
    tr.apply(loss);
}

fn params(m: &MlpDenoiser<AB>) -> Vec<f32> {
    let mut out = Vec::new();
    for rec in [
        m.input.weight.val(),
        m.output.weight.val(),
        m.blocks[1].weight.val(),
        m.time_1.weight.val(),
    ] {
        out.extend(to_vec(rec).into_iter().map(|v| v as f32));
    }
    out
}

#[test]
fn resume_from_checkpoint_is_bitwise_exact() {
    let d = device();
    let init = config().init::<AB>(&d).unwrap();
    let opt = || adamw(1e-2, Some(1.0)).init::<AB, MlpDenoiser<AB>>();

    // Uninterrupted: 8 steps.
    let mut full = Trainer::new(init.clone(), opt(), sched(), 42);
    for _ in 0..8 {
        train_step(&mut full);
    }

    // Interrupted: 3 steps, save, rebuild everything fresh, load, 5 more steps.
    let dir = temp_dir("resume");
    let mut part = Trainer::new(init.clone(), opt(), sched(), 42);
    for _ in 0..3 {
        train_step(&mut part);
    }
    part.save(&dir).unwrap();
    let fresh = config().init::<AB>(&d).unwrap();
    let mut resumed = Trainer::load(&dir, fresh, opt(), sched(), &d).unwrap();
    assert_eq!((resumed.step, resumed.seed), (3, 42));
    for _ in 0..5 {
        train_step(&mut resumed);
    }
    assert_eq!(
        params(&resumed.model),
        params(&full.model),
        "resumed run differs"
    );

    // Control: resuming without the optimiser/scheduler state does not reproduce the run, so the
    // comparison above can fail.
    let mut naive = Trainer::new(resumed_model_at(&dir, &d), opt(), sched(), 42);
    naive.step = 3;
    for _ in 0..5 {
        train_step(&mut naive);
    }
    assert_ne!(params(&naive.model), params(&full.model));
    let _ = std::fs::remove_dir_all(&dir);
}

fn resumed_model_at(dir: &std::path::Path, d: &burn::tensor::Device<AB>) -> MlpDenoiser<AB> {
    use burn_store::{ModuleSnapshot, SafetensorsStore};
    let mut m = config().init::<AB>(d).unwrap();
    m.load_from(&mut SafetensorsStore::from_file(
        dir.join(preferent_models::train::CHECKPOINT_MODEL),
    ))
    .unwrap();
    m
}

#[test]
fn loading_into_a_different_architecture_fails_with_an_error() {
    let d = device();
    let dir = temp_dir("mismatch");
    let tr = Trainer::new(
        config().init::<AB>(&d).unwrap(),
        adamw(0.0, None).init(),
        sched(),
        1,
    );
    tr.save(&dir).unwrap();
    let other = config().with_n_blocks(3).init::<AB>(&d).unwrap();
    assert!(Trainer::load(&dir, other, adamw(0.0, None).init(), sched(), &d).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn frozen_reference_does_not_follow_training() {
    let d = device();
    let mut tr = Trainer::new(
        config().init::<AB>(&d).unwrap(),
        adamw(0.0, None).init(),
        sched(),
        5,
    );
    let reference = frozen_reference(&tr.model);
    let x = Tensor::<AB, 2>::ones([2, 3], &d);
    let t = Tensor::<AB, 1>::ones([2], &d);
    let before = to_vec(reference.forward(x.clone().inner(), t.clone().inner()));
    for _ in 0..3 {
        train_step(&mut tr);
    }
    assert_eq!(
        before,
        to_vec(reference.forward(x.clone().inner(), t.clone().inner()))
    );
    assert_ne!(
        before,
        to_vec(tr.model.valid().forward(x.inner(), t.inner()))
    );
}

#[test]
fn csv_logger_writes_header_and_rows_and_rejects_ragged_rows() {
    let dir = temp_dir("csv");
    let path = dir.join("m.csv");
    let mut log = CsvLogger::create(&path, &["step", "loss"]).unwrap();
    log.log(&[1.0, 0.5]).unwrap();
    log.log(&[2.0, 0.25]).unwrap();
    assert!(log.log(&[3.0]).is_err());
    log.flush().unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "step,loss\n1,0.5\n2,0.25\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn module_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<MlpDenoiser<AB>>();
    check::<preferent_models::ByteLm<AB>>();
    check::<preferent_models::UNet<AB>>();
    let _ = MlpDenoiser::<AB>::num_params;
}

#[test]
fn loading_from_a_missing_directory_names_the_path() {
    let d = device();
    let dir = temp_dir("missing").join("no-such-checkpoint");
    let err = Trainer::load(
        &dir,
        config().init::<AB>(&d).unwrap(),
        adamw(0.0, None).init(),
        sched(),
        &d,
    )
    .err()
    .expect("a missing directory must not load");
    let msg = err.to_string();
    assert!(
        matches!(&err, preferent_models::Error::Io { path, source }
            if path == &dir.display().to_string()
                && source.kind() == std::io::ErrorKind::NotFound),
        "{msg}"
    );
    assert!(msg.contains("no-such-checkpoint"), "{msg}");

    // A directory with the weights but no optimiser state names the missing file.
    let dir = temp_dir("partial");
    Trainer::new(
        config().init::<AB>(&d).unwrap(),
        adamw(0.0, None).init(),
        sched(),
        1,
    )
    .save(&dir)
    .unwrap();
    std::fs::remove_file(dir.join(format!("{}.mpk", preferent_models::train::CHECKPOINT_OPTIM)))
        .unwrap();
    let msg = Trainer::load(
        &dir,
        config().init::<AB>(&d).unwrap(),
        adamw(0.0, None).init(),
        sched(),
        &d,
    )
    .err()
    .expect("a checkpoint without optimiser state must not load")
    .to_string();
    assert!(msg.contains("optim.mpk"), "{msg}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// One step whose loss is multiplied by `scale` (NaN / ∞ to poison it).
fn scaled_step<S: burn::optim::lr_scheduler::LrScheduler>(
    tr: &mut Trainer<AB, MlpDenoiser<AB>, burn::optim::AdamW, S>,
    scale: f32,
) -> preferent_models::Result<f64> {
    let d = device();
    let mut rng = rand::rngs::StdRng::seed_from_u64(tr.step_seed());
    let x: Vec<f32> = (0..8 * 3)
        .map(|_| rng.random::<f32>() * 2.0 - 1.0)
        .collect();
    let x = Tensor::<AB, 2>::from_data(TensorData::new(x, [8, 3]), &d);
    let t = Tensor::<AB, 1>::from_data(TensorData::new(vec![10.0f32; 8], [8]), &d);
    let loss = (tr.model.forward(x.clone(), t) - x.flip([1]))
        .powi_scalar(2)
        .mean()
        * scale;
    tr.try_apply(loss)
}

#[test]
fn a_non_finite_loss_stops_training_at_the_next_check_and_restores_the_last_good_state() {
    let d = device();
    let init = config().init::<AB>(&d).unwrap();
    let opt = || adamw(1e-2, Some(1.0)).init::<AB, MlpDenoiser<AB>>();
    assert!(Trainer::new(init.clone(), opt(), sched(), 3)
        .with_nonfinite_check(0)
        .is_err());

    // Reference: 4 clean steps.
    let mut clean = Trainer::new(init.clone(), opt(), sched(), 3);
    for _ in 0..4 {
        scaled_step(&mut clean, 1.0).unwrap();
    }

    for poison in [f32::NAN, f32::INFINITY] {
        let mut tr = Trainer::new(init.clone(), opt(), sched(), 3)
            .with_nonfinite_check(4)
            .unwrap();
        for _ in 0..4 {
            scaled_step(&mut tr, 1.0).unwrap(); // the check at step 4 passes
        }
        assert_eq!(params(&tr.model), params(&clean.model));
        scaled_step(&mut tr, 1.0).unwrap(); // step 4
        let seed_at_5 = tr.step_seed();
        scaled_step(&mut tr, poison).unwrap(); // step 5: recorded, not yet read
        scaled_step(&mut tr, 1.0).unwrap(); // step 6
        let err = scaled_step(&mut tr, 1.0).unwrap_err(); // step 7 -> check at 8
        match err {
            preferent_models::Error::NonFiniteLoss {
                step,
                batch_seed,
                restored_step,
            } => {
                assert_eq!((step, restored_step), (5, 4));
                assert_eq!(batch_seed, seed_at_5);
            }
            other => panic!("unexpected {other}"),
        }
        // Back at the last good state: step 4, the clean run's weights, finite from here on.
        assert_eq!(tr.step, 4);
        assert_eq!(params(&tr.model), params(&clean.model));
        assert!(params(&tr.model).iter().all(|v| v.is_finite()));
        scaled_step(&mut tr, 1.0).unwrap();
        tr.check_finite().unwrap();
    }
}

#[test]
fn the_non_finite_check_does_not_change_a_clean_run() {
    let d = device();
    let init = config().init::<AB>(&d).unwrap();
    let opt = || adamw(1e-2, Some(1.0)).init::<AB, MlpDenoiser<AB>>();
    let mut plain = Trainer::new(init.clone(), opt(), sched(), 9);
    let mut checked = Trainer::new(init, opt(), sched(), 9)
        .with_nonfinite_check(3)
        .unwrap();
    for _ in 0..7 {
        scaled_step(&mut plain, 1.0).unwrap();
        scaled_step(&mut checked, 1.0).unwrap();
    }
    checked.check_finite().unwrap();
    assert_eq!(params(&plain.model), params(&checked.model));
    assert_eq!(checked.step, 7);
}

#[test]
fn non_finite_weights_are_neither_saved_nor_loaded() {
    use burn_store::{ModuleSnapshot, SafetensorsStore};
    let d = device();
    let dir = temp_dir("nonfinite-weights");
    let good = config().init::<AB>(&d).unwrap();
    Trainer::new(good.clone(), adamw(0.0, None).init(), sched(), 1)
        .save(&dir)
        .unwrap();
    let before = std::fs::read(dir.join(preferent_models::train::CHECKPOINT_MODEL)).unwrap();

    let mut bad = good.clone();
    bad.output.weight = bad.output.weight.map(|w| w * f32::NAN);
    let err = Trainer::new(bad.clone(), adamw(0.0, None).init(), sched(), 1)
        .save(&dir)
        .expect_err("NaN weights must not be saved");
    assert!(
        matches!(&err, preferent_models::Error::NonFiniteParameter { shape, .. } if shape == &vec![16, 3]),
        "{err}"
    );
    let after = std::fs::read(dir.join(preferent_models::train::CHECKPOINT_MODEL)).unwrap();
    assert_eq!(before, after, "the last good checkpoint survives");

    // Weights that turn non-finite on disk are refused on load, naming the file.
    bad.save_into(
        &mut SafetensorsStore::from_file(dir.join(preferent_models::train::CHECKPOINT_MODEL))
            .overwrite(true),
    )
    .unwrap();
    let err = Trainer::load(
        &dir,
        config().init::<AB>(&d).unwrap(),
        adamw(0.0, None).init(),
        sched(),
        &d,
    )
    .err()
    .expect("NaN weights must not load");
    assert!(
        matches!(&err, preferent_models::Error::NonFiniteParameter { path, .. } if path.ends_with("model.safetensors")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
