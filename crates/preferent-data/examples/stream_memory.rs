//! Streams a generated multi-million-line JSONL file through [`JsonlReader`] (tokenising every
//! record) and reports peak resident memory (`VmHWM` from `/proc/self/status`, Linux only).
//!
//! Run with: cargo run --release -p preferent-data --example stream_memory -- [LINES]
//! (default 2,000,000 lines; the file is written under the system temp dir and removed after).

use std::io::{BufWriter, Write};
use std::time::Instant;

use preferent_data::{
    ByteTokenizer, ChatMlTemplate, Encoder, JsonlReader, JsonlReaderConfig, PairRecord, ReadPolicy,
};

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let lines: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(2_000_000);
    let path = std::env::temp_dir().join(format!("preferent-stream-{}.jsonl", std::process::id()));
    {
        let mut w = BufWriter::new(std::fs::File::create(&path)?);
        for i in 0..lines {
            if i % 100_000 == 99_999 {
                writeln!(w, "{{\"prompt\": \"broken line {i}\"")?; // malformed on purpose
            } else {
                writeln!(
                    w,
                    "{{\"id\": \"{i}\", \"prompt\": \"Question {i}: why is the sky blue?\", \"chosen\": \"Rayleigh scattering ({i}).\", \"rejected\": \"The sea reflects ({i}).\"}}"
                )?;
            }
        }
        w.flush()?;
    }
    let bytes = std::fs::metadata(&path)?.len();
    let before = vm_hwm_kib();
    let start = Instant::now();
    let encoder = Encoder::new(ByteTokenizer::default(), ChatMlTemplate);
    let cfg = JsonlReaderConfig::new().with_policy(ReadPolicy::SkipAndCount);
    let mut reader = JsonlReader::<_, PairRecord>::open(&path, cfg)?;
    let mut tokens = 0usize;
    for rec in reader.by_ref() {
        let e = encoder.pair(&rec?)?;
        tokens += e.prompt.len() + e.chosen.len() + e.rejected.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let report = reader.into_report();
    std::fs::remove_file(&path)?;
    println!(
        "file: {lines} lines, {:.1} MiB; read {} records, skipped {}, {} tokens in {secs:.2} s ({:.0} records/s)",
        bytes as f64 / (1 << 20) as f64,
        report.read,
        report.skipped,
        tokens,
        report.read as f64 / secs
    );
    println!(
        "largest line buffer held: {} bytes",
        report.peak_buffer_bytes
    );
    match (before, vm_hwm_kib()) {
        (Some(b), Some(a)) => println!("VmHWM before streaming: {b} KiB; after: {a} KiB"),
        _ => println!("VmHWM unavailable (not Linux?)"),
    }
    Ok(())
}
