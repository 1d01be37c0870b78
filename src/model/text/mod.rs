//! The SigLIP text tower: token + position embeddings, the same encoder blocks as the vision tower,
//! a final LayerNorm, and a Linear head on the **last** token (which, with `padding="max_length"`,
//! is usually padding: that is how SigLIP was trained).
//!
//! Reference: `SiglipTextTransformer` / `SiglipTextModel` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L880>

mod embeddings;

pub use embeddings::SiglipTextEmbeddings;

use candle_core::{IndexOp, Module, Result, Tensor};
use candle_nn::{layer_norm, LayerNorm, VarBuilder};

use super::linear::{linear, Linear};
use super::{EncoderTrace, KeyMask, SiglipEncoder};
use crate::checkpoint::{Checkpoint, Tower, WeightStorage};
use crate::config::TextConfig;
use crate::error::{self, Error};
use crate::store::TensorStore;

/// Everything the text tower computed for a batch of token sequences.
#[derive(Debug, Clone)]
pub struct TextTrace {
    /// (b, n, d), after `final_layer_norm`.
    pub last_hidden_state: Tensor,
    /// L + 1 tensors (b, n, d): the embeddings, then each block's output.
    pub hidden_states: Vec<Tensor>,
    /// L tensors (b, heads, n, n) of softmax probabilities.
    pub attentions: Vec<Tensor>,
    /// (b, projection): `head` applied to the last token's state — the unnormalised text embedding.
    pub pooler_output: Tensor,
}

/// `SiglipTextTransformer`: embeddings → encoder → final LayerNorm → head on the last token.
#[derive(Debug, Clone)]
pub struct SiglipTextTransformer {
    embeddings: SiglipTextEmbeddings,
    encoder: SiglipEncoder,
    final_layer_norm: LayerNorm,
    head: Linear,
}

impl SiglipTextTransformer {
    pub fn new(cfg: &TextConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            embeddings: SiglipTextEmbeddings::new(cfg, vb.pp("embeddings"))?,
            encoder: SiglipEncoder::new(&cfg.encoder(), vb.pp("encoder"))?,
            final_layer_norm: layer_norm(
                cfg.hidden_size,
                cfg.layer_norm_eps,
                vb.pp("final_layer_norm"),
            )?,
            head: linear(cfg.hidden_size, cfg.projection_size(), vb.pp("head"))?,
        })
    }

    /// (b, n) token ids → the whole trace. `mask` is transformers' `attention_mask` (padding that no
    /// token may attend to), or `None` to attend to every position.
    pub fn forward(&self, input_ids: &Tensor, mask: Option<&KeyMask>) -> Result<TextTrace> {
        let embeddings = self.embeddings.forward(input_ids)?; // (b, n, d)
        let EncoderTrace {
            hidden_states,
            attentions,
        } = self.encoder.forward(&embeddings, mask)?;
        let last_hidden_state = self
            .final_layer_norm
            .forward(&hidden_states[hidden_states.len() - 1])?;
        let n = last_hidden_state.dim(1)?;
        let last_token = last_hidden_state.i((.., n - 1))?.contiguous()?; // (b, d)
        let pooler_output = self.head.forward(&last_token)?; // (b, projection)
        Ok(TextTrace {
            last_hidden_state,
            hidden_states,
            attentions,
            pooler_output,
        })
    }
}

/// `SiglipTextModel`: the tower and the configuration it was built from.
#[derive(Debug, Clone)]
pub struct SiglipTextModel {
    config: TextConfig,
    text_model: SiglipTextTransformer,
}

impl SiglipTextModel {
    pub fn new(config: &TextConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            config: config.clone(),
            text_model: SiglipTextTransformer::new(config, vb)?,
        })
    }

    /// Builds the text tower from a safetensors file (a whole SiglipModel checkpoint, or the text
    /// tensors alone), checking every tensor against `config`.
    pub fn from_safetensors(
        config: &TextConfig,
        bytes: &[u8],
        storage: WeightStorage,
    ) -> error::Result<Self> {
        let checkpoint = Checkpoint::parse_tower(bytes, Tower::Text)?;
        Self::new(config, checkpoint.var_builder(storage)).map_err(Error::loading)
    }

    /// Builds the text tower from tensors handed over one by one.
    pub fn from_store(config: &TextConfig, store: TensorStore) -> error::Result<Self> {
        Self::new(config, store.into_var_builder(Tower::Text)?).map_err(Error::loading)
    }

    pub fn config(&self) -> &TextConfig {
        &self.config
    }

    /// (b, n) token ids (u32) → the whole trace; see [`SiglipTextTransformer::forward`]. Ids outside
    /// the vocabulary and sequences longer than the position table are errors, as in transformers.
    pub fn forward(&self, input_ids: &Tensor, mask: Option<&KeyMask>) -> error::Result<TextTrace> {
        let c = &self.config;
        let (_, n) = input_ids.dims2().map_err(|_| {
            Error::Text(format!(
                "input_ids have shape {:?}; expected [batch, tokens]",
                input_ids.dims()
            ))
        })?;
        if n == 0 || n > c.max_position_embeddings {
            return Err(Error::Text(format!(
                "{n} tokens per sequence; this text tower takes 1 to {} (tokenize with truncation)",
                c.max_position_embeddings
            )));
        }
        let ids = input_ids.to_dtype(candle_core::DType::U32)?;
        if let Some(bad) = ids
            .flatten_all()?
            .to_vec1::<u32>()?
            .into_iter()
            .find(|&id| id as usize >= c.vocab_size)
        {
            return Err(Error::Text(format!(
                "token id {bad} is outside this text tower's vocabulary of {} tokens: \
                 is the tokenizer the one that belongs to this checkpoint?",
                c.vocab_size
            )));
        }
        Ok(self.text_model.forward(&ids, mask)?)
    }
}
