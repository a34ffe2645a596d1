//! Image preference pairs for diffusion alignment (Pick-a-Pic style), stored as safetensors.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::DataError;
use crate::records::RecordMeta;
use crate::st::{read_file, serialize_f32, write_file, F32Tensor, Loaded};

/// Metadata key holding the JSON list of per-record fields in an image-pair safetensors file.
const RECORDS_KEY: &str = "preferent.image_pairs";
/// Metadata key holding the format version.
const FORMAT_KEY: &str = "preferent.format";
const FORMAT: &str = "image_pairs/v1";

/// A dense `f32` image in `[C, H, W]` layout.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// `[C, H, W]`.
    pub shape: [usize; 3],
    /// Row-major values, `C·H·W` of them.
    pub data: Vec<f32>,
}

impl Image {
    /// Checks that `data` has `C·H·W` values.
    pub fn new(shape: [usize; 3], data: Vec<f32>) -> Result<Self, DataError> {
        let expected = shape.iter().product();
        if data.len() != expected {
            return Err(DataError::Shape {
                what: "image".into(),
                expected,
                got: data.len(),
            });
        }
        Ok(Self { shape, data })
    }
}

/// What the two images were generated for.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// A text prompt (caption).
    Text(String),
    /// A precomputed condition embedding (e.g. text-encoder output).
    Embedding {
        /// Embedding shape.
        shape: Vec<usize>,
        /// Row-major values.
        data: Vec<f32>,
    },
}

/// Which image is preferred; ties are kept distinct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PairLabel {
    /// The first image is preferred.
    First,
    /// The second image is preferred.
    Second,
    /// Neither is preferred.
    Tie,
}

impl PairLabel {
    /// From Pick-a-Pic's `label_0` / `label_1` columns (`1/0`, `0/1`, or `0.5/0.5` for a tie).
    pub fn from_probabilities(label_0: f64, label_1: f64) -> Result<Self, DataError> {
        if !(label_0.is_finite() && label_1.is_finite()) || (label_0 + label_1 - 1.0).abs() > 1e-6 {
            return Err(DataError::InvalidConfig(format!(
                "Pick-a-Pic labels must sum to 1, got label_0 = {label_0}, label_1 = {label_1}"
            )));
        }
        Ok(if label_0 > label_1 {
            PairLabel::First
        } else if label_1 > label_0 {
            PairLabel::Second
        } else {
            PairLabel::Tie
        })
    }

    /// `(label_0, label_1)` in Pick-a-Pic's convention.
    pub fn probabilities(self) -> (f64, f64) {
        match self {
            PairLabel::First => (1.0, 0.0),
            PairLabel::Second => (0.0, 1.0),
            PairLabel::Tie => (0.5, 0.5),
        }
    }
}

/// Two images for one condition and which one a person preferred.
///
/// # References
/// Pick-a-Pic, arXiv:2305.01569; Diffusion-DPO, arXiv:2311.12908.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePairRecord {
    /// First image `[C, H, W]`.
    pub first: Image,
    /// Second image `[C, H, W]`.
    pub second: Image,
    /// The condition.
    pub condition: Condition,
    /// The preference.
    pub label: PairLabel,
    /// Id, tags, metadata.
    pub meta: RecordMeta,
}

/// Serialises image pairs into safetensors bytes.
///
/// Tensors `"{i}.first"`, `"{i}.second"` (`F32 [C,H,W]`) and, for embedding conditions,
/// `"{i}.condition"`; a metadata entry `preferent.image_pairs` holds a JSON list with each
/// record's label, text condition, id, tags and metadata.
///
/// # Errors
/// [`DataError::NonFinite`] naming the tensor (`"{i}.first"`, …: record `i`) of the first NaN or
/// ±∞ value (the reader rejects them too); [`DataError::Shape`] for data that does not fill its
/// shape.
pub fn write_image_pairs_to_bytes(records: &[ImagePairRecord]) -> Result<Vec<u8>, DataError> {
    let mut tensors = Vec::new();
    let mut entries = Vec::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        for (name, img) in [("first", &r.first), ("second", &r.second)] {
            tensors.push(F32Tensor {
                name: format!("{i}.{name}"),
                shape: img.shape.to_vec(),
                data: img.data.clone(),
            });
        }
        let mut entry = r.meta.to_json();
        entry.insert(
            "label".into(),
            serde_json::to_value(r.label).expect("label serialises"),
        );
        match &r.condition {
            Condition::Text(s) => {
                entry.insert("condition".into(), Value::String(s.clone()));
            }
            Condition::Embedding { shape, data } => {
                tensors.push(F32Tensor {
                    name: format!("{i}.condition"),
                    shape: shape.clone(),
                    data: data.clone(),
                });
            }
        }
        entries.push(Value::Object(entry));
    }
    let mut metadata = HashMap::new();
    metadata.insert(FORMAT_KEY.to_string(), FORMAT.to_string());
    metadata.insert(RECORDS_KEY.to_string(), Value::Array(entries).to_string());
    serialize_f32(&tensors, metadata, "<memory>")
}

/// Writes image pairs to a safetensors file (see [`write_image_pairs_to_bytes`]).
pub fn write_image_pairs(
    path: impl AsRef<Path>,
    records: &[ImagePairRecord],
) -> Result<(), DataError> {
    write_file(path.as_ref(), &write_image_pairs_to_bytes(records)?)
}

/// Reads image pairs written by [`write_image_pairs`].
pub fn read_image_pairs(path: impl AsRef<Path>) -> Result<Vec<ImagePairRecord>, DataError> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    parse(&bytes, &path.display().to_string())
}

/// Reads image pairs from safetensors bytes (see [`write_image_pairs_to_bytes`]).
///
/// # Errors
/// [`DataError::Safetensors`] for a malformed file; [`DataError::NonFinite`] naming the tensor
/// and flat index of a NaN or ±∞ value.
pub fn read_image_pairs_from_bytes(bytes: &[u8]) -> Result<Vec<ImagePairRecord>, DataError> {
    parse(bytes, "<memory>")
}

fn image(loaded: &Loaded<'_>, name: &str) -> Result<Image, DataError> {
    let (shape, data) = loaded.f32(name)?;
    let shape: [usize; 3] = shape.try_into().map_err(|s: Vec<usize>| {
        loaded.error(format!("`{name}` has shape {s:?}, expected [C,H,W]"))
    })?;
    Image::new(shape, data)
}

fn parse(bytes: &[u8], file: &str) -> Result<Vec<ImagePairRecord>, DataError> {
    let loaded = Loaded::parse(bytes, file)?;
    let format = loaded.meta(FORMAT_KEY)?;
    if format != FORMAT {
        return Err(loaded.error(format!("unknown format `{format}`, expected `{FORMAT}`")));
    }
    let entries: Value = serde_json::from_str(loaded.meta(RECORDS_KEY)?)
        .map_err(|e| loaded.error(format!("metadata `{RECORDS_KEY}`: {e}")))?;
    let entries = entries
        .as_array()
        .ok_or_else(|| loaded.error(format!("metadata `{RECORDS_KEY}` is not a list")))?;
    let mut out = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let mut obj: Map<String, Value> = entry
            .as_object()
            .cloned()
            .ok_or_else(|| loaded.error(format!("record {i}: not an object")))?;
        let label: PairLabel = obj
            .remove("label")
            .and_then(|l| serde_json::from_value(l).ok())
            .ok_or_else(|| loaded.error(format!("record {i}: missing or invalid `label`")))?;
        let condition = match obj.remove("condition") {
            Some(Value::String(s)) => Condition::Text(s),
            Some(_) => return Err(loaded.error(format!("record {i}: `condition` is not a string"))),
            None => {
                let (shape, data) = loaded.f32(&format!("{i}.condition"))?;
                Condition::Embedding { shape, data }
            }
        };
        let meta = RecordMeta::from_json(obj, &[])
            .map_err(|p| loaded.error(format!("record {i}: {p}")))?;
        out.push(ImagePairRecord {
            first: image(&loaded, &format!("{i}.first"))?,
            second: image(&loaded, &format!("{i}.second"))?,
            condition,
            label,
            meta,
        });
    }
    Ok(out)
}
