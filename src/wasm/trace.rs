//! Everything one forward computed, kept in wasm memory behind a handle; every method copies out one
//! small map.

use candle_core::{IndexOp, Tensor};
use js_sys::{Float32Array, Uint8ClampedArray};
use wasm_bindgen::prelude::*;

use super::{check, floats, js_error, on_pool, parse_fusion, JsResult};
use crate::analysis::{self, Fusion};
use crate::model::VisionTrace;

/// Everything one forward computed, kept in wasm memory.
#[wasm_bindgen]
pub struct Trace {
    pub(super) trace: VisionTrace,
    /// The resized 8-bit RGB image the model saw (absent when run from pixel values).
    pub(super) seen: Option<Vec<u8>>,
    pub(super) grid: usize,
    pub(super) patch_size: usize,
    pub(super) image_size: usize,
    pub(super) preprocess_ms: f64,
    pub(super) forward_ms: f64,
    /// Rollout matrices (n, n) computed so far, by head fusion.
    pub(super) rollouts: std::cell::RefCell<std::collections::HashMap<Fusion, Vec<f32>>>,
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

    /// The pooled image embedding divided by its L2 norm — `image_embeds`, what text is scored
    /// against: Float32Array(hiddenSize); throws without a head.
    #[wasm_bindgen(js_name = imageEmbeds)]
    pub fn image_embeds(&self) -> JsResult<Float32Array> {
        let pooled = self.trace.pooler_output.as_ref().ok_or_else(|| {
            JsError::new("this checkpoint has no pooling head, so no image embedding")
        })?;
        floats(&crate::model::l2_normalize(pooled).map_err(js_error)?)
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
