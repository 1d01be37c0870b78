//! Multi-head self-attention: how patches exchange information.
//!
//! Reference: `SiglipAttention` and `eager_attention_forward` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L336>

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Linear};
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
        let q = self.q_proj.forward(xs)?; // (b, n, d)
        let k = self.k_proj.forward(xs)?;
        let v = self.v_proj.forward(xs)?;
        let (context, probs) = attend(&q, &k, &v, self.num_heads, self.scale)?; // (b, n, d), (b, heads, n, n)
        Ok((self.out_proj.forward(&context)?, probs))
    }
}

/// Scaled dot-product attention as transformers' eager path computes it, head by head:
/// `softmax(q kᵀ · scale) v`, softmax in f32. q is (b, n_q, d), k and v (b, n_k, d) with the heads
/// side by side in d; returns the context (b, n_q, d) and the probabilities (b, heads, n_q, n_k).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    num_heads: usize,
    scale: f64,
) -> Result<(Tensor, Tensor)> {
    let (b, n_q, d) = q.dims3()?;
    let split = |xs: &Tensor| -> Result<Tensor> {
        let (b, n, d) = xs.dims3()?;
        xs.reshape((b, n, num_heads, d / num_heads))?
            .transpose(1, 2)?
            .contiguous() // (b, heads, n, head_dim)
    };
    let (q, k, v) = (split(q)?, split(k)?, split(v)?);
    let scores = (q.matmul(&k.t()?)? * scale)?; // (b, heads, n_q, n_k)
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let context = probs.matmul(&v)?; // (b, heads, n_q, head_dim)
    let context = context.transpose(1, 2)?.reshape((b, n_q, d))?; // (b, n_q, d)
    Ok((context, probs))
}

/// The same, for the WebAssembly build: each head's `q kᵀ` and `p v` go through [`crate::gemm`]
/// reading the head's columns in place (no split/transpose copies), and the softmax is
/// [`crate::simd`]'s.
#[cfg(target_arch = "wasm32")]
pub(crate) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    num_heads: usize,
    scale: f64,
) -> Result<(Tensor, Tensor)> {
    use super::linear::with_f32_slice;
    use crate::gemm::{matmul_strided, PackedB};

    let (b, n_q, d) = q.dims3()?;
    let n_k = k.dim(1)?;
    let head_dim = d / num_heads;
    let mut probs = vec![0f32; b * num_heads * n_q * n_k];
    let mut context = vec![0f32; b * n_q * d];
    with_f32_slice(q, |q| {
        with_f32_slice(k, |k| {
            with_f32_slice(v, |v| {
                for batch in 0..b {
                    let (q, k, v) = (
                        &q[batch * n_q * d..],
                        &k[batch * n_k * d..],
                        &v[batch * n_k * d..],
                    );
                    for head in 0..num_heads {
                        let col = head * head_dim;
                        let p = &mut probs[(batch * num_heads + head) * n_q * n_k..][..n_q * n_k];
                        let keys = PackedB::pack(n_k, head_dim, |row, c| k[row * d + col + c]);
                        matmul_strided(&q[col..], d, n_q, &keys, None, p, n_k); // (n_q, n_k)
                        crate::simd::softmax_rows_inplace(p, n_k, scale as f32);
                        let values = PackedB::pack(head_dim, n_k, |row, c| v[c * d + col + row]);
                        let out = &mut context[batch * n_q * d + col..];
                        matmul_strided(p, n_k, n_q, &values, None, out, d); // (n_q, head_dim) in place
                    }
                }
            })
        })
    })???;
    let device = q.device();
    Ok((
        Tensor::from_vec(context, (b, n_q, d), device)?,
        Tensor::from_vec(probs, (b, num_heads, n_q, n_k), device)?,
    ))
}
