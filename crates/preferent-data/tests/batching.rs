//! Batching: collation goldens from `tests/reference/generate.py` (TRL semantics re-implemented in
//! Python), and burn `Batcher` / `Dataset` implementations on the test lane's backend.

use std::path::PathBuf;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::{Int, Tensor};
use preferent_data::{
    read_jsonl, ByteTokenizer, ByteTokenizerConfig, ChatMlTemplate, CollatorConfig, DataError,
    EncodedPair, Encoder, JsonlReaderConfig, PairBatch, PairCollator, PairRecord,
    PreferenceDataset, RankedBatch, RankedCollator, RankedRecord, Record, Tokenizer,
    TruncationConfig, TruncationMode, UnpairedBatch, UnpairedCollator, UnpairedRecord,
};
use preferent_testkit::{assert_close, device, to_vec, TestBackend};

fn load<T: Record>(name: &str) -> Vec<T> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    read_jsonl(p, JsonlReaderConfig::new()).unwrap().0
}

fn ints<const D: usize>(t: Tensor<TestBackend, D, Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().to_vec::<i64>().unwrap()
}

fn collator(
    mode: TruncationMode,
    mp: Option<usize>,
    ml: Option<usize>,
) -> PairCollator<ByteTokenizer, ChatMlTemplate> {
    let trunc = TruncationConfig {
        max_prompt_length: mp,
        max_length: ml,
        mode,
    };
    PairCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new().with_truncation(trunc),
    )
}

#[test]
fn pair_collation_keep_start_matches_reference() {
    let pairs: Vec<PairRecord> = load("pairs_standard.jsonl")[..2].to_vec();
    let c = collator(TruncationMode::KeepStart, Some(8), Some(14));
    let batch: PairBatch<TestBackend> = Batcher::batch(&c, pairs, &device()).unwrap();
    assert_eq!(batch.input_ids.dims(), [4, 14]);
    assert_eq!(batch.num_pairs, 2);
    // generate.py: "collate keep_start mp=8 ml=14"
    #[rustfmt::skip]
    let ids: Vec<i64> = vec![
        256, 87, 104, 97, 116, 32, 105, 115, 32, 52, 257, 258, 258, 258,
        256, 83, 97, 121, 32, 104, 105, 32, 32, 66, 111, 110, 106, 111,
        256, 87, 104, 97, 116, 32, 105, 115, 32, 53, 257, 258, 258, 258,
        256, 83, 97, 121, 32, 104, 105, 32, 32, 72, 111, 108, 97, 257,
    ];
    #[rustfmt::skip]
    let cm: Vec<i64> = vec![
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
    ];
    assert_eq!(ints(batch.input_ids), ids);
    assert_eq!(ints(batch.completion_mask), cm);
    assert_eq!(ints(batch.lengths.clone()), vec![11, 14, 11, 14]);
    let am = ints(batch.attention_mask);
    let lens = ints(batch.lengths);
    for (r, &len) in lens.iter().enumerate() {
        let row = &am[r * 14..(r + 1) * 14];
        assert_eq!(row.iter().sum::<i64>(), len);
        assert!(row[..len as usize].iter().all(|&v| v == 1));
    }
    assert_eq!(batch.stats.truncated_sequences, 4);
    assert_eq!(batch.stats.truncated_tokens, 35);
    assert_eq!(batch.stats.dropped_records, 0);
}

#[test]
fn pair_collation_keep_end_matches_reference() {
    let pairs: Vec<PairRecord> = load("pairs_standard.jsonl")[..2].to_vec();
    let host = collator(TruncationMode::KeepEnd, Some(8), Some(14))
        .collate_records(&pairs)
        .unwrap();
    // generate.py: "collate keep_end mp=8 ml=14"
    #[rustfmt::skip]
    let ids: Vec<i64> = vec![
        32, 105, 115, 32, 50, 43, 50, 63, 32, 52, 257, 258, 258, 258,
        99, 104, 46, 32, 66, 111, 110, 106, 111, 117, 114, 32, 33, 257,
        32, 105, 115, 32, 50, 43, 50, 63, 32, 53, 257, 258, 258, 258,
        32, 70, 114, 101, 110, 99, 104, 46, 32, 72, 111, 108, 97, 257,
    ];
    #[rustfmt::skip]
    let cm: Vec<i64> = vec![
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0,
        0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
    ];
    assert_eq!(host.sequences.input_ids, ids);
    assert_eq!(host.sequences.completion_mask, cm);
    assert_eq!(host.sequences.lengths, vec![11, 14, 11, 14]);
    assert_eq!(
        (host.stats.truncated_sequences, host.stats.truncated_tokens),
        (4, 35)
    );
}

#[test]
fn fully_truncated_completions_drop_the_pair_and_are_counted() {
    let pairs = vec![
        PairRecord::new("a very long prompt indeed", "x", "y"),
        PairRecord::new("hi", "ok", "no"),
    ];
    // prompt cap 100, total cap 10: pair 0's prompt (26 tokens with BOS) eats the budget.
    let c = collator(TruncationMode::KeepStart, Some(100), Some(10));
    let host = c.collate_records(&pairs).unwrap();
    assert_eq!(host.kept, vec![1]);
    assert_eq!(host.stats.dropped_records, 1);
    assert_eq!(host.sequences.rows, 2);
    let err = c.collate_records(&pairs[..1]).unwrap_err();
    assert!(matches!(
        err,
        DataError::EmptyBatch {
            items: 1,
            dropped: 1
        }
    ));
    assert!(matches!(
        c.collate_records(&[]),
        Err(DataError::EmptyBatch {
            items: 0,
            dropped: 0
        })
    ));
}

#[test]
fn conversational_pairs_collate_with_the_template() {
    let pairs: Vec<PairRecord> = load("pairs_conversational.jsonl");
    let c = collator(TruncationMode::KeepStart, None, None);
    let host = c.collate_records(&pairs).unwrap();
    let tok = ByteTokenizer::default();
    // Row 0 decodes to the ChatML prompt + chosen (generate.py strings), BOS/EOS/PAD skipped.
    let row0: Vec<u32> = host.sequences.row(0).iter().map(|&v| v as u32).collect();
    assert_eq!(
        tok.decode(&row0).unwrap(),
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nCapital of France?<|im_end|>\n<|im_start|>assistant\nParis.<|im_end|>\n"
    );
    // Completion tokens of row 2 (first rejected) decode to the rejected text + EOS.
    let s = &host.sequences;
    let comp: Vec<u32> = (0..s.width)
        .filter(|&t| s.completion_mask[2 * s.width + t] == 1)
        .map(|t| s.input_ids[2 * s.width + t] as u32)
        .collect();
    assert_eq!(*comp.last().unwrap(), ByteTokenizer::EOS);
    assert_eq!(tok.decode(&comp).unwrap(), "Lyon.<|im_end|>\n");
}

#[test]
fn encoded_pairs_batch_and_pad_to_multiple() {
    let c = PairCollator::new(
        Encoder::new(
            ByteTokenizer::new(
                &ByteTokenizerConfig::new()
                    .with_add_bos(false)
                    .with_add_eos(false),
            ),
            ChatMlTemplate,
        ),
        CollatorConfig::new().with_pad_to_multiple_of(Some(8)),
    );
    let items = vec![EncodedPair {
        prompt: vec![1, 2, 3],
        chosen: vec![4, 5],
        rejected: vec![6],
    }];
    let batch: PairBatch<TestBackend> = Batcher::batch(&c, items, &device()).unwrap();
    assert_eq!(batch.input_ids.dims(), [2, 8]);
    assert_eq!(
        ints(batch.input_ids),
        vec![1, 2, 3, 4, 5, 258, 258, 258, 1, 2, 3, 6, 258, 258, 258, 258]
    );
    assert_eq!(
        ints(batch.completion_mask),
        vec![0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    );
    assert_eq!(ints(batch.prompt_lengths), vec![3, 3]);
}

#[test]
fn unpaired_batches_with_kl_rows() {
    let recs: Vec<UnpairedRecord> = load("unpaired.jsonl");
    let c = UnpairedCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new(),
        true,
    );
    let host = c.collate_records(&recs).unwrap();
    assert_eq!(host.labels, vec![true, false, true]);
    let batch: UnpairedBatch<TestBackend> = Batcher::batch(&c, recs.clone(), &device()).unwrap();
    assert_eq!(batch.input_ids.dims()[0], 3);
    let labels: Vec<bool> = preferent_testkit::to_bool_vec(batch.labels);
    assert_eq!(labels, vec![true, false, true]);
    // KL row i = prompt_i ++ completion_{i-1 mod B}: row 0 pairs prompt 0 with completion 2.
    let enc = Encoder::new(ByteTokenizer::default(), ChatMlTemplate);
    let kl = host.kl_sequences.as_ref().unwrap();
    let p0 = enc.prompt(&recs[0].prompt).unwrap();
    let c2 = enc.completion(&recs[2].completion).unwrap();
    let want: Vec<i64> = p0.iter().chain(&c2).map(|&v| i64::from(v)).collect();
    assert_eq!(&kl.row(0)[..want.len()], &want[..]);
    let mask_sum: i64 = kl.completion_mask[..kl.width].iter().sum();
    assert_eq!(mask_sum as usize, c2.len());
    let dev_kl = batch.kl.unwrap();
    assert_eq!(dev_kl.input_ids.dims(), [3, kl.width]);
}

#[test]
fn ranked_batches_are_best_first_b_k_t() {
    let recs: Vec<RankedRecord> = load("ranked.jsonl");
    let c = RankedCollator::new(
        Encoder::new(ByteTokenizer::default(), ChatMlTemplate),
        CollatorConfig::new(),
    );
    let batch: RankedBatch<TestBackend> =
        Batcher::batch(&c, recs[..2].to_vec(), &device()).unwrap();
    let [b, k, t] = batch.input_ids.dims();
    assert_eq!((b, k), (2, 4));
    assert_eq!(batch.completion_mask.dims(), [2, 4, t]);
    assert_eq!(ints(batch.response_mask), vec![1, 1, 1, 1, 1, 1, 1, 0]);
    // r0 scores best first: 5.0, 4.5, 3.0, 1.0; r1 ranks 1, 2, 3 → −1, −2, −3; padding 0.
    assert_close(
        &to_vec(batch.preferences),
        &[5.0, 4.5, 3.0, 1.0, -1.0, -2.0, -3.0, 0.0],
        0.0,
        0.0,
    );
    let lens = ints(batch.lengths);
    assert_eq!(lens[7], 0);
    // best response of r0 is "Curved spacetime." (17 bytes + EOS)
    let cm = ints(batch.completion_mask);
    assert_eq!(cm[..t].iter().sum::<i64>(), 18);
}

#[test]
fn preference_dataset_serves_records_and_fingerprints() {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pairs_standard.jsonl");
    let (ds, rep) =
        PreferenceDataset::<PairRecord>::from_jsonl(p, JsonlReaderConfig::new()).unwrap();
    assert_eq!(rep.read, 3);
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.get(1).unwrap().meta.tags["topic"], "language");
    assert!(ds.get(3).is_none());
    // generate.py: fingerprint(pairs_standard)
    assert_eq!(ds.fingerprint(), 0xc6af37c9317ce8cc);
}

#[test]
fn byte_tokenizer_round_trips_and_rejects_bad_ids() {
    let tok = ByteTokenizer::default();
    let ids = tok.encode("hé").unwrap();
    assert_eq!(ids, vec![0x68, 0xC3, 0xA9]);
    assert_eq!(
        tok.decode(&[256, 0x68, 0xC3, 0xA9, 257, 258]).unwrap(),
        "hé"
    );
    assert!(matches!(
        tok.decode(&[300]),
        Err(DataError::Decode { id: 300 })
    ));
    assert!(tok.decode(&[0xC3]).is_err());
    assert_eq!(
        (tok.bos_id(), tok.eos_id(), tok.pad_id()),
        (Some(256), Some(257), 258)
    );
    assert_eq!(tok.vocab_size(), 259);
}

fn image_pair(
    first: f32,
    second: f32,
    label: preferent_data::PairLabel,
) -> preferent_data::ImagePairRecord {
    use preferent_data::{Condition, Image, ImagePairRecord, RecordMeta};
    ImagePairRecord {
        first: Image::new([1, 1, 2], vec![first, first + 0.5]).unwrap(),
        second: Image::new([1, 1, 2], vec![second, second + 0.5]).unwrap(),
        condition: Condition::Text(format!("c{first}")),
        label,
        meta: RecordMeta::default(),
    }
}

#[test]
fn image_pairs_stack_winners_then_losers_and_count_ties() {
    use preferent_data::batch::{ImagePairBatch, ImagePairCollator, TiePolicy};
    use preferent_data::PairLabel::{First, Second, Tie};
    let items = vec![
        image_pair(1.0, 2.0, First),
        image_pair(3.0, 4.0, Tie),
        image_pair(5.0, 6.0, Second),
    ];
    let drop = ImagePairCollator {
        tie_policy: TiePolicy::Drop,
    };
    let b: ImagePairBatch<TestBackend> = Batcher::batch(&drop, items.clone(), &device()).unwrap();
    assert_eq!(b.images.dims(), [4, 1, 1, 2]);
    assert_eq!((b.kept.clone(), b.ties_dropped), (vec![0, 2], 1));
    // winners: pair0 first (1.0), pair2 second (6.0); losers: 2.0, 5.0
    assert_close(
        &to_vec(b.images),
        &[1.0, 1.5, 6.0, 6.5, 2.0, 2.5, 5.0, 5.5],
        0.0,
        0.0,
    );

    let keep = ImagePairCollator {
        tie_policy: TiePolicy::Keep,
    };
    let b: ImagePairBatch<TestBackend> = Batcher::batch(&keep, items.clone(), &device()).unwrap();
    assert_eq!(b.images.dims(), [6, 1, 1, 2]);
    let ties: Vec<bool> = preferent_testkit::to_bool_vec(b.tie_mask);
    assert_eq!(ties, vec![false, true, false]);

    let only_tie = vec![image_pair(0.0, 0.0, Tie)];
    let err = Batcher::<TestBackend, _, Result<ImagePairBatch<TestBackend>, DataError>>::batch(
        &drop,
        only_tie,
        &device(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        DataError::EmptyBatch {
            items: 1,
            dropped: 1
        }
    ));

    let mut bad = items;
    bad[2].second = preferent_data::Image::new([1, 2, 1], vec![0.0, 0.0]).unwrap();
    assert!(matches!(
        preferent_data::batch::collate_image_pairs(&bad, TiePolicy::Drop),
        Err(DataError::Shape { .. })
    ));
}
