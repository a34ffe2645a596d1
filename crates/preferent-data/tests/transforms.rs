//! Transformations: goldens from `tests/reference/generate.py` plus accounting invariants.

use std::path::PathBuf;

use preferent_data::transform::{
    aggregate_by_tag, curriculum_order, dedup, flip_labels, ranked_to_pairs, split_iterations,
    subsets_by_tag, train_test_split, IterationSplit, PairingStrategy,
};
use preferent_data::{
    read_jsonl, DataError, JsonlReaderConfig, PairRecord, RankedRecord, RankedResponse, Record,
    SplitMix64,
};

fn load<T: Record>(name: &str) -> Vec<T> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    read_jsonl(p, JsonlReaderConfig::new()).unwrap().0
}

fn ids(pairs: &[PairRecord]) -> Vec<String> {
    pairs.iter().map(|p| p.meta.id.clone().unwrap()).collect()
}

#[test]
fn splitmix64_value_stability() {
    // generate.py: seed 0 first 3 (also Vigna's splitmix64.c reference stream)
    let mut r = SplitMix64::new(0);
    assert_eq!(
        [r.next_u64(), r.next_u64(), r.next_u64()],
        [0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f]
    );
    // generate.py: seed 42 f64 x3
    let mut r = SplitMix64::new(42);
    let f = [r.next_f64(), r.next_f64(), r.next_f64()];
    assert_eq!(
        f,
        [0.7415648787718233, 0.1599103928769201, 0.27860113025513866]
    );
    // generate.py: shuffle(0..10) seed 7
    let mut xs: Vec<usize> = (0..10).collect();
    SplitMix64::new(7).shuffle(&mut xs);
    assert_eq!(xs, vec![9, 5, 8, 6, 1, 2, 4, 7, 0, 3]);
}

#[test]
fn ranked_to_pairs_all_pairs_and_best_vs_each_match_reference() {
    let mut ranked: Vec<RankedRecord> = load("ranked.jsonl");
    // Built in code (the reader rejects one-response rankings): yields no pair.
    let mut lonely = RankedRecord::new("Lonely", vec![RankedResponse::scored("only one", 3.0)]);
    lonely.meta.id = Some("r3".into());
    ranked.push(lonely);
    let (all, rep) = ranked_to_pairs(&ranked, PairingStrategy::AllPairs);
    // generate.py: "all pairs"
    assert_eq!(
        ids(&all),
        [
            "r0:2>0", "r0:2>3", "r0:2>1", "r0:0>3", "r0:0>1", "r0:3>1", "r1:1>0", "r1:1>2",
            "r1:0>2"
        ]
    );
    assert_eq!(rep.records_in, 4);
    assert_eq!(rep.records_paired, 2);
    assert_eq!(rep.records_without_pairs, 2); // r2 all tied, r3 single response
    assert_eq!(rep.tied_pairs_skipped, 1);
    assert_eq!(rep.pairs_out, 9);
    assert_eq!(
        rep.records_in,
        rep.records_paired + rep.records_without_pairs
    );
    assert_eq!(all[0].score_gap(), Some(0.5));
    assert_eq!(all[0].meta.tags["topic"], "physics");
    assert_eq!(all[6].score_gap(), Some(1.0)); // ranks 1 vs 2

    let (bve, rep) = ranked_to_pairs(&ranked, PairingStrategy::BestVsEach);
    // generate.py: "best vs each"
    assert_eq!(
        ids(&bve),
        ["r0:2>0", "r0:2>3", "r0:2>1", "r1:1>0", "r1:1>2"]
    );
    assert_eq!(rep.pairs_out, 5);
}

#[test]
fn curriculum_orders_easy_to_hard_and_splits_iterations() {
    let ranked: Vec<RankedRecord> = load("ranked.jsonl");
    let (all, _) = ranked_to_pairs(&ranked, PairingStrategy::AllPairs);
    let mut with_missing = all.clone();
    with_missing.push(PairRecord::new("q", "a", "b")); // no scores: goes last
    let cur = curriculum_order(with_missing);
    assert_eq!(cur.without_gap, 1);
    // generate.py: "curriculum"
    assert_eq!(
        ids(&cur.pairs[..9]),
        [
            "r0:2>1", "r0:0>1", "r0:2>3", "r0:3>1", "r1:1>2", "r0:0>3", "r1:1>0", "r1:0>2",
            "r0:2>0"
        ]
    );
    assert_eq!(cur.pairs[9].meta.id, None);

    let ordered = curriculum_order(all).pairs;
    let levels = split_iterations(ordered.clone(), IterationSplit::PerPromptLevel).unwrap();
    // generate.py: "per-prompt levels"
    let got: Vec<Vec<String>> = levels.iter().map(|l| ids(l)).collect();
    let want: Vec<Vec<&str>> = vec![
        vec!["r0:2>1", "r1:1>2"],
        vec!["r0:0>1", "r1:1>0"],
        vec!["r0:2>3", "r1:0>2"],
        vec!["r0:3>1"],
        vec!["r0:0>3"],
        vec!["r0:2>0"],
    ];
    assert_eq!(got, want);

    let chunks = split_iterations(ordered.clone(), IterationSplit::Contiguous(4)).unwrap();
    assert_eq!(
        chunks.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![3, 2, 2, 2]
    );
    assert_eq!(chunks.concat(), ordered);
    assert!(matches!(
        split_iterations(ordered, IterationSplit::Contiguous(0)),
        Err(DataError::InvalidConfig(_))
    ));
}

fn numbered_pairs(n: usize) -> Vec<PairRecord> {
    (0..n)
        .map(|i| {
            PairRecord::new(
                format!("p{i}").as_str(),
                format!("good{i}").as_str(),
                format!("bad{i}").as_str(),
            )
        })
        .collect()
}

#[test]
fn label_flips_match_reference_mask_and_swap_exactly_the_masked_pairs() {
    let pairs = numbered_pairs(16);
    let noisy = flip_labels(pairs.clone(), 0.5, 123).unwrap();
    // generate.py: "flip mask n=16 eps=0.5 seed=123"
    let want = [0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1];
    assert_eq!(
        noisy
            .flip_mask
            .iter()
            .map(|&b| u8::from(b))
            .collect::<Vec<_>>(),
        want
    );
    assert_eq!(noisy.flipped, 5);
    for ((orig, out), &f) in pairs.iter().zip(&noisy.pairs).zip(&noisy.flip_mask) {
        if f {
            assert_eq!((&out.chosen, &out.rejected), (&orig.rejected, &orig.chosen));
        } else {
            assert_eq!(out, orig);
        }
    }
    assert_eq!(flip_labels(pairs.clone(), 0.0, 1).unwrap().flipped, 0);
    assert_eq!(flip_labels(pairs.clone(), 1.0, 1).unwrap().flipped, 16);
    assert!(flip_labels(pairs, 1.5, 1).is_err());
}

#[test]
fn flips_swap_scores_too() {
    let ranked: Vec<RankedRecord> = load("ranked.jsonl");
    let (all, _) = ranked_to_pairs(&ranked, PairingStrategy::AllPairs);
    let flipped = flip_labels(all.clone(), 1.0, 0).unwrap().pairs;
    for (a, b) in all.iter().zip(&flipped) {
        assert_eq!(b.score_gap(), a.score_gap().map(|g| -g));
    }
}

#[test]
fn train_test_split_matches_reference_and_keeps_order() {
    let pairs = numbered_pairs(10);
    let (train, test) = train_test_split(pairs.clone(), 0.3, 5).unwrap();
    // generate.py: "split n=10 frac=0.3 seed=5 test indices": [2, 4, 8]
    assert_eq!(
        test,
        vec![pairs[2].clone(), pairs[4].clone(), pairs[8].clone()]
    );
    assert_eq!(train.len(), 7);
    assert!(train_test_split(pairs, -0.1, 5).is_err());
}

#[test]
fn dedup_removes_content_duplicates_and_reports_them() {
    let mut pairs = numbered_pairs(4);
    let mut dup = pairs[1].clone();
    dup.meta.id = Some("other id, same content".into());
    pairs.push(dup);
    pairs.push(pairs[0].clone());
    let (kept, rep) = dedup(pairs.clone());
    assert_eq!(kept, pairs[..4].to_vec());
    assert_eq!((rep.input, rep.kept, rep.removed), (6, 4, 2));
    assert_eq!(rep.removed_indices, vec![4, 5]);
}

#[test]
fn per_tag_subsets_and_attack_success_table_match_reference() {
    let safety: Vec<PairRecord> = load("safety.jsonl");
    let success: Vec<f64> = safety
        .iter()
        .map(|r| r.meta.metadata["attack_success"].as_f64().unwrap())
        .collect();
    let table = aggregate_by_tag(&safety, &success, "attack_style").unwrap();
    // generate.py: ASR rows (direct, injection, role-play, untagged) and overall
    let rows: Vec<(Option<&str>, usize, f64)> = table
        .rows
        .iter()
        .map(|r| (r.value.as_deref(), r.count, r.mean))
        .collect();
    assert_eq!(
        rows,
        vec![
            (Some("direct"), 1, 1.0),
            (Some("injection"), 1, 1.0),
            (Some("role-play"), 3, 0.6666666666666666),
            (None, 1, 0.0),
        ]
    );
    assert_eq!(
        (table.overall.count, table.overall.mean),
        (6, 0.6666666666666666)
    );
    let md = table.to_markdown();
    assert!(md.contains("| role-play | 3 | 0.6667 |"), "{md}");
    assert!(md.contains("| (all) | 6 | 0.6667 |"), "{md}");

    let subsets = subsets_by_tag(safety.clone(), "topic");
    assert_eq!(subsets.by_value["weapons"].len(), 3);
    assert_eq!(subsets.by_value["crime"].len(), 2);
    assert_eq!(subsets.untagged.len(), 1);
    assert_eq!(subsets.total(), safety.len());

    assert!(matches!(
        aggregate_by_tag(&safety, &success[..2], "topic"),
        Err(DataError::Shape { .. })
    ));
    assert!(aggregate_by_tag(&safety, &[f64::NAN; 6], "topic").is_err());
}

#[test]
fn promote_metadata_to_tags() {
    let mut rec = PairRecord::new("p", "a", "b");
    rec.meta
        .metadata
        .insert("jailbreak_type".into(), serde_json::Value::from("dan"));
    rec.meta
        .metadata
        .insert("n".into(), serde_json::Value::from(3));
    assert_eq!(
        rec.meta.promote_to_tags(&["jailbreak_type", "n", "absent"]),
        1
    );
    assert_eq!(rec.meta.tags["jailbreak_type"], "dan");
    assert!(rec.meta.metadata.contains_key("n"));
}
