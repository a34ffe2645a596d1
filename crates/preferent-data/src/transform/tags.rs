//! Per-tag subsets and per-tag metric aggregation (e.g. attack-success rate per attack style).

use std::collections::BTreeMap;

use crate::error::DataError;
use crate::records::Record;

/// Records grouped by the value of one tag; every input record is in exactly one group.
#[derive(Debug, Clone, PartialEq)]
pub struct TagSubsets<T> {
    /// The tag name.
    pub key: String,
    /// Tag value → records carrying it, in input order.
    pub by_value: BTreeMap<String, Vec<T>>,
    /// Records without the tag.
    pub untagged: Vec<T>,
}

impl<T> TagSubsets<T> {
    /// Total number of records over all groups (equals the input count).
    pub fn total(&self) -> usize {
        self.by_value.values().map(Vec::len).sum::<usize>() + self.untagged.len()
    }
}

/// Groups records by the value of tag `key`.
pub fn subsets_by_tag<T: Record>(records: Vec<T>, key: &str) -> TagSubsets<T> {
    let mut out = TagSubsets {
        key: key.to_string(),
        by_value: BTreeMap::new(),
        untagged: Vec::new(),
    };
    for r in records {
        match r.meta().tags.get(key).cloned() {
            Some(v) => out.by_value.entry(v).or_default().push(r),
            None => out.untagged.push(r),
        }
    }
    out
}

/// One row of a [`TagTable`].
#[derive(Debug, Clone, PartialEq)]
pub struct TagRow {
    /// Tag value (`None` for records without the tag).
    pub value: Option<String>,
    /// Number of records.
    pub count: usize,
    /// Sum of the metric.
    pub sum: f64,
    /// Mean of the metric (`sum / count`).
    pub mean: f64,
}

/// A metric aggregated per tag value, plus the overall row.
#[derive(Debug, Clone, PartialEq)]
pub struct TagTable {
    /// The tag name.
    pub key: String,
    /// One row per tag value (sorted), then an untagged row if any record lacked the tag.
    pub rows: Vec<TagRow>,
    /// All records together.
    pub overall: TagRow,
}

impl TagTable {
    /// A Markdown table: `| key | n | mean |`.
    pub fn to_markdown(&self) -> String {
        let mut s = format!("| {} | n | mean |\n|---|---:|---:|\n", self.key);
        for r in self.rows.iter().chain(std::iter::once(&self.overall)) {
            let name = match (&r.value, std::ptr::eq(r, &self.overall)) {
                (_, true) => "(all)".to_string(),
                (Some(v), _) => v.clone(),
                (None, _) => "(untagged)".to_string(),
            };
            s.push_str(&format!("| {name} | {} | {:.4} |\n", r.count, r.mean));
        }
        s
    }
}

/// Aggregates `values[i]` (the metric of `records[i]`, e.g. 1.0 if an attack succeeded) by the
/// value of tag `key`.
///
/// ```text
/// mean_v = Σ_{i: tag_i = v} values_i / |{i: tag_i = v}|
/// ```
/// With 0/1 values this is the attack-success rate per tag value. Errors if the lengths differ
/// or a value is not finite.
pub fn aggregate_by_tag<T: Record>(
    records: &[T],
    values: &[f64],
    key: &str,
) -> Result<TagTable, DataError> {
    if records.len() != values.len() {
        return Err(DataError::Shape {
            what: "per-record metric values".into(),
            expected: records.len(),
            got: values.len(),
        });
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(DataError::InvalidConfig(format!(
            "metric value {i} is not finite"
        )));
    }
    let mut acc: BTreeMap<Option<String>, (usize, f64)> = BTreeMap::new();
    for (r, &v) in records.iter().zip(values) {
        let e = acc.entry(r.meta().tags.get(key).cloned()).or_default();
        e.0 += 1;
        e.1 += v;
    }
    let row = |value: Option<String>, (count, sum): (usize, f64)| TagRow {
        value,
        count,
        sum,
        mean: if count == 0 { 0.0 } else { sum / count as f64 },
    };
    let total = (records.len(), values.iter().sum());
    let untagged = acc.remove(&None);
    let mut rows: Vec<TagRow> = acc.into_iter().map(|(k, v)| row(k, v)).collect();
    if let Some(u) = untagged {
        rows.push(row(None, u));
    }
    Ok(TagTable {
        key: key.to_string(),
        rows,
        overall: row(None, total),
    })
}
