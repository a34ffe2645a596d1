//! Truncation of prompt + completion sequences, counting what is cut.

use std::ops::Range;

/// Which end of a too-long sequence to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TruncationMode {
    /// Keep the first tokens (cut the end). TRL's default (`truncation_mode="keep_start"`).
    KeepStart,
    /// Keep the last tokens (cut the beginning).
    KeepEnd,
}

/// Truncation settings, applied per sequence (prompt + one completion).
#[derive(burn::config::Config, Debug)]
pub struct TruncationConfig {
    /// Maximum prompt tokens (BOS included). Default: none, as TRL HEAD (which truncates only
    /// the whole sequence); legacy TRL `v0.23.0` `DPOConfig.max_prompt_length` was 512.
    pub max_prompt_length: Option<usize>,
    /// Maximum prompt + completion tokens. TRL `DPOConfig.max_length` default: 1024.
    #[config(default = "Some(1024)")]
    pub max_length: Option<usize>,
    /// Which end to keep. TRL default: keep start.
    #[config(default = "TruncationMode::KeepStart")]
    pub mode: TruncationMode,
}

/// Counts of what truncation cut.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TruncationStats {
    /// Sequences (rows) that lost at least one token.
    pub truncated_sequences: usize,
    /// Tokens cut in total.
    pub truncated_tokens: usize,
    /// Items dropped because a completion lost all its tokens.
    pub dropped_records: usize,
}

impl std::ops::AddAssign for TruncationStats {
    fn add_assign(&mut self, o: Self) {
        self.truncated_sequences += o.truncated_sequences;
        self.truncated_tokens += o.truncated_tokens;
        self.dropped_records += o.dropped_records;
    }
}

/// The parts of a prompt and a completion that survive truncation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Kept range of the prompt.
    pub prompt: Range<usize>,
    /// Kept range of the completion.
    pub completion: Range<usize>,
    /// Tokens cut.
    pub cut: usize,
}

/// Truncates one sequence `prompt ++ completion`.
///
/// ```text
/// 1. if |p| > max_prompt_length = m:  KeepStart → p[..m],  KeepEnd → p[|p|−m..]
/// 2. if |p| + |c| > max_length = L:   KeepStart → first L tokens of p ++ c
///                                      KeepEnd   → last  L tokens of p ++ c
/// ```
///
/// # References
/// TRL `DPOTrainer` tokenisation (`max_prompt_length`, `max_length`, `truncation_mode`),
/// legacy `v0.23.0` `tokenize_row` / `concatenated_forward`.
pub fn truncate(prompt_len: usize, completion_len: usize, config: &TruncationConfig) -> Kept {
    let mut p = 0..prompt_len;
    let mut c = 0..completion_len;
    if let Some(m) = config.max_prompt_length {
        if p.len() > m {
            p = match config.mode {
                TruncationMode::KeepStart => 0..m,
                TruncationMode::KeepEnd => prompt_len - m..prompt_len,
            };
        }
    }
    if let Some(l) = config.max_length {
        let total = p.len() + c.len();
        if total > l {
            let mut cut = total - l;
            match config.mode {
                TruncationMode::KeepStart => {
                    let from_c = cut.min(c.len());
                    c.end -= from_c;
                    cut -= from_c;
                    p.end -= cut;
                }
                TruncationMode::KeepEnd => {
                    let from_p = cut.min(p.len());
                    p.start += from_p;
                    cut -= from_p;
                    c.start += cut;
                }
            }
        }
    }
    let cut = prompt_len + completion_len - p.len() - c.len();
    Kept {
        prompt: p,
        completion: c,
        cut,
    }
}
