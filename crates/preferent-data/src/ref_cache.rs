//! Precomputed reference log-probs stored as safetensors, keyed by a dataset fingerprint.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::error::DataError;
use crate::st::{check_finite, read_file, serialize_f32, write_file, F32Tensor, Loaded};

const FINGERPRINT_KEY: &str = "preferent.dataset_fingerprint";
const FORMAT_KEY: &str = "preferent.format";
const FORMAT: &str = "ref_logps/v1";
const CHOSEN: &str = "ref_chosen_logps";
const REJECTED: &str = "ref_rejected_logps";

/// Reference-model sequence log-probs of every pair of a dataset, in dataset order.
///
/// Saved as safetensors with tensors `ref_chosen_logps` and `ref_rejected_logps` (`F32 [N]`)
/// and the dataset fingerprint ([`crate::fingerprint::dataset_fingerprint`]) in the header
/// metadata. Loading against a dataset whose fingerprint differs fails with
/// [`DataError::StaleCache`].
///
/// Every log-prob must be finite: a NaN or ±∞ is rejected with [`DataError::NonFinite`] (naming
/// the tensor and the pair index) by [`RefLogpCache::new`], on write ([`RefLogpCache::to_bytes`],
/// [`RefLogpCache::save`]), on read ([`RefLogpCache::from_bytes`], [`RefLogpCache::load`]) and
/// by [`RefLogpCache::gather`], so a cache never feeds a NaN reference into a loss.
///
/// # References
/// TRL `DPOConfig.precompute_ref_log_probs` (`ref_chosen_logps` / `ref_rejected_logps`
/// columns).
#[derive(Debug, Clone, PartialEq)]
pub struct RefLogpCache {
    /// Fingerprint of the dataset the log-probs belong to.
    pub fingerprint: u64,
    /// `lp_ref(y_w)` per pair.
    pub chosen: Vec<f32>,
    /// `lp_ref(y_l)` per pair.
    pub rejected: Vec<f32>,
}

impl RefLogpCache {
    /// A cache; `chosen` and `rejected` must have equal lengths and finite values.
    ///
    /// # Errors
    /// [`DataError::Shape`] for unequal lengths; [`DataError::NonFinite`] naming the first
    /// non-finite value's tensor and pair index.
    pub fn new(fingerprint: u64, chosen: Vec<f32>, rejected: Vec<f32>) -> Result<Self, DataError> {
        Self::build(fingerprint, chosen, rejected, "<memory>")
    }

    fn build(
        fingerprint: u64,
        chosen: Vec<f32>,
        rejected: Vec<f32>,
        file: &str,
    ) -> Result<Self, DataError> {
        check_finite(file, CHOSEN, &chosen)?;
        check_finite(file, REJECTED, &rejected)?;
        if chosen.len() != rejected.len() {
            return Err(DataError::Shape {
                what: REJECTED.into(),
                expected: chosen.len(),
                got: rejected.len(),
            });
        }
        Ok(Self {
            fingerprint,
            chosen,
            rejected,
        })
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.chosen.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.chosen.is_empty()
    }

    /// Safetensors bytes.
    ///
    /// # Errors
    /// [`DataError::NonFinite`] if a value is NaN or ±∞ (the public fields may have been
    /// changed since [`RefLogpCache::new`]); [`DataError::Shape`] for unequal lengths.
    pub fn to_bytes(&self) -> Result<Vec<u8>, DataError> {
        if self.chosen.len() != self.rejected.len() {
            return Err(DataError::Shape {
                what: REJECTED.into(),
                expected: self.chosen.len(),
                got: self.rejected.len(),
            });
        }
        let n = self.len();
        let mut meta = HashMap::new();
        meta.insert(FORMAT_KEY.to_string(), FORMAT.to_string());
        meta.insert(
            FINGERPRINT_KEY.to_string(),
            format!("{:016x}", self.fingerprint),
        );
        serialize_f32(
            &[
                F32Tensor {
                    name: CHOSEN.into(),
                    shape: vec![n],
                    data: self.chosen.clone(),
                },
                F32Tensor {
                    name: REJECTED.into(),
                    shape: vec![n],
                    data: self.rejected.clone(),
                },
            ],
            meta,
            "<memory>",
        )
    }

    /// Writes the cache to `path` (nothing is written if [`RefLogpCache::to_bytes`] fails).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DataError> {
        write_file(path.as_ref(), &self.to_bytes()?)
    }

    /// Parses safetensors bytes; `expected_fingerprint` (if given) must match.
    ///
    /// # Errors
    /// [`DataError::Safetensors`] for a malformed file, [`DataError::StaleCache`] for another
    /// dataset's cache, [`DataError::NonFinite`] for a NaN or ±∞ log-prob.
    pub fn from_bytes(bytes: &[u8], expected_fingerprint: Option<u64>) -> Result<Self, DataError> {
        parse(bytes, "<memory>", expected_fingerprint)
    }

    /// Loads the cache for a dataset with fingerprint `expected_fingerprint`.
    ///
    /// # Errors
    /// As [`RefLogpCache::from_bytes`], plus [`DataError::Io`]; errors name `path`.
    pub fn load(path: impl AsRef<Path>, expected_fingerprint: u64) -> Result<Self, DataError> {
        let path = path.as_ref();
        parse(
            &read_file(path)?,
            &path.display().to_string(),
            Some(expected_fingerprint),
        )
    }

    /// The log-probs of pairs `indices` (e.g. a batch's `kept` positions mapped to dataset
    /// indices) as `(chosen [n], rejected [n])` tensors.
    ///
    /// # Errors
    /// [`DataError::InvalidConfig`] for an index out of range; [`DataError::NonFinite`] for a
    /// non-finite value at a requested index.
    pub fn gather<B: Backend>(
        &self,
        indices: &[usize],
        device: &B::Device,
    ) -> Result<(Tensor<B, 1>, Tensor<B, 1>), DataError> {
        let mut c = Vec::with_capacity(indices.len());
        let mut r = Vec::with_capacity(indices.len());
        for &i in indices {
            if i >= self.len() {
                return Err(DataError::InvalidConfig(format!(
                    "index {i} out of range for a reference cache of {} pairs",
                    self.len()
                )));
            }
            for (tensor, v) in [(CHOSEN, self.chosen[i]), (REJECTED, self.rejected[i])] {
                if !v.is_finite() {
                    return Err(DataError::NonFinite {
                        file: "<memory>".into(),
                        tensor: tensor.into(),
                        index: i,
                        value: v,
                    });
                }
            }
            c.push(self.chosen[i]);
            r.push(self.rejected[i]);
        }
        let n = indices.len();
        Ok((
            Tensor::from_data(TensorData::new(c, [n]), device),
            Tensor::from_data(TensorData::new(r, [n]), device),
        ))
    }
}

fn parse(bytes: &[u8], file: &str, expected: Option<u64>) -> Result<RefLogpCache, DataError> {
    let loaded = Loaded::parse(bytes, file)?;
    let format = loaded.meta(FORMAT_KEY)?;
    if format != FORMAT {
        return Err(loaded.error(format!("unknown format `{format}`, expected `{FORMAT}`")));
    }
    let fp = loaded.meta(FINGERPRINT_KEY)?;
    let fingerprint = u64::from_str_radix(fp, 16)
        .map_err(|_| loaded.error(format!("fingerprint `{fp}` is not hexadecimal")))?;
    if let Some(e) = expected {
        if e != fingerprint {
            return Err(DataError::StaleCache {
                expected: e,
                found: fingerprint,
            });
        }
    }
    let (cs, chosen) = loaded.f32(CHOSEN)?;
    let (rs, rejected) = loaded.f32(REJECTED)?;
    if cs.len() != 1 || rs.len() != 1 {
        return Err(loaded.error("reference log-probs must be 1-D"));
    }
    RefLogpCache::build(fingerprint, chosen, rejected, file)
}
