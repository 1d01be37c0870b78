//! The stack of blocks, keeping every intermediate state.
//!
//! Reference: `SiglipEncoder` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L460>

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::attention::KeyMask;
use super::SiglipEncoderLayer;
use crate::config::EncoderConfig;

#[derive(Debug, Clone)]
pub struct SiglipEncoder {
    layers: Vec<SiglipEncoderLayer>,
}

/// What the encoder saw and did: `hidden_states[0]` is its input, `hidden_states[i]` the output of
/// block `i`; `attentions[i]` are block `i + 1`'s probabilities.
pub struct EncoderTrace {
    pub hidden_states: Vec<Tensor>,
    pub attentions: Vec<Tensor>,
}

impl SiglipEncoder {
    pub fn new(cfg: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        let vb = vb.pp("layers");
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| SiglipEncoderLayer::new(cfg, vb.pp(i)))
            .collect::<Result<_>>()?;
        Ok(Self { layers })
    }

    /// (b, n, d) embeddings → every hidden state (b, n, d) and every attention map (b, heads, n, n).
    /// `mask`: which keys each sequence may attend to (the text tower's padding), or all.
    pub fn forward(&self, embeddings: &Tensor, mask: Option<&KeyMask>) -> Result<EncoderTrace> {
        let mut hidden_states = vec![embeddings.clone()];
        let mut attentions = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let (xs, attention) = layer.forward(&hidden_states[hidden_states.len() - 1], mask)?;
            hidden_states.push(xs);
            attentions.push(attention);
        }
        Ok(EncoderTrace {
            hidden_states,
            attentions,
        })
    }

    /// The last block's output alone (b, n, d): the same arithmetic, keeping nothing on the way.
    pub fn forward_last(&self, embeddings: &Tensor, mask: Option<&KeyMask>) -> Result<Tensor> {
        let mut xs = embeddings.clone();
        for layer in &self.layers {
            xs = layer.forward(&xs, mask)?.0;
        }
        Ok(xs)
    }
}
