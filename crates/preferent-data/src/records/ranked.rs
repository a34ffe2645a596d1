//! Ranked / scored multi-response records (UltraFeedback style).

use serde_json::{Map, Value};

use crate::error::RecordProblem;
use crate::records::base::into_object;
use crate::records::meta::require;
use crate::records::text::check_convention;
use crate::records::{Record, RecordMeta, Text};

/// One scored or ranked response of a [`RankedRecord`].
#[derive(Debug, Clone, PartialEq)]
pub struct RankedResponse {
    /// The response text.
    pub response: Text,
    /// A rating (higher is better), e.g. UltraFeedback's overall score.
    pub score: Option<f64>,
    /// A rank (1 = best, lower is better).
    pub rank: Option<u32>,
    /// Other keys of the response object (e.g. fine-grained ratings, model name), kept verbatim.
    pub extra: Map<String, Value>,
}

impl RankedResponse {
    /// A response with a score.
    pub fn scored(response: impl Into<Text>, score: f64) -> Self {
        Self {
            response: response.into(),
            score: Some(score),
            rank: None,
            extra: Map::new(),
        }
    }

    /// A response with a rank (1 = best).
    pub fn ranked(response: impl Into<Text>, rank: u32) -> Self {
        Self {
            response: response.into(),
            score: None,
            rank: Some(rank),
            extra: Map::new(),
        }
    }
}

/// How the responses of a [`RankedRecord`] are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankingKind {
    /// Every response has a score; higher is better.
    Scores,
    /// Every response has a rank (and not every one a score); lower is better.
    Ranks,
}

/// Several responses to one prompt with ratings or ranks.
///
/// JSONL:
/// ```text
/// {"prompt": "...", "responses": [{"response": "...", "score": 4.5},
///                                 {"response": "...", "score": 2.0, "model": "..."}]}
/// ```
/// Every response carries a `score` (higher is better) or every response a `rank` (1 = best),
/// and there are at least two responses: a record with fewer is malformed
/// ([`RecordProblem::InvalidRanking`]) when read, and [`Record::validate`] rejects it (and
/// non-finite scores) before it is written.
///
/// # References
/// UltraFeedback, arXiv:2310.01377 (ratings per completion); Curry-DPO, arXiv:2403.07230.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedRecord {
    /// The prompt.
    pub prompt: Text,
    /// The responses, in file order.
    pub responses: Vec<RankedResponse>,
    /// Id, tags, metadata.
    pub meta: RecordMeta,
}

impl RankedRecord {
    /// A record with empty metadata.
    pub fn new(prompt: impl Into<Text>, responses: Vec<RankedResponse>) -> Self {
        Self {
            prompt: prompt.into(),
            responses,
            meta: RecordMeta::default(),
        }
    }

    /// Whether scores or ranks order the responses (`None` if neither covers every response).
    pub fn ranking_kind(&self) -> Option<RankingKind> {
        if self.responses.iter().all(|r| r.score.is_some()) {
            Some(RankingKind::Scores)
        } else if self.responses.iter().all(|r| r.rank.is_some()) {
            Some(RankingKind::Ranks)
        } else {
            None
        }
    }

    /// Preference value of response `i`: its score, or `−rank` for rank-only records
    /// (higher is always better).
    pub fn preference(&self, i: usize) -> f64 {
        let r = &self.responses[i];
        match self.ranking_kind() {
            Some(RankingKind::Ranks) => -f64::from(r.rank.unwrap_or(u32::MAX)),
            _ => r.score.unwrap_or(f64::NEG_INFINITY),
        }
    }

    /// Response indices from best to worst (stable: ties keep file order).
    pub fn order_best_first(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.responses.len()).collect();
        let prefs: Vec<f64> = idx.iter().map(|&i| self.preference(i)).collect();
        idx.sort_by(|&a, &b| prefs[b].total_cmp(&prefs[a]));
        idx
    }
}

fn parse_response(value: &Value, i: usize) -> Result<RankedResponse, RecordProblem> {
    let obj = value.as_object().ok_or_else(|| RecordProblem::WrongType {
        field: format!("responses[{i}]"),
        expected: "an object {response, score | rank}",
    })?;
    let field = format!("responses[{i}].response");
    let response = Text::from_json(
        obj.get("response")
            .ok_or_else(|| RecordProblem::MissingField(field.clone()))?,
        &field,
    )?;
    let score = match obj.get("score") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_f64().ok_or_else(|| RecordProblem::WrongType {
            field: format!("responses[{i}].score"),
            expected: "a number",
        })?),
    };
    let rank = match obj.get("rank") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|r| u32::try_from(r).ok())
                .ok_or_else(|| RecordProblem::WrongType {
                    field: format!("responses[{i}].rank"),
                    expected: "a non-negative integer",
                })?,
        ),
    };
    let extra = obj
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "response" | "score" | "rank"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(RankedResponse {
        response,
        score,
        rank,
        extra,
    })
}

fn response_to_json(r: &RankedResponse) -> Value {
    let mut obj = r.extra.clone();
    obj.insert("response".into(), r.response.to_json());
    if let Some(s) = r.score {
        obj.insert("score".into(), Value::from(s));
    }
    if let Some(k) = r.rank {
        obj.insert("rank".into(), Value::from(k));
    }
    Value::Object(obj)
}

impl Record for RankedRecord {
    const KIND: &'static str = "ranked";

    fn from_json(value: Value) -> Result<Self, RecordProblem> {
        let obj = into_object(value)?;
        let prompt = Text::from_json(require(&obj, "prompt")?, "prompt")?;
        let items =
            require(&obj, "responses")?
                .as_array()
                .ok_or_else(|| RecordProblem::WrongType {
                    field: "responses".into(),
                    expected: "a list of responses",
                })?;
        if items.len() < 2 {
            return Err(RecordProblem::InvalidRanking(format!(
                "{} response(s): a ranking needs at least two",
                items.len()
            )));
        }
        let responses = items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_response(v, i))
            .collect::<Result<Vec<_>, _>>()?;
        check_convention(std::iter::once(&prompt).chain(responses.iter().map(|r| &r.response)))?;
        let meta = RecordMeta::from_json(obj, &["prompt", "responses"])?;
        let rec = Self {
            prompt,
            responses,
            meta,
        };
        if rec.ranking_kind().is_none() {
            return Err(RecordProblem::InvalidRanking(
                "every response needs a score, or every response a rank".into(),
            ));
        }
        Ok(rec)
    }

    fn to_json(&self) -> Value {
        let mut obj = self.meta.to_json();
        obj.insert("prompt".into(), self.prompt.to_json());
        obj.insert(
            "responses".into(),
            Value::Array(self.responses.iter().map(response_to_json).collect()),
        );
        Value::Object(obj)
    }

    fn validate(&self) -> Result<(), RecordProblem> {
        for (i, r) in self.responses.iter().enumerate() {
            if let Some(s) = r.score.filter(|s| !s.is_finite()) {
                return Err(RecordProblem::NonFinite {
                    field: format!("responses[{i}].score"),
                    value: s,
                });
            }
        }
        Self::from_json(self.to_json()).map(|_| ())
    }

    fn meta(&self) -> &RecordMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut RecordMeta {
        &mut self.meta
    }

    fn write_content(&self, out: &mut Vec<u8>) {
        let v = Value::Array(
            std::iter::once(self.prompt.to_json())
                .chain(self.responses.iter().map(|r| {
                    Value::Array(vec![
                        r.response.to_json(),
                        r.score.map(Value::from).unwrap_or(Value::Null),
                        r.rank.map(Value::from).unwrap_or(Value::Null),
                    ])
                }))
                .collect(),
        );
        serde_json::to_writer(out, &v).expect("writing JSON to a Vec cannot fail");
    }
}
