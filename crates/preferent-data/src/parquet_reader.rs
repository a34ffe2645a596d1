//! Streaming Parquet reader (feature `parquet`), for datasets as the HuggingFace hub ships them.
//!
//! Rows are decoded with the `parquet` crate's record API (no Arrow), turned into JSON objects and
//! parsed by the same [`Record::from_json`] as JSONL, so both formats accept exactly the same
//! fields (standard and conversational, tags, metadata). Parquet columns are typed and every row
//! has every column: a null field is treated as absent (as `datasets` does with `None`), so
//! optional fields work, and a required field that is null is reported as missing.
//!
//! Compression codecs built in: Snappy (pyarrow's and the hub's default), gzip, LZ4 and Zstandard.
//! A file using another codec (Brotli, LZO) gives a [`DataError::Parquet`] naming it.

use std::fs::File;
use std::marker::PhantomData;
use std::path::Path;

use ::parquet::file::reader::{FileReader, SerializedFileReader};
use ::parquet::record::reader::RowIter;

use crate::error::DataError;
use crate::jsonl::{ReadPolicy, ReadReport};
use crate::records::Record;

/// Parquet reader settings.
#[derive(burn::config::Config, Debug)]
pub struct ParquetReaderConfig {
    /// What to do with rows that are not valid records. Default: fail fast.
    #[config(default = "ReadPolicy::FailFast")]
    pub policy: ReadPolicy,
    /// How many errors the report keeps verbatim (all are counted). Default: 16.
    #[config(default = 16)]
    pub max_kept_errors: usize,
}

/// Streams records of type `T` from a Parquet file, one row at a time.
///
/// Errors and counting follow [`JsonlReader`](crate::JsonlReader): a row that is not a valid
/// record yields `Err(DataError::Record {file, line, problem})` with `line` = the 1-based **row**
/// number (then stops) under [`ReadPolicy::FailFast`], or is skipped and counted under
/// [`ReadPolicy::SkipAndCount`]; the [`ReadReport`] counts rows in `lines` (`blank` and
/// `peak_buffer_bytes` stay 0). A file that cannot be decoded ends the stream with
/// [`DataError::Parquet`].
///
/// Memory: the record API decodes one row group at a time, in batches of pages, so memory is
/// bounded by the row group's size (hub files use row groups of a few MiB), not the file's.
pub struct ParquetReader<T> {
    rows: Option<RowIter<'static>>,
    config: ParquetReaderConfig,
    report: ReadReport,
    /// Rows in the file (from its footer).
    total_rows: u64,
    _record: PhantomData<fn() -> T>,
}

impl<T: Record> ParquetReader<T> {
    /// Opens `path` and reads its footer (schema and row groups).
    ///
    /// # Errors
    /// [`DataError::Io`] if the file cannot be opened, [`DataError::Parquet`] if it is not a
    /// Parquet file.
    pub fn open(path: impl AsRef<Path>, config: ParquetReaderConfig) -> Result<Self, DataError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| DataError::io(&name, e))?;
        let reader = SerializedFileReader::new(file).map_err(|e| DataError::Parquet {
            file: name.clone(),
            problem: e.to_string(),
        })?;
        let total_rows = reader.metadata().file_metadata().num_rows().max(0) as u64;
        Ok(Self {
            rows: Some(reader.into_iter()),
            config,
            report: ReadReport {
                file: name,
                ..Default::default()
            },
            total_rows,
            _record: PhantomData,
        })
    }

    /// Number of rows the file declares.
    pub fn total_rows(&self) -> u64 {
        self.total_rows
    }

    /// The report so far.
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// Consumes the reader, returning its report.
    pub fn into_report(self) -> ReadReport {
        self.report
    }

    /// Reads every remaining record; returns them with the report (first error under fail-fast).
    ///
    /// # Errors
    /// The first error under [`ReadPolicy::FailFast`]; decoding errors under either policy.
    pub fn read_all(mut self) -> Result<(Vec<T>, ReadReport), DataError> {
        let mut out = Vec::new();
        for item in self.by_ref() {
            out.push(item?);
        }
        Ok((out, self.report))
    }
}

impl<T: Record> Iterator for ParquetReader<T> {
    type Item = Result<T, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let row = match self.rows.as_mut()?.next()? {
                Ok(row) => row,
                Err(e) => {
                    self.rows = None;
                    return Some(Err(DataError::Parquet {
                        file: self.report.file.clone(),
                        problem: format!("row {}: {e}", self.report.lines + 1),
                    }));
                }
            };
            self.report.lines += 1;
            match T::from_json(drop_nulls(row.to_json_value())) {
                Ok(record) => {
                    self.report.read += 1;
                    return Some(Ok(record));
                }
                Err(problem) => {
                    let (policy, keep) = (self.config.policy, self.config.max_kept_errors);
                    if let Some(err) = self.report.record_problem(problem, policy, keep) {
                        self.rows = None;
                        return Some(Err(err));
                    }
                }
            }
        }
    }
}

/// Removes null-valued keys from objects, recursively (a null Parquet field = an absent field).
fn drop_nulls(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(obj) => Value::Object(
            obj.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

/// Reads a whole Parquet file into memory (see [`ParquetReader`]).
///
/// # Errors
/// As [`ParquetReader::open`] and [`ParquetReader::read_all`].
pub fn read_parquet<T: Record>(
    path: impl AsRef<Path>,
    config: ParquetReaderConfig,
) -> Result<(Vec<T>, ReadReport), DataError> {
    ParquetReader::<T>::open(path, config)?.read_all()
}
