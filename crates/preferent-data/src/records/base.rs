//! The [`Record`] trait shared by every text record type.

use serde_json::Value;

use crate::error::RecordProblem;
use crate::records::RecordMeta;

/// A preference record that reads from and writes to one JSON object (one JSONL line).
///
/// Implemented by [`crate::PairRecord`], [`crate::RankedRecord`] and [`crate::UnpairedRecord`].
pub trait Record: Sized + Clone + Send + Sync + 'static {
    /// Short name of the record kind (used in messages).
    const KIND: &'static str;

    /// Parses one JSON value.
    fn from_json(value: Value) -> Result<Self, RecordProblem>;

    /// The JSON object written for this record (unknown keys restored at top level).
    fn to_json(&self) -> Value;

    /// Checks that the record is one [`Record::from_json`] would accept back, so that what is
    /// written reads back as the same record. [`crate::jsonl::JsonlWriter`] calls it before
    /// writing.
    ///
    /// The default re-parses [`Record::to_json`]; [`crate::RankedRecord`] first rejects
    /// non-finite scores (JSON has no NaN or ∞, and serde_json would write them as `null`).
    ///
    /// # Errors
    /// The [`RecordProblem`] reading the record back would raise (e.g.
    /// [`RecordProblem::UnknownRole`], [`RecordProblem::InvalidRanking`]).
    fn validate(&self) -> Result<(), RecordProblem> {
        Self::from_json(self.to_json()).map(|_| ())
    }

    /// Id, tags and metadata.
    fn meta(&self) -> &RecordMeta;

    /// Mutable id, tags and metadata.
    fn meta_mut(&mut self) -> &mut RecordMeta;

    /// Appends canonical bytes of the record's *content* (texts, labels, scores; not id, tags
    /// or metadata) to `out`. Two records with equal content bytes are duplicates.
    fn write_content(&self, out: &mut Vec<u8>);

    /// Appends canonical bytes of the whole record (content, id, tags and metadata): the JSON
    /// form with sorted keys. Used by [`crate::fingerprint::dataset_fingerprint`].
    fn write_canonical(&self, out: &mut Vec<u8>) {
        // serde_json's Map is a BTreeMap (no `preserve_order`), so keys come out sorted.
        serde_json::to_writer(out, &self.to_json()).expect("writing JSON to a Vec cannot fail");
    }
}

/// Requires `value` to be a JSON object.
pub(crate) fn into_object(value: Value) -> Result<serde_json::Map<String, Value>, RecordProblem> {
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(RecordProblem::NotAnObject),
    }
}
