//! The UCI 8×8 handwritten digits (the copy scikit-learn ships), vendored gzip-compressed.

use std::io::Read;

use burn::tensor::{backend::Backend, Int, Tensor, TensorData};

use crate::error::{Error, Result};

/// Pixels per image (8 × 8).
pub const DIGITS_PIXELS: usize = 64;

const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// The 1797 8×8 digit images with labels.
///
/// Source: UCI ML "Optical Recognition of Handwritten Digits" (Alpaydin & Kaynak, 1998), test
/// set as shipped by scikit-learn (`sklearn/datasets/data/digits.csv.gz`), CC BY 4.0. See
/// `data/README.md`.
#[derive(Clone, Debug)]
pub struct Digits {
    /// Row-major pixel values in `0..=16`, `len() * 64` of them.
    pub pixels: Vec<f32>,
    /// Class labels `0..=9`.
    pub labels: Vec<u8>,
}

impl Digits {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Raw pixels of image `i`, in `0..=16`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * DIGITS_PIXELS..(i + 1) * DIGITS_PIXELS]
    }

    /// Pixels of image `i` mapped to `[−1, 1]` (`x / 8 − 1`).
    pub fn image_scaled(&self, i: usize) -> impl Iterator<Item = f32> + '_ {
        self.image(i).iter().map(|&p| p / 8.0 - 1.0)
    }

    /// Selected images as a `[n, 64]` tensor scaled to `[−1, 1]` (`x / 8 − 1`).
    pub fn tensor_scaled<B: Backend>(&self, indices: &[usize], device: &B::Device) -> Tensor<B, 2> {
        let mut v = Vec::with_capacity(indices.len() * DIGITS_PIXELS);
        for &i in indices {
            v.extend(self.image_scaled(i));
        }
        Tensor::from_data(TensorData::new(v, [indices.len(), DIGITS_PIXELS]), device)
    }

    /// Selected labels as an Int tensor.
    pub fn labels_tensor<B: Backend>(
        &self,
        indices: &[usize],
        device: &B::Device,
    ) -> Tensor<B, 1, Int> {
        let v: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Tensor::from_data(TensorData::new(v, [indices.len()]), device)
    }
}

/// Decompresses and parses the vendored digits set.
pub fn load_digits() -> Result<Digits> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(DIGITS_CSV_GZ)
        .read_to_string(&mut text)
        .map_err(|e| Error::Io {
            path: "data/digits.csv.gz (embedded)".into(),
            source: e,
        })?;
    parse_digits_csv(&text)
}

fn parse_digits_csv(text: &str) -> Result<Digits> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (line_no, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |reason: String| Error::Parse {
            what: format!("digits.csv line {}", line_no + 1),
            reason,
        };
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != DIGITS_PIXELS + 1 {
            return Err(bad(format!("expected 65 fields, found {}", fields.len())));
        }
        for f in &fields[..DIGITS_PIXELS] {
            let v: f32 = f
                .trim()
                .parse()
                .map_err(|e| bad(format!("pixel {f:?}: {e}")))?;
            if !(0.0..=16.0).contains(&v) {
                return Err(bad(format!("pixel {v} outside 0..=16")));
            }
            pixels.push(v);
        }
        let label: f32 = fields[DIGITS_PIXELS]
            .trim()
            .parse()
            .map_err(|e| bad(format!("label: {e}")))?;
        if !(0.0..=9.0).contains(&label) || label.fract() != 0.0 {
            return Err(bad(format!("label {label} not a digit")));
        }
        labels.push(label as u8);
    }
    Ok(Digits { pixels, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_digits_match_sklearn_summary() {
        // Values printed by crates/preferent-models/tests/reference/digits_summary.py (numpy):
        // rows 1797, label counts [178, 182, 177, 183, 181, 182, 181, 179, 174, 180],
        // pixel sum 561718.
        let d = load_digits().unwrap();
        assert_eq!(d.len(), 1797);
        let mut counts = [0usize; 10];
        for &l in &d.labels {
            counts[l as usize] += 1;
        }
        assert_eq!(counts, DIGITS_LABEL_COUNTS);
        let sum: f64 = d.pixels.iter().map(|&p| p as f64).sum();
        assert_eq!(sum, DIGITS_PIXEL_SUM);
        assert_eq!(&d.pixels[..8], &[0.0, 0.0, 5.0, 13.0, 9.0, 1.0, 0.0, 0.0]);
    }

    const DIGITS_LABEL_COUNTS: [usize; 10] = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180];
    const DIGITS_PIXEL_SUM: f64 = 561_718.0;

    #[test]
    fn bad_rows_are_typed_errors() {
        assert!(matches!(
            parse_digits_csv("1,2,3"),
            Err(Error::Parse { .. })
        ));
        let mut row = vec!["0"; 64];
        row.push("11");
        assert!(parse_digits_csv(&row.join(",")).is_err());
    }
}
