//! Patches and positions: how an image becomes a sequence of vectors.
//!
//! Reference: `SiglipVisionEmbeddings` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L235>

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use crate::config::VisionConfig;

/// A stride-`patch_size` convolution cuts the image into patches and projects each to `hidden_size`;
/// a learned vector per position is added. There is no class token.
#[derive(Debug, Clone)]
pub struct SiglipVisionEmbeddings {
    patch_embedding: Conv2d,
    /// `position_embedding.weight`, one row per patch: (n, d).
    position_embedding: Tensor,
}

impl SiglipVisionEmbeddings {
    pub fn new(cfg: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        let conv = Conv2dConfig {
            stride: cfg.patch_size,
            ..Default::default()
        };
        let patch_embedding = candle_nn::conv2d(
            cfg.num_channels,
            cfg.hidden_size,
            cfg.patch_size,
            conv,
            vb.pp("patch_embedding"),
        )?;
        let position_embedding = vb
            .pp("position_embedding")
            .get((cfg.num_patches(), cfg.hidden_size), "weight")?
            .to_dtype(DType::F32)?; // f32 also when the checkpoint's matrices are held in f16
        Ok(Self {
            patch_embedding,
            position_embedding,
        })
    }

    /// (b, c, h, w) pixels → (b, n, d) patch vectors.
    pub fn forward(&self, pixel_values: &Tensor) -> Result<Tensor> {
        let patches = self.patch_embedding.forward(pixel_values)?; // (b, d, grid, grid)
        let patches = patches.flatten_from(2)?.transpose(1, 2)?; // (b, n, d)
        patches.broadcast_add(&self.position_embedding)
    }

    /// The learned position vectors, (n, d).
    pub fn position_embedding(&self) -> &Tensor {
        &self.position_embedding
    }

    /// The convolution's filters, (d, c, p, p): one small RGB image per output channel.
    pub fn patch_filters(&self) -> &Tensor {
        self.patch_embedding.weight()
    }
}
