//! # preferent-data
//!
//! The preference data users actually bring, read faithfully, transformed the ways the seed
//! papers need, and batched exactly as preferent-losses consumes it — never dropping a record
//! without saying so.
//!
//! - [`records`]: pairs, ranked / scored responses (UltraFeedback), unpaired feedback (KTO),
//!   image pairs (Pick-a-Pic, safetensors); each with id, tags and free metadata.
//! - [`jsonl`]: TRL's standard and conversational JSONL, streamed line by line with typed
//!   per-line errors ([`DataError::Record`]: file, line, problem), fail-fast or skip-and-count,
//!   and a [`ReadReport`]; a writer for round trips; a [`ChatTemplate`] hook. Strict on what
//!   would otherwise be trained on silently: a **duplicate key** in any object rejects the line
//!   ([`RecordProblem::DuplicateKey`]; never "last value wins"), as do message roles outside
//!   [`records::KNOWN_ROLES`] and rankings of fewer than two responses; the writer refuses
//!   records the reader would reject (e.g. NaN scores).
//! - [`tokenizer`]: the [`Tokenizer`] trait, a byte-level [`ByteTokenizer`] and, with the
//!   `hf-tokenizers` feature, `HfTokenizer` for HuggingFace `tokenizer.json` files.
//! - `parquet_reader` (feature `parquet`): the same records streamed from Parquet files, as the
//!   HuggingFace hub ships datasets.
//! - [`transform`]: ranked → pairs, curriculum (Curry-DPO), label-flip noise, splits, dedup,
//!   per-tag subsets and metric tables — seeded ([`SplitMix64`]) and accounting for every record.
//! - [`batch`]: burn `Dataset` / `Batcher` implementations producing `[prompt+chosen ;
//!   prompt+rejected]` batches with completion masks, KTO batches and `[B, K, T]` ranked batches;
//!   their `Result<Batch, DataError>` outputs are `Clone`, so they plug into burn's
//!   `DataLoaderBuilder` (workers, shuffling). A model fed these batches must be built for the
//!   tokenizer's [`Tokenizer::vocab_size`] (the byte tokenizer's BOS/EOS/PAD are ids 256–258).
//! - [`ref_cache`]: reference log-probs in safetensors keyed by a dataset fingerprint; NaN and
//!   ±∞ are rejected on write and on read ([`DataError::NonFinite`]).
//!
//! # Example
//! ```
//! use preferent_data::{
//!     ByteTokenizer, ChatMlTemplate, CollatorConfig, Encoder, JsonlReader, JsonlReaderConfig,
//!     PairCollator, PairRecord,
//! };
//! let jsonl = "{\"prompt\": \"2+2=\", \"chosen\": \"4\", \"rejected\": \"5\"}\n";
//! let reader = JsonlReader::<_, PairRecord>::new(jsonl.as_bytes(), "inline", JsonlReaderConfig::new());
//! let (pairs, report) = reader.read_all().unwrap();
//! assert_eq!(report.read, 1);
//! let collator = PairCollator::new(
//!     Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
//!     CollatorConfig::new(),
//! );
//! let batch = collator.collate_records(&pairs).unwrap();
//! assert_eq!(batch.sequences.rows, 2); // chosen row, then rejected row
//! ```

pub mod batch;
pub mod error;
pub mod fingerprint;
pub mod jsonl;
#[cfg(feature = "parquet")]
pub mod parquet_reader;
pub mod records;
pub mod ref_cache;
pub mod rng;
mod st;
pub mod tokenizer;
pub mod transform;

pub use batch::{
    CollatorConfig, EncodedPair, Encoder, HostPairBatch, PairBatch, PairCollator,
    PreferenceDataset, RankedBatch, RankedCollator, TruncationConfig, TruncationMode,
    TruncationStats, UnpairedBatch, UnpairedCollator,
};
pub use error::{DataError, RecordProblem};
pub use fingerprint::dataset_fingerprint;
pub use jsonl::{
    read_jsonl, write_jsonl, ChatMlTemplate, ChatTemplate, JsonlReader, JsonlReaderConfig,
    JsonlWriter, ReadPolicy, ReadReport,
};
#[cfg(feature = "parquet")]
pub use parquet_reader::{read_parquet, ParquetReader, ParquetReaderConfig};
pub use records::{
    Condition, Convention, Image, ImagePairRecord, Message, PairLabel, PairRecord, RankedRecord,
    RankedResponse, Record, RecordMeta, Text, UnpairedRecord,
};
pub use ref_cache::RefLogpCache;
pub use rng::SplitMix64;
pub use tokenizer::{ByteTokenizer, ByteTokenizerConfig, Tokenizer};
#[cfg(feature = "hf-tokenizers")]
pub use tokenizer::{HfTokenizer, HfTokenizerConfig};
