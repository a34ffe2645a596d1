//! burn-train's `Learner` driving preferent's networks (feature `learner`).
//!
//! [`MlpClassifier`] implements burn-train's `TrainStep` / `InferenceStep` on [`DigitsBatch`]es,
//! so the whole of burn's supervised training machinery applies to it unchanged: epochs,
//! metrics (loss, accuracy) logged per split under the run directory, burn's CLI progress
//! renderer, checkpoints, early stopping, and — the reason this module exists — **multi-device
//! data-parallel training** (`ExecutionStrategy::MultiDevice`: one model fork per device, the
//! batches spread across them, gradients gathered on the main device) without any home-made
//! loop. [`fit_digits_classifier`] wires it up for the vendored digits set.
//!
//! burn-train is built with its default features off (no terminal UI, no system metrics, no RL):
//! it adds `async-channel` and the `tracing` crates to the build.
//!
//! # References
//! burn-train 0.21 `SupervisedTraining`, `Learner`, `ExecutionStrategy`.

use std::path::Path;

use burn::backend::Flex;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::AdamWConfig;
use burn::prelude::*;
use burn::tensor::backend::AutodiffBackend;
use burn_train::metric::{AccuracyMetric, LossMetric, MetricDefinition, MetricId};
use burn_train::renderer::{
    EvaluationName, EvaluationProgress, MetricState, MetricsRenderer, MetricsRendererEvaluation,
    MetricsRendererTraining, ProgressType, TrainingProgress,
};
use burn_train::{
    ClassificationOutput, ExecutionStrategy, InferenceStep, Learner, LearnerSummary,
    MultiDeviceOptim, SupervisedTraining, TrainOutput, TrainStep, TrainingStrategy,
};

use crate::datasets::{Digits, DIGITS_PIXELS};
use crate::error::invalid;
use crate::train::Progress;
use crate::{MlpClassifier, MlpClassifierConfig};

/// One digit image (pixels scaled to `[−1, 1]`) and its label.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DigitItem {
    /// 64 pixels, `x / 8 − 1`.
    pub pixels: Vec<f32>,
    /// Class `0..=9`.
    pub label: u8,
}

/// A batch of digits.
///
/// # Shapes
/// `images: [batch, 64]`, `targets: [batch]`.
#[derive(Clone, Debug)]
pub struct DigitsBatch<B: Backend> {
    /// Scaled pixels.
    pub images: Tensor<B, 2>,
    /// Class indices.
    pub targets: Tensor<B, 1, Int>,
}

/// Collates [`DigitItem`]s into a [`DigitsBatch`] (burn `Batcher`).
#[derive(Clone, Debug, Default)]
pub struct DigitsBatcher;

impl<B: Backend> Batcher<B, DigitItem, DigitsBatch<B>> for DigitsBatcher {
    fn batch(&self, items: Vec<DigitItem>, device: &B::Device) -> DigitsBatch<B> {
        let n = items.len();
        let mut px = Vec::with_capacity(n * DIGITS_PIXELS);
        let mut y = Vec::with_capacity(n);
        for it in &items {
            px.extend_from_slice(&it.pixels);
            y.push(i64::from(it.label));
        }
        DigitsBatch {
            images: Tensor::from_data(TensorData::new(px, [n, DIGITS_PIXELS]), device),
            targets: Tensor::from_data(TensorData::new(y, [n]), device),
        }
    }
}

impl Digits {
    /// The images `indices` as [`DigitItem`]s (scaled pixels), e.g. for an `InMemDataset`.
    pub fn items(&self, indices: &[usize]) -> Vec<DigitItem> {
        indices
            .iter()
            .map(|&i| DigitItem {
                pixels: self.image_scaled(i).collect(),
                label: self.labels[i],
            })
            .collect()
    }
}

impl<B: Backend> MlpClassifier<B> {
    /// Logits, mean cross-entropy and targets of a batch, as burn-train's output type.
    pub fn classification(&self, batch: DigitsBatch<B>) -> ClassificationOutput<B> {
        let logits = self.forward(batch.images);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl<B: AutodiffBackend> TrainStep for MlpClassifier<B> {
    type Input = DigitsBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: DigitsBatch<B>) -> TrainOutput<ClassificationOutput<B>> {
        let out = self.classification(batch);
        TrainOutput::new(self, out.loss.backward(), out)
    }
}

impl<B: Backend> InferenceStep for MlpClassifier<B> {
    type Input = DigitsBatch<B>;
    type Output = ClassificationOutput<B>;

    fn step(&self, batch: DigitsBatch<B>) -> ClassificationOutput<B> {
        self.classification(batch)
    }
}

/// Settings of [`fit_digits_classifier`].
#[derive(Config, Debug)]
pub struct DigitsLearnerConfig {
    /// Classifier architecture. Default: 64 → 128 → 64 → 10.
    #[config(default = "MlpClassifierConfig::new(64)")]
    pub model: MlpClassifierConfig,
    /// Epochs. Default: 5.
    #[config(default = 5)]
    pub epochs: usize,
    /// Batch size per device. Default: 64.
    #[config(default = 64)]
    pub batch_size: usize,
    /// AdamW learning rate (constant). Default: 1e-3.
    #[config(default = 1e-3)]
    pub lr: f64,
    /// Every `valid_every`-th image (by index) goes to the validation split. Default: 5 (20 %).
    #[config(default = 5)]
    pub valid_every: usize,
    /// Seed for initialisation and shuffling. Default: 0.
    #[config(default = 0)]
    pub seed: u64,
}

/// Trains an [`MlpClassifier`] on the vendored digits with burn-train's `SupervisedTraining`.
///
/// One device trains with `ExecutionStrategy::SingleDevice`; several train data-parallel with
/// `ExecutionStrategy::MultiDevice(devices, MultiDeviceOptim::OptimMainDevice)` (the first
/// device holds the optimiser state). Logs, metrics and checkpoints go under `dir`. Returns the
/// trained model (inference backend).
///
/// # Errors
/// [`crate::Error::InvalidConfig`] for no devices, zero epochs / batch size, `valid_every < 2`.
pub fn fit_digits_classifier<B: AutodiffBackend>(
    digits: &Digits,
    config: &DigitsLearnerConfig,
    devices: Vec<B::Device>,
    dir: &Path,
) -> crate::Result<MlpClassifier<B::InnerBackend>> {
    if devices.is_empty() {
        return Err(invalid("devices", 0, "need at least one device"));
    }
    if config.epochs == 0 || config.batch_size == 0 {
        return Err(invalid(
            "epochs/batch_size",
            format!("{}/{}", config.epochs, config.batch_size),
            "must be positive",
        ));
    }
    if config.valid_every < 2 {
        return Err(invalid("valid_every", config.valid_every, "must be >= 2"));
    }
    let main = devices[0].clone();
    B::seed(&main, config.seed);
    let (valid_idx, train_idx): (Vec<usize>, Vec<usize>) =
        (0..digits.len()).partition(|i| i % config.valid_every == 0);
    let train = DataLoaderBuilder::<B, _, _>::new(DigitsBatcher)
        .batch_size(config.batch_size)
        .shuffle(config.seed)
        .build(InMemDataset::new(digits.items(&train_idx)));
    let valid = DataLoaderBuilder::<B::InnerBackend, _, _>::new(DigitsBatcher)
        .batch_size(config.batch_size)
        .build(InMemDataset::new(digits.items(&valid_idx)));
    let model = config.model.init::<B>(&main)?;
    let optim = AdamWConfig::new().init();
    let strategy = if devices.len() == 1 {
        ExecutionStrategy::SingleDevice(main)
    } else {
        ExecutionStrategy::MultiDevice(devices, MultiDeviceOptim::OptimMainDevice)
    };
    let result = SupervisedTraining::new(dir, train, valid)
        .renderer(ProgressRenderer::new())
        .metrics((AccuracyMetric::<Flex>::new(), LossMetric::<Flex>::new()))
        .with_training_strategy(TrainingStrategy::Default(strategy))
        .num_epochs(config.epochs)
        .launch(Learner::new(model, optim, config.lr));
    Ok(result.model)
}

/// A burn-train renderer that draws a [`Progress`] bar per epoch and split, with the latest
/// metric values (burn-train's own non-terminal renderer prints one debug line per iteration).
#[derive(Debug, Default)]
pub struct ProgressRenderer {
    names: Vec<(MetricId, String)>,
    latest: Vec<(String, String)>,
    bar: Option<(String, Progress)>,
}

impl ProgressRenderer {
    /// A renderer drawing to stderr.
    pub fn new() -> Self {
        Self::default()
    }

    fn update(&mut self, state: MetricState) {
        let entry = match state {
            MetricState::Generic(e) | MetricState::Numeric(e, _) => e,
        };
        let name = self
            .names
            .iter()
            .find(|(id, _)| *id == entry.metric_id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default();
        let value = format!("{name} {}", entry.serialized_entry.formatted);
        match self.latest.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.latest.push((name, value)),
        }
    }

    /// The latest metric values, for the bar's trailing message.
    fn message(&self) -> String {
        self.latest
            .iter()
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("  ")
    }

    fn draw(&mut self, key: String, done: usize, total: usize) {
        if self.bar.as_ref().is_none_or(|(k, _)| *k != key) {
            self.finish();
            self.latest.clear();
            self.bar = Some((key.clone(), Progress::new(key, total as u64)));
        }
        let message = self.message();
        if let Some((_, bar)) = self.bar.as_mut() {
            bar.set(done as u64, message);
        }
    }

    fn draw_training(&mut self, split: &str, item: &TrainingProgress) {
        if let Some(p) = &item.progress {
            let key = format!(
                "epoch {}/{} {split}",
                item.global_progress.items_processed, item.global_progress.items_total
            );
            self.draw(key, p.items_processed, p.items_total);
        }
    }

    fn finish(&mut self) {
        let message = self.message();
        if let Some((_, mut bar)) = self.bar.take() {
            bar.finish(message);
        }
    }
}

impl MetricsRendererTraining for ProgressRenderer {
    fn update_train(&mut self, state: MetricState) {
        self.update(state);
    }

    fn update_valid(&mut self, state: MetricState) {
        self.update(state);
    }

    fn render_train(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.draw_training("train", &item);
    }

    fn render_valid(&mut self, item: TrainingProgress, _indicators: Vec<ProgressType>) {
        self.draw_training("valid", &item);
    }

    fn on_train_end(
        &mut self,
        summary: Option<LearnerSummary>,
    ) -> Result<(), Box<dyn core::error::Error>> {
        self.finish();
        if let Some(s) = summary {
            eprintln!("{s}");
        }
        Ok(())
    }
}

impl MetricsRendererEvaluation for ProgressRenderer {
    fn update_test(&mut self, _name: EvaluationName, state: MetricState) {
        self.update(state);
    }

    fn render_test(&mut self, item: EvaluationProgress, _indicators: Vec<ProgressType>) {
        self.draw(
            "test".into(),
            item.progress.items_processed,
            item.progress.items_total,
        );
    }
}

impl MetricsRenderer for ProgressRenderer {
    fn manual_close(&mut self) {
        self.finish();
    }

    fn register_metric(&mut self, definition: MetricDefinition) {
        self.names.push((definition.metric_id, definition.name));
    }
}
