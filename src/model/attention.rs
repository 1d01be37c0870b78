//! Multi-head self-attention: how patches exchange information.
//!
//! Reference: `SiglipAttention` and `eager_attention_forward` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L336>

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Linear};
use crate::config::EncoderConfig;

/// Which keys each sequence of a batch may attend to: transformers' `attention_mask` (1 = a token,
/// 0 = padding). Masked keys get probability exactly 0 in every row (transformers adds the dtype's
/// minimum to their scores, which softmax turns into 0).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMask {
    keep: Vec<bool>,
    len: usize,
}

impl KeyMask {
    /// From (batch, len) flags, row-major; every row must keep at least one key.
    pub fn new(keep: Vec<bool>, len: usize) -> Result<Self> {
        if len == 0 || !keep.len().is_multiple_of(len) {
            candle_core::bail!(
                "attention mask of {} flags is not whole rows of {len}",
                keep.len()
            )
        }
        if keep.chunks_exact(len).any(|row| !row.contains(&true)) {
            candle_core::bail!("an attention mask row masks every token")
        }
        Ok(Self { keep, len })
    }

    /// Whether sequence `batch` may attend to key `key`.
    pub fn keeps(&self, batch: usize, key: usize) -> bool {
        self.keep[batch * self.len + key]
    }

    /// Checks the mask fits keys (b, n_k).
    fn check(&self, b: usize, n_k: usize) -> Result<()> {
        if self.len != n_k || self.keep.len() != b * n_k {
            candle_core::bail!(
                "attention mask is ({}, {}), the keys are ({b}, {n_k})",
                self.keep.len() / self.len,
                self.len
            )
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct SiglipAttention {
    /// `q_proj`, `k_proj` and `v_proj` as one product: their weights stacked (3d, d), so the input is
    /// read once and one parallel step computes all three.
    qkv_proj: Linear,
    out_proj: Linear,
    num_heads: usize,
    scale: f64,
}

impl SiglipAttention {
    pub fn new(cfg: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.hidden_size;
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for name in ["q_proj", "k_proj", "v_proj"] {
            weights.push(vb.pp(name).get((d, d), "weight")?);
            biases.push(vb.pp(name).get(d, "bias")?);
        }
        Ok(Self {
            qkv_proj: Linear::new(Tensor::cat(&weights, 0)?, Some(Tensor::cat(&biases, 0)?))?,
            out_proj: linear(d, d, vb.pp("out_proj"))?,
            num_heads: cfg.num_attention_heads,
            scale: (cfg.head_dim() as f64).powf(-0.5),
        })
    }

    /// (b, n, d) → the mixed vectors (b, n, d) and the attention probabilities (b, heads, n, n).
    pub fn forward(&self, xs: &Tensor, mask: Option<&KeyMask>) -> Result<(Tensor, Tensor)> {
        let qkv = self.qkv_proj.forward(xs)?; // (b, n, 3d)
        let d = qkv.dim(2)? / 3;
        let (q, k, v) = (
            qkv.narrow(2, 0, d)?,
            qkv.narrow(2, d, d)?,
            qkv.narrow(2, 2 * d, d)?,
        );
        let (context, probs) = attend(&q, &k, &v, self.num_heads, self.scale, mask)?; // (b, n, d), (b, heads, n, n)
        Ok((self.out_proj.forward(&context)?, probs))
    }
}

/// Scaled dot-product attention as transformers' eager path computes it, head by head:
/// `softmax(q kᵀ · scale + mask) v`, softmax in f32. q is (b, n_q, d), k and v (b, n_k, d) with the
/// heads side by side in d; returns the context (b, n_q, d) and the probabilities (b, heads, n_q, n_k).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    num_heads: usize,
    scale: f64,
    mask: Option<&KeyMask>,
) -> Result<(Tensor, Tensor)> {
    let (b, n_q, d) = q.dims3()?;
    let split = |xs: &Tensor| -> Result<Tensor> {
        let (b, n, d) = xs.dims3()?;
        xs.reshape((b, n, num_heads, d / num_heads))?
            .transpose(1, 2)?
            .contiguous() // (b, heads, n, head_dim)
    };
    let (q, k, v) = (split(q)?, split(k)?, split(v)?);
    let mut scores = (q.matmul(&k.t()?)? * scale)?; // (b, heads, n_q, n_k)
    if let Some(mask) = mask {
        let n_k = scores.dim(3)?;
        mask.check(b, n_k)?;
        let additive: Vec<f32> = mask
            .keep
            .iter()
            .map(|&keep| if keep { 0.0 } else { f32::MIN })
            .collect();
        let additive = Tensor::from_vec(additive, (b, 1, 1, n_k), scores.device())?;
        scores = scores.broadcast_add(&additive)?;
    }
    let probs = candle_nn::ops::softmax_last_dim(&scores)?;
    let context = probs.matmul(&v)?; // (b, heads, n_q, head_dim)
    let context = context.transpose(1, 2)?.reshape((b, n_q, d))?; // (b, n_q, d)
    Ok((context, probs))
}

/// A pointer the attention heads share; each writes a disjoint part of the buffer behind it.
#[cfg(target_arch = "wasm32")]
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);
#[cfg(target_arch = "wasm32")]
unsafe impl Send for SharedMut {}
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for SharedMut {}
#[cfg(target_arch = "wasm32")]
impl SharedMut {
    fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: callers stay inside the buffer this pointer was made from.
        unsafe { self.0.add(offset) }
    }
}

/// The same, for the WebAssembly build: each head's `q kᵀ` and `p v` go through [`crate::gemm`]
/// reading the head's columns in place (no split/transpose copies; q, k and v may be column slices of
/// one (b, n, 3d) product), and the softmax is [`crate::simd`]'s. With the `threads` feature the
/// heads run on the pool.
#[cfg(target_arch = "wasm32")]
pub(crate) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    num_heads: usize,
    scale: f64,
    mask: Option<&KeyMask>,
) -> Result<(Tensor, Tensor)> {
    use super::linear::with_rows;
    use crate::gemm::{assume_init, matmul_strided, uninit, PackedB};
    use std::mem::MaybeUninit;

    let (b, n_q, d) = q.dims3()?;
    let n_k = k.dim(1)?;
    let head_dim = d / num_heads;
    if let Some(mask) = mask {
        mask.check(b, n_k)?;
    }
    // Every value of both is written below, by exactly one head.
    let mut probs = uninit(b * num_heads * n_q * n_k);
    let mut context = uninit(b * n_q * d);
    // Each head writes its own block of `probs` and its own columns of `context`.
    let probs_at = SharedMut(probs.as_mut_ptr() as *mut f32);
    let context_at = SharedMut(context.as_mut_ptr() as *mut f32);
    with_rows(q, |q, q_ld, q_batch| {
        with_rows(k, |k, k_ld, k_batch| {
            with_rows(v, |v, v_ld, v_batch| {
                let one_head = |job: usize| {
                    let (batch, head) = (job / num_heads, job % num_heads);
                    let (q, k, v) = (
                        &q[batch * q_batch..],
                        &k[batch * k_batch..],
                        &v[batch * v_batch..],
                    );
                    let col = head * head_dim;
                    // SAFETY: job `(batch, head)` alone writes this (n_q, n_k) block of `probs` and
                    // the head's columns of this batch's rows of `context` (the slice spans the other
                    // heads' columns between rows, which the product never touches); both buffers
                    // outlive the loop.
                    let (scores, out) = unsafe {
                        (
                            std::slice::from_raw_parts_mut(
                                probs_at.at(job * n_q * n_k) as *mut MaybeUninit<f32>,
                                n_q * n_k,
                            ),
                            std::slice::from_raw_parts_mut(
                                context_at.at(batch * n_q * d + col) as *mut MaybeUninit<f32>,
                                (n_q - 1) * d + head_dim,
                            ),
                        )
                    };
                    let keys = PackedB::from_strided_rows(&k[col..], k_ld, n_k, head_dim);
                    // (n_q, n_k) scores
                    matmul_strided(&q[col..], q_ld, n_q, &keys, None, scores, n_k);
                    // SAFETY: the product initialised every score.
                    let scores = unsafe { &mut *(scores as *mut [MaybeUninit<f32>] as *mut [f32]) };
                    match mask {
                        None => crate::simd::softmax_rows_inplace(scores, n_k, scale as f32),
                        Some(mask) => {
                            masked_softmax(scores, n_k, scale as f32, |key| mask.keeps(batch, key))
                        }
                    }
                    let values = PackedB::from_strided_columns(&v[col..], v_ld, head_dim, n_k);
                    matmul_strided(scores, n_k, n_q, &values, None, out, d); // (n_q, head_dim) in place
                };
                #[cfg(feature = "threads")]
                {
                    use rayon::prelude::*;
                    (0..b * num_heads).into_par_iter().for_each(one_head);
                }
                #[cfg(not(feature = "threads"))]
                (0..b * num_heads).for_each(one_head);
            })
        })
    })???;
    let device = q.device();
    // SAFETY: the heads wrote every value of both.
    let (context, probs) = unsafe { (assume_init(context), assume_init(probs)) };
    Ok((
        Tensor::from_vec(context, (b, n_q, d), device)?,
        Tensor::from_vec(probs, (b, num_heads, n_q, n_k), device)?,
    ))
}

/// Softmax of rows whose masked keys must get exactly 0: their scores are pushed far below the rest
/// (the SIMD exponential clamps at e^-87, not 0), then cleared.
#[cfg(target_arch = "wasm32")]
fn masked_softmax(scores: &mut [f32], n_k: usize, scale: f32, keeps: impl Fn(usize) -> bool) {
    let masked: Vec<usize> = (0..n_k).filter(|&key| !keeps(key)).collect();
    for row in scores.chunks_exact_mut(n_k) {
        for &key in &masked {
            row[key] = -1e30;
        }
    }
    crate::simd::softmax_rows_inplace(scores, n_k, scale);
    for row in scores.chunks_exact_mut(n_k) {
        for &key in &masked {
            row[key] = 0.0;
        }
    }
}
