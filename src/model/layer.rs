//! One transformer block: pre-LayerNorm attention, then pre-LayerNorm MLP, each with a residual.
//!
//! Reference: `SiglipEncoderLayer` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L410>

use candle_core::{Module, Result, Tensor};
use candle_nn::{layer_norm, LayerNorm, VarBuilder};

use super::attention::KeyMask;
use super::{SiglipAttention, SiglipMLP};
use crate::config::EncoderConfig;

#[derive(Debug, Clone)]
pub struct SiglipEncoderLayer {
    layer_norm1: LayerNorm,
    self_attn: SiglipAttention,
    layer_norm2: LayerNorm,
    mlp: SiglipMLP,
}

impl SiglipEncoderLayer {
    pub fn new(cfg: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            layer_norm1: layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("layer_norm1"))?,
            self_attn: SiglipAttention::new(cfg, vb.pp("self_attn"))?,
            layer_norm2: layer_norm(cfg.hidden_size, cfg.layer_norm_eps, vb.pp("layer_norm2"))?,
            mlp: SiglipMLP::new(cfg, vb.pp("mlp"))?,
        })
    }

    /// (b, n, d) → the block's output (b, n, d) and its attention probabilities (b, heads, n, n).
    /// `mask` (b, n), 1 = attend, 0 = padding no query may look at (the text tower's).
    pub fn forward(&self, xs: &Tensor, mask: Option<&KeyMask>) -> Result<(Tensor, Tensor)> {
        let (mixed, attention) = self
            .self_attn
            .forward(&self.layer_norm1.forward(xs)?, mask)?;
        let xs = (xs + mixed)?;
        let xs = (&xs + self.mlp.forward(&self.layer_norm2.forward(&xs)?)?)?;
        Ok((xs, attention))
    }
}
