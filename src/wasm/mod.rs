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

mod model;
mod text;
mod trace;

pub use model::{Model, ModelBuilder};
pub use text::{TextModel, TextModelBuilder};
pub use trace::Trace;

use candle_core::Tensor;
use js_sys::Float32Array;
use wasm_bindgen::prelude::*;

use crate::analysis::Fusion;
use crate::checkpoint::WeightStorage;
use crate::config::{PreprocessConfig, VisionConfig};

#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

pub(crate) type JsResult<T> = Result<T, JsError>;

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

pub(crate) fn js_error(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

/// Milliseconds from the page's (or worker's) `performance.now()`; `std::time` is unavailable here.
pub(crate) fn now_ms() -> f64 {
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

pub(crate) fn check(what: &str, index: usize, count: usize) -> JsResult<()> {
    match index < count {
        true => Ok(()),
        false => Err(JsError::new(&format!(
            "{what} {index} is out of range (0..{count})"
        ))),
    }
}

pub(crate) fn floats(tensor: &Tensor) -> JsResult<Float32Array> {
    let values: Vec<f32> = tensor
        .flatten_all()
        .and_then(|t| t.to_vec1())
        .map_err(js_error)?;
    Ok(Float32Array::from(values.as_slice()))
}

pub(crate) fn storage(weights: Option<String>) -> JsResult<WeightStorage> {
    weights
        .map_or(Ok(WeightStorage::F32), |w| WeightStorage::parse(&w))
        .map_err(js_error)
}

pub(crate) fn read_configs(
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
pub(crate) fn on_pool<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    #[cfg(feature = "threads")]
    {
        let mut out = None;
        rayon::scope(|_| out = Some(work()));
        out.expect("the scope ran its body")
    }
    #[cfg(not(feature = "threads"))]
    work()
}

pub(crate) fn parse_fusion(name: &str) -> JsResult<Fusion> {
    Fusion::parse(name).ok_or_else(|| {
        JsError::new(&format!(
            "head fusion `{name}` is not one of mean, max, min"
        ))
    })
}
