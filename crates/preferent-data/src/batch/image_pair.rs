//! Image-pair collation for Diffusion-DPO: `[preferred ; dispreferred]` image stacks.

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{backend::Backend, Bool, Tensor, TensorData};

use crate::error::DataError;
use crate::records::{Condition, ImagePairRecord, PairLabel};

/// What to do with tied image pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TiePolicy {
    /// Drop ties and count them (Diffusion-DPO trains on strict preferences only).
    Drop,
    /// Keep ties (first image in the "preferred" slot) and flag them in `tie_mask`.
    Keep,
}

/// A collated image-pair batch on the host (see [`ImagePairBatch`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HostImagePairBatch {
    /// Pairs kept, `B`.
    pub num_pairs: usize,
    /// Input positions of the kept pairs.
    pub kept: Vec<usize>,
    /// `[C, H, W]` shared by every image.
    pub image_shape: [usize; 3],
    /// `[2B, C, H, W]` row-major: rows `0..B` preferred, rows `B..2B` dispreferred.
    pub images: Vec<f32>,
    /// `[B]`: true for kept ties.
    pub tie_mask: Vec<bool>,
    /// Conditions of the kept pairs, in order.
    pub conditions: Vec<Condition>,
    /// Ties dropped under [`TiePolicy::Drop`].
    pub ties_dropped: usize,
}

/// An image-pair batch on a device.
///
/// ```text
/// images[i]     = winner of pair i   (first if label = First or Tie, else second)
/// images[B + i] = loser of pair i
/// ```
///
/// # Shapes
/// - `images`: `[2B, C, H, W]`
/// - `tie_mask`: `[B]` (Bool)
///
/// # References
/// Diffusion-DPO, arXiv:2311.12908 (Pick-a-Pic v2 training, ties removed); diffusers
/// `examples/research_projects/diffusion_dpo/train_diffusion_dpo.py` (concatenates w and l).
#[derive(Debug, Clone)]
pub struct ImagePairBatch<B: Backend> {
    /// Preferred images then dispreferred images.
    pub images: Tensor<B, 4>,
    /// True for ties kept under [`TiePolicy::Keep`].
    pub tie_mask: Tensor<B, 1, Bool>,
    /// Conditions of the kept pairs (text or embeddings), in order.
    pub conditions: Vec<Condition>,
    /// Input positions of the kept pairs.
    pub kept: Vec<usize>,
    /// Ties dropped.
    pub ties_dropped: usize,
}

/// Collates image pairs on the host; every image must share one `[C, H, W]` shape
/// ([`DataError::Shape`] otherwise), hold only finite values ([`DataError::NonFinite`]
/// otherwise) and at least one pair must remain ([`DataError::EmptyBatch`]).
pub fn collate_image_pairs(
    items: &[ImagePairRecord],
    policy: TiePolicy,
) -> Result<HostImagePairBatch, DataError> {
    let mut kept = Vec::with_capacity(items.len());
    let mut ties_dropped = 0;
    for (i, r) in items.iter().enumerate() {
        if r.label == PairLabel::Tie && policy == TiePolicy::Drop {
            ties_dropped += 1;
        } else {
            kept.push(i);
        }
    }
    let Some(&first) = kept.first() else {
        return Err(DataError::EmptyBatch {
            items: items.len(),
            dropped: ties_dropped,
        });
    };
    let shape = items[first].first.shape;
    let numel: usize = shape.iter().product();
    let mut winners = Vec::with_capacity(kept.len() * numel);
    let mut losers = Vec::with_capacity(kept.len() * numel);
    for &i in &kept {
        let r = &items[i];
        for img in [&r.first, &r.second] {
            if img.shape != shape || img.data.len() != numel {
                return Err(DataError::Shape {
                    what: format!(
                        "image of pair {i} (shape {:?}, batch shape {shape:?})",
                        img.shape
                    ),
                    expected: numel,
                    got: img.data.len(),
                });
            }
            crate::st::check_finite("<batch>", &format!("image of pair {i}"), &img.data)?;
        }
        let (w, l) = match r.label {
            PairLabel::Second => (&r.second, &r.first),
            PairLabel::First | PairLabel::Tie => (&r.first, &r.second),
        };
        winners.extend_from_slice(&w.data);
        losers.extend_from_slice(&l.data);
    }
    winners.extend(losers);
    Ok(HostImagePairBatch {
        num_pairs: kept.len(),
        image_shape: shape,
        images: winners,
        tie_mask: kept
            .iter()
            .map(|&i| items[i].label == PairLabel::Tie)
            .collect(),
        conditions: kept.iter().map(|&i| items[i].condition.clone()).collect(),
        kept,
        ties_dropped,
    })
}

impl HostImagePairBatch {
    /// Moves the batch onto `device`.
    pub fn to_device<B: Backend>(&self, device: &B::Device) -> ImagePairBatch<B> {
        let [c, h, w] = self.image_shape;
        ImagePairBatch {
            images: Tensor::from_data(
                TensorData::new(self.images.clone(), [2 * self.num_pairs, c, h, w]),
                device,
            ),
            tie_mask: Tensor::from_data(
                TensorData::new(self.tie_mask.clone(), [self.num_pairs]),
                device,
            ),
            conditions: self.conditions.clone(),
            kept: self.kept.clone(),
            ties_dropped: self.ties_dropped,
        }
    }
}

/// Collates [`ImagePairRecord`]s; implements burn's [`Batcher`].
#[derive(Debug, Clone, Copy)]
pub struct ImagePairCollator {
    /// Tie handling.
    pub tie_policy: TiePolicy,
}

impl<B: Backend> Batcher<B, ImagePairRecord, Result<ImagePairBatch<B>, DataError>>
    for ImagePairCollator
{
    fn batch(
        &self,
        items: Vec<ImagePairRecord>,
        device: &B::Device,
    ) -> Result<ImagePairBatch<B>, DataError> {
        Ok(collate_image_pairs(&items, self.tie_policy)?.to_device(device))
    }
}
