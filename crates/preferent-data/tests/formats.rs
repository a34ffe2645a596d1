//! Formats: JSONL (standard + conversational), malformed-line reporting, image pairs and the
//! reference cache in safetensors. Golden values come from `tests/reference/generate.py`.

use std::path::PathBuf;

use preferent_data::{
    dataset_fingerprint, read_jsonl, ChatMlTemplate, ChatTemplate, Condition, Convention,
    DataError, Image, ImagePairRecord, JsonlReader, JsonlReaderConfig, JsonlWriter, PairLabel,
    PairRecord, RankedRecord, ReadPolicy, Record, RecordMeta, RecordProblem, RefLogpCache, Text,
    UnpairedRecord,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("preferent-data-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Reads a fixture, writes it back, reads again: records equal, and the JSON of every line equals
/// the JSON of the original line (so unknown keys, ids, tags and metadata survive).
fn round_trip<T: Record + PartialEq + std::fmt::Debug>(name: &str) -> Vec<T> {
    let (records, report) = read_jsonl::<T>(fixture(name), JsonlReaderConfig::new()).unwrap();
    assert_eq!(report.skipped, 0, "{report}");
    assert_eq!(report.read as usize, records.len());
    let out = tmp(name);
    let mut w = JsonlWriter::create(&out).unwrap();
    for r in &records {
        w.write(r).unwrap();
    }
    w.finish().unwrap();
    let (again, _) = read_jsonl::<T>(&out, JsonlReaderConfig::new()).unwrap();
    assert_eq!(records, again);
    let original: Vec<serde_json::Value> = std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            // ids are normalised to strings
            if let Some(id) = v.get("id").and_then(|i| i.as_u64()) {
                v["id"] = serde_json::Value::String(id.to_string());
            }
            v
        })
        .collect();
    let written: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(original, written);
    records
}

#[test]
fn standard_pairs_round_trip_with_tags_and_metadata() {
    let recs: Vec<PairRecord> = round_trip("pairs_standard.jsonl");
    assert_eq!(recs.len(), 3);
    assert_eq!(recs[0].meta.id.as_deref(), Some("p0"));
    assert_eq!(recs[0].meta.tags["topic"], "math");
    assert_eq!(recs[0].meta.metadata["source"], "synthetic");
    assert_eq!(recs[0].score_gap(), Some(6.5));
    assert_eq!(recs[1].meta.id, None);
    assert_eq!(recs[2].meta.id.as_deref(), Some("17"));
    assert_eq!(recs[2].chosen, Text::Plain(" Oui — très bien.".into()));
    assert!(recs[2].meta.metadata.contains_key("extra"));
    assert!(recs.iter().all(|r| r.convention() == Convention::Standard));
}

#[test]
fn conversational_pairs_round_trip_and_render_chatml() {
    let recs: Vec<PairRecord> = round_trip("pairs_conversational.jsonl");
    assert_eq!(recs[0].convention(), Convention::Conversational);
    // extra message keys survive
    match &recs[1].prompt {
        Text::Conversation(m) => assert_eq!(m[0].extra["name"], "bob"),
        other => panic!("expected a conversation, got {other:?}"),
    }
    // Expected strings printed by generate.py ("chatml prompt" / "chatml chosen").
    let t = ChatMlTemplate;
    assert_eq!(
        t.prompt(&recs[0].prompt),
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(t.completion(&recs[0].chosen), "Paris.<|im_end|>\n");
}

#[test]
fn ranked_and_unpaired_round_trip() {
    let ranked: Vec<RankedRecord> = round_trip("ranked.jsonl");
    // (A one-response record is malformed: see tests/validation.rs.)
    assert_eq!(ranked.len(), 3);
    assert_eq!(ranked[0].responses[0].extra["model"], "a");
    assert_eq!(ranked[0].order_best_first(), vec![2, 0, 3, 1]);
    assert_eq!(ranked[1].order_best_first(), vec![1, 0, 2]);
    let unpaired: Vec<UnpairedRecord> = round_trip("unpaired.jsonl");
    assert_eq!(
        unpaired.iter().map(|u| u.label).collect::<Vec<_>>(),
        vec![true, false, true]
    );
    assert_eq!(unpaired[2].prompt.convention(), Convention::Conversational);
}

#[test]
fn skip_and_count_reports_every_malformed_line() {
    let cfg = JsonlReaderConfig::new().with_policy(ReadPolicy::SkipAndCount);
    let mut reader = JsonlReader::<_, PairRecord>::open(fixture("malformed.jsonl"), cfg).unwrap();
    let ok: Vec<PairRecord> = reader.by_ref().map(|r| r.unwrap()).collect();
    let prompts: Vec<_> = ok.iter().map(|r| r.prompt.clone()).collect();
    assert_eq!(
        prompts,
        vec![Text::from("ok1"), Text::from("ok2"), Text::from("ok3")]
    );
    let rep = reader.report();
    assert_eq!((rep.lines, rep.read, rep.skipped, rep.blank), (13, 3, 8, 2));
    let lines: Vec<u64> = rep.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 4, 6, 7, 8, 9, 11, 12]);
    let p: Vec<&RecordProblem> = rep.errors.iter().map(|e| &e.problem).collect();
    assert!(matches!(p[0], RecordProblem::InvalidJson(_)));
    assert_eq!(*p[1], RecordProblem::MissingField("rejected".into()));
    assert_eq!(*p[2], RecordProblem::NotAnObject);
    assert!(matches!(p[3], RecordProblem::WrongType { field, .. } if field == "chosen"));
    assert_eq!(*p[4], RecordProblem::MixedConventions);
    assert!(matches!(p[5], RecordProblem::WrongType { field, .. } if field == "tags"));
    assert_eq!(*p[6], RecordProblem::InvalidUtf8);
    assert_eq!(
        *p[7],
        RecordProblem::MissingField("prompt[0].content".into())
    );
    assert_eq!(rep.read + rep.skipped + rep.blank, rep.lines);
}

#[test]
fn fail_fast_names_file_line_and_problem_then_stops() {
    let mut reader =
        JsonlReader::<_, PairRecord>::open(fixture("malformed.jsonl"), JsonlReaderConfig::new())
            .unwrap();
    assert!(reader.next().unwrap().is_ok());
    let err = reader.next().unwrap().unwrap_err();
    match &err {
        DataError::Record {
            file,
            line,
            problem,
        } => {
            assert!(file.ends_with("malformed.jsonl"));
            assert_eq!(*line, 2);
            assert!(matches!(problem, RecordProblem::InvalidJson(_)));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(err.to_string().contains("malformed.jsonl:2: invalid JSON"));
    assert!(reader.next().is_none());
    assert_eq!((reader.report().read, reader.report().skipped), (1, 1));
}

#[test]
fn overlong_lines_are_skipped_without_buffering() {
    let long = format!(
        "{{\"prompt\": \"{}\", \"chosen\": \"a\", \"rejected\": \"b\"}}\n",
        "x".repeat(5000)
    );
    let data = format!("{long}{{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}}\n");
    let cfg = JsonlReaderConfig::new()
        .with_policy(ReadPolicy::SkipAndCount)
        .with_max_line_bytes(256);
    let reader = JsonlReader::<_, PairRecord>::new(
        std::io::BufReader::with_capacity(64, data.as_bytes()),
        "mem",
        cfg,
    );
    let (recs, rep) = reader.read_all().unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(
        rep.errors[0].problem,
        RecordProblem::LineTooLong { limit: 256 }
    );
    assert!(
        rep.peak_buffer_bytes <= 512,
        "peak {}",
        rep.peak_buffer_bytes
    );
}

#[test]
fn io_errors_are_typed() {
    let err = JsonlReader::<_, PairRecord>::open(
        fixture("does-not-exist.jsonl"),
        JsonlReaderConfig::new(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, DataError::Io { .. }));
}

fn image_pairs() -> Vec<ImagePairRecord> {
    let img = |seed: f32| {
        Image::new([3, 2, 2], (0..12).map(|i| seed + i as f32 * 0.25).collect()).unwrap()
    };
    let mut meta = RecordMeta {
        id: Some("pap-1".into()),
        ..Default::default()
    };
    meta.tags.insert("split".into(), "train".into());
    meta.metadata
        .insert("user_id".into(), serde_json::Value::from(42));
    vec![
        ImagePairRecord {
            first: img(0.0),
            second: img(-1.0),
            condition: Condition::Text("a red cube".into()),
            label: PairLabel::First,
            meta,
        },
        ImagePairRecord {
            first: img(2.0),
            second: img(3.0),
            condition: Condition::Embedding {
                shape: vec![2, 3],
                data: vec![0.5, -0.5, 1.0, 2.0, -3.0, 0.0],
            },
            label: PairLabel::Tie,
            meta: RecordMeta::default(),
        },
        ImagePairRecord {
            first: img(5.0),
            second: img(6.0),
            condition: Condition::Text("a cat".into()),
            label: PairLabel::Second,
            meta: RecordMeta::default(),
        },
    ]
}

#[test]
fn image_pairs_round_trip_through_safetensors_with_ties_distinct() {
    let recs = image_pairs();
    let path = tmp("images.safetensors");
    preferent_data::records::write_image_pairs(&path, &recs).unwrap();
    let back = preferent_data::records::read_image_pairs(&path).unwrap();
    assert_eq!(recs, back);
    assert_eq!(
        back.iter().map(|r| r.label).collect::<Vec<_>>(),
        vec![PairLabel::First, PairLabel::Tie, PairLabel::Second]
    );
    // Pick-a-Pic label columns.
    assert_eq!(
        PairLabel::from_probabilities(0.5, 0.5).unwrap(),
        PairLabel::Tie
    );
    assert_eq!(
        PairLabel::from_probabilities(0.0, 1.0).unwrap(),
        PairLabel::Second
    );
    assert_eq!(PairLabel::Tie.probabilities(), (0.5, 0.5));
    assert!(PairLabel::from_probabilities(0.7, 0.7).is_err());
}

#[test]
fn image_errors_are_typed() {
    assert!(matches!(
        Image::new([3, 2, 2], vec![0.0; 11]),
        Err(DataError::Shape {
            expected: 12,
            got: 11,
            ..
        })
    ));
    assert!(matches!(
        preferent_data::records::read_image_pairs_from_bytes(b"garbage"),
        Err(DataError::Safetensors { .. })
    ));
    // A reference cache is not an image-pair file.
    let cache = RefLogpCache::new(1, vec![0.0], vec![0.0]).unwrap();
    let err = preferent_data::records::read_image_pairs_from_bytes(&cache.to_bytes().unwrap())
        .unwrap_err();
    assert!(err.to_string().contains("unknown format"), "{err}");
}

#[test]
fn reference_cache_round_trips_and_detects_stale_datasets() {
    let (pairs, _) =
        read_jsonl::<PairRecord>(fixture("pairs_standard.jsonl"), JsonlReaderConfig::new())
            .unwrap();
    let fp = dataset_fingerprint(&pairs);
    let cache = RefLogpCache::new(fp, vec![-1.5, -20.25, -3.0], vec![-2.0, -30.5, -4.0]).unwrap();
    let path = tmp("ref.safetensors");
    cache.save(&path).unwrap();
    assert_eq!(RefLogpCache::load(&path, fp).unwrap(), cache);

    let mut edited = pairs.clone();
    edited[1].chosen = Text::from(" Salut !");
    let fp2 = dataset_fingerprint(&edited);
    assert_ne!(fp, fp2);
    match RefLogpCache::load(&path, fp2) {
        Err(DataError::StaleCache { expected, found }) => {
            assert_eq!((expected, found), (fp2, fp));
        }
        other => panic!("expected a stale-cache error, got {other:?}"),
    }
    assert!(matches!(
        RefLogpCache::new(fp, vec![0.0; 2], vec![0.0; 3]),
        Err(DataError::Shape { .. })
    ));
}

#[test]
fn reference_cache_gathers_batch_rows_on_device() {
    use preferent_testkit::{assert_close, device, to_vec, TestBackend};
    let cache = RefLogpCache::new(7, vec![-1.0, -2.0, -3.0], vec![-4.0, -5.0, -6.0]).unwrap();
    let (c, r) = cache.gather::<TestBackend>(&[2, 0], &device()).unwrap();
    assert_close(&to_vec(c), &[-3.0, -1.0], 0.0, 0.0);
    assert_close(&to_vec(r), &[-6.0, -4.0], 0.0, 0.0);
    assert!(cache.gather::<TestBackend>(&[3], &device()).is_err());
}

#[test]
fn dataset_fingerprint_matches_python_reference() {
    // generate.py: fingerprint(pairs_standard) = 0xc6af37c9317ce8cc
    let (pairs, _) =
        read_jsonl::<PairRecord>(fixture("pairs_standard.jsonl"), JsonlReaderConfig::new())
            .unwrap();
    assert_eq!(dataset_fingerprint(&pairs), 0xc6af37c9317ce8cc);
    // generate.py: FNV-1a test vectors
    use preferent_data::fingerprint::fnv1a64;
    assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
    assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
}

#[test]
fn byte_order_mark_and_crlf_are_accepted() {
    let data = b"\xEF\xBB\xBF{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\r\n{\"prompt\": \"q\", \"chosen\": \"c\", \"rejected\": \"d\"}\r\n";
    let (recs, rep) = JsonlReader::<_, PairRecord>::new(&data[..], "mem", JsonlReaderConfig::new())
        .read_all()
        .unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!((rep.lines, rep.skipped), (2, 0));
    assert_eq!(recs[1].rejected, Text::from("d"));
    // A BOM on a later line is not stripped: it is a malformed line.
    let data = b"{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n\xEF\xBB\xBF{}\n";
    let err = JsonlReader::<_, PairRecord>::new(&data[..], "mem", JsonlReaderConfig::new())
        .read_all()
        .unwrap_err();
    assert!(err.to_string().starts_with("mem:2: invalid JSON"), "{err}");
}

#[test]
fn implicit_prompt_records_are_split_on_the_common_prefix() {
    use preferent_data::records::extract_prompt;
    // generate.py: "extract" lines
    let cases = [
        (
            "The sky is blue.",
            "The sky is green.",
            ["The sky is", " blue.", " green."],
        ),
        ("Ça va bien", "Ça va mal", ["Ça va", " bien", " mal"]),
        ("abc", "abcd", ["ab", "c", "cd"]),
        ("x", "y", ["", "x", "y"]),
    ];
    for (c, r, want) in cases {
        let (p, c2, r2) = extract_prompt(&Text::from(c), &Text::from(r)).unwrap();
        assert_eq!([p, c2, r2], want.map(Text::from), "{c:?} / {r:?}");
    }
    let line = r#"{"chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "go away"}], "id": "hh-1"}"#;
    let (recs, _) =
        JsonlReader::<_, PairRecord>::new(line.as_bytes(), "mem", JsonlReaderConfig::new())
            .read_all()
            .unwrap();
    let rec = &recs[0];
    assert_eq!(
        rec.prompt,
        Text::Conversation(vec![preferent_data::Message::new("user", "hi")])
    );
    assert_eq!(
        rec.chosen,
        Text::Conversation(vec![preferent_data::Message::new("assistant", "hello")])
    );
    assert!(!rec.meta.metadata.contains_key("prompt"));
    let mixed = r#"{"chosen": "a", "rejected": [{"role": "assistant", "content": "b"}]}"#;
    let err = JsonlReader::<_, PairRecord>::new(mixed.as_bytes(), "mem", JsonlReaderConfig::new())
        .read_all()
        .unwrap_err();
    assert_eq!(err.problem(), Some(&RecordProblem::MixedConventions));
}
