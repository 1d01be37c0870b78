//! The vision tower's handle: built from a whole safetensors file or tensor by tensor, it runs images
//! and answers the questions about its parameters (position embeddings, patch filters).

use candle_core::Tensor;
use js_sys::{Float32Array, Uint8ClampedArray};
use wasm_bindgen::prelude::*;

use super::{check, js_error, now_ms, on_pool, read_configs, storage, JsResult, Trace};
use crate::analysis;
use crate::checkpoint::WeightStorage;
use crate::config::PreprocessConfig;
use crate::model::SiglipVisionModel;
use crate::preprocess::{preprocess, Rgba8};

/// Collects a checkpoint's tensors one at a time, then builds the [`Model`]: the way to load large
/// towers, since the file's bytes never sit in wasm memory all at once.
#[wasm_bindgen]
pub struct ModelBuilder {
    store: crate::store::TensorStore,
    storage: WeightStorage,
}

#[wasm_bindgen]
impl ModelBuilder {
    /// `weights`: "f32" (the default) or "f16" — every matrix held in half precision as it arrives,
    /// halving the model's memory (outputs differ from f32 by well under 1e-2).
    #[wasm_bindgen(constructor)]
    pub fn new(weights: Option<String>) -> JsResult<ModelBuilder> {
        console_error_panic_hook::set_once();
        let storage = storage(weights)?;
        Ok(ModelBuilder {
            store: crate::store::TensorStore::with_storage(storage),
            storage,
        })
    }

    /// Adds one tensor as its safetensors header describes it: name, dtype ("F32", "F16", "BF16"),
    /// shape, and its bytes.
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

    /// Builds the model from `config.json` text and optional `preprocessor_config.json` text,
    /// checking every tensor; the builder is used up.
    pub fn build(self, config_json: &str, preprocessor_json: Option<String>) -> JsResult<Model> {
        let (config, preprocess) = read_configs(config_json, preprocessor_json)?;
        let model = SiglipVisionModel::from_store(&config, self.store).map_err(js_error)?;
        Ok(Model {
            model,
            preprocess,
            storage: self.storage,
        })
    }
}

/// A SigLIP vision tower loaded from a Hugging Face checkpoint.
#[wasm_bindgen]
pub struct Model {
    model: SiglipVisionModel,
    preprocess: PreprocessConfig,
    storage: WeightStorage,
}

#[wasm_bindgen]
impl Model {
    /// Builds the tower from `config.json` text, optional `preprocessor_config.json` text, and the
    /// bytes of a safetensors file (the whole `model.safetensors`, or a file holding only the vision
    /// tensors). Every tensor's name, shape and dtype is checked against the config. `storage` is
    /// "f32" (the default) or "f16", as for [`ModelBuilder`].
    #[wasm_bindgen(constructor)]
    pub fn new(
        config_json: &str,
        preprocessor_json: Option<String>,
        weights: &[u8],
        storage: Option<String>,
    ) -> JsResult<Model> {
        console_error_panic_hook::set_once();
        let storage = self::storage(storage)?;
        let (config, preprocess) = read_configs(config_json, preprocessor_json)?;
        let model =
            SiglipVisionModel::from_safetensors(&config, weights, storage).map_err(js_error)?;
        Ok(Model {
            model,
            preprocess,
            storage,
        })
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

    /// Runs an RGBA image (`ImageData.data`, any size) through preprocessing and the tower.
    pub fn run(&self, rgba: &[u8], width: usize, height: usize) -> JsResult<Trace> {
        let start = now_ms();
        let image = Rgba8::new(width, height, rgba.to_vec()).map_err(js_error)?;
        let prepared = preprocess(&image, &self.preprocess).map_err(js_error)?;
        let preprocess_ms = now_ms() - start;
        let mut trace = self.forward(&prepared.pixel_values)?;
        trace.preprocess_ms = preprocess_ms;
        trace.seen = Some(prepared.resized.data);
        Ok(trace)
    }

    /// Runs given pixel values, (3, image_size, image_size) channel-first floats, skipping preprocessing.
    #[wasm_bindgen(js_name = runPixels)]
    pub fn run_pixels(&self, pixel_values: &[f32]) -> JsResult<Trace> {
        let size = self.model.config().image_size;
        let channels = self.model.config().num_channels;
        if pixel_values.len() != channels * size * size {
            return Err(JsError::new(&format!(
                "pixel values hold {} floats; this model takes {channels} × {size} × {size} = {}",
                pixel_values.len(),
                channels * size * size
            )));
        }
        let tensor = Tensor::from_slice(
            pixel_values,
            (1, channels, size, size),
            &candle_core::Device::Cpu,
        )
        .map_err(js_error)?;
        self.forward(&tensor)
    }

    #[wasm_bindgen(getter, js_name = hiddenSize)]
    pub fn hidden_size(&self) -> usize {
        self.model.config().hidden_size
    }
    #[wasm_bindgen(getter, js_name = intermediateSize)]
    pub fn intermediate_size(&self) -> usize {
        self.model.config().intermediate_size
    }
    #[wasm_bindgen(getter, js_name = numLayers)]
    pub fn num_layers(&self) -> usize {
        self.model.config().num_hidden_layers
    }
    #[wasm_bindgen(getter, js_name = numHeads)]
    pub fn num_heads(&self) -> usize {
        self.model.config().num_attention_heads
    }
    #[wasm_bindgen(getter, js_name = imageSize)]
    pub fn image_size(&self) -> usize {
        self.model.config().image_size
    }
    #[wasm_bindgen(getter, js_name = patchSize)]
    pub fn patch_size(&self) -> usize {
        self.model.config().patch_size
    }
    #[wasm_bindgen(getter, js_name = gridSize)]
    pub fn grid_size(&self) -> usize {
        self.model.config().grid_size()
    }
    #[wasm_bindgen(getter, js_name = numPatches)]
    pub fn num_patches(&self) -> usize {
        self.model.config().num_patches()
    }
    /// Whether the checkpoint has the attention-pooling head (PaliGemma's towers do not).
    #[wasm_bindgen(getter, js_name = hasHead)]
    pub fn has_head(&self) -> bool {
        self.model.config().vision_use_head
    }
    /// Parameters of the vision tower.
    #[wasm_bindgen(getter, js_name = numParameters)]
    pub fn num_parameters(&self) -> usize {
        self.model.config().num_parameters()
    }
    /// The PIL filter the preprocessor uses: "bicubic", "bilinear", …
    #[wasm_bindgen(getter)]
    pub fn resample(&self) -> String {
        format!("{:?}", self.preprocess.resample).to_lowercase()
    }

    /// Cosine similarity of position embedding `patch` to every position: Float32Array(numPatches).
    #[wasm_bindgen(js_name = positionSimilarity)]
    pub fn position_similarity(&self, patch: usize) -> JsResult<Float32Array> {
        check("patch", patch, self.num_patches())?;
        let table: Vec<f32> = self
            .model
            .embeddings()
            .position_embedding()
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .map_err(js_error)?;
        Ok(Float32Array::from(
            analysis::cosine_to(&table, self.hidden_size(), patch).as_slice(),
        ))
    }

    /// The patch-embedding filters as RGBA images, patchSize² pixels each, one after another
    /// (hiddenSize of them), each scaled around mid-grey by its own largest |weight|.
    #[wasm_bindgen(js_name = patchFilters)]
    pub fn patch_filters(&self) -> JsResult<Uint8ClampedArray> {
        let weights: Vec<f32> = self
            .model
            .embeddings()
            .patch_filters()
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .map_err(js_error)?;
        let c = self.model.config();
        Ok(Uint8ClampedArray::from(
            analysis::filters_rgba(&weights, c.num_channels, c.patch_size).as_slice(),
        ))
    }
}

impl Model {
    fn forward(&self, pixel_values: &Tensor) -> JsResult<Trace> {
        let start = now_ms();
        let trace = on_pool(|| self.model.forward(pixel_values)).map_err(js_error)?;
        let c = self.model.config();
        Ok(Trace {
            trace,
            seen: None,
            grid: c.grid_size(),
            patch_size: c.patch_size,
            image_size: c.image_size,
            preprocess_ms: 0.0,
            forward_ms: now_ms() - start,
            rollouts: Default::default(),
        })
    }

    /// The Rust model, for tests.
    pub fn inner(&self) -> &SiglipVisionModel {
        &self.model
    }

    /// How images are prepared for this model.
    pub fn preprocess_config(&self) -> &PreprocessConfig {
        &self.preprocess
    }
}
