//! Implicit-prompt preference records: the prompt is the common prefix of chosen and rejected.

use crate::error::RecordProblem;
use crate::records::Text;

/// Splits implicit-prompt `chosen` / `rejected` (each holding prompt + completion) into
/// `(prompt, chosen, rejected)`.
///
/// ```text
/// i = first position where chosen and rejected differ
///     (if one is a prefix of the other: min length − 1, so neither completion is empty)
/// standard text: positions are characters; if chosen[i−1] is a space, i ← i − 1
///                (the space starts the completions)
/// conversational: positions are messages
/// prompt = chosen[..i], chosen = chosen[i..], rejected = rejected[i..]
/// ```
///
/// # References
/// TRL `trl/data_utils.py::extract_prompt` / `maybe_extract_prompt` (applied by `DPOTrainer`
/// to datasets without a `prompt` column, e.g. Anthropic HH).
pub fn extract_prompt(chosen: &Text, rejected: &Text) -> Result<(Text, Text, Text), RecordProblem> {
    match (chosen, rejected) {
        (Text::Plain(c), Text::Plain(r)) => {
            let cc: Vec<(usize, char)> = c.char_indices().collect();
            let rc: Vec<char> = r.chars().collect();
            let min = cc.len().min(rc.len());
            let mut i = (0..min)
                .find(|&k| cc[k].1 != rc[k])
                .unwrap_or(min.saturating_sub(1));
            if i < min && i > 0 && cc[i - 1].1 == ' ' && cc[i].1 != rc[i] {
                i -= 1;
            }
            let cb = cc.get(i).map_or(c.len(), |&(b, _)| b);
            let rb = r.char_indices().nth(i).map_or(r.len(), |(b, _)| b);
            Ok((
                Text::Plain(c[..cb].to_string()),
                Text::Plain(c[cb..].to_string()),
                Text::Plain(r[rb..].to_string()),
            ))
        }
        (Text::Conversation(c), Text::Conversation(r)) => {
            let min = c.len().min(r.len());
            let i = (0..min)
                .find(|&k| c[k] != r[k])
                .unwrap_or(min.saturating_sub(1));
            Ok((
                Text::Conversation(c[..i].to_vec()),
                Text::Conversation(c[i..].to_vec()),
                Text::Conversation(r[i..].to_vec()),
            ))
        }
        _ => Err(RecordProblem::MixedConventions),
    }
}
