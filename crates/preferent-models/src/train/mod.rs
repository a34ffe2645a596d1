//! Training utilities on burn's own building blocks: burn optimisers (AdamW with gradient
//! clipping from its config), burn LR schedulers (linear warmup × cosine decay), frozen reference
//! models, safetensors checkpoints through burn-store with exact resume, CSV metrics, and a
//! dependency-free [`Progress`] bar for long loops; [`PreferenceTrainer`] runs DPO / SimPO / ORPO
//! on the byte LM over them (TRL's `DPOTrainer`).

mod checkpoint;
mod materialize;
mod metrics;
mod preference;
mod progress;
mod reference;
mod schedule;
mod trainer;

pub use checkpoint::{CheckpointMeta, CHECKPOINT_META, CHECKPOINT_MODEL, CHECKPOINT_OPTIM};
pub use materialize::materialize;
pub use metrics::CsvLogger;
pub use preference::{
    batch_indices, reference_cache, steps_for_epochs, FitOptions, FitSummary, MetricsRow,
    NonFinitePolicy, PolicyTrainer, PreferenceLossConfig, PreferenceTrainer,
    PreferenceTrainerConfig, Reference, StepOutcome, CHECKPOINT_PREFERENCE_STATE,
    CHECKPOINT_REFERENCE, METRIC_COLUMNS,
};
pub use progress::{render_line, Progress};
pub use reference::frozen_reference;
pub use schedule::WarmupCosineConfig;
pub use trainer::{adamw, Trainer};
