//! The JavaScript API: one model handle, one trace handle, small typed arrays out.
//!
//! ```js
//! import init, { Model } from "./pkg/siglip_lens.js";
//! await init();
//! const model = new Model(configText, preprocessorText /* or undefined */, weightBytes);
//! const trace = model.run(imageData.data, imageData.width, imageData.height);
//! const row = trace.attentionRow(layer, head, patch);   // Float32Array(numPatches)
//! ```
//!
//! The weights and the trace stay in wasm memory; every method returns a copy of one small map.
//! Errors (bad config, bad weights, bad image, an index out of range) are thrown as `Error`s whose
//! message names what was wrong; nothing a caller passes can make the module trap.

use candle_core::{IndexOp, Tensor};
use js_sys::{Float32Array, Uint8ClampedArray};
use wasm_bindgen::prelude::*;

use crate::analysis::{self, Fusion};
use crate::checkpoint::WeightStorage;
use crate::config::{PreprocessConfig, VisionConfig};
use crate::model::{SiglipVisionModel, VisionTrace};
use crate::preprocess::{preprocess, Rgba8};

#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

type JsResult<T> = Result<T, JsError>;

/// Whether this build runs its matmuls on a thread pool (`initThreadPool(n)` must be awaited first).
#[wasm_bindgen(js_name = hasThreads)]
pub fn has_threads() -> bool {
    cfg!(feature = "threads")
}

/// Whether this build's matmul kernel uses relaxed-SIMD fused multiply-add.
#[wasm_bindgen(js_name = hasRelaxedSimd)]
pub fn has_relaxed_simd() -> bool {
    cfg!(target_feature = "relaxed-simd")
}

fn js_error(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

/// Milliseconds from the page's (or worker's) `performance.now()`; `std::time` is unavailable here.
fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| js_sys::Reflect::get(&p, &"now".into()).ok().map(|f| (p, f)))
        .and_then(|(p, f)| {
            f.dyn_into::<js_sys::Function>()
                .ok()?
                .call0(&p)
                .ok()?
                .as_f64()
        })
        .unwrap_or_else(js_sys::Date::now)
}

fn check(what: &str, index: usize, count: usize) -> JsResult<()> {
    match index < count {
        true => Ok(()),
        false => Err(JsError::new(&format!(
            "{what} {index} is out of range (0..{count})"
        ))),
    }
}

fn floats(tensor: &Tensor) -> JsResult<Float32Array> {
    let values: Vec<f32> = tensor
        .flatten_all()
        .and_then(|t| t.to_vec1())
        .map_err(js_error)?;
    Ok(Float32Array::from(values.as_slice()))
}

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

fn storage(weights: Option<String>) -> JsResult<WeightStorage> {
    weights
        .map_or(Ok(WeightStorage::F32), |w| WeightStorage::parse(&w))
        .map_err(js_error)
}

fn read_configs(
    config_json: &str,
    preprocessor_json: Option<String>,
) -> JsResult<(VisionConfig, PreprocessConfig)> {
    let config = VisionConfig::from_json(config_json).map_err(js_error)?;
    let preprocess = match preprocessor_json {
        Some(text) => PreprocessConfig::from_json(&text, &config).map_err(js_error)?,
        None => PreprocessConfig::for_model(&config),
    };
    Ok((config, preprocess))
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
}

/// Everything one forward computed, kept in wasm memory.
#[wasm_bindgen]
pub struct Trace {
    trace: VisionTrace,
    seen: Option<Vec<u8>>,
    grid: usize,
    patch_size: usize,
    image_size: usize,
    preprocess_ms: f64,
    forward_ms: f64,
    /// Rollout matrices (n, n) computed so far, by head fusion.
    rollouts: std::cell::RefCell<std::collections::HashMap<Fusion, Vec<f32>>>,
}

#[wasm_bindgen]
impl Trace {
    #[wasm_bindgen(getter, js_name = numLayers)]
    pub fn num_layers(&self) -> usize {
        self.trace.attentions.len()
    }
    #[wasm_bindgen(getter, js_name = numHeads)]
    pub fn num_heads(&self) -> usize {
        self.trace.attentions.first().map_or(0, |a| a.dims()[1])
    }
    #[wasm_bindgen(getter, js_name = numPatches)]
    pub fn num_patches(&self) -> usize {
        self.grid * self.grid
    }
    #[wasm_bindgen(getter, js_name = gridSize)]
    pub fn grid_size(&self) -> usize {
        self.grid
    }
    #[wasm_bindgen(getter, js_name = hiddenSize)]
    pub fn hidden_size(&self) -> usize {
        self.trace.last_hidden_state.dims()[2]
    }
    #[wasm_bindgen(getter, js_name = hasHead)]
    pub fn has_head(&self) -> bool {
        self.trace.head_attention.is_some()
    }
    /// Milliseconds spent converting and resizing the image (0 for `runPixels`).
    #[wasm_bindgen(getter, js_name = preprocessMs)]
    pub fn preprocess_ms(&self) -> f64 {
        self.preprocess_ms
    }
    /// Milliseconds spent in the tower's forward.
    #[wasm_bindgen(getter, js_name = forwardMs)]
    pub fn forward_ms(&self) -> f64 {
        self.forward_ms
    }

    /// What the model saw: the resized image as RGBA (imageSize² pixels), ready for `ImageData`.
    pub fn seen(&self) -> JsResult<Uint8ClampedArray> {
        let rgb = self
            .seen
            .as_ref()
            .ok_or_else(|| JsError::new("this trace was run from pixel values, not an image"))?;
        let rgba: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect();
        Ok(Uint8ClampedArray::from(rgba.as_slice()))
    }

    /// Hidden state `layer` (0 = embeddings, numLayers = last block, before post-LayerNorm) of every
    /// patch: Float32Array(numPatches × hiddenSize), row-major.
    #[wasm_bindgen(js_name = hiddenStates)]
    pub fn hidden_states(&self, layer: usize) -> JsResult<Float32Array> {
        floats(&self.states(layer)?)
    }

    /// Hidden state `layer` of one patch: Float32Array(hiddenSize).
    #[wasm_bindgen(js_name = hiddenState)]
    pub fn hidden_state(&self, layer: usize, patch: usize) -> JsResult<Float32Array> {
        check("patch", patch, self.num_patches())?;
        floats(&self.states(layer)?.i(patch).map_err(js_error)?)
    }

    /// The final states after post-LayerNorm: Float32Array(numPatches × hiddenSize).
    #[wasm_bindgen(js_name = lastHiddenState)]
    pub fn last_hidden_state(&self) -> JsResult<Float32Array> {
        floats(&self.trace.last_hidden_state)
    }

    /// Where patch `query` looks in block `layer` (0-based), head `head`: Float32Array(numPatches), sums to 1.
    #[wasm_bindgen(js_name = attentionRow)]
    pub fn attention_row(&self, layer: usize, head: usize, query: usize) -> JsResult<Float32Array> {
        check("head", head, self.num_heads())?;
        check("query patch", query, self.num_patches())?;
        floats(&self.attention(layer)?.i((head, query)).map_err(js_error)?)
    }

    /// Every head's row for `query` in block `layer`: Float32Array(numHeads × numPatches).
    #[wasm_bindgen(js_name = attentionRows)]
    pub fn attention_rows(&self, layer: usize, query: usize) -> JsResult<Float32Array> {
        check("query patch", query, self.num_patches())?;
        floats(&self.attention(layer)?.i((.., query)).map_err(js_error)?)
    }

    /// The row for `query` in block `layer`, fused over heads ("mean" or "max"): Float32Array(numPatches).
    #[wasm_bindgen(js_name = attentionFused)]
    pub fn attention_fused(
        &self,
        layer: usize,
        query: usize,
        fusion: &str,
    ) -> JsResult<Float32Array> {
        let rows = self.attention_rows(layer, query)?.to_vec();
        Ok(Float32Array::from(
            analysis::fuse_heads(&rows, self.num_patches(), parse_fusion(fusion)?).as_slice(),
        ))
    }

    /// Where the pooling head's probe looks, head `head`: Float32Array(numPatches); throws without a head.
    #[wasm_bindgen(js_name = headAttention)]
    pub fn head_attention(&self, head: usize) -> JsResult<Float32Array> {
        check("head", head, self.num_heads())?;
        floats(&self.probe()?.i((0, head)).map_err(js_error)?)
    }

    /// The probe's attention averaged over heads: Float32Array(numPatches).
    #[wasm_bindgen(js_name = headAttentionMean)]
    pub fn head_attention_mean(&self) -> JsResult<Float32Array> {
        floats(
            &self
                .probe()?
                .i(0)
                .and_then(|t| t.mean(0))
                .map_err(js_error)?,
        )
    }

    /// The pooled image embedding: Float32Array(hiddenSize); throws without a head.
    pub fn pooled(&self) -> JsResult<Float32Array> {
        let pooled = self
            .trace
            .pooler_output
            .as_ref()
            .ok_or_else(|| JsError::new("this checkpoint has no pooling head"))?;
        floats(pooled)
    }

    /// L2 norm of every patch's vector at `layer`: Float32Array(numPatches).
    #[wasm_bindgen(js_name = patchNorms)]
    pub fn patch_norms(&self, layer: usize) -> JsResult<Float32Array> {
        let states = self.states_vec(layer)?;
        Ok(Float32Array::from(
            analysis::l2_norms(&states, self.hidden_size()).as_slice(),
        ))
    }

    /// Cosine similarity of every patch's vector at `layer` to patch `patch`'s: Float32Array(numPatches).
    #[wasm_bindgen(js_name = patchSimilarity)]
    pub fn patch_similarity(&self, layer: usize, patch: usize) -> JsResult<Float32Array> {
        check("patch", patch, self.num_patches())?;
        let states = self.states_vec(layer)?;
        Ok(Float32Array::from(
            analysis::cosine_to(&states, self.hidden_size(), patch).as_slice(),
        ))
    }

    /// The first three principal components of the patches' vectors at `layer`, fitted on this image,
    /// each scaled to [0, 1]: Float32Array(numPatches × 3 + 3) — RGB per patch, then the share of
    /// variance each component explains.
    #[wasm_bindgen(js_name = patchPca)]
    pub fn patch_pca(&self, layer: usize) -> JsResult<Float32Array> {
        let states = self.states_vec(layer)?;
        let (mut rgb, explained) = analysis::pca_rgb(&states, self.hidden_size());
        rgb.extend_from_slice(&explained);
        Ok(Float32Array::from(rgb.as_slice()))
    }

    /// Attention rollout through all blocks with heads fused by `fusion` ("mean", "max", "min"):
    /// the row of patch `query`, or the mean over all query patches when `query` is undefined. The
    /// (n, n) rollout matrix is computed once per fusion and kept, so other patches answer at once.
    pub fn rollout(&self, query: Option<usize>, fusion: &str) -> JsResult<Float32Array> {
        let n = self.num_patches();
        let fusion = parse_fusion(fusion)?;
        if let Some(q) = query {
            check("query patch", q, n)?;
        }
        let mut cache = self.rollouts.borrow_mut();
        let matrix = match cache.entry(fusion) {
            std::collections::hash_map::Entry::Occupied(cached) => cached.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                let layers = (0..self.num_layers())
                    .map(|l| {
                        self.attention(l).and_then(|a| {
                            a.flatten_all().and_then(|t| t.to_vec1()).map_err(js_error)
                        })
                    })
                    .collect::<JsResult<Vec<Vec<f32>>>>()?;
                slot.insert(on_pool(|| analysis::rollout(&layers, n, fusion)))
            }
        };
        let row = match query {
            Some(q) => matrix[q * n..][..n].to_vec(),
            None => analysis::mean_rows(matrix, n),
        };
        Ok(Float32Array::from(row.as_slice()))
    }

    /// For every block and head: mean attention distance in pixels and mean row entropy in nats:
    /// Float32Array(numLayers × numHeads × 2), ordered (layer, head, [distance, entropy]).
    #[wasm_bindgen(js_name = headStats)]
    pub fn head_stats(&self) -> JsResult<Float32Array> {
        let mut out = Vec::new();
        for layer in 0..self.num_layers() {
            let values: Vec<f32> = self
                .attention(layer)?
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .map_err(js_error)?;
            out.extend(
                analysis::head_stats(&values, self.grid, self.patch_size)
                    .into_iter()
                    .flatten(),
            );
        }
        Ok(Float32Array::from(out.as_slice()))
    }
}

/// Throughput probe for the benchmark: GFLOP/s of an (m × k) · (k × n) f32 matmul, median of `reps`
/// runs, through the path the model's linear layers take (`engine` = "ours": [`crate::gemm`] with
/// pre-packed weights) or through candle's matmul (`engine` = "candle", the gemm crate).
#[wasm_bindgen(js_name = matmulProbe)]
pub fn matmul_probe(m: usize, k: usize, n: usize, reps: usize, engine: &str) -> JsResult<f64> {
    let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
    let b: Vec<f32> = (0..n * k).map(|i| (i % 5) as f32 * 0.1).collect();
    let run: Box<dyn Fn() -> JsResult<()>> = match engine {
        "ours" => {
            let packed = crate::gemm::PackedB::from_rows(&b, n, k);
            Box::new(move || {
                let mut c = vec![0f32; m * n];
                crate::gemm::matmul(&a, m, &packed, None, &mut c);
                Ok(())
            })
        }
        "candle" => {
            let device = candle_core::Device::Cpu;
            let a = Tensor::from_vec(a, (m, k), &device).map_err(js_error)?;
            let b = Tensor::from_vec(b, (n, k), &device)
                .map_err(js_error)?
                .t()
                .map_err(js_error)?;
            Box::new(move || a.matmul(&b).map(drop).map_err(js_error))
        }
        other => {
            return Err(JsError::new(&format!(
                "matmul engine `{other}` is not ours or candle"
            )))
        }
    };
    run()?; // warm-up: lets the engine tier the kernel up to optimised code
    let mut times = Vec::with_capacity(reps.max(1));
    for _ in 0..reps.max(1) {
        let start = now_ms();
        run()?;
        times.push(now_ms() - start);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2].max(1e-3);
    Ok(2.0 * (m * k * n) as f64 / (median * 1e-3) / 1e9)
}

/// Runs `work` on one of the pool's threads (with the `threads` feature), so that each parallel step
/// inside starts at once on that thread while the others wake up and steal their share; called from
/// outside the pool, the caller would only wait while every pool thread wakes.
fn on_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "threads")]
    {
        let mut out = None;
        rayon::scope(|_| out = Some(work()));
        out.expect("the scope ran its body")
    }
    #[cfg(not(feature = "threads"))]
    work()
}

fn parse_fusion(name: &str) -> JsResult<Fusion> {
    Fusion::parse(name).ok_or_else(|| {
        JsError::new(&format!(
            "head fusion `{name}` is not one of mean, max, min"
        ))
    })
}

impl Trace {
    /// The whole trace, for tests.
    pub fn inner(&self) -> &VisionTrace {
        &self.trace
    }

    /// Side of the model's input image in pixels.
    pub fn image_size(&self) -> usize {
        self.image_size
    }

    /// (n, d) states of image 0 at `layer`.
    fn states(&self, layer: usize) -> JsResult<Tensor> {
        check("layer", layer, self.trace.hidden_states.len())?;
        self.trace.hidden_states[layer].i(0).map_err(js_error)
    }

    fn states_vec(&self, layer: usize) -> JsResult<Vec<f32>> {
        self.states(layer)?
            .flatten_all()
            .and_then(|t| t.to_vec1())
            .map_err(js_error)
    }

    /// (heads, n, n) probabilities of image 0 in block `layer`.
    fn attention(&self, layer: usize) -> JsResult<Tensor> {
        check("layer", layer, self.num_layers())?;
        self.trace.attentions[layer].i(0).map_err(js_error)
    }

    /// (1, heads, n) probe attention.
    fn probe(&self) -> JsResult<&Tensor> {
        self.trace
            .head_attention
            .as_ref()
            .ok_or_else(|| JsError::new("this checkpoint has no pooling head"))
    }
}
