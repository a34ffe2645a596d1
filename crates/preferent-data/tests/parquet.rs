//! Parquet reading (feature `parquet`). Fixtures are written by pyarrow 26.0.1 with
//! `tests/reference/parquet_fixtures.py`, each next to the JSONL it must read as (null-valued
//! keys omitted); the test reads both with preferent-data and compares the records.
#![cfg(feature = "parquet")]

use preferent_data::{
    read_jsonl, read_parquet, DataError, JsonlReaderConfig, PairRecord, ParquetReader,
    ParquetReaderConfig, RankedRecord, ReadPolicy, Record, RecordProblem, Text, UnpairedRecord,
};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/parquet/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn same_as_jsonl<T: Record + PartialEq + std::fmt::Debug>(name: &str) -> Vec<T> {
    let (from_parquet, report) = read_parquet::<T>(
        fixture(&format!("{name}.parquet")),
        ParquetReaderConfig::new(),
    )
    .unwrap();
    let (from_jsonl, _) = read_jsonl::<T>(
        fixture(&format!("{name}.expected.jsonl")),
        JsonlReaderConfig::new(),
    )
    .unwrap();
    assert_eq!(from_parquet, from_jsonl, "{name}");
    assert_eq!(report.read as usize, from_jsonl.len());
    assert_eq!((report.lines, report.skipped), (report.read, 0));
    from_parquet
}

#[test]
fn standard_pairs_snappy_several_row_groups() {
    let recs = same_as_jsonl::<PairRecord>("pairs_standard");
    assert_eq!(recs.len(), 5);
    assert_eq!(recs[0].prompt, Text::Plain("What is 2+2?".into()));
    assert_eq!(
        recs[0].meta.tags.get("topic").map(String::as_str),
        Some("math")
    );
    assert!(
        !recs[0].meta.tags.contains_key("attack"),
        "null tag = absent"
    );
    assert_eq!(recs[2].meta.id, None);
    assert_eq!(recs[3].chosen, Text::Plain("x".repeat(300)));
    assert_eq!(
        recs[0].meta.metadata["score_chosen"],
        serde_json::json!(9.0)
    );
}

#[test]
fn conversational_pairs_gzip() {
    let recs = same_as_jsonl::<PairRecord>("pairs_conversational");
    match &recs[0].prompt {
        Text::Conversation(m) => {
            assert_eq!(m.len(), 2);
            assert_eq!(
                (m[1].role.as_str(), m[1].content.as_str()),
                ("user", "Capital of France?")
            );
        }
        other => panic!("expected a conversation, got {other:?}"),
    }
}

#[test]
fn unpaired_uncompressed_and_ranked() {
    let u = same_as_jsonl::<UnpairedRecord>("unpaired");
    assert_eq!(u.iter().map(|r| r.label).collect::<Vec<_>>(), [true, false]);
    let r = same_as_jsonl::<RankedRecord>("ranked");
    assert_eq!(r[0].order_best_first(), vec![1, 2, 0]);
}

#[test]
fn null_required_fields_are_typed_errors_with_row_numbers() {
    let path = fixture("pairs_bad.parquet");
    // Fail fast: the first bad row (row 2, `chosen` null) stops the stream.
    let mut reader = ParquetReader::<PairRecord>::open(&path, ParquetReaderConfig::new()).unwrap();
    assert_eq!(reader.total_rows(), 4);
    assert!(reader.next().unwrap().is_ok());
    match reader.next().unwrap() {
        Err(DataError::Record {
            file,
            line,
            problem,
        }) => {
            assert!(file.ends_with("pairs_bad.parquet"));
            assert_eq!(line, 2);
            assert_eq!(problem, RecordProblem::MissingField("chosen".into()));
        }
        other => panic!("expected a record error, got {other:?}"),
    }
    assert!(reader.next().is_none(), "fail-fast stops");
    // Skip and count: two good rows, two skipped with their row numbers kept.
    let cfg = ParquetReaderConfig::new().with_policy(ReadPolicy::SkipAndCount);
    let (recs, report) = read_parquet::<PairRecord>(&path, cfg).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!((report.lines, report.read, report.skipped), (4, 2, 2));
    let rows: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(rows, [2, 3]);
    assert_eq!(
        report.errors[1].problem,
        RecordProblem::MissingField("rejected".into())
    );
}

#[test]
fn wrong_record_type_and_non_parquet_files_are_typed_errors() {
    // Unpaired rows read as pairs: `chosen` is missing on the first row.
    let err = read_parquet::<PairRecord>(fixture("unpaired.parquet"), ParquetReaderConfig::new())
        .unwrap_err();
    assert!(matches!(err, DataError::Record { line: 1, .. }), "{err}");
    // A JSONL file is not Parquet.
    let err = ParquetReader::<PairRecord>::open(
        fixture("pairs_standard.expected.jsonl"),
        ParquetReaderConfig::new(),
    )
    .err()
    .unwrap();
    assert!(matches!(err, DataError::Parquet { .. }), "{err}");
    let err =
        ParquetReader::<PairRecord>::open(fixture("missing.parquet"), ParquetReaderConfig::new())
            .err()
            .unwrap();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
}
