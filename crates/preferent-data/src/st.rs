//! Small helpers over the `safetensors` crate for `f32` tensors with string metadata.

use std::collections::HashMap;

use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use crate::error::DataError;

/// An owned `f32` tensor to be written.
pub(crate) struct F32Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

fn st_err(file: &str, e: impl std::fmt::Display) -> DataError {
    DataError::Safetensors {
        file: file.to_string(),
        problem: e.to_string(),
    }
}

/// The first NaN or ±∞ of `data`, as a [`DataError::NonFinite`] naming `file` and `tensor`.
pub(crate) fn check_finite(file: &str, tensor: &str, data: &[f32]) -> Result<(), DataError> {
    match data.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(DataError::NonFinite {
            file: file.to_string(),
            tensor: tensor.to_string(),
            index,
            value: data[index],
        }),
    }
}

/// Serialises `tensors` with `metadata` into safetensors bytes; every value must be finite.
pub(crate) fn serialize_f32(
    tensors: &[F32Tensor],
    metadata: HashMap<String, String>,
    file: &str,
) -> Result<Vec<u8>, DataError> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = Vec::with_capacity(tensors.len());
    for (t, b) in tensors.iter().zip(&bytes) {
        check_finite(file, &t.name, &t.data)?;
        let expected: usize = t.shape.iter().product();
        if expected != t.data.len() {
            return Err(DataError::Shape {
                what: t.name.clone(),
                expected,
                got: t.data.len(),
            });
        }
        views.push((
            t.name.clone(),
            TensorView::new(Dtype::F32, t.shape.clone(), b).map_err(|e| st_err(file, e))?,
        ));
    }
    safetensors::serialize(views, &Some(metadata)).map_err(|e| st_err(file, e))
}

/// A parsed safetensors buffer.
pub(crate) struct Loaded<'a> {
    file: String,
    st: SafeTensors<'a>,
    pub metadata: HashMap<String, String>,
}

impl<'a> Loaded<'a> {
    pub fn parse(bytes: &'a [u8], file: &str) -> Result<Self, DataError> {
        let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| st_err(file, e))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(|e| st_err(file, e))?;
        Ok(Self {
            file: file.to_string(),
            st,
            metadata,
        })
    }

    pub fn meta(&self, key: &str) -> Result<&str, DataError> {
        self.metadata
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| st_err(&self.file, format!("missing metadata entry `{key}`")))
    }

    /// Reads an `f32` tensor: (shape, values); every value must be finite.
    pub fn f32(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), DataError> {
        let view = self
            .st
            .tensor(name)
            .map_err(|e| st_err(&self.file, format!("tensor `{name}`: {e}")))?;
        if view.dtype() != Dtype::F32 {
            return Err(st_err(
                &self.file,
                format!("tensor `{name}` has dtype {:?}, expected F32", view.dtype()),
            ));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect::<Vec<f32>>();
        check_finite(&self.file, name, &data)?;
        Ok((view.shape().to_vec(), data))
    }

    pub fn error(&self, problem: impl std::fmt::Display) -> DataError {
        st_err(&self.file, problem)
    }
}

/// Reads a whole file.
pub(crate) fn read_file(path: &std::path::Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|e| DataError::io(path.display(), e))
}

/// Writes a whole file.
pub(crate) fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), DataError> {
    std::fs::write(path, bytes).map_err(|e| DataError::io(path.display(), e))
}
