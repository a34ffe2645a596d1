//! Seeded, deterministic transformations that account for every record.

mod curriculum;
mod dedup;
mod label_noise;
mod ranked_to_pairs;
mod split;
mod tags;

pub use curriculum::{curriculum_order, split_iterations, Curriculum, IterationSplit};
pub use dedup::{dedup, DedupReport};
pub use label_noise::{flip_labels, LabelNoise};
pub use ranked_to_pairs::{ranked_to_pairs, PairingReport, PairingStrategy, SOURCE_INDEX_KEY};
pub use split::train_test_split;
pub use tags::{aggregate_by_tag, subsets_by_tag, TagRow, TagSubsets, TagTable};
