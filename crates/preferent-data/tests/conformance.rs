//! Conformance checks generated for every implementation of the crate's family traits
//! ([`Record`] and [`Tokenizer`]): JSON round trip, determinism, Send + Sync.

use preferent_data::{
    ByteTokenizer, ByteTokenizerConfig, Message, PairRecord, RankedRecord, RankedResponse, Record,
    Text, Tokenizer, UnpairedRecord,
};

fn assert_send_sync<T: Send + Sync>() {}
fn send_sync_value<T: Send + Sync>(_: &T) {}

macro_rules! record_conformance {
    ($name:ident, $ty:ty, $make:expr) => {
        mod $name {
            use super::*;

            fn sample() -> $ty {
                let mut r: $ty = $make;
                r.meta_mut().id = Some("id-1".into());
                r.meta_mut().tags.insert("topic".into(), "t".into());
                r.meta_mut()
                    .metadata
                    .insert("free".into(), serde_json::json!({"a": [1, 2.5, null]}));
                r
            }

            #[test]
            fn json_round_trip_is_identity() {
                let r = sample();
                let back = <$ty as Record>::from_json(r.to_json()).unwrap();
                assert_eq!(back, r);
                let line = serde_json::to_string(&r.to_json()).unwrap();
                let parsed = <$ty as Record>::from_json(serde_json::from_str(&line).unwrap()).unwrap();
                assert_eq!(parsed, r);
            }

            #[test]
            fn canonical_and_content_bytes_are_deterministic() {
                let (a, b) = (sample(), sample());
                let (mut x, mut y) = (Vec::new(), Vec::new());
                a.write_canonical(&mut x);
                b.write_canonical(&mut y);
                assert_eq!(x, y);
                let (mut cx, mut cy) = (Vec::new(), Vec::new());
                a.write_content(&mut cx);
                let mut c = sample();
                c.meta_mut().id = Some("other".into());
                c.write_content(&mut cy);
                assert_eq!(cx, cy, "content bytes ignore the id");
                let mut z = Vec::new();
                c.write_canonical(&mut z);
                assert_ne!(x, z, "canonical bytes include the id");
            }

            #[test]
            fn non_objects_are_rejected() {
                assert!(<$ty as Record>::from_json(serde_json::json!([1])).is_err());
                assert!(<$ty as Record>::from_json(serde_json::json!({})).is_err());
            }

            #[test]
            fn is_send_and_sync() {
                assert_send_sync::<$ty>();
            }
        }
    };
}

record_conformance!(
    pair_standard,
    PairRecord,
    PairRecord::new("p", "chosen", "rejected")
);
record_conformance!(pair_conversational, PairRecord, {
    PairRecord {
        prompt: Text::Conversation(vec![Message::new("user", "q")]),
        chosen: Text::Conversation(vec![Message::new("assistant", "a")]),
        rejected: Text::Conversation(vec![Message::new("assistant", "b")]),
        meta: Default::default(),
    }
});
record_conformance!(
    ranked,
    RankedRecord,
    RankedRecord::new(
        "p",
        vec![
            RankedResponse::scored("a", 2.0),
            RankedResponse::scored("b", -1.5)
        ]
    )
);
record_conformance!(
    unpaired,
    UnpairedRecord,
    UnpairedRecord::new("p", "c", false)
);

macro_rules! tokenizer_conformance {
    ($name:ident, $make:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn encode_decode_round_trip_and_special_ids() {
                let tok = $make;
                for s in ["", "plain ascii", "ünïcödé ✓ 漢字", "line\nbreak\ttab"] {
                    let ids = tok.encode(s).unwrap();
                    assert!(ids.iter().all(|&i| (i as usize) < tok.vocab_size()));
                    assert_eq!(tok.decode(&ids).unwrap(), s);
                    assert_eq!(tok.encode(s).unwrap(), ids, "deterministic");
                }
                let pad = tok.pad_id();
                assert!((pad as usize) < tok.vocab_size());
                for special in [tok.bos_id(), tok.eos_id()].into_iter().flatten() {
                    assert!((special as usize) < tok.vocab_size());
                    assert_ne!(special, pad);
                }
                send_sync_value(&tok);
            }
        }
    };
}

tokenizer_conformance!(byte_default, ByteTokenizer::default());
tokenizer_conformance!(
    byte_no_specials,
    ByteTokenizer::new(
        &ByteTokenizerConfig::new()
            .with_add_bos(false)
            .with_add_eos(false)
    )
);

#[cfg(feature = "hf-tokenizers")]
tokenizer_conformance!(hf_tiny_bpe, {
    let config = preferent_data::HfTokenizerConfig::new()
        .with_bos_token(Some("<|bos|>".into()))
        .with_eos_token(Some("<|eos|>".into()))
        .with_pad_token(Some("<|pad|>".into()));
    preferent_data::HfTokenizer::from_file(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tiny_bpe_tokenizer.json"
        ),
        &config,
    )
    .unwrap()
});

#[test]
fn config_defaults_match_their_documented_sources() {
    use preferent_data::{CollatorConfig, JsonlReaderConfig, ReadPolicy, TruncationMode};
    // TRL HEAD DPOConfig: max_length = 1024, truncation_mode = "keep_start".
    let c = CollatorConfig::new();
    assert_eq!(c.truncation.max_length, Some(1024));
    assert_eq!(c.truncation.max_prompt_length, None);
    assert_eq!(c.truncation.mode, TruncationMode::KeepStart);
    assert_eq!(c.pad_to_multiple_of, None);
    let r = JsonlReaderConfig::new();
    assert_eq!(r.policy, ReadPolicy::FailFast);
    assert_eq!(r.max_line_bytes, 64 << 20);
    let t = ByteTokenizerConfig::new();
    assert!(t.add_bos && t.add_eos);
    // Configs serialise (burn `Config`) and come back equal.
    let json = burn::config::config_to_json(&c);
    let back: CollatorConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.truncation.max_length, c.truncation.max_length);
}
