//! Record types: pairs, ranked responses, unpaired feedback, image pairs.

mod base;
mod image;
mod implicit;
mod meta;
mod pair;
mod ranked;
mod text;
mod unpaired;

pub use base::Record;
pub use image::{
    read_image_pairs, read_image_pairs_from_bytes, write_image_pairs, write_image_pairs_to_bytes,
    Condition, Image, ImagePairRecord, PairLabel,
};
pub use implicit::extract_prompt;
pub use meta::RecordMeta;
pub use pair::{
    PairRecord, RANK_CHOSEN_KEY, RANK_REJECTED_KEY, SCORE_CHOSEN_KEY, SCORE_REJECTED_KEY,
};
pub use ranked::{RankedRecord, RankedResponse, RankingKind};
pub use text::{Convention, Message, Text, KNOWN_ROLES};
pub use unpaired::UnpairedRecord;
