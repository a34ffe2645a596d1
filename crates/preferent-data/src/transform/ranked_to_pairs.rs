//! Ranked responses → preference pairs (all pairs, or best-versus-each as in Curry-DPO).

use serde_json::Value;

use crate::records::{
    PairRecord, RankedRecord, RankingKind, RecordMeta, RANK_CHOSEN_KEY, RANK_REJECTED_KEY,
    SCORE_CHOSEN_KEY, SCORE_REJECTED_KEY,
};

/// Metadata key holding the index of the ranked record a pair came from.
pub const SOURCE_INDEX_KEY: &str = "source_index";

/// Which pairs to build from `K` ranked responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PairingStrategy {
    /// Every `(better, worse)` pair: up to `K(K−1)/2` pairs.
    AllPairs,
    /// The best response against each other one: up to `K−1` pairs (Curry-DPO).
    BestVsEach,
}

/// What [`ranked_to_pairs`] did; `records_in = records_paired + records_without_pairs`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairingReport {
    /// Ranked records read.
    pub records_in: usize,
    /// Records that produced at least one pair.
    pub records_paired: usize,
    /// Records that produced none (one response, or all tied).
    pub records_without_pairs: usize,
    /// Pairs produced.
    pub pairs_out: usize,
    /// Candidate pairs skipped because both responses had equal preference.
    pub tied_pairs_skipped: usize,
}

/// Builds preference pairs from ranked records.
///
/// Responses are ordered best first (score descending, or rank ascending); a candidate
/// `(i, j)` with `i` before `j` becomes a pair with `chosen = i`, `rejected = j` unless the two
/// are tied (skipped and counted). Each pair keeps the record's tags and metadata and adds
/// `score_chosen` / `score_rejected` (or `rank_chosen` / `rank_rejected`) and `source_index`;
/// its id is `"{source id or index}:{i}>{j}"` with `i`, `j` the responses' file positions.
/// Output order: by record, then by `i`, then by `j` in best-first order.
///
/// # References
/// Curry-DPO, arXiv:2403.07230 §3 (multiple pairs per prompt); UltraFeedback, arXiv:2310.01377.
pub fn ranked_to_pairs(
    records: &[RankedRecord],
    strategy: PairingStrategy,
) -> (Vec<PairRecord>, PairingReport) {
    let mut report = PairingReport {
        records_in: records.len(),
        ..Default::default()
    };
    let mut pairs = Vec::new();
    for (index, rec) in records.iter().enumerate() {
        let order = rec.order_best_first();
        let before = pairs.len();
        let firsts = match strategy {
            PairingStrategy::AllPairs => order.len(),
            PairingStrategy::BestVsEach => order.len().min(1),
        };
        for a in 0..firsts {
            for b in a + 1..order.len() {
                let (ci, ri) = (order[a], order[b]);
                if rec.preference(ci) == rec.preference(ri) {
                    report.tied_pairs_skipped += 1;
                    continue;
                }
                pairs.push(make_pair(rec, index, ci, ri));
            }
        }
        if pairs.len() > before {
            report.records_paired += 1;
        } else {
            report.records_without_pairs += 1;
        }
    }
    report.pairs_out = pairs.len();
    (pairs, report)
}

fn make_pair(rec: &RankedRecord, index: usize, ci: usize, ri: usize) -> PairRecord {
    let mut metadata = rec.meta.metadata.clone();
    let (c, r) = (&rec.responses[ci], &rec.responses[ri]);
    match rec.ranking_kind() {
        Some(RankingKind::Ranks) => {
            metadata.insert(RANK_CHOSEN_KEY.into(), Value::from(c.rank));
            metadata.insert(RANK_REJECTED_KEY.into(), Value::from(r.rank));
        }
        _ => {
            metadata.insert(SCORE_CHOSEN_KEY.into(), Value::from(c.score));
            metadata.insert(SCORE_REJECTED_KEY.into(), Value::from(r.score));
        }
    }
    metadata.insert(SOURCE_INDEX_KEY.into(), Value::from(index));
    let source = rec.meta.id.clone().unwrap_or_else(|| index.to_string());
    PairRecord {
        prompt: rec.prompt.clone(),
        chosen: c.response.clone(),
        rejected: r.response.clone(),
        meta: RecordMeta {
            id: Some(format!("{source}:{ci}>{ri}")),
            tags: rec.meta.tags.clone(),
            metadata,
        },
    }
}
