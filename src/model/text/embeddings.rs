//! Tokens and positions: how a caption becomes a sequence of vectors.
//!
//! Reference: `SiglipTextEmbeddings` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L292>

use candle_core::{DType, Result, Tensor};
use candle_nn::VarBuilder;

use crate::config::TextConfig;

/// A learned vector per token id plus a learned vector per position (0, 1, … — the text tower has no
/// other notion of order).
#[derive(Debug, Clone)]
pub struct SiglipTextEmbeddings {
    /// `token_embedding.weight`, (vocab, d): f32, or f16 when the matrices are held in f16.
    token_embedding: Tensor,
    /// `position_embedding.weight`, (max_positions, d), f32.
    position_embedding: Tensor,
}

impl SiglipTextEmbeddings {
    pub fn new(cfg: &TextConfig, vb: VarBuilder) -> Result<Self> {
        let d = cfg.hidden_size;
        Ok(Self {
            token_embedding: vb
                .pp("token_embedding")
                .get((cfg.vocab_size, d), "weight")?,
            position_embedding: vb
                .pp("position_embedding")
                .get((cfg.max_position_embeddings, d), "weight")?
                .to_dtype(DType::F32)?,
        })
    }

    /// (b, n) token ids (u32) → (b, n) vectors (b, n, d). Fails for an id outside the vocabulary or
    /// a sequence longer than the position table, as transformers does.
    pub fn forward(&self, input_ids: &Tensor) -> Result<Tensor> {
        let (b, n) = input_ids.dims2()?;
        let (vocab, d) = self.token_embedding.dims2()?;
        let positions = self.position_embedding.dim(0)?;
        if n > positions {
            candle_core::bail!(
                "{n} tokens are more than the {positions} positions the text tower has; \
                 tokenize with truncation to at most {positions}"
            )
        }
        let ids = input_ids.flatten_all()?;
        if let Some(bad) = ids
            .to_vec1::<u32>()?
            .into_iter()
            .find(|&id| id as usize >= vocab)
        {
            candle_core::bail!("token id {bad} is outside the vocabulary of {vocab} tokens")
        }
        let tokens = self
            .token_embedding
            .index_select(&ids, 0)?
            .to_dtype(DType::F32)?
            .reshape((b, n, d))?; // (b, n, d)
        tokens.broadcast_add(&self.position_embedding.narrow(0, 0, n)?)
    }
}
