//! Multi-head self-attention: how patches exchange information.
//!
//! Reference: `SiglipAttention` and `eager_attention_forward` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L336>

use candle_core::{Module, Result, Tensor};
use candle_nn::{linear, Linear, VarBuilder};

use crate::config::VisionConfig;

#[derive(Debug, Clone)]
pub struct SiglipAttention {
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    out_proj: Linear,
    num_heads: usize,
    scale: f64,
}

impl SiglipAttention {
    pub fn new(cfg: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.hidden_size;
        Ok(Self {
            q_proj: linear(d, d, vb.pp("q_proj"))?,
            k_proj: linear(d, d, vb.pp("k_proj"))?,
            v_proj: linear(d, d, vb.pp("v_proj"))?,
            out_proj: linear(d, d, vb.pp("out_proj"))?,
            num_heads: cfg.num_attention_heads,
            scale: (cfg.head_dim() as f64).powf(-0.5),
        })
    }

    /// (b, n, d) → the mixed vectors (b, n, d) and the attention probabilities (b, heads, n, n).
    pub fn forward(&self, xs: &Tensor) -> Result<(Tensor, Tensor)> {
        let (b, n, d) = xs.dims3()?;
        let q = split_heads(&self.q_proj.forward(xs)?, self.num_heads)?; // (b, heads, n, head_dim)
        let k = split_heads(&self.k_proj.forward(xs)?, self.num_heads)?;
        let v = split_heads(&self.v_proj.forward(xs)?, self.num_heads)?;
        let (context, probs) = attend(&q, &k, &v, self.scale)?; // (b, heads, n, head_dim), (b, heads, n, n)
        let context = context.transpose(1, 2)?.reshape((b, n, d))?; // (b, n, d)
        Ok((self.out_proj.forward(&context)?, probs))
    }
}

/// (b, n, d) → (b, heads, n, head_dim).
pub(crate) fn split_heads(xs: &Tensor, num_heads: usize) -> Result<Tensor> {
    let (b, n, d) = xs.dims3()?;
    xs.reshape((b, n, num_heads, d / num_heads))?.transpose(1, 2)?.contiguous()
}

/// Scaled dot-product attention as transformers' eager path computes it:
/// `softmax(q kᵀ · scale) v`, softmax in f32. Returns the context and the probabilities.
pub(crate) fn attend(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<(Tensor, Tensor)> {
    let scores = (q.matmul(&k.t()?)? * scale)?; // (b, heads, n_q, n_k)
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let context = probs.matmul(v)?; // (b, heads, n_q, head_dim)
    Ok((context, probs))
}
