//! `SiglipModel`: both towers, and how an image and a caption become one number each pair — the
//! cosine of their embeddings, scaled by a learned temperature and shifted by a learned bias. Each
//! pair's probability is its own sigmoid: SigLIP's scores do not compete, so they need not sum to 1.
//!
//! Reference: `SiglipModel.forward` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L1080>

use candle_core::{DType, Device, Tensor, D};

use super::text::{SiglipTextModel, TextTrace};
use super::{KeyMask, SiglipVisionModel, VisionTrace};
use crate::checkpoint::{Checkpoint, Tower, WeightStorage};
use crate::config::{TextConfig, VisionConfig};
use crate::error::{Error, Result};

/// `logit_scale` (t, stored as log-temperature) and `logit_bias` (b): logit = exp(t) · cos + b.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogitParams {
    pub logit_scale: f32,
    pub logit_bias: f32,
}

impl LogitParams {
    /// `exp(logit_scale)`, computed in f32 as torch does.
    pub fn temperature(&self) -> f32 {
        self.logit_scale.exp()
    }

    /// The logit of one cosine similarity.
    pub fn logit(&self, cosine: f32) -> f32 {
        cosine * self.temperature() + self.logit_bias
    }

    /// (n_text, n_image) logits from L2-normalised embeddings (n_text, d) and (n_image, d):
    /// `text_embeds · image_embedsᵀ · exp(t) + b`, transformers' `logits_per_text`.
    pub fn logits_per_text(&self, text_embeds: &Tensor, image_embeds: &Tensor) -> Result<Tensor> {
        let cosines = text_embeds.matmul(&image_embeds.t()?)?; // (n_text, n_image)
        Ok(((cosines * self.temperature() as f64)? + self.logit_bias as f64)?)
    }
}

/// Rows divided by their L2 norm, as `x / x.norm(p=2, dim=-1, keepdim=True)`.
pub fn l2_normalize(xs: &Tensor) -> Result<Tensor> {
    let norms = xs.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?;
    Ok(xs.broadcast_div(&norms)?)
}

/// What `SiglipModel.forward` returns, plus both towers' traces.
#[derive(Debug, Clone)]
pub struct SiglipOutput {
    /// (n_image, n_text).
    pub logits_per_image: Tensor,
    /// (n_text, n_image).
    pub logits_per_text: Tensor,
    /// (n_text, d), L2-normalised.
    pub text_embeds: Tensor,
    /// (n_image, d), L2-normalised.
    pub image_embeds: Tensor,
    pub text: TextTrace,
    pub vision: VisionTrace,
}

/// `SiglipModel`: the vision tower, the text tower and the logit parameters.
#[derive(Debug, Clone)]
pub struct SiglipModel {
    pub vision: SiglipVisionModel,
    pub text: SiglipTextModel,
    pub logits: LogitParams,
}

impl SiglipModel {
    /// Both towers and the logit parameters from one `model.safetensors` (a SiglipModel checkpoint).
    pub fn from_safetensors(
        vision: &VisionConfig,
        text: &TextConfig,
        bytes: &[u8],
        storage: WeightStorage,
    ) -> Result<Self> {
        let logits = Checkpoint::parse_tower(bytes, Tower::Text)?
            .logit_params()?
            .ok_or_else(|| {
                Error::Checkpoint(
                    "no `logit_scale` / `logit_bias` beside the text tower: this is a bare text model, \
                     not a SiglipModel; scores need both"
                        .into(),
                )
            })?;
        if !vision.vision_use_head {
            return Err(Error::Config(
                "the vision tower has no pooling head (`vision_use_head` is false), so it makes no \
                 image embedding to score against text"
                    .into(),
            ));
        }
        Ok(Self {
            vision: SiglipVisionModel::from_safetensors(vision, bytes, storage)?,
            text: SiglipTextModel::from_safetensors(text, bytes, storage)?,
            logits: LogitParams {
                logit_scale: logits.0,
                logit_bias: logits.1,
            },
        })
    }

    /// Pixel values (n_image, c, h, w) and token ids (n_text, n) with their attention mask →
    /// logits, embeddings and both traces, as `SiglipModel.forward`.
    pub fn forward(
        &self,
        pixel_values: &Tensor,
        input_ids: &Tensor,
        mask: Option<&KeyMask>,
    ) -> Result<SiglipOutput> {
        let vision = self.vision.forward(pixel_values)?;
        let text = self.text.forward(input_ids, mask)?;
        let pooled = vision
            .pooler_output
            .as_ref()
            .ok_or_else(|| Error::Config("the vision tower has no pooling head".into()))?;
        let image_embeds = l2_normalize(pooled)?;
        let text_embeds = l2_normalize(&text.pooler_output)?;
        let logits_per_text = self.logits.logits_per_text(&text_embeds, &image_embeds)?;
        Ok(SiglipOutput {
            logits_per_image: logits_per_text.t()?.contiguous()?,
            logits_per_text,
            text_embeds,
            image_embeds,
            text,
            vision,
        })
    }
}

/// Token ids (one row per sequence, all the same length) as the (n, len) u32 tensor the text tower takes.
pub fn ids_tensor(rows: &[Vec<u32>]) -> Result<Tensor> {
    let len = rows.first().map_or(0, Vec::len);
    if rows.iter().any(|r| r.len() != len) {
        return Err(Error::Text(
            "token sequences of different lengths: pad them to one length".into(),
        ));
    }
    let flat: Vec<u32> = rows.concat();
    Ok(Tensor::from_vec(flat, (rows.len(), len), &Device::Cpu)?.to_dtype(DType::U32)?)
}
