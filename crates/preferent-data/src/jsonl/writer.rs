//! JSONL writer (one record per line), the inverse of [`crate::jsonl::JsonlReader`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::DataError;
use crate::records::Record;

/// Writes records as JSON lines.
pub struct JsonlWriter<W: Write> {
    writer: W,
    file: String,
    written: u64,
}

impl JsonlWriter<BufWriter<File>> {
    /// Creates (truncates) `path`.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref();
        let f = File::create(path).map_err(|e| DataError::io(path.display(), e))?;
        Ok(Self::new(BufWriter::new(f), path.display().to_string()))
    }
}

impl<W: Write> JsonlWriter<W> {
    /// Writes to any `Write`; `file` labels errors.
    pub fn new(writer: W, file: impl Into<String>) -> Self {
        Self {
            writer,
            file: file.into(),
            written: 0,
        }
    }

    /// Writes one record as one line.
    ///
    /// # Errors
    /// [`DataError::Record`] (with the 1-based line it would have had) when
    /// [`Record::validate`] rejects the record: nothing is written for it, so the file never holds
    /// a line the reader would reject or read differently; [`DataError::Io`] on a write error.
    pub fn write<T: Record>(&mut self, record: &T) -> Result<(), DataError> {
        record.validate().map_err(|problem| DataError::Record {
            file: self.file.clone(),
            line: self.written + 1,
            problem,
        })?;
        serde_json::to_writer(&mut self.writer, &record.to_json())
            .map_err(|e| DataError::io(&self.file, e.into()))?;
        self.writer
            .write_all(b"\n")
            .map_err(|e| DataError::io(&self.file, e))?;
        self.written += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> Result<W, DataError> {
        self.writer
            .flush()
            .map_err(|e| DataError::io(&self.file, e))?;
        Ok(self.writer)
    }
}

/// Writes every record to `path` as JSONL.
pub fn write_jsonl<'a, T: Record>(
    path: impl AsRef<Path>,
    records: impl IntoIterator<Item = &'a T>,
) -> Result<u64, DataError> {
    let mut w = JsonlWriter::create(path)?;
    for r in records {
        w.write(r)?;
    }
    let n = w.written();
    w.finish()?;
    Ok(n)
}
