//! Property tests: completion masks cover exactly the completion tokens, transformations
//! account for every record, and the JSONL parser never panics on arbitrary bytes.

use preferent_data::batch::{collate_pairs, CollatorConfig, TruncationConfig, TruncationMode};
use preferent_data::transform::{
    curriculum_order, dedup, flip_labels, ranked_to_pairs, split_iterations, subsets_by_tag,
    train_test_split, IterationSplit, PairingStrategy,
};
use preferent_data::{
    DataError, EncodedPair, JsonlReader, JsonlReaderConfig, PairRecord, RankedRecord,
    RankedResponse, ReadPolicy, UnpairedRecord,
};
use proptest::prelude::*;

const PAD: u32 = 999;

/// One modelled row: (token, is completion).
type Row = Vec<(u32, bool)>;

/// Independent model of one truncated row: tag every token with "is completion", cut.
fn model_row(p: &[u32], c: &[u32], cfg: &TruncationConfig) -> Row {
    let mut p = p.to_vec();
    if let Some(m) = cfg.max_prompt_length {
        if p.len() > m {
            p = match cfg.mode {
                TruncationMode::KeepStart => p[..m].to_vec(),
                TruncationMode::KeepEnd => p[p.len() - m..].to_vec(),
            };
        }
    }
    let mut seq: Vec<(u32, bool)> = p
        .iter()
        .map(|&t| (t, false))
        .chain(c.iter().map(|&t| (t, true)))
        .collect();
    if let Some(l) = cfg.max_length {
        if seq.len() > l {
            seq = match cfg.mode {
                TruncationMode::KeepStart => seq[..l].to_vec(),
                TruncationMode::KeepEnd => seq[seq.len() - l..].to_vec(),
            };
        }
    }
    seq
}

fn encoded_pair() -> impl Strategy<Value = EncodedPair> {
    (
        prop::collection::vec(0u32..300, 0..12),
        prop::collection::vec(0u32..300, 0..10),
        prop::collection::vec(0u32..300, 0..10),
    )
        .prop_map(|(prompt, chosen, rejected)| EncodedPair {
            prompt,
            chosen,
            rejected,
        })
}

fn truncation() -> impl Strategy<Value = TruncationConfig> {
    (
        prop::option::of(0usize..14),
        prop::option::of(0usize..24),
        prop::bool::ANY,
    )
        .prop_map(|(mp, ml, end)| TruncationConfig {
            max_prompt_length: mp,
            max_length: ml,
            mode: if end {
                TruncationMode::KeepEnd
            } else {
                TruncationMode::KeepStart
            },
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn completion_masks_cover_exactly_the_completion_tokens(
        items in prop::collection::vec(encoded_pair(), 1..6),
        trunc in truncation(),
        multiple in prop::option::of(1usize..5),
    ) {
        let cfg = CollatorConfig::new().with_truncation(trunc.clone()).with_pad_to_multiple_of(multiple);
        let expected: Vec<Option<(Row, Row)>> = items
            .iter()
            .map(|it| {
                let c = model_row(&it.prompt, &it.chosen, &trunc);
                let r = model_row(&it.prompt, &it.rejected, &trunc);
                let has = |s: &Row| s.iter().any(|&(_, m)| m);
                (has(&c) && has(&r)).then_some((c, r))
            })
            .collect();
        let n_kept = expected.iter().filter(|e| e.is_some()).count();
        match collate_pairs(&items, &cfg, PAD) {
            Err(DataError::EmptyBatch { items: n, dropped }) => {
                prop_assert_eq!(n_kept, 0);
                prop_assert_eq!(n, items.len());
                prop_assert_eq!(dropped, items.len());
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
            Ok(batch) => {
                let s = &batch.sequences;
                let b = batch.num_pairs;
                prop_assert_eq!(b, n_kept);
                prop_assert_eq!(b + batch.stats.dropped_records, items.len());
                prop_assert_eq!(s.rows, 2 * b);
                if let Some(m) = multiple { prop_assert_eq!(s.width % m, 0); }
                let kept: Vec<_> = expected.iter().flatten().collect();
                let mut cut_tokens = 0;
                for (row, want) in kept.iter().map(|(c, _)| c).chain(kept.iter().map(|(_, r)| r)).enumerate() {
                    for t in 0..s.width {
                        let k = row * s.width + t;
                        match want.get(t) {
                            Some(&(tok, is_comp)) => {
                                prop_assert_eq!(s.input_ids[k], i64::from(tok));
                                prop_assert_eq!(s.attention_mask[k], 1);
                                prop_assert_eq!(s.completion_mask[k], i64::from(is_comp));
                            }
                            None => {
                                prop_assert_eq!(s.input_ids[k], i64::from(PAD));
                                prop_assert_eq!(s.attention_mask[k], 0);
                                prop_assert_eq!(s.completion_mask[k], 0);
                            }
                        }
                    }
                    prop_assert_eq!(s.lengths[row], want.len() as i64);
                }
                for (i, it) in batch.kept.iter().map(|&i| &items[i]).enumerate() {
                    let (c, r) = kept[i];
                    cut_tokens += it.prompt.len() + it.chosen.len() - c.len();
                    cut_tokens += it.prompt.len() + it.rejected.len() - r.len();
                }
                prop_assert_eq!(batch.stats.truncated_tokens, cut_tokens);
            }
        }
    }
}

fn pair_record() -> impl Strategy<Value = PairRecord> {
    (
        "[a-c]{0,2}",
        "[a-c]{0,2}",
        "[a-c]{0,2}",
        prop::option::of("[xy]"),
        prop::option::of(-3i32..3),
        prop::option::of(-3i32..3),
    )
        .prop_map(|(p, c, r, tag, sc, sr)| {
            let mut rec = PairRecord::new(p.as_str(), c.as_str(), r.as_str());
            if let Some(t) = tag {
                rec.meta.tags.insert("topic".into(), t);
            }
            if let (Some(sc), Some(sr)) = (sc, sr) {
                rec.meta.metadata.insert("score_chosen".into(), sc.into());
                rec.meta.metadata.insert("score_rejected".into(), sr.into());
            }
            rec
        })
}

fn ranked_record() -> impl Strategy<Value = RankedRecord> {
    (
        "[a-b]{0,2}",
        prop::collection::vec(("[a-c]{0,2}", 0i32..4), 1..5),
    )
        .prop_map(|(p, rs)| {
            RankedRecord::new(
                p.as_str(),
                rs.into_iter()
                    .map(|(t, s)| RankedResponse::scored(t.as_str(), f64::from(s)))
                    .collect(),
            )
        })
}

fn sorted_json(records: &[PairRecord]) -> Vec<String> {
    let mut v: Vec<String> = records
        .iter()
        .map(|r| serde_json::to_string(&preferent_data::Record::to_json(r)).unwrap())
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn transformations_account_for_every_record(
        pairs in prop::collection::vec(pair_record(), 0..20),
        ranked in prop::collection::vec(ranked_record(), 0..8),
        frac in 0.0f64..=1.0,
        eps in 0.0f64..=1.0,
        seed in any::<u64>(),
        n_iter in 1usize..5,
    ) {
        let n = pairs.len();

        let (kept, rep) = dedup(pairs.clone());
        prop_assert_eq!(rep.input, n);
        prop_assert_eq!(rep.kept + rep.removed, n);
        prop_assert_eq!(kept.len(), rep.kept);

        let (train, test) = train_test_split(pairs.clone(), frac, seed).unwrap();
        prop_assert_eq!(train.len() + test.len(), n);
        let mut both = train.clone();
        both.extend(test);
        prop_assert_eq!(sorted_json(&both), sorted_json(&pairs));

        let noisy = flip_labels(pairs.clone(), eps, seed).unwrap();
        prop_assert_eq!(noisy.pairs.len(), n);
        prop_assert_eq!(noisy.flip_mask.len(), n);
        prop_assert_eq!(noisy.flipped, noisy.flip_mask.iter().filter(|&&f| f).count());
        // Same seed, same mask.
        prop_assert_eq!(&flip_labels(pairs.clone(), eps, seed).unwrap().flip_mask, &noisy.flip_mask);

        let cur = curriculum_order(pairs.clone());
        prop_assert_eq!(sorted_json(&cur.pairs), sorted_json(&pairs));
        let gaps: Vec<f64> = cur.pairs[..n - cur.without_gap].iter().map(|p| p.score_gap().unwrap()).collect();
        prop_assert!(gaps.windows(2).all(|w| w[0] >= w[1]));
        for split in [IterationSplit::Contiguous(n_iter), IterationSplit::PerPromptLevel] {
            let its = split_iterations(cur.pairs.clone(), split).unwrap();
            prop_assert_eq!(its.iter().map(Vec::len).sum::<usize>(), n);
        }

        let subsets = subsets_by_tag(pairs.clone(), "topic");
        prop_assert_eq!(subsets.total(), n);

        for strategy in [PairingStrategy::AllPairs, PairingStrategy::BestVsEach] {
            let (out, rep) = ranked_to_pairs(&ranked, strategy);
            prop_assert_eq!(rep.records_in, ranked.len());
            prop_assert_eq!(rep.records_paired + rep.records_without_pairs, ranked.len());
            prop_assert_eq!(out.len(), rep.pairs_out);
            let candidates: usize = ranked.iter().map(|r| {
                let k = r.responses.len();
                match strategy {
                    PairingStrategy::AllPairs => k * k.saturating_sub(1) / 2,
                    PairingStrategy::BestVsEach => k.saturating_sub(1),
                }
            }).sum();
            prop_assert_eq!(rep.pairs_out + rep.tied_pairs_skipped, candidates);
            prop_assert!(out.iter().all(|p| p.score_gap().unwrap() > 0.0));
        }
    }
}

/// Lines that look like records, with random damage.
fn jsonish_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}".to_string()),
        Just("{\"prompt\": \"p\", \"completion\": \"a\", \"label\": true}".to_string()),
        Just("{\"prompt\": \"p\", \"responses\": [{\"response\": \"a\", \"score\": 1}]}".to_string()),
        "\\{\"(prompt|chosen|rejected|tags|id)\": (\"[a-z]{0,3}\"|[0-9]{1,3}|null|\\[\\]|\\{\\}|true)(, \"(chosen|rejected|label|responses)\": (\"x\"|1|\\[\\{\"role\": \"user\"\\}\\]))?\\}",
    ]
}

fn fuzz<T: preferent_data::Record>(bytes: &[u8], policy: ReadPolicy) -> Result<(), TestCaseError> {
    let cfg = JsonlReaderConfig::new()
        .with_policy(policy)
        .with_max_line_bytes(64);
    let mut reader = JsonlReader::<_, T>::new(bytes, "fuzz", cfg);
    let mut errs = 0u64;
    for item in reader.by_ref() {
        match item {
            Ok(_) => {}
            Err(DataError::Record { file, line, .. }) => {
                prop_assert_eq!(file.as_str(), "fuzz");
                prop_assert!(line >= 1);
                errs += 1;
            }
            Err(e) => prop_assert!(false, "unexpected error kind {e}"),
        }
    }
    let rep = reader.report();
    prop_assert_eq!(rep.read + rep.skipped + rep.blank, rep.lines);
    match policy {
        ReadPolicy::FailFast => prop_assert!(errs <= 1 && rep.skipped == errs),
        ReadPolicy::SkipAndCount => prop_assert_eq!(errs, 0),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for policy in [ReadPolicy::FailFast, ReadPolicy::SkipAndCount] {
            fuzz::<PairRecord>(&bytes, policy)?;
            fuzz::<RankedRecord>(&bytes, policy)?;
            fuzz::<UnpairedRecord>(&bytes, policy)?;
        }
    }

    #[test]
    fn parser_never_panics_on_damaged_records(lines in prop::collection::vec(jsonish_line(), 0..12)) {
        let text = lines.join("\n");
        for policy in [ReadPolicy::FailFast, ReadPolicy::SkipAndCount] {
            fuzz::<PairRecord>(text.as_bytes(), policy)?;
            fuzz::<RankedRecord>(text.as_bytes(), policy)?;
            fuzz::<UnpairedRecord>(text.as_bytes(), policy)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn implicit_prompt_split_reassembles_both_texts(c in "[ aé b]{0,8}", r in "[ aé b]{0,8}") {
        use preferent_data::records::extract_prompt;
        use preferent_data::Text;
        let (p, c2, r2) = extract_prompt(&Text::from(c.as_str()), &Text::from(r.as_str())).unwrap();
        let s = |t: Text| match t { Text::Plain(s) => s, other => panic!("{other:?}") };
        let (p, c2, r2) = (s(p), s(c2), s(r2));
        prop_assert_eq!(format!("{p}{c2}"), c);
        prop_assert_eq!(format!("{p}{r2}"), r);
    }
}
