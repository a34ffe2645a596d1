//! HuggingFace `tokenizer.json` support (feature `hf-tokenizers`), pinned to the Python
//! `tokenizers` library: the fixture and the expected ids come from
//! `tests/reference/hf_tokenizer.py` (tokenizers 0.23.3 from PyPI). Its output:
//!
//! ```text
//! vocab_size 395
//! <|pad|> 0
//! <|bos|> 1
//! <|eos|> 2
//! "hello world" [270, 288] "hello world"
//! "Sort the digits: 9 7 8" [369, 262, 393, 28, 223, 27, 223, 25, 223, 26] "Sort the digits: 9 7 8"
//! "\u00dcn\u00efc\u00f6d\u00e9 \ud83d\ude42" [394, 388] "\u00dcn\u00efc\u00f6d\u00e9 \ud83d\ude42"
//! " leading space" [223, 78, 71, 67, 70, 75, 80, 73, 223, 85, 82, 67, 271] " leading space"
//! "" [] ""
//! ```
#![cfg(feature = "hf-tokenizers")]

use preferent_data::{
    ChatMlTemplate, CollatorConfig, DataError, Encoder, HfTokenizer, HfTokenizerConfig,
    PairCollator, PairRecord, Tokenizer,
};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/tiny_bpe_tokenizer.json"
);

fn config() -> HfTokenizerConfig {
    HfTokenizerConfig::new()
        .with_bos_token(Some("<|bos|>".into()))
        .with_eos_token(Some("<|eos|>".into()))
        .with_pad_token(Some("<|pad|>".into()))
}

#[test]
fn ids_match_python_tokenizers() {
    let tok = HfTokenizer::from_file(FIXTURE, &config()).unwrap();
    assert_eq!(tok.vocab_size(), 395);
    assert_eq!(
        (tok.pad_id(), tok.bos_id(), tok.eos_id()),
        (0, Some(1), Some(2))
    );
    let cases: [(&str, &[u32]); 5] = [
        ("hello world", &[270, 288]),
        (
            "Sort the digits: 9 7 8",
            &[369, 262, 393, 28, 223, 27, 223, 25, 223, 26],
        ),
        ("Ünïcödé 🙂", &[394, 388]),
        (
            " leading space",
            &[223, 78, 71, 67, 70, 75, 80, 73, 223, 85, 82, 67, 271],
        ),
        ("", &[]),
    ];
    for (text, want) in cases {
        let ids = tok.encode(text).unwrap();
        assert_eq!(ids, want, "{text:?}");
        assert_eq!(tok.decode(&ids).unwrap(), text);
    }
}

#[test]
fn collated_pair_carries_hf_ids_and_specials() {
    let tok = HfTokenizer::from_file(FIXTURE, &config()).unwrap();
    let enc = Encoder::new(tok, ChatMlTemplate);
    let pair = enc
        .pair(&PairRecord::new("hello world", "hello world", ""))
        .unwrap();
    // Prompt = [BOS] ++ ids, completions = ids ++ [EOS] (TRL's tokenize_row).
    assert_eq!(pair.prompt, vec![1, 270, 288]);
    assert_eq!(pair.chosen, vec![270, 288, 2]);
    assert_eq!(pair.rejected, vec![2]);
    let collator = PairCollator::new(enc, CollatorConfig::new());
    let batch = collator
        .collate_records(&[PairRecord::new("hello world", "hello world", "")])
        .unwrap();
    assert_eq!(batch.sequences.rows, 2);
    // The rejected row is padded with the configured pad id (0) after its EOS.
    let row = batch.sequences.row(1);
    assert_eq!(&row[..4], &[1, 270, 288, 2]);
    assert!(row[4..].iter().all(|&v| v == 0));
}

#[test]
fn decoding_skips_specials_and_rejects_out_of_range_ids() {
    let tok = HfTokenizer::from_file(FIXTURE, &config()).unwrap();
    assert_eq!(tok.decode(&[1, 270, 288, 2, 0]).unwrap(), "hello world");
    assert!(matches!(
        tok.decode(&[270, 395]),
        Err(DataError::Decode { id: 395 })
    ));
}

#[test]
fn pad_defaults_to_eos_as_in_trl() {
    let cfg = HfTokenizerConfig::new().with_eos_token(Some("<|eos|>".into()));
    let tok = HfTokenizer::from_file(FIXTURE, &cfg).unwrap();
    assert_eq!(
        (tok.pad_id(), tok.eos_id(), tok.bos_id()),
        (2, Some(2), None)
    );
}

#[test]
fn bad_configuration_and_files_are_typed_errors() {
    let unknown = HfTokenizerConfig::new().with_eos_token(Some("</s>".into()));
    let err = HfTokenizer::from_file(FIXTURE, &unknown).unwrap_err();
    assert!(
        matches!(&err, DataError::InvalidConfig(m) if m.contains("\"</s>\"")),
        "{err}"
    );
    let err = HfTokenizer::from_file(FIXTURE, &HfTokenizerConfig::new()).unwrap_err();
    assert!(
        matches!(&err, DataError::InvalidConfig(m) if m.contains("pad")),
        "{err}"
    );
    let err = HfTokenizer::from_file("/nonexistent/tokenizer.json", &config()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    let err = HfTokenizer::from_bytes(b"{\"not\": \"a tokenizer\"}", &config()).unwrap_err();
    assert!(matches!(err, DataError::Tokenize(_)), "{err}");
}

#[test]
fn unencodable_text_is_a_typed_error() {
    // A word-level vocabulary without an unknown token cannot encode unseen words; the
    // Python library raises too ("WordLevel error: Missing [UNK] token from the vocabulary").
    let json = br#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],
        "normalizer":null,"pre_tokenizer":{"type":"Whitespace"},"post_processor":null,
        "decoder":null,"model":{"type":"WordLevel","vocab":{"a":0,"b":1,"</s>":2},"unk_token":"<unk>"}}"#;
    let cfg = HfTokenizerConfig::new().with_eos_token(Some("</s>".into()));
    let tok = HfTokenizer::from_bytes(json, &cfg).unwrap();
    assert_eq!(tok.encode("a b a").unwrap(), vec![0, 1, 0]);
    let err = tok.encode("a zebra").unwrap_err();
    assert!(
        matches!(&err, DataError::Tokenize(m) if m.contains("a zebra")),
        "{err}"
    );
    let enc = Encoder::new(tok, ChatMlTemplate);
    let collator = PairCollator::new(enc, CollatorConfig::new());
    let err = collator
        .collate_records(&[PairRecord::new("a", "b", "zebra")])
        .unwrap_err();
    assert!(matches!(err, DataError::Tokenize(_)), "{err}");
}
