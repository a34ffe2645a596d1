//! A dependency-free progress bar for long work (training loops, sampling sweeps).
//!
//! On a terminal it redraws one line in place (at most every 100 ms):
//! ```text
//! lm pretrain [##########----------]  50%  500/1000  loss 0.4123  12.1 s, eta 12.1 s
//! ```
//! Elsewhere (CI logs, files) it prints that line at every 10 % and at the end, so logs stay short.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

const WIDTH: usize = 20;

/// A progress bar over `total` units, drawn to stderr (or any writer).
pub struct Progress {
    label: String,
    total: u64,
    done: u64,
    message: String,
    start: Instant,
    last_draw: Option<Instant>,
    last_decile: u64,
    tty: bool,
    out: Box<dyn Write + Send + Sync>,
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("label", &self.label)
            .field("done", &self.done)
            .field("total", &self.total)
            .finish()
    }
}

impl Progress {
    /// A bar on stderr; redraws in place when stderr is a terminal.
    pub fn new(label: impl Into<String>, total: u64) -> Self {
        let tty = std::io::stderr().is_terminal();
        Self::with_writer(label, total, Box::new(std::io::stderr()), tty)
    }

    /// A bar on `out`; `tty` selects in-place redraws (else a line per 10 %).
    pub fn with_writer(
        label: impl Into<String>,
        total: u64,
        out: Box<dyn Write + Send + Sync>,
        tty: bool,
    ) -> Self {
        Self {
            label: label.into(),
            total: total.max(1),
            done: 0,
            message: String::new(),
            start: Instant::now(),
            last_draw: None,
            last_decile: 0,
            tty,
            out,
        }
    }

    /// Sets the units done and the trailing message (e.g. the current loss); draws if due.
    pub fn set(&mut self, done: u64, message: impl Into<String>) {
        self.done = done.min(self.total);
        self.message = message.into();
        let decile = self.done * 10 / self.total;
        let due = if self.tty {
            self.last_draw
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
                || self.done == self.total
        } else {
            decile > self.last_decile
        };
        if due {
            self.last_decile = decile;
            self.draw();
        }
    }

    /// Advances by one unit.
    pub fn inc(&mut self, message: impl Into<String>) {
        self.set(self.done + 1, message);
    }

    /// Marks the work complete and ends the line.
    pub fn finish(&mut self, message: impl Into<String>) {
        let already_drawn = self.done == self.total && !self.tty && self.last_decile == 10;
        self.done = self.total;
        self.message = message.into();
        self.last_decile = 10;
        if !already_drawn {
            self.draw();
        }
        if self.tty {
            let _ = writeln!(self.out);
        }
    }

    /// Seconds since the bar was created.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn draw(&mut self) {
        let line = render_line(
            &self.label,
            self.done,
            self.total,
            self.elapsed(),
            &self.message,
        );
        let _ = if self.tty {
            write!(self.out, "\r{line}\x1b[K")
        } else {
            writeln!(self.out, "{line}")
        };
        let _ = self.out.flush();
        self.last_draw = Some(Instant::now());
    }
}

/// One progress line: label, bar, percentage, counts, message, elapsed time and ETA.
pub fn render_line(label: &str, done: u64, total: u64, elapsed: f64, message: &str) -> String {
    let total = total.max(1);
    let frac = done.min(total) as f64 / total as f64;
    let filled = (frac * WIDTH as f64).floor() as usize;
    let bar: String = "#".repeat(filled) + &"-".repeat(WIDTH - filled);
    let eta = if done > 0 && done < total {
        format!(
            ", eta {:.1} s",
            elapsed * (total - done) as f64 / done as f64
        )
    } else {
        String::new()
    };
    let msg = if message.is_empty() {
        String::new()
    } else {
        format!("  {message}")
    };
    format!(
        "{label} [{bar}] {:>3}%  {done}/{total}{msg}  {elapsed:.1} s{eta}",
        (frac * 100.0).floor() as u64
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn line_shows_bar_counts_message_and_eta() {
        let l = render_line("lm", 5, 20, 2.0, "loss 0.5");
        assert_eq!(
            l,
            "lm [#####---------------]  25%  5/20  loss 0.5  2.0 s, eta 6.0 s"
        );
        let done = render_line("lm", 20, 20, 8.0, "");
        assert_eq!(done, "lm [####################] 100%  20/20  8.0 s");
    }

    #[test]
    fn non_terminal_output_prints_one_line_per_decile() {
        let buf = Shared::default();
        let mut p = Progress::with_writer("x", 1000, Box::new(buf.clone()), false);
        for i in 0..1000 {
            p.inc(format!("i {i}"));
        }
        p.finish("done");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // 10 %, 20 %, …, 100 % from the updates; finishing at 100 % adds no duplicate line.
        assert_eq!(lines.len(), 10, "{text}");
        assert!(lines[0].contains(" 10%  100/1000  i 99"), "{}", lines[0]);
        assert!(lines[9].contains("100%") && lines[9].contains("i 999"));
        let mut q = Progress::with_writer("y", 10, Box::new(buf.clone()), false);
        q.set(3, "partial");
        q.finish("stopped early");
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text
            .lines()
            .last()
            .unwrap()
            .contains("100%  10/10  stopped early"));
    }
}
