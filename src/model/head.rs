//! The multihead-attention pooling head (MAP): one learned query, the probe, attends over all patches
//! and becomes the image's embedding. Its attention map is SigLIP's answer to "where does the CLS
//! token look?" — transformers computes it and throws it away; we keep it.
//!
//! Reference: `SiglipMultiheadAttentionPoolingHead` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L720>
//! (its `attention` is `torch.nn.MultiheadAttention`, whose `in_proj_weight` stacks q, k and v).

use candle_core::{Module, Result, Tensor};
use candle_nn::{layer_norm, LayerNorm, VarBuilder};

use super::linear::{linear, Linear};

use super::attention::attend;
use super::SiglipMLP;
use crate::config::EncoderConfig;

#[derive(Debug, Clone)]
pub struct SiglipMultiheadAttentionPoolingHead {
    /// `probe`: (1, 1, d).
    probe: Tensor,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    layernorm: LayerNorm,
    mlp: SiglipMLP,
    num_heads: usize,
    scale: f64,
}

impl SiglipMultiheadAttentionPoolingHead {
    pub fn new(cfg: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.hidden_size;
        let attention = vb.pp("attention");
        let in_proj_weight = attention.get((3 * d, d), "in_proj_weight")?; // rows: q, k, v
        let in_proj_bias = attention.get(3 * d, "in_proj_bias")?;
        let part = |i: usize| -> Result<Linear> {
            let weight = in_proj_weight.narrow(0, i * d, d)?.contiguous()?;
            Linear::new(
                weight,
                Some(in_proj_bias.narrow(0, i * d, d)?.contiguous()?),
            )
        };
        Ok(Self {
            probe: vb.get((1, 1, d), "probe")?,
            q_proj: part(0)?,
            k_proj: part(1)?,
            v_proj: part(2)?,
            out_proj: linear(d, d, attention.pp("out_proj"))?,
            layernorm: layer_norm(d, cfg.layer_norm_eps, vb.pp("layernorm"))?,
            mlp: SiglipMLP::new(cfg, vb.pp("mlp"))?,
            num_heads: cfg.num_attention_heads,
            scale: (cfg.head_dim() as f64).powf(-0.5),
        })
    }

    /// (b, n, d) final states → the pooled embedding (b, d) and the probe's attention (b, heads, n).
    pub fn forward(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        let (b, _, d) = xs.dims3()?;
        let probe = self.probe.broadcast_as((b, 1, d))?; // (b, 1, d)
        let q = self.q_proj.forward(&probe)?; // (b, 1, d)
        let k = self.k_proj.forward(xs)?; // (b, n, d)
        let v = self.v_proj.forward(xs)?;
        let (context, probs) = attend(&q, &k, &v, self.num_heads, self.scale, None)?; // (b, 1, d), (b, heads, 1, n)
        let hidden = self.out_proj.forward(&context)?;
        let hidden = (&hidden + self.mlp.forward(&self.layernorm.forward(&hidden)?)?)?; // (b, 1, d)
        Ok((hidden.squeeze(1)?, probs.squeeze(2)?))
    }

    /// The head's output as if the probe attended to one patch alone, for every patch: each patch's
    /// value vector through the out-projection, then the LayerNorm + MLP residual — MaskCLIP's dense
    /// embeddings (Zhou et al., 2022). (b, n, d) final states → (b, n, d). A heuristic: the real head
    /// mixes the values with the probe's attention, and the MLP is not linear.
    pub fn value_path(&self, xs: &Tensor) -> Result<Tensor> {
        let values = self.v_proj.forward(xs)?; // (b, n, d)
        let hidden = self.out_proj.forward(&values)?; // (b, n, d)
        &hidden + self.mlp.forward(&self.layernorm.forward(&hidden)?)?
    }
}
