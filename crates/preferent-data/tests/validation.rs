//! Nothing invalid passes silently: non-finite stored values, unknown roles, duplicate keys,
//! one-response rankings; JSONL messages give the file's line and the column in it; the
//! collators work with burn's `DataLoaderBuilder`.

use std::io::Cursor;

use burn::data::dataloader::DataLoaderBuilder;
use preferent_data::records::{
    read_image_pairs_from_bytes, write_image_pairs_to_bytes, KNOWN_ROLES,
};
use preferent_data::{
    ByteTokenizer, ChatMlTemplate, CollatorConfig, Condition, DataError, Encoder, Image,
    ImagePairRecord, JsonlReader, JsonlReaderConfig, JsonlWriter, Message, PairBatch, PairCollator,
    PairLabel, PairRecord, PreferenceDataset, RankedRecord, RankedResponse, Record, RecordMeta,
    RecordProblem, RefLogpCache, Text,
};
use preferent_testkit::TestBackend;

fn read<T: Record>(text: &str) -> Result<Vec<T>, DataError> {
    JsonlReader::<_, T>::new(
        Cursor::new(text.as_bytes().to_vec()),
        "t.jsonl",
        JsonlReaderConfig::new(),
    )
    .read_all()
    .map(|(records, _)| records)
}

fn problem<T: Record>(text: &str) -> RecordProblem {
    match read::<T>(text) {
        Err(DataError::Record { problem, .. }) => problem,
        other => panic!("expected a record error, got {:?}", other.map(|r| r.len())),
    }
}

#[test]
fn ref_cache_rejects_non_finite_values_on_construction_write_and_read() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let err = RefLogpCache::new(7, vec![-1.0, bad], vec![-2.0, -3.0]).unwrap_err();
        assert!(
            matches!(&err, DataError::NonFinite { tensor, index: 1, .. } if tensor == "ref_chosen_logps"),
            "{err}"
        );
        let err = RefLogpCache::new(7, vec![-1.0, -2.0], vec![bad, -3.0]).unwrap_err();
        assert!(
            matches!(&err, DataError::NonFinite { tensor, index: 0, .. } if tensor == "ref_rejected_logps"),
            "{err}"
        );
    }

    // Write: the fields are public, so a NaN can arrive after `new`.
    let mut cache = RefLogpCache::new(7, vec![-1.0, -2.0, -3.0], vec![-4.0, -5.0, -6.0]).unwrap();
    cache.rejected[2] = f32::NAN;
    let err = cache.to_bytes().unwrap_err();
    assert!(
        matches!(&err, DataError::NonFinite { index: 2, .. }),
        "{err}"
    );
    let dir = std::env::temp_dir().join(format!("preferent-data-nonfinite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ref.safetensors");
    let _ = std::fs::remove_file(&path);
    assert!(matches!(
        cache.save(&path),
        Err(DataError::NonFinite { .. })
    ));
    assert!(!path.exists(), "nothing may be written");
    assert!(matches!(
        cache.gather::<TestBackend>(&[2], &Default::default()),
        Err(DataError::NonFinite { .. })
    ));
    assert!(cache
        .gather::<TestBackend>(&[0, 1], &Default::default())
        .is_ok());

    // Read: a file whose bytes hold a NaN (patched in place, as a corrupted or foreign writer
    // would leave it) is rejected with the record index.
    let good = RefLogpCache::new(7, vec![-1.0, -2.5, -3.0], vec![-4.0, -5.0, -6.0]).unwrap();
    let mut bytes = good.to_bytes().unwrap();
    let needle = (-2.5f32).to_le_bytes();
    let at = bytes.windows(4).position(|w| w == needle).unwrap();
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    let err = RefLogpCache::from_bytes(&bytes, Some(7)).unwrap_err();
    assert!(
        matches!(&err, DataError::NonFinite { tensor, index: 1, .. } if tensor == "ref_chosen_logps"),
        "{err}"
    );
    std::fs::write(&path, &bytes).unwrap();
    let err = RefLogpCache::load(&path, 7).unwrap_err();
    assert!(err.to_string().contains("ref.safetensors"), "{err}");
    assert!(err.to_string().contains("index 1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn image_pairs_reject_non_finite_pixels_on_write_and_read() {
    let img = |v: f32| Image::new([1, 1, 2], vec![0.5, v]).unwrap();
    let rec = |v: f32| ImagePairRecord {
        first: img(0.25),
        second: img(v),
        condition: Condition::Text("a cat".into()),
        label: PairLabel::First,
        meta: RecordMeta::default(),
    };
    let err = write_image_pairs_to_bytes(&[rec(0.0), rec(f32::NAN)]).unwrap_err();
    assert!(
        matches!(&err, DataError::NonFinite { tensor, index: 1, .. } if tensor == "1.second"),
        "{err}"
    );
    let mut bytes = write_image_pairs_to_bytes(&[rec(0.75)]).unwrap();
    let needle = 0.75f32.to_le_bytes();
    let at = bytes.windows(4).position(|w| w == needle).unwrap();
    bytes[at..at + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
    assert!(matches!(
        read_image_pairs_from_bytes(&bytes),
        Err(DataError::NonFinite { index: 1, .. })
    ));
}

#[test]
fn an_unknown_role_is_a_typed_error() {
    let line = r#"{"prompt": [{"role": "user", "content": "hi"}], "chosen": [{"role": "asistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#;
    assert_eq!(
        problem::<PairRecord>(line),
        RecordProblem::UnknownRole {
            field: "chosen[0].role".into(),
            role: "asistant".into()
        }
    );
    for role in KNOWN_ROLES {
        let ok = format!(
            r#"{{"prompt": [{{"role": "{role}", "content": "x"}}], "chosen": [{{"role": "assistant", "content": "a"}}], "rejected": [{{"role": "assistant", "content": "b"}}]}}"#
        );
        assert_eq!(read::<PairRecord>(&ok).unwrap().len(), 1, "{role}");
    }
    // Built in code, the typo is caught before it is written.
    let rec = PairRecord::new(
        Text::Conversation(vec![Message::new("user", "hi")]),
        Text::Conversation(vec![Message::new("asistant", "a")]),
        Text::Conversation(vec![Message::new("assistant", "b")]),
    );
    let mut w = JsonlWriter::new(Vec::new(), "out.jsonl");
    let err = w.write(&rec).unwrap_err();
    assert!(
        matches!(
            &err,
            DataError::Record {
                line: 1,
                problem: RecordProblem::UnknownRole { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(w.finish().unwrap().is_empty(), "nothing may be written");
}

#[test]
fn duplicate_keys_are_rejected_naming_the_key() {
    let p =
        problem::<PairRecord>(r#"{"prompt": "p", "chosen": "a", "rejected": "b", "chosen": "c"}"#);
    assert!(
        matches!(&p, RecordProblem::DuplicateKey { key, .. } if key == "chosen"),
        "{p}"
    );
    let nested = r#"{"prompt": [{"role": "user", "content": "x", "content": "y"}], "chosen": [{"role": "assistant", "content": "a"}], "rejected": [{"role": "assistant", "content": "b"}]}"#;
    let p = problem::<PairRecord>(nested);
    assert!(
        matches!(&p, RecordProblem::DuplicateKey { key, .. } if key == "content"),
        "{p}"
    );
    let err = read::<PairRecord>("{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n{\"id\": 1, \"id\": 2, \"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n").unwrap_err();
    assert!(
        err.to_string().starts_with("t.jsonl:2: duplicate key `id`"),
        "{err}"
    );
}

#[test]
fn a_ranked_record_needs_two_responses_to_read_or_write() {
    let one = r#"{"prompt": "p", "responses": [{"response": "a", "score": 1.0}]}"#;
    assert!(matches!(
        problem::<RankedRecord>(one),
        RecordProblem::InvalidRanking(_)
    ));
    let two = r#"{"prompt": "p", "responses": [{"response": "a", "score": 1.0}, {"response": "b", "score": 0.5}]}"#;
    assert_eq!(read::<RankedRecord>(two).unwrap().len(), 1);

    let mut w = JsonlWriter::new(Vec::new(), "out.jsonl");
    let single = RankedRecord::new("p", vec![RankedResponse::scored("a", 1.0)]);
    assert!(matches!(
        w.write(&single),
        Err(DataError::Record {
            problem: RecordProblem::InvalidRanking(_),
            ..
        })
    ));
    // A NaN score would be written as `null` by serde_json: refused, naming the field.
    let nan = RankedRecord::new(
        "p",
        vec![
            RankedResponse::scored("a", 1.0),
            RankedResponse::scored("b", f64::NAN),
        ],
    );
    let err = w.write(&nan).unwrap_err();
    assert!(
        matches!(&err, DataError::Record { problem: RecordProblem::NonFinite { field, .. }, .. } if field == "responses[1].score"),
        "{err}"
    );
    let fine = RankedRecord::new(
        "p",
        vec![
            RankedResponse::scored("a", 1.0),
            RankedResponse::scored("b", 0.0),
        ],
    );
    w.write(&fine).unwrap();
    assert_eq!(w.written(), 1);
}

#[test]
fn jsonl_messages_give_the_file_line_and_the_column_in_it() {
    let text = "{\"prompt\": \"p\", \"chosen\": \"a\", \"rejected\": \"b\"}\n\n{\"prompt\": \"p\",, \"chosen\": \"a\"}\n";
    let err = read::<PairRecord>(text).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("t.jsonl:3: invalid JSON: "), "{msg}");
    assert!(msg.ends_with("at column 16"), "{msg}");
    assert!(
        !msg.contains("line 1"),
        "serde's line inside the fragment leaked: {msg}"
    );
}

#[test]
fn data_errors_are_clone_so_collators_feed_burns_data_loader() {
    let err = DataError::io("f", std::io::Error::other("boom"));
    assert_eq!(err.clone().to_string(), err.to_string());

    let records: Vec<PairRecord> = (0..7)
        .map(|i| PairRecord::new(format!("q{i}"), format!("yes{i}"), "no"))
        .collect();
    let collator = PairCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new(),
    );
    let loader = DataLoaderBuilder::<
        TestBackend,
        PairRecord,
        Result<PairBatch<TestBackend>, DataError>,
    >::new(collator)
    .batch_size(3)
    .shuffle(11)
    .num_workers(2)
    .build(PreferenceDataset::new(records));
    let mut pairs = 0;
    let mut batches = 0;
    for batch in loader.iter() {
        let batch = batch.unwrap();
        assert_eq!(batch.input_ids.dims()[0], 2 * batch.num_pairs);
        pairs += batch.num_pairs;
        batches += 1;
    }
    assert_eq!((pairs, batches), (7, 3));
}

#[test]
fn hand_built_batches_are_checked_not_indexed_blindly() {
    use preferent_data::batch::{collate_image_pairs, collate_ranked, EncodedRanked, TiePolicy};
    let item = |prefs: Vec<f64>| EncodedRanked {
        prompt: vec![1, 2],
        responses: vec![vec![3], vec![4]],
        preferences: prefs,
    };
    let cfg = CollatorConfig::new();
    assert!(collate_ranked(&[item(vec![1.0, 0.0])], &cfg, 0).is_ok());
    assert!(matches!(
        collate_ranked(&[item(vec![1.0])], &cfg, 0),
        Err(DataError::Shape { .. })
    ));
    assert!(matches!(
        collate_ranked(&[item(vec![1.0, f64::NAN])], &cfg, 0),
        Err(DataError::NonFinite { index: 1, .. })
    ));
    let img = |v: f32| Image::new([1, 1, 1], vec![v]).unwrap();
    let rec = ImagePairRecord {
        first: img(0.0),
        second: img(f32::NAN),
        condition: Condition::Text("c".into()),
        label: PairLabel::First,
        meta: RecordMeta::default(),
    };
    assert!(matches!(
        collate_image_pairs(&[rec], TiePolicy::Keep),
        Err(DataError::NonFinite { .. })
    ));
}

#[test]
fn every_collator_meets_the_data_loader_bounds() {
    use preferent_data::batch::{ImagePairBatch, ImagePairCollator, TiePolicy};
    use preferent_data::{
        RankedBatch, RankedCollator, UnpairedBatch, UnpairedCollator, UnpairedRecord,
    };
    fn loader<I, O, Bt>(batcher: Bt)
    where
        I: Send + Sync + Clone + std::fmt::Debug + 'static,
        O: Send + Clone + std::fmt::Debug + 'static,
        Bt: burn::data::dataloader::batcher::Batcher<TestBackend, I, O> + 'static,
    {
        let _ = DataLoaderBuilder::<TestBackend, I, O>::new(batcher);
    }
    let enc = || Encoder::new(ByteTokenizer::default(), ChatMlTemplate);
    loader::<PairRecord, Result<PairBatch<TestBackend>, DataError>, _>(PairCollator::new(
        enc(),
        CollatorConfig::new(),
    ));
    loader::<UnpairedRecord, Result<UnpairedBatch<TestBackend>, DataError>, _>(
        UnpairedCollator::new(enc(), CollatorConfig::new(), true),
    );
    loader::<RankedRecord, Result<RankedBatch<TestBackend>, DataError>, _>(RankedCollator::new(
        enc(),
        CollatorConfig::new(),
    ));
    loader::<ImagePairRecord, Result<ImagePairBatch<TestBackend>, DataError>, _>(
        ImagePairCollator {
            tie_policy: TiePolicy::Drop,
        },
    );
}
