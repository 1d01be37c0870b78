//! Patches and positions: how an image becomes a sequence of vectors.
//!
//! Reference: `SiglipVisionEmbeddings` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L235>

use candle_core::{DType, Result, Tensor};
use candle_nn::VarBuilder;

use super::linear::Linear;
use crate::config::VisionConfig;

/// A stride-`patch_size` convolution cuts the image into patches and projects each to `hidden_size`;
/// a learned vector per position is added. There is no class token.
///
/// A convolution whose stride is its kernel size is one matrix product: each patch's `c·p·p` pixels
/// (in the filters' order) times the filters as a `(d, c·p·p)` matrix — so it runs as a [`Linear`].
#[derive(Debug, Clone)]
pub struct SiglipVisionEmbeddings {
    patch_embedding: Linear,
    /// `patch_embedding.weight`, (d, c, p, p), kept for pictures of the filters.
    filters: Tensor,
    patch_size: usize,
    /// `position_embedding.weight`, one row per patch: (n, d).
    position_embedding: Tensor,
}

impl SiglipVisionEmbeddings {
    pub fn new(cfg: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        let (c, p, d) = (cfg.num_channels, cfg.patch_size, cfg.hidden_size);
        let conv = vb.pp("patch_embedding");
        let filters = conv.get((d, c, p, p), "weight")?;
        let bias = conv.get(d, "bias")?;
        let patch_embedding = Linear::new(filters.reshape((d, c * p * p))?, Some(bias))?;
        let position_embedding = vb
            .pp("position_embedding")
            .get((cfg.num_patches(), cfg.hidden_size), "weight")?
            .to_dtype(DType::F32)?; // f32 also when the checkpoint's matrices are held in f16
        Ok(Self {
            patch_embedding,
            filters,
            patch_size: p,
            position_embedding,
        })
    }

    /// (b, c, h, w) pixels → (b, n, d) patch vectors.
    pub fn forward(&self, pixel_values: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = pixel_values.dims4()?;
        let p = self.patch_size;
        let (rows, cols) = (h / p, w / p); // the convolution drops a remainder narrower than a patch
        let patches = pixel_values
            .narrow(2, 0, rows * p)?
            .narrow(3, 0, cols * p)?
            .reshape((b, c, rows, p, cols, p))?
            .permute((0, 2, 4, 1, 3, 5))? // (b, rows, cols, c, p, p): each patch's pixels together
            .reshape((b, rows * cols, c * p * p))?;
        let patches = self.patch_embedding.forward(&patches)?; // (b, n, d)
        patches.broadcast_add(&self.position_embedding)
    }

    /// The learned position vectors, (n, d).
    pub fn position_embedding(&self) -> &Tensor {
        &self.position_embedding
    }

    /// The convolution's filters, (d, c, p, p): one small RGB image per output channel.
    pub fn patch_filters(&self) -> &Tensor {
        &self.filters
    }
}
