//! The text half: a handle on the text tower with its tokenizer and `SiglipModel`'s logit
//! parameters, and the text → patch maps that need both towers.
//!
//! ```js
//! const builder = new TextModelBuilder("f32");
//! for (const t of tensors) builder.addTensor(t.name, t.dtype, t.shape, bytes);   // text_model.*, logit_*
//! builder.addTokenizerFile("spiece.model", bytes);                              // and its config files
//! const text = builder.build(configText);
//! const embeds = text.embed(["a photo of a cat", "a photo of a dog"]);           // (2, d), L2-normalised
//! const table = text.scoreTable(trace.imageEmbeds(), embeds);                    // cos, logit, sigmoid
//! ```

use std::collections::HashMap;

use candle_core::Tensor;
use js_sys::{Float32Array, Uint32Array};
use wasm_bindgen::prelude::*;

use super::{js_error, on_pool, storage, JsResult, Model, Trace};
use crate::checkpoint::WeightStorage;
use crate::config::TextConfig;
use crate::maps::{logit_drops, value_path, Occlusion};
use crate::model::{ids_tensor, l2_normalize, KeyMask, LogitParams, SiglipTextModel};
use crate::preprocess::Rgb8;
use crate::store::TensorStore;
use crate::tokenizer::{Tokenizer, TokenizerFiles};

/// The files a tokenizer may come from, by their name in the repository.
const TOKENIZER_FILES: [&str; 4] = [
    "spiece.model",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
];

/// Collects the text tower's tensors and the tokenizer's files, then builds a [`TextModel`].
#[wasm_bindgen]
pub struct TextModelBuilder {
    store: TensorStore,
    storage: WeightStorage,
    files: HashMap<String, Vec<u8>>,
}

#[wasm_bindgen]
impl TextModelBuilder {
    /// `weights`: "f32" (the default) or "f16", as for the vision tower's `ModelBuilder`.
    #[wasm_bindgen(constructor)]
    pub fn new(weights: Option<String>) -> JsResult<TextModelBuilder> {
        console_error_panic_hook::set_once();
        let storage = storage(weights)?;
        Ok(TextModelBuilder {
            store: TensorStore::with_storage(storage),
            storage,
            files: HashMap::new(),
        })
    }

    /// Adds one tensor (`text_model.*`, `logit_scale`, `logit_bias`) as its safetensors header
    /// describes it.
    #[wasm_bindgen(js_name = addTensor)]
    pub fn add_tensor(
        &mut self,
        name: &str,
        dtype: &str,
        shape: &[u32],
        bytes: &[u8],
    ) -> JsResult<()> {
        let shape: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
        self.store
            .insert(name, dtype, &shape, bytes)
            .map_err(js_error)
    }

    /// Adds one of the tokenizer's files: "spiece.model" (SigLIP), "tokenizer.json" (SigLIP 2),
    /// "tokenizer_config.json", "special_tokens_map.json".
    #[wasm_bindgen(js_name = addTokenizerFile)]
    pub fn add_tokenizer_file(&mut self, name: &str, bytes: &[u8]) -> JsResult<()> {
        if !TOKENIZER_FILES.contains(&name) {
            return Err(JsError::new(&format!(
                "`{name}` is not a tokenizer file; expected one of {}",
                TOKENIZER_FILES.join(", ")
            )));
        }
        self.files.insert(name.to_owned(), bytes.to_vec());
        Ok(())
    }

    /// Builds the text tower from `config.json`'s text, checking every tensor; the builder is used up.
    pub fn build(mut self, config_json: &str) -> JsResult<TextModel> {
        let config = TextConfig::from_json(config_json).map_err(js_error)?;
        let text = |name: &str| -> JsResult<Option<&str>> {
            self.files
                .get(name)
                .map(|bytes| {
                    std::str::from_utf8(bytes)
                        .map_err(|_| JsError::new(&format!("{name} is not UTF-8 text")))
                })
                .transpose()
        };
        let tokenizer = Tokenizer::from_files(&TokenizerFiles {
            spiece_model: self.files.get("spiece.model").map(Vec::as_slice),
            tokenizer_json: text("tokenizer.json")?,
            tokenizer_config: text("tokenizer_config.json")?,
            special_tokens_map: text("special_tokens_map.json")?,
            config: Some(config_json),
        })
        .map_err(js_error)?;
        let logits = self.store.take_logit_params().map_err(js_error)?;
        let model = SiglipTextModel::from_store(&config, self.store).map_err(js_error)?;
        Ok(TextModel {
            model,
            tokenizer,
            logits: logits.map(|(logit_scale, logit_bias)| LogitParams {
                logit_scale,
                logit_bias,
            }),
            storage: self.storage,
        })
    }
}

/// SigLIP's text tower with its tokenizer and, for a `SiglipModel` checkpoint, the logit parameters.
#[wasm_bindgen]
pub struct TextModel {
    model: SiglipTextModel,
    tokenizer: Tokenizer,
    logits: Option<LogitParams>,
    storage: WeightStorage,
}

#[wasm_bindgen]
impl TextModel {
    #[wasm_bindgen(getter, js_name = numLayers)]
    pub fn num_layers(&self) -> usize {
        self.model.config().num_hidden_layers
    }
    #[wasm_bindgen(getter, js_name = numHeads)]
    pub fn num_heads(&self) -> usize {
        self.model.config().num_attention_heads
    }
    #[wasm_bindgen(getter, js_name = hiddenSize)]
    pub fn hidden_size(&self) -> usize {
        self.model.config().hidden_size
    }
    /// Width of the text embedding (the head's output).
    #[wasm_bindgen(getter, js_name = embedSize)]
    pub fn embed_size(&self) -> usize {
        self.model.config().projection_size()
    }
    #[wasm_bindgen(getter, js_name = vocabSize)]
    pub fn vocab_size(&self) -> usize {
        self.model.config().vocab_size
    }
    /// Tokens per label: every label is padded (or cut) to this many, as the model was trained.
    #[wasm_bindgen(getter, js_name = maxLength)]
    pub fn max_length(&self) -> usize {
        self.sequence_length()
    }
    /// Parameters of the text tower.
    #[wasm_bindgen(getter, js_name = numParameters)]
    pub fn num_parameters(&self) -> f64 {
        self.model.config().num_parameters() as f64
    }
    /// How the weights are held: "f32" or "f16".
    #[wasm_bindgen(getter, js_name = weightStorage)]
    pub fn weight_storage(&self) -> String {
        match self.storage {
            WeightStorage::F32 => "f32",
            WeightStorage::F16 => "f16",
        }
        .to_owned()
    }
    /// Whether the checkpoint has `logit_scale` and `logit_bias` (a `SiglipModel`), so scores exist.
    #[wasm_bindgen(getter, js_name = hasScores)]
    pub fn has_scores(&self) -> bool {
        self.logits.is_some()
    }
    /// t, the log-temperature: logits are exp(t) · cos + b.
    #[wasm_bindgen(getter, js_name = logitScale)]
    pub fn logit_scale(&self) -> JsResult<f32> {
        Ok(self.params()?.logit_scale)
    }
    /// b, the bias added to every logit.
    #[wasm_bindgen(getter, js_name = logitBias)]
    pub fn logit_bias(&self) -> JsResult<f32> {
        Ok(self.params()?.logit_bias)
    }

    /// A label's `input_ids`, padded (or cut) to `maxLength`, exactly as the processor makes them.
    pub fn tokenize(&self, label: &str) -> JsResult<Uint32Array> {
        let (ids, _) = self.encode(label)?;
        Ok(Uint32Array::from(ids.as_slice()))
    }

    /// How many of a label's `maxLength` ids are its own (the rest is padding).
    #[wasm_bindgen(js_name = tokenCount)]
    pub fn token_count(&self, label: &str) -> JsResult<usize> {
        let length = self.sequence_length();
        Ok(self
            .tokenizer
            .attention_mask(label, length)
            .iter()
            .filter(|&&own| own)
            .count())
    }

    /// Whether the padding is masked out (the tokenizer returns an `attention_mask`, as
    /// tokenizer_config.json's `model_input_names` says) or attended to like any token.
    #[wasm_bindgen(getter, js_name = masksPadding)]
    pub fn masks_padding(&self) -> bool {
        self.tokenizer.returns_attention_mask()
    }

    /// L2-normalised text embeddings (`text_embeds`) of `labels`, one forward for all of them:
    /// Float32Array(labels × embedSize).
    pub fn embed(&self, labels: Vec<String>) -> JsResult<Float32Array> {
        if labels.is_empty() {
            return Ok(Float32Array::new_with_length(0));
        }
        let mut rows = Vec::with_capacity(labels.len());
        let mut keep = Vec::with_capacity(labels.len() * self.sequence_length());
        for label in &labels {
            let (ids, mask) = self.encode(label)?;
            rows.push(ids);
            keep.extend(mask);
        }
        let ids = ids_tensor(&rows).map_err(js_error)?;
        let mask = KeyMask::new(keep, self.sequence_length()).map_err(js_error)?;
        let embeds = on_pool(|| -> crate::Result<Tensor> {
            let trace = self.model.forward(&ids, Some(&mask))?;
            Ok(l2_normalize(&trace.pooler_output)?)
        })
        .map_err(js_error)?;
        super::floats(&embeds)
    }

    /// For one image embedding (d, L2-normalised; `trace.imageEmbeds()`) against label embeddings
    /// (labels × d, from `embed`): Float32Array(3 × labels) — every label's cosine, then its logit
    /// exp(t) · cos + b, then its probability sigmoid(logit), computed as transformers does.
    #[wasm_bindgen(js_name = scoreTable)]
    pub fn score_table(&self, image_embed: &[f32], text_embeds: &[f32]) -> JsResult<Float32Array> {
        let params = self.params()?;
        let d = self.check_embeds(image_embed, text_embeds)?;
        let cosines: Vec<f32> = text_embeds
            .chunks_exact(d)
            .map(|t| t.iter().zip(image_embed).map(|(a, b)| a * b).sum())
            .collect();
        let logits: Vec<f32> = cosines.iter().map(|&c| params.logit(c)).collect();
        let probabilities = logits.iter().map(|&l| 1.0 / (1.0 + (-l).exp()));
        let table: Vec<f32> = cosines
            .iter()
            .copied()
            .chain(logits.iter().copied())
            .chain(probabilities)
            .collect();
        Ok(Float32Array::from(table.as_slice()))
    }

    /// The occlusion map of one label: how much its logit drops when each patch's window is painted
    /// over — from the image's embedding, the occluded images' embeddings (`Model.occlusionEmbeds`,
    /// numPatches × d) and the label's: Float32Array(numPatches).
    #[wasm_bindgen(js_name = logitDrops)]
    pub fn logit_drops(
        &self,
        image_embed: &[f32],
        occluded: &[f32],
        text_embed: &[f32],
    ) -> JsResult<Float32Array> {
        let params = self.params()?;
        let d = self.check_embeds(image_embed, text_embed)?;
        if text_embed.len() != d || !occluded.len().is_multiple_of(d) {
            return Err(JsError::new(&format!(
                "occluded embeddings ({} floats) and the label's ({}) must be whole vectors of {d}",
                occluded.len(),
                text_embed.len()
            )));
        }
        Ok(Float32Array::from(
            logit_drops(params, image_embed, occluded, text_embed).as_slice(),
        ))
    }
}

impl TextModel {
    fn params(&self) -> JsResult<&LogitParams> {
        self.logits.as_ref().ok_or_else(|| {
            JsError::new(
                "this checkpoint has no logit_scale / logit_bias (a bare text model, not a SiglipModel): \
                 it embeds text but cannot score it",
            )
        })
    }

    fn sequence_length(&self) -> usize {
        self.tokenizer
            .max_length()
            .min(self.model.config().max_position_embeddings)
    }

    /// A label's padded ids and its attention mask (all true when the tokenizer returns no mask, so
    /// the tower attends to the padding, as `model(**processor(...))` does then).
    fn encode(&self, label: &str) -> JsResult<(Vec<u32>, Vec<bool>)> {
        let length = self.sequence_length();
        let ids = self
            .tokenizer
            .encode_padded(label, length)
            .map_err(js_error)?;
        let mask = match self.tokenizer.returns_attention_mask() {
            true => self.tokenizer.attention_mask(label, length),
            false => vec![true; length],
        };
        Ok((ids, mask))
    }

    /// The embedding width shared by the image and the labels; errors name a mismatch.
    fn check_embeds(&self, image_embed: &[f32], text_embeds: &[f32]) -> JsResult<usize> {
        let d = self.embed_size();
        if image_embed.len() != d || !text_embeds.len().is_multiple_of(d) {
            return Err(JsError::new(&format!(
                "the image embedding has {} values and the labels' {}; this text tower's embeddings have {d} \
                 — are both towers from the same checkpoint?",
                image_embed.len(),
                text_embeds.len()
            )));
        }
        Ok(d)
    }

    /// The Rust model, for tests.
    pub fn inner(&self) -> &SiglipTextModel {
        &self.model
    }
}

#[wasm_bindgen]
impl Model {
    /// The value-path map of labels (`embed`'s output, labels × d): each patch's MaskCLIP embedding
    /// against each label, by cosine — fast and heuristic. Float32Array(labels × numPatches).
    #[wasm_bindgen(js_name = valuePath)]
    pub fn value_path_map(&self, trace: &Trace, text_embeds: &[f32]) -> JsResult<Float32Array> {
        let d = self.inner().config().hidden_size;
        if text_embeds.is_empty() || !text_embeds.len().is_multiple_of(d) {
            return Err(JsError::new(&format!(
                "label embeddings of {} floats are not whole vectors of {d}",
                text_embeds.len()
            )));
        }
        let texts = Tensor::from_slice(
            text_embeds,
            (text_embeds.len() / d, d),
            &candle_core::Device::Cpu,
        )
        .map_err(js_error)?;
        let map =
            value_path(self.inner(), &trace.inner().last_hidden_state, &texts).map_err(js_error)?;
        super::floats(&map)
    }

    /// L2-normalised embeddings of the trace's image with each of patches start..start+count occluded
    /// (a `window` × `window` block centred on it, painted in the image's mean colour), run as one
    /// batch: Float32Array(count × d). Call in chunks to show progress and allow cancelling.
    #[wasm_bindgen(js_name = occlusionEmbeds)]
    pub fn occlusion_embeds(
        &self,
        trace: &Trace,
        window: usize,
        start: usize,
        count: usize,
    ) -> JsResult<Float32Array> {
        let seen = trace.seen.as_ref().ok_or_else(|| {
            JsError::new("this trace was run from pixel values, not an image: nothing to occlude")
        })?;
        let size = trace.image_size;
        let image = Rgb8::new(size, size, seen.clone()).map_err(js_error)?;
        let occlusion =
            Occlusion::new(&image, trace.grid, trace.patch_size, window).map_err(js_error)?;
        let embeds = on_pool(|| {
            occlusion.embeddings(self.inner(), self.preprocess_config(), start..start + count)
        })
        .map_err(js_error)?;
        super::floats(&embeds)
    }
}
