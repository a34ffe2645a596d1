//! An in-memory record dataset implementing burn's `Dataset`.

use std::path::Path;

use burn::data::dataset::Dataset;

use crate::error::DataError;
use crate::fingerprint::dataset_fingerprint;
use crate::jsonl::{read_jsonl, JsonlReaderConfig, ReadReport};
use crate::records::Record;

/// Records held in memory, served to burn's data loaders by index.
#[derive(Debug, Clone, PartialEq)]
pub struct PreferenceDataset<T> {
    records: Vec<T>,
}

impl<T: Record> PreferenceDataset<T> {
    /// Wraps records.
    pub fn new(records: Vec<T>) -> Self {
        Self { records }
    }

    /// Reads a JSONL file; the report says what was read and skipped.
    pub fn from_jsonl(
        path: impl AsRef<Path>,
        config: JsonlReaderConfig,
    ) -> Result<(Self, ReadReport), DataError> {
        let (records, report) = read_jsonl(path, config)?;
        Ok((Self::new(records), report))
    }

    /// The records.
    pub fn records(&self) -> &[T] {
        &self.records
    }

    /// Unwraps the records.
    pub fn into_records(self) -> Vec<T> {
        self.records
    }

    /// Content fingerprint (see [`dataset_fingerprint`]).
    pub fn fingerprint(&self) -> u64 {
        dataset_fingerprint(&self.records)
    }
}

impl<T: Record> Dataset<T> for PreferenceDataset<T> {
    fn get(&self, index: usize) -> Option<T> {
        self.records.get(index).cloned()
    }

    fn len(&self) -> usize {
        self.records.len()
    }
}
