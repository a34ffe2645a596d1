//! Curriculum ordering of pairs by preference gap (easy → hard) and iteration splits for
//! iterative Curry-DPO.

use std::collections::HashMap;

use crate::error::DataError;
use crate::records::PairRecord;

/// Result of [`curriculum_order`]: every input pair, reordered.
#[derive(Debug, Clone, PartialEq)]
pub struct Curriculum {
    /// Pairs with a gap, largest gap first (stable), then pairs without a gap in input order.
    pub pairs: Vec<PairRecord>,
    /// How many pairs had no gap ([`PairRecord::score_gap`] was `None`); they are at the end.
    pub without_gap: usize,
}

/// Orders pairs easy → hard: descending preference gap ([`PairRecord::score_gap`]).
///
/// ```text
/// gap = score_chosen − score_rejected   (or rank_rejected − rank_chosen)
/// order: gap descending, ties in input order; pairs without a gap last
/// ```
///
/// # References
/// Curry-DPO, arXiv:2403.07230 §3: pairs with a larger rating gap are easier and come first.
pub fn curriculum_order(pairs: Vec<PairRecord>) -> Curriculum {
    let (mut with, without): (Vec<_>, Vec<_>) = pairs
        .into_iter()
        .map(|p| (p.score_gap(), p))
        .partition(|(g, _)| g.is_some());
    with.sort_by(|(a, _), (b, _)| b.unwrap_or(0.0).total_cmp(&a.unwrap_or(0.0)));
    let without_gap = without.len();
    Curriculum {
        pairs: with.into_iter().chain(without).map(|(_, p)| p).collect(),
        without_gap,
    }
}

/// How to cut an ordered curriculum into training iterations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum IterationSplit {
    /// `n` contiguous chunks of the easy → hard order, sizes differing by at most one (the
    /// first `len mod n` chunks get one extra).
    Contiguous(usize),
    /// Curry-DPO's iterative scheme: pairs are grouped by prompt, ordered easy → hard within each
    /// prompt, and the `k`-th easiest pair of every prompt goes to iteration `k`.
    PerPromptLevel,
}

/// Splits `pairs` (already in curriculum order, see [`curriculum_order`]) into iterations.
///
/// Every pair lands in exactly one iteration; order within an iteration follows the input.
/// `Contiguous(0)` is an error.
///
/// # References
/// Curry-DPO, arXiv:2403.07230 §3.2 (iterative training, reference model updated per
/// iteration).
pub fn split_iterations(
    pairs: Vec<PairRecord>,
    split: IterationSplit,
) -> Result<Vec<Vec<PairRecord>>, DataError> {
    match split {
        IterationSplit::Contiguous(0) => Err(DataError::InvalidConfig(
            "Contiguous iteration split needs at least one iteration".into(),
        )),
        IterationSplit::Contiguous(n) => {
            let (base, extra) = (pairs.len() / n, pairs.len() % n);
            let mut it = pairs.into_iter();
            Ok((0..n)
                .map(|k| it.by_ref().take(base + usize::from(k < extra)).collect())
                .collect())
        }
        IterationSplit::PerPromptLevel => {
            let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
            let mut out: Vec<Vec<PairRecord>> = Vec::new();
            for p in pairs {
                let key = serde_json::to_vec(&p.prompt.to_json()).expect("JSON to Vec");
                let level = seen.entry(key).or_insert(0);
                if *level == out.len() {
                    out.push(Vec::new());
                }
                out[*level].push(p);
                *level += 1;
            }
            Ok(out)
        }
    }
}
