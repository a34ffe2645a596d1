//! Metrics to CSV.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{Error, Result};

/// Appends rows of named metrics to a CSV file with a fixed header.
pub struct CsvLogger {
    columns: Vec<String>,
    out: BufWriter<File>,
    path: String,
}

impl CsvLogger {
    /// Creates (truncates) `path` and writes the header `columns`.
    pub fn create(path: &Path, columns: &[&str]) -> Result<Self> {
        let io = |e| Error::Io {
            path: path.display().to_string(),
            source: e,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut out = BufWriter::new(File::create(path).map_err(io)?);
        writeln!(out, "{}", columns.join(",")).map_err(io)?;
        Ok(Self {
            columns: columns.iter().map(|s| s.to_string()).collect(),
            out,
            path: path.display().to_string(),
        })
    }

    /// Writes one row; `values` must have one entry per column.
    pub fn log(&mut self, values: &[f64]) -> Result<()> {
        if values.len() != self.columns.len() {
            return Err(Error::Shape {
                what: "metrics row",
                expected: format!("{} values ({})", self.columns.len(), self.columns.join(",")),
                got: vec![values.len()],
            });
        }
        let row: Vec<String> = values.iter().map(|v| format!("{v}")).collect();
        writeln!(self.out, "{}", row.join(",")).map_err(|e| Error::Io {
            path: self.path.clone(),
            source: e,
        })
    }

    /// Flushes buffered rows to disk.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::Io {
            path: self.path.clone(),
            source: e,
        })
    }
}
