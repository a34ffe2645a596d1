//! Exact content deduplication.

use std::collections::HashMap;

use crate::fingerprint::fnv1a64;
use crate::records::Record;

/// What [`dedup`] removed; `input = kept + removed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DedupReport {
    /// Records in.
    pub input: usize,
    /// Records kept (first occurrences).
    pub kept: usize,
    /// Duplicates removed.
    pub removed: usize,
    /// Input indices of the removed duplicates.
    pub removed_indices: Vec<usize>,
}

/// Keeps the first record of each distinct content ([`Record::write_content`]: texts, labels,
/// scores; id, tags and metadata are ignored), in input order.
///
/// Equality is exact: records are bucketed by FNV-1a of their content bytes and compared
/// byte for byte within a bucket.
pub fn dedup<T: Record>(records: Vec<T>) -> (Vec<T>, DedupReport) {
    let mut buckets: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
    let mut report = DedupReport {
        input: records.len(),
        ..Default::default()
    };
    let mut kept = Vec::with_capacity(records.len());
    for (i, r) in records.into_iter().enumerate() {
        let mut bytes = Vec::new();
        r.write_content(&mut bytes);
        let bucket = buckets.entry(fnv1a64(&bytes)).or_default();
        if bucket.contains(&bytes) {
            report.removed_indices.push(i);
        } else {
            bucket.push(bytes);
            kept.push(r);
        }
    }
    report.kept = kept.len();
    report.removed = report.removed_indices.len();
    (kept, report)
}
