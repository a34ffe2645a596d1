//! Batching for preferent-losses: tokenising, truncating, padding, burn `Dataset` / `Batcher`.

mod dataset;
mod encode;
mod image_pair;
mod pair;
mod ranked;
mod sequences;
mod truncation;
mod unpaired;

pub use dataset::PreferenceDataset;
pub use encode::{EncodedPair, EncodedRanked, EncodedUnpaired, Encoder};
pub use image_pair::{
    collate_image_pairs, HostImagePairBatch, ImagePairBatch, ImagePairCollator, TiePolicy,
};
pub use pair::{collate_pairs, CollatorConfig, HostPairBatch, PairBatch, PairCollator};
pub use ranked::{collate_ranked, HostRankedBatch, RankedBatch, RankedCollator};
pub use sequences::HostSequences;
pub use truncation::{truncate, Kept, TruncationConfig, TruncationMode, TruncationStats};
pub use unpaired::{collate_unpaired, HostUnpairedBatch, KlRows, UnpairedBatch, UnpairedCollator};
