//! The SigLIP towers, one file per transformers class, and the traces their forwards return: the
//! vision tower here, the text tower in [`text`], both sharing the encoder; [`SiglipModel`] joins
//! them into sigmoid scores.
//!
//! Reference: `SiglipVisionTransformer` and `SiglipVisionModel` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L640>

mod attention;
mod embeddings;
mod encoder;
mod head;
mod layer;
mod linear;
mod mlp;
mod siglip;
pub mod text;

pub use attention::{KeyMask, SiglipAttention};
pub use embeddings::SiglipVisionEmbeddings;
pub use encoder::{EncoderTrace, SiglipEncoder};
pub use head::SiglipMultiheadAttentionPoolingHead;
pub use layer::SiglipEncoderLayer;
pub use linear::Linear;
pub use mlp::SiglipMLP;
pub use siglip::{ids_tensor, l2_normalize, LogitParams, SiglipModel, SiglipOutput};
pub use text::{SiglipTextModel, TextTrace};

use candle_core::{Module, Result, Tensor};
use candle_nn::{layer_norm, LayerNorm, VarBuilder};

use crate::checkpoint::{Checkpoint, WeightStorage};
use crate::config::VisionConfig;
use crate::error::{self, Error};
use crate::store::TensorStore;

/// Everything the tower computed for a batch of images.
#[derive(Debug, Clone)]
pub struct VisionTrace {
    /// (b, n, d), after `post_layernorm`.
    pub last_hidden_state: Tensor,
    /// L + 1 tensors (b, n, d): the embeddings, then each block's output (before `post_layernorm`).
    pub hidden_states: Vec<Tensor>,
    /// L tensors (b, heads, n, n) of softmax probabilities; row `q` is where patch `q` looks.
    pub attentions: Vec<Tensor>,
    /// (b, d), when the checkpoint has a pooling head.
    pub pooler_output: Option<Tensor>,
    /// (b, heads, n): where the pooling head's probe looks, when there is a head.
    pub head_attention: Option<Tensor>,
}

/// `SiglipVisionTransformer`: embeddings → encoder → post-LayerNorm → optional pooling head.
#[derive(Debug, Clone)]
pub struct SiglipVisionTransformer {
    embeddings: SiglipVisionEmbeddings,
    encoder: SiglipEncoder,
    post_layernorm: LayerNorm,
    head: Option<SiglipMultiheadAttentionPoolingHead>,
}

impl SiglipVisionTransformer {
    pub fn new(cfg: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            embeddings: SiglipVisionEmbeddings::new(cfg, vb.pp("embeddings"))?,
            encoder: SiglipEncoder::new(&cfg.encoder(), vb.pp("encoder"))?,
            post_layernorm: layer_norm(
                cfg.hidden_size,
                cfg.layer_norm_eps,
                vb.pp("post_layernorm"),
            )?,
            head: match cfg.vision_use_head {
                true => Some(SiglipMultiheadAttentionPoolingHead::new(
                    &cfg.encoder(),
                    vb.pp("head"),
                )?),
                false => None,
            },
        })
    }

    /// (b, c, h, w) pixel values → the whole trace.
    pub fn forward(&self, pixel_values: &Tensor) -> Result<VisionTrace> {
        let embeddings = self.embeddings.forward(pixel_values)?; // (b, n, d)
        let EncoderTrace {
            hidden_states,
            attentions,
        } = self.encoder.forward(&embeddings, None)?;
        let last_hidden_state = self
            .post_layernorm
            .forward(&hidden_states[hidden_states.len() - 1])?;
        let (pooler_output, head_attention) = match &self.head {
            Some(head) => head
                .forward(&last_hidden_state)
                .map(|(p, a)| (Some(p), Some(a)))?,
            None => (None, None),
        };
        Ok(VisionTrace {
            last_hidden_state,
            hidden_states,
            attentions,
            pooler_output,
            head_attention,
        })
    }

    /// (b, c, h, w) pixel values → the pooled embeddings (b, d) alone, keeping no trace: for many
    /// images at once (occlusion maps).
    pub fn pooled(&self, pixel_values: &Tensor) -> Result<Tensor> {
        let head = match &self.head {
            Some(head) => head,
            None => candle_core::bail!("this tower has no pooling head, so no image embedding"),
        };
        let embeddings = self.embeddings.forward(pixel_values)?; // (b, n, d)
        let last = self.encoder.forward_last(&embeddings, None)?;
        Ok(head.forward(&self.post_layernorm.forward(&last)?)?.0)
    }
}

/// `SiglipVisionModel`: the tower and the configuration it was built from.
#[derive(Debug, Clone)]
pub struct SiglipVisionModel {
    config: VisionConfig,
    vision_model: SiglipVisionTransformer,
}

impl SiglipVisionModel {
    pub fn new(config: &VisionConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            config: config.clone(),
            vision_model: SiglipVisionTransformer::new(config, vb)?,
        })
    }

    /// Builds the tower from a safetensors file, checking every tensor against `config`, holding the
    /// weights as `storage` says.
    pub fn from_safetensors(
        config: &VisionConfig,
        bytes: &[u8],
        storage: WeightStorage,
    ) -> error::Result<Self> {
        let checkpoint = Checkpoint::parse(bytes)?;
        Self::new(config, checkpoint.var_builder(storage)).map_err(Error::loading)
    }

    /// Builds the tower from tensors handed over one by one, checking every tensor against `config`.
    pub fn from_store(config: &VisionConfig, store: TensorStore) -> error::Result<Self> {
        Self::new(
            config,
            store.into_var_builder(crate::checkpoint::Tower::Vision)?,
        )
        .map_err(Error::loading)
    }

    pub fn config(&self) -> &VisionConfig {
        &self.config
    }

    pub fn embeddings(&self) -> &SiglipVisionEmbeddings {
        &self.vision_model.embeddings
    }

    /// The pooling head, when the tower has one.
    pub fn head(&self) -> Option<&SiglipMultiheadAttentionPoolingHead> {
        self.vision_model.head.as_ref()
    }

    /// Pooled embeddings (b, d) of (b, c, h, w) pixel values, without the trace.
    pub fn pooled(&self, pixel_values: &Tensor) -> error::Result<Tensor> {
        self.check_pixels(pixel_values)?;
        if !self.config.vision_use_head {
            return Err(Error::Config(
                "this tower has no pooling head (`vision_use_head` is false), so no image embedding"
                    .into(),
            ));
        }
        Ok(self.vision_model.pooled(pixel_values)?)
    }

    /// (b, c, h, w) pixel values at the configured size → the whole trace.
    pub fn forward(&self, pixel_values: &Tensor) -> error::Result<VisionTrace> {
        self.check_pixels(pixel_values)?;
        Ok(self.vision_model.forward(pixel_values)?)
    }

    fn check_pixels(&self, pixel_values: &Tensor) -> error::Result<()> {
        let c = &self.config;
        let expected = [c.num_channels, c.image_size, c.image_size];
        match pixel_values.dims() {
            [_, rest @ ..] if rest == expected => Ok(()),
            dims => Err(Error::Image(format!(
                "pixel_values have shape {dims:?}; this model takes [batch, {}, {}, {}]",
                c.num_channels, c.image_size, c.image_size
            ))),
        }
    }
}
