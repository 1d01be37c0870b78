//! The text tower's hyper-parameters (`SiglipTextConfig`), read from the same `config.json` as the
//! vision tower: nested under `text_config` in a full `SiglipConfig` (google/siglip-*, the
//! fixed-resolution google/siglip2-*), or bare (a saved `SiglipTextModel`). Missing fields take
//! transformers' defaults.
//!
//! Reference: `SiglipTextConfig` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/configuration_siglip.py#L24>

use serde::Deserialize;

use super::{Activation, EncoderConfig};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TextConfig {
    #[serde(default = "vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "num_attention_heads")]
    pub num_attention_heads: usize,
    /// The longest token sequence the position table covers (64 for the base models).
    #[serde(default = "max_position_embeddings")]
    pub max_position_embeddings: usize,
    #[serde(default = "hidden_act")]
    pub hidden_act: Activation,
    #[serde(default = "layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Width of `head`'s output, the text embedding; `None` means `hidden_size`, as transformers fills it.
    #[serde(default)]
    pub projection_size: Option<usize>,
}

fn vocab_size() -> usize {
    32000
}
fn hidden_size() -> usize {
    768
}
fn intermediate_size() -> usize {
    3072
}
fn num_hidden_layers() -> usize {
    12
}
fn num_attention_heads() -> usize {
    12
}
fn max_position_embeddings() -> usize {
    64
}
fn hidden_act() -> Activation {
    Activation::GeluPytorchTanh
}
fn layer_norm_eps() -> f64 {
    1e-6
}

impl Default for TextConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

impl TextConfig {
    /// Reads the text tower's part of a `config.json`. A vision-only or PaliGemma config is an error
    /// that says the checkpoint has no SigLIP text tower.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("config.json is not valid JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| Error::Config("config.json must hold a JSON object".into()))?;
        let model_type = object
            .get("model_type")
            .and_then(|v| v.as_str())
            .unwrap_or("");
        let no_text = |why: &str| {
            Err(Error::Config(format!(
                "config.json describes {why}, which has no SigLIP text tower: scores and text maps need a \
                 SiglipModel checkpoint (both towers), e.g. google/siglip-base-patch16-224"
            )))
        };
        let text = match (model_type, object.get("text_config")) {
            ("siglip_vision_model" | "siglip2_vision_model", _) => {
                return no_text("a vision tower alone")
            }
            ("paligemma", _) => {
                return no_text("PaliGemma (its text half is the Gemma language model)")
            }
            ("siglip_text_model" | "siglip2_text_model", _) => value.clone(),
            (_, Some(nested)) if nested.is_object() => nested.clone(),
            // transformers gives a SiglipConfig without `text_config` the default text tower.
            ("siglip" | "siglip2", Some(serde_json::Value::Null) | None) => serde_json::json!({}),
            (_, Some(serde_json::Value::Null) | None) => {
                return no_text(&match model_type {
                    "" => "a model without `text_config`".to_owned(),
                    other => format!("a `{other}` model without `text_config`"),
                })
            }
            (_, Some(_)) => {
                return Err(Error::Config(
                    "`text_config` in config.json must be an object".into(),
                ))
            }
        };
        if let Some(kind) = text.get("model_type").and_then(|v| v.as_str()) {
            if !kind.starts_with("siglip") {
                return no_text(&format!("a `{kind}` text model"));
            }
        }
        let config: TextConfig = serde_path_to_error::deserialize(text).map_err(|e| {
            Error::Config(format!(
                "config.json: `text_config.{}`: {}",
                e.path(),
                e.inner()
            ))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the relations between fields that the forward relies on.
    pub fn validate(&self) -> Result<()> {
        let fail = |what: String| Err(Error::Config(format!("config.json: text_config: {what}")));
        for (name, value) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("max_position_embeddings", self.max_position_embeddings),
            ("projection_size", self.projection_size()),
        ] {
            if value == 0 {
                return fail(format!("`{name}` must be positive"));
            }
            // Gemma's vocabulary (SigLIP 2) has 256,000 entries.
            let limit = if name == "vocab_size" {
                1 << 20
            } else {
                1 << 16
            };
            if value > limit {
                return fail(format!("`{name}` = {value} is implausibly large"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return fail(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps >= 0.0) {
            return fail(format!(
                "layer_norm_eps {} must be a non-negative number",
                self.layer_norm_eps
            ));
        }
        Ok(())
    }

    /// Width of the text embedding.
    pub fn projection_size(&self) -> usize {
        self.projection_size.unwrap_or(self.hidden_size)
    }

    /// The sizes the encoder's blocks use.
    pub fn encoder(&self) -> EncoderConfig {
        EncoderConfig {
            hidden_size: self.hidden_size,
            intermediate_size: self.intermediate_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            hidden_act: self.hidden_act,
            layer_norm_eps: self.layer_norm_eps,
        }
    }

    /// Parameters of the text tower (embeddings, blocks, final LayerNorm, head). In u64: Gemma's
    /// vocabulary times a wide tower passes 2³² on wasm32.
    pub fn num_parameters(&self) -> u64 {
        let (v, d, i, p) = (
            self.vocab_size as u64,
            self.hidden_size as u64,
            self.intermediate_size as u64,
            self.projection_size() as u64,
        );
        let layer = 4 * (d * d + d) + 2 * d * i + i + d + 4 * d;
        v * d
            + self.max_position_embeddings as u64 * d
            + self.num_hidden_layers as u64 * layer
            + 2 * d
            + d * p
            + p
    }
}
