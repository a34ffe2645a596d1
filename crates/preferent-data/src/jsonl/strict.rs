//! JSON parsing for records: duplicate keys are an error, and error positions are columns of
//! the line (a JSONL line has no line breaks of its own, so the parser's "line 1" is noise).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::error::RecordProblem;

/// Builds a [`Value`] like serde_json's own, but stops at the first key repeated within one
/// object and remembers it in `dup`.
#[derive(Clone, Copy)]
struct StrictValue<'a> {
    dup: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for StrictValue<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // As serde_json's `Value` (the parser never yields a non-finite f64).
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut obj = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if obj.contains_key(&key) {
                let msg = format!("duplicate key `{key}`");
                *self.dup.borrow_mut() = Some(key);
                return Err(de::Error::custom(msg));
            }
            let value = map.next_value_seed(self)?;
            obj.insert(key, value);
        }
        Ok(Value::Object(obj))
    }
}

/// Parses one JSONL line.
///
/// `column_offset` is the number of bytes stripped from the start of the line before `text`
/// (a byte-order mark), added to reported columns so that they count from the line's first byte.
///
/// # Errors
/// [`RecordProblem::DuplicateKey`] for a key repeated within one object (at any depth);
/// [`RecordProblem::InvalidJson`] with the parser's message and the 1-based byte column in the
/// line otherwise.
pub(crate) fn parse_line(text: &str, column_offset: usize) -> Result<Value, RecordProblem> {
    let dup = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = StrictValue { dup: &dup }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v));
    parsed.map_err(|e| {
        let column = e.column() + column_offset;
        match dup.into_inner() {
            Some(key) => RecordProblem::DuplicateKey { key, column },
            None => RecordProblem::InvalidJson(json_message(&e, column)),
        }
    })
}

/// serde_json's message without its ` at line L column C` suffix, with the column of the line.
fn json_message(e: &serde_json::Error, column: usize) -> String {
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let msg = full.strip_suffix(&suffix).unwrap_or(&full);
    if e.line() == 0 {
        msg.to_string()
    } else {
        format!("{msg} at column {column}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_serde_json_on_valid_input() {
        for text in [
            r#"{"a": 1, "b": [1.5, -2, true, null, "x"], "c": {"d": {"e": []}}}"#,
            r#"[18446744073709551615, -9223372036854775808, 1e300]"#,
            "\"plain\"",
        ] {
            let want: Value = serde_json::from_str(text).unwrap();
            assert_eq!(parse_line(text, 0).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn duplicate_keys_at_any_depth_are_rejected() {
        let top = parse_line(r#"{"prompt": "a", "chosen": "b", "prompt": "c"}"#, 0);
        assert!(
            matches!(&top, Err(RecordProblem::DuplicateKey { key, .. }) if key == "prompt"),
            "{top:?}"
        );
        let nested = parse_line(r#"{"chosen": [{"role": "user", "role": "assistant"}]}"#, 0);
        assert!(
            matches!(&nested, Err(RecordProblem::DuplicateKey { key, .. }) if key == "role"),
            "{nested:?}"
        );
        // The same key in sibling objects is fine.
        assert!(parse_line(r#"[{"a": 1}, {"a": 2}]"#, 0).is_ok());
    }

    #[test]
    fn messages_give_the_column_not_the_parsers_line() {
        let Err(RecordProblem::InvalidJson(msg)) = parse_line(r#"{"a": 1,, "b": 2}"#, 0) else {
            panic!("accepted bad JSON");
        };
        assert!(msg.ends_with("at column 9"), "{msg}");
        assert!(!msg.contains("line"), "{msg}");
        let Err(RecordProblem::InvalidJson(msg)) = parse_line(r#"{"a": 1} x"#, 3) else {
            panic!("accepted trailing characters");
        };
        assert!(msg.contains("trailing characters at column 13"), "{msg}");
    }
}
