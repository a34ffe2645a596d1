//! Streaming JSONL reader with typed per-line errors and a read/skip report.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::marker::PhantomData;
use std::path::Path;

use crate::error::{DataError, RecordProblem};
use crate::records::Record;

/// What to do with a malformed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ReadPolicy {
    /// Yield the error and stop.
    FailFast,
    /// Skip the line, count it, keep the first errors in the [`ReadReport`].
    SkipAndCount,
}

/// Reader settings.
#[derive(burn::config::Config, Debug)]
pub struct JsonlReaderConfig {
    /// What to do with malformed lines. Default: fail fast.
    #[config(default = "ReadPolicy::FailFast")]
    pub policy: ReadPolicy,
    /// Longest accepted line in bytes; longer lines are malformed ([`RecordProblem::LineTooLong`])
    /// and are skipped without being buffered, which bounds memory. Default: 64 MiB.
    #[config(default = 67108864)]
    pub max_line_bytes: usize,
    /// How many errors the report keeps verbatim (all are counted). Default: 16.
    #[config(default = 16)]
    pub max_kept_errors: usize,
}

/// One kept error of a [`ReadReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    /// 1-based line number.
    pub line: u64,
    /// What was wrong.
    pub problem: RecordProblem,
}

/// Counts of what a reader did; always available, also after a fail-fast stop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    /// The file (or label) read.
    pub file: String,
    /// Lines consumed (including blank and malformed ones).
    pub lines: u64,
    /// Records parsed and yielded.
    pub read: u64,
    /// Malformed lines skipped (under [`ReadPolicy::SkipAndCount`]) or failed on.
    pub skipped: u64,
    /// Blank (whitespace-only) lines ignored.
    pub blank: u64,
    /// The first errors, in order (at most `max_kept_errors`).
    pub errors: Vec<LineError>,
    /// Largest line buffer held at once, in bytes (the reader's memory high-water mark).
    pub peak_buffer_bytes: usize,
}

impl std::fmt::Display for ReadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} lines, {} records read, {} skipped, {} blank",
            self.file, self.lines, self.read, self.skipped, self.blank
        )?;
        for e in &self.errors {
            write!(f, "\n  line {}: {}", e.line, e.problem)?;
        }
        Ok(())
    }
}

impl ReadReport {
    /// Books a malformed line (or row) numbered `self.lines`: counts it as skipped, keeps it if
    /// fewer than `max_kept` errors are kept, and returns the error to yield when `policy` is
    /// [`ReadPolicy::FailFast`] (the reader then stops). Shared by the JSONL and Parquet readers.
    pub(crate) fn record_problem(
        &mut self,
        problem: RecordProblem,
        policy: ReadPolicy,
        max_kept: usize,
    ) -> Option<DataError> {
        self.skipped += 1;
        if self.errors.len() < max_kept {
            self.errors.push(LineError {
                line: self.lines,
                problem: problem.clone(),
            });
        }
        (policy == ReadPolicy::FailFast).then(|| DataError::Record {
            file: self.file.clone(),
            line: self.lines,
            problem,
        })
    }
}

/// Streams records of type `T` from JSONL, one line at a time.
///
/// A line is malformed when it is not UTF-8, longer than `max_line_bytes`, not JSON
/// ([`RecordProblem::InvalidJson`], positioned by its byte column within the line; the line
/// number is the file's), has a **duplicate key** in any object
/// ([`RecordProblem::DuplicateKey`]: rejected, never resolved silently to one of the values), or
/// is JSON that is not a valid record of type `T`.
///
/// Memory is bounded by the longest accepted line (`max_line_bytes`) plus the `BufRead`
/// buffer. Yields `Err(DataError::Record {file, line, problem})` for malformed lines under
/// [`ReadPolicy::FailFast`] (then stops), or skips and counts them under
/// [`ReadPolicy::SkipAndCount`]. I/O errors always end the stream with `Err(DataError::Io)`.
pub struct JsonlReader<R, T> {
    reader: R,
    config: JsonlReaderConfig,
    report: ReadReport,
    buf: Vec<u8>,
    done: bool,
    _record: PhantomData<fn() -> T>,
}

impl<T: Record> JsonlReader<BufReader<File>, T> {
    /// Opens `path` for streaming.
    pub fn open(path: impl AsRef<Path>, config: JsonlReaderConfig) -> Result<Self, DataError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| DataError::io(path.display(), e))?;
        Ok(Self::new(
            BufReader::with_capacity(64 * 1024, file),
            path.display().to_string(),
            config,
        ))
    }
}

impl<R: BufRead, T: Record> JsonlReader<R, T> {
    /// Streams from any `BufRead`; `file` labels errors.
    pub fn new(reader: R, file: impl Into<String>, config: JsonlReaderConfig) -> Self {
        Self {
            reader,
            config,
            report: ReadReport {
                file: file.into(),
                ..Default::default()
            },
            buf: Vec::new(),
            done: false,
            _record: PhantomData,
        }
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
    pub fn read_all(mut self) -> Result<(Vec<T>, ReadReport), DataError> {
        let mut out = Vec::new();
        for item in self.by_ref() {
            out.push(item?);
        }
        Ok((out, self.report))
    }

    /// Reads one line into `self.buf`. Returns `Ok(None)` at EOF, `Ok(Some(too_long))` otherwise.
    fn next_line(&mut self) -> std::io::Result<Option<bool>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(if any { Some(too_long) } else { None });
            }
            any = true;
            let (chunk, used, end) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            if !too_long {
                if self.buf.len() + chunk.len() > self.config.max_line_bytes {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.reader.consume(used);
            self.report.peak_buffer_bytes = self.report.peak_buffer_bytes.max(self.buf.capacity());
            if end {
                return Ok(Some(too_long));
            }
        }
    }

    fn parse_line(&self) -> Result<T, RecordProblem> {
        let mut bytes = &self.buf[..];
        if self.report.lines == 1 {
            // A UTF-8 byte-order mark at the start of the file is not part of the JSON.
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        let stripped = self.buf.len() - bytes.len();
        let text = std::str::from_utf8(bytes).map_err(|_| RecordProblem::InvalidUtf8)?;
        T::from_json(super::strict::parse_line(text, stripped)?)
    }
}

impl<R: BufRead, T: Record> Iterator for JsonlReader<R, T> {
    type Item = Result<T, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let too_long = match self.next_line() {
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Ok(Some(t)) => t,
                Err(e) => {
                    self.done = true;
                    return Some(Err(DataError::io(&self.report.file, e)));
                }
            };
            self.report.lines += 1;
            let result = if too_long {
                Err(RecordProblem::LineTooLong {
                    limit: self.config.max_line_bytes,
                })
            } else if self.buf.iter().all(u8::is_ascii_whitespace) {
                self.report.blank += 1;
                continue;
            } else {
                self.parse_line()
            };
            match result {
                Ok(record) => {
                    self.report.read += 1;
                    return Some(Ok(record));
                }
                Err(problem) => {
                    let (policy, keep) = (self.config.policy, self.config.max_kept_errors);
                    if let Some(err) = self.report.record_problem(problem, policy, keep) {
                        self.done = true;
                        return Some(Err(err));
                    }
                }
            }
        }
        None
    }
}

/// Reads a whole JSONL file into memory (see [`JsonlReader`]).
pub fn read_jsonl<T: Record>(
    path: impl AsRef<Path>,
    config: JsonlReaderConfig,
) -> Result<(Vec<T>, ReadReport), DataError> {
    JsonlReader::<_, T>::open(path, config)?.read_all()
}
