//! The wasm build in real browsers (`./build.sh test` runs it in headless Chromium and Firefox with
//! wasm-bindgen-test-runner): the same fixtures and tolerances as the native tests, through the
//! JS-facing `Model` / `Trace` API.
#![cfg(target_arch = "wasm32")]

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use siglip_lens::wasm::Model;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

mod compare;
#[path = "fuzz_regressions.rs"]
mod fuzz_regressions;
mod shapes;
mod views;

wasm_bindgen_test_configure!(run_in_browser);

const SIGLIP_CONFIG: &str = include_str!("fixtures/models/siglip/config.json");
const SIGLIP_PREPROCESSOR: &str = include_str!("fixtures/models/siglip/preprocessor_config.json");
const SIGLIP_WEIGHTS: &[u8] = include_bytes!("fixtures/models/siglip/model.safetensors");
const SIGLIP_REFERENCE: &[u8] = include_bytes!("fixtures/models/siglip/reference.safetensors");
const BF16_CONFIG: &str = include_str!("fixtures/models/vision-bf16/config.json");
const BF16_WEIGHTS: &[u8] = include_bytes!("fixtures/models/vision-bf16/model.safetensors");
const BF16_REFERENCE: &[u8] = include_bytes!("fixtures/models/vision-bf16/reference.safetensors");
const PALIGEMMA_CONFIG: &str = include_str!("fixtures/models/paligemma-f16/config.json");
const PALIGEMMA_WEIGHTS: &[u8] = include_bytes!("fixtures/models/paligemma-f16/model.safetensors");
const PALIGEMMA_REFERENCE: &[u8] =
    include_bytes!("fixtures/models/paligemma-f16/reference.safetensors");
const PREPROCESS_REFERENCE: &[u8] = include_bytes!("fixtures/preprocess.safetensors");
const LARGE_PNG: &[u8] = include_bytes!("fixtures/images/large.png");
const SHAPES_REFERENCE: &[u8] = include_bytes!("fixtures/preprocess-shapes.safetensors");
const REALWIDTH_CONFIG: &str = include_str!("fixtures/models/realwidth-f16/config.json");
const REALWIDTH_WEIGHTS: &[u8] = include_bytes!("fixtures/models/realwidth-f16/model.safetensors");
const REALWIDTH_REFERENCE: &[u8] =
    include_bytes!("fixtures/models/realwidth-f16/reference.safetensors");
const DEMO_CONFIG: &str = include_str!("../www/models/demo/config.json");
const DEMO_WEIGHTS: &[u8] = include_bytes!("../www/models/demo/model.safetensors");
const DEMO_VIEWS: &[u8] = include_bytes!("fixtures/demo-views.safetensors");

macro_rules! shape_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("fixtures/images/shapes/", $name)) as &[u8])),*]
    };
}

/// tests/fixtures/images/shapes/, every file preprocess-shapes.safetensors refers to.
const SHAPE_FILES: &[(&str, &[u8])] = shape_files![
    "coffee-420.jpg",
    "coffee-444.jpg",
    "downup-50x20.png",
    "drawing-420.jpg",
    "drawing-L-120x300.png",
    "gray16-30x40.png",
    "key-L-40x30.png",
    "key-RGB-40x30.png",
    "la-LA-40x30.png",
    "la16-24x20.png",
    "lineart-1-200x90.png",
    "near-34x36.png",
    "near-34x37.png",
    "near-52x57.png",
    "palette-P-60x40.png",
    "rgb16-24x20.png",
    "rgba16-24x20.png",
    "scene-tall-40x150.png",
    "scene-wide-150x40.png",
    "strip-1x60.png",
    "strip-60x1.png",
    "text-RGB-64x180.png",
    "updown-20x50.png",
];

fn shape_file(case: &shapes::Case) -> &'static [u8] {
    SHAPE_FILES
        .iter()
        .find(|(name, _)| *name == case.file)
        .unwrap_or_else(|| panic!("{} is not in SHAPE_FILES", case.file))
        .1
}

/// A PNG of 16-bit samples (IHDR bit depth): Pillow converts those its own way, which the native
/// decoder ports (`image_file`); neither the image crate's `to_rgba8` nor the browsers do.
fn is_16_bit_png(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG") && bytes.get(24) == Some(&16)
}

/// Decodes an image file exactly as www/image.js does: `createImageBitmap(blob, {imageOrientation:
/// "from-image", premultiplyAlpha: "none", colorSpaceConversion: "none"})`, drawn on an
/// OffscreenCanvas 2D (`willReadFrequently`), read back with `getImageData`.
async fn decode_like_the_page(bytes: &[u8], mime: &str) -> Result<siglip_lens::Rgba8, JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let bag = web_sys::BlobPropertyBag::new();
    bag.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &bag)?;
    let options = web_sys::ImageBitmapOptions::new();
    options.set_image_orientation(web_sys::ImageOrientation::FromImage);
    options.set_premultiply_alpha(web_sys::PremultiplyAlpha::None);
    options.set_color_space_conversion(web_sys::ColorSpaceConversion::None);
    let window = web_sys::window().ok_or("no window")?;
    let bitmap: web_sys::ImageBitmap = window
        .create_image_bitmap_with_blob_and_image_bitmap_options(&blob, &options)?
        .await?
        .dyn_into()?;
    let (width, height) = (bitmap.width(), bitmap.height());
    let canvas = web_sys::OffscreenCanvas::new(width, height)?;
    let settings = js_sys::Object::new();
    js_sys::Reflect::set(&settings, &"willReadFrequently".into(), &true.into())?;
    let context: web_sys::OffscreenCanvasRenderingContext2d = canvas
        .get_context_with_context_options("2d", &settings)?
        .ok_or("no 2d context")?
        .dyn_into()?;
    context.draw_image_with_image_bitmap(&bitmap, 0.0, 0.0)?;
    let data = context
        .get_image_data(0.0, 0.0, width as f64, height as f64)?
        .data()
        .0;
    bitmap.close();
    siglip_lens::Rgba8::new(width as usize, height as usize, data).map_err(|e| e.to_string().into())
}

/// tests/fixtures/images/large.png (500 × 375) as RGBA.
fn large_rgba() -> Vec<u8> {
    image::load_from_memory(LARGE_PNG)
        .expect("fixture PNG")
        .to_rgba8()
        .into_raw()
}

fn tensors(bytes: &[u8]) -> HashMap<String, Tensor> {
    candle_core::safetensors::load_buffer(bytes, &Device::Cpu).expect("reference fixture")
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().and_then(|t| t.to_vec1()).expect("f32")
}

/// A comparison's result, or the test fails with its message (tests/compare: lengths, shapes, NaN).
fn ok<T>(result: Result<T, String>) -> T {
    result.unwrap_or_else(|e| panic!("{e}"))
}

/// Same tolerances as tests/model.rs: hidden/pooled 1e-4 relative to max |ref|, attention 1e-5
/// absolute; with f16 weights, 1e-2 relative and 1e-3 absolute.
fn check(config: &str, weights: &[u8], reference: &[u8]) {
    check_stored(config, weights, reference, "f32")
}

fn check_stored(config: &str, weights: &[u8], reference: &[u8], storage: &str) {
    let (hidden, attention) = if storage == "f16" {
        (1e-2, 1e-3)
    } else {
        (1e-4, 1e-5)
    };
    let model = Model::new(config, None, weights, Some(storage.to_owned()))
        .map_err(|_| "model")
        .unwrap();
    assert_eq!(model.weight_storage(), storage);
    let (rel, abs) = check_trace(&model, &tensors(reference), hidden, attention);
    web_sys::console::log_1(&JsValue::from_str(&format!(
        "{storage} weights: worst hidden rel {rel:.2e}, attention abs {abs:.2e}"
    )));
}

/// Runs the reference's pixel_values and compares every output the reference holds: hidden states
/// relative to their largest magnitude, attention probabilities absolute. Every layer the trace has
/// must be in the reference, and the reference's head outputs in the trace.
/// Returns the worst relative and absolute differences.
fn check_trace(
    model: &Model,
    reference: &HashMap<String, Tensor>,
    hidden: f32,
    attention: f32,
) -> (f32, f32) {
    let pixels = values(&reference["pixel_values"]);
    let trace = model.run_pixels(&pixels).map_err(|_| "run").unwrap();
    let trace = trace.inner();
    let mut worst = (0f32, 0f32);
    let mut rel = |name: &str, ours: &Tensor| {
        let diff = ok(compare::check_tensor_rel(
            name,
            ours,
            &reference[name],
            hidden,
        ));
        worst.0 = worst.0.max(diff);
    };
    rel("last_hidden_state", &trace.last_hidden_state);
    for (i, t) in trace.hidden_states.iter().enumerate() {
        rel(&format!("hidden_states.{i}"), t);
    }
    if let Some(pooled) = &trace.pooler_output {
        rel("pooler_output", pooled);
    }
    let mut abs = |name: &str, ours: &Tensor| {
        let diff = ok(compare::check_tensor_abs(
            name,
            ours,
            &reference[name],
            attention,
        ));
        worst.1 = worst.1.max(diff);
    };
    for (i, t) in trace.attentions.iter().enumerate() {
        abs(&format!("attentions.{i}"), t);
    }
    match &trace.head_attention {
        Some(head) => abs("head_attention", head),
        None => assert!(!reference.contains_key("pooler_output")),
    }
    worst
}

#[wasm_bindgen_test]
fn simd128_and_relaxed_simd_are_compiled_in() {
    assert!(candle_core::utils::with_simd128(), "built without +simd128");
    assert!(
        siglip_lens::wasm::has_relaxed_simd(),
        "the default build uses relaxed-SIMD madd"
    );
}

#[wasm_bindgen_test]
fn siglip_layout_matches_transformers() {
    check(SIGLIP_CONFIG, SIGLIP_WEIGHTS, SIGLIP_REFERENCE);
}

#[wasm_bindgen_test]
fn bare_vision_bf16_matches_transformers() {
    check(BF16_CONFIG, BF16_WEIGHTS, BF16_REFERENCE);
}

#[wasm_bindgen_test]
fn paligemma_f16_without_head_matches_transformers() {
    check(PALIGEMMA_CONFIG, PALIGEMMA_WEIGHTS, PALIGEMMA_REFERENCE);
}

/// f32 weights held in f16 and widened a panel at a time by the SIMD kernel.
#[wasm_bindgen_test]
fn f16_weights_stay_close_to_transformers() {
    check_stored(SIGLIP_CONFIG, SIGLIP_WEIGHTS, SIGLIP_REFERENCE, "f16");
    check_stored(BF16_CONFIG, BF16_WEIGHTS, BF16_REFERENCE, "f16");
}

/// The tensors of a safetensors file handed over one by one, as www/wasm.js's `buildModel` does.
fn streamed(config: &str, weights: &[u8], storage: &str) -> Model {
    let mut builder = siglip_lens::wasm::ModelBuilder::new(Some(storage.into()))
        .map_err(|_| "builder")
        .unwrap();
    let file = safetensors::SafeTensors::deserialize(weights).unwrap();
    for (name, view) in file.tensors() {
        let shape: Vec<u32> = view.shape().iter().map(|&d| d as u32).collect();
        builder
            .add_tensor(&name, &format!("{:?}", view.dtype()), &shape, view.data())
            .map_err(|_| "tensor")
            .unwrap();
    }
    builder.build(config, None).map_err(|_| "build").unwrap()
}

/// google/siglip-base's width (768, MLP 3072, 12 heads, 196 patches), one layer, an f16 file: our GEMM
/// at the real depths and widths (twelve 256-deep blocks, several column chunks). Held in f16 the file's
/// values are exact, so both storages get the f32 tolerances; f16 goes through the streamed builder the
/// page uses.
#[wasm_bindgen_test]
fn real_width_tower_matches_transformers() {
    let reference = tensors(REALWIDTH_REFERENCE);
    let model = Model::new(REALWIDTH_CONFIG, None, REALWIDTH_WEIGHTS, None)
        .map_err(|_| "model")
        .unwrap();
    assert_eq!(
        (model.hidden_size(), model.intermediate_size()),
        (768, 3072)
    );
    let whole = check_trace(&model, &reference, 1e-4, 1e-5);
    let model = streamed(REALWIDTH_CONFIG, REALWIDTH_WEIGHTS, "f16");
    assert_eq!(model.weight_storage(), "f16");
    let f16 = check_trace(&model, &reference, 1e-4, 1e-5);
    web_sys::console::log_1(&JsValue::from_str(&format!(
        "real width: worst hidden rel {:.2e}, attention abs {:.2e} (f32); {:.2e}, {:.2e} (f16, streamed)",
        whole.0, whole.1, f16.0, f16.1
    )));
}

/// Every view's numbers as the worker asks the wasm `Trace` and `Model` for them, against numpy's on
/// transformers' trace of the demo (tests/views).
#[wasm_bindgen_test]
fn views_match_numpy_on_the_transformers_trace() {
    let model = Model::new(DEMO_CONFIG, None, DEMO_WEIGHTS, None)
        .map_err(|_| "model")
        .unwrap();
    let pixels = values(&tensors(PREPROCESS_REFERENCE)["large.3.224"]);
    let trace = model.run_pixels(&pixels).map_err(|_| "run").unwrap();
    let fixture = ok(views::Views::parse(DEMO_VIEWS));
    let worst = ok(fixture.check(&WasmViews {
        model: &model,
        trace: &trace,
    }));
    web_sys::console::log_1(&JsValue::from_str(&format!(
        "views against numpy (wasm): {worst:?}"
    )));
}

/// The views through the JS-facing API, as the worker calls it.
struct WasmViews<'a> {
    model: &'a Model,
    trace: &'a siglip_lens::wasm::Trace,
}

fn js<T>(result: Result<js_sys::Float32Array, T>) -> Vec<f32> {
    result.map_err(|_| "a view threw").unwrap().to_vec()
}

impl views::Source for WasmViews<'_> {
    fn norms(&self, layer: usize) -> Vec<f32> {
        js(self.trace.patch_norms(layer))
    }
    fn similarity(&self, layer: usize, patch: usize) -> Vec<f32> {
        js(self.trace.patch_similarity(layer, patch))
    }
    fn pca(&self, layer: usize) -> (Vec<f32>, Vec<f32>) {
        let mut rgb = js(self.trace.patch_pca(layer));
        let explained = rgb.split_off(rgb.len().saturating_sub(3));
        (rgb, explained)
    }
    fn rollout(&self, query: Option<usize>, fusion: &str) -> Vec<f32> {
        js(self.trace.rollout(query, fusion))
    }
    fn head_stats(&self) -> Vec<f32> {
        js(self.trace.head_stats())
    }
    fn attention_row(&self, block: usize, head: usize, query: usize) -> Vec<f32> {
        js(self.trace.attention_row(block, head, query))
    }
    fn fused(&self, block: usize, query: usize, fusion: &str) -> Vec<f32> {
        js(self.trace.attention_fused(block, query, fusion))
    }
    fn probe(&self, head: usize) -> Vec<f32> {
        js(self.trace.head_attention(head))
    }
    fn probe_mean(&self) -> Vec<f32> {
        js(self.trace.head_attention_mean())
    }
    fn position_similarity(&self, patch: usize) -> Vec<f32> {
        js(self.model.position_similarity(patch))
    }
}

#[wasm_bindgen_test]
fn simd_f16_widening_is_exact_for_every_bit_pattern() {
    let bits: Vec<u16> = (0..=u16::MAX).collect();
    let mut out = vec![0f32; bits.len()];
    siglip_lens::simd::f16_to_f32(&bits, &mut out);
    for (&h, &f) in bits.iter().zip(&out) {
        let expected = half::f16::from_bits(h).to_f32();
        assert!(
            f.to_bits() == expected.to_bits() || (f.is_nan() && expected.is_nan()),
            "{h:#06x} → {f}, want {expected}"
        );
    }
}

#[wasm_bindgen_test]
fn preprocessing_in_the_browser_is_pil_exact() {
    let vision = siglip_lens::VisionConfig {
        image_size: 224,
        ..Default::default()
    };
    for (resample, key) in [
        (siglip_lens::Resample::Bicubic, "large.3.224"),
        (siglip_lens::Resample::Bilinear, "large.2.224"),
    ] {
        let config = siglip_lens::PreprocessConfig {
            resample,
            ..siglip_lens::PreprocessConfig::for_model(&vision)
        };
        let image = siglip_lens::Rgba8::new(500, 375, large_rgba()).unwrap();
        let ours = siglip_lens::preprocess(&image, &config)
            .unwrap()
            .pixel_values;
        ok(compare::check_tensor_abs(
            key,
            &ours,
            &tensors(PREPROCESS_REFERENCE)[key],
            1e-6,
        ));
    }
}

/// Every 8-bit PNG case of preprocess-shapes.safetensors (see tests/preprocess.rs), decoded with the
/// image crate: the wasm build resizes exactly as PIL does, in both pass orders.
#[wasm_bindgen_test]
fn every_png_shape_is_pil_exact_in_the_browser() {
    let cases = shapes::cases(SHAPES_REFERENCE).unwrap();
    let mut count = 0;
    for case in cases.iter().filter(|c| c.is_png()) {
        let bytes = shape_file(case);
        if is_16_bit_png(bytes) {
            continue;
        }
        let rgba = image::load_from_memory(bytes).unwrap().to_rgba8();
        let (width, height) = (rgba.width() as usize, rgba.height() as usize);
        let image = siglip_lens::Rgba8::new(width, height, rgba.into_raw()).unwrap();
        let ours = siglip_lens::preprocess(&image, &case.config()).unwrap();
        let diff = case.compare(&ours).unwrap();
        assert!(
            diff.max_levels == 0 && diff.max_pixel_values <= 1e-6,
            "{}: {diff:?}",
            case.key
        );
        count += 1;
    }
    assert!(count >= 60, "{count} cases");
}

/// What the page's decoding (the browser's) is allowed to change, by kind of file, in levels of the
/// resized image; `None`: not compared, with the reason. Measured in Chromium 156 and Firefox ESR
/// 153 (2026-12), the bounds keep a margin over the worse browser:
///
/// | kind | Chromium | Firefox | bound (levels, mean of pixel_values) |
/// | --- | --- | --- | --- |
/// | JPEG (4:2:0, 4:4:4): both decode with libjpeg-turbo, as PIL does | 0 | 0 | 1, 0.002 |
/// | 8-bit PNG, alpha only 0 or 255 (or none) | 0 | 0 | 0 |
/// | 8-bit PNG with partial alpha: Firefox's canvas premultiplies | 0 | 1, 0.0023 | 1, 0.004 |
/// | 16-bit RGB / RGBA / LA PNG: Firefox rounds v / 257, PIL takes v >> 8 | 0 | 3, 0.0036 | 4, 0.01 |
/// | 16-bit grey PNG: PIL clips to 255 (mode I;16), browsers scale | 254 | 254 | not compared |
fn browser_tolerance(file: &str, bytes: &[u8]) -> Result<(u32, f32), &'static str> {
    if !file.ends_with(".png") {
        return Ok((1, 0.002));
    }
    if bytes.get(24..26) == Some(&[16, 0]) {
        return Err("16-bit grey: PIL clips it (I;16), browsers scale it");
    }
    if is_16_bit_png(bytes) {
        return Ok((4, 0.01));
    }
    let rgba = image::load_from_memory(bytes).unwrap().to_rgba8();
    match rgba.pixels().any(|p| p[3] != 0 && p[3] != 255) {
        true => Ok((1, 0.004)),
        false => Ok((0, 1e-6)), // identical bytes; pixel_values then differ by float rounding only
    }
}

/// The page's own path: each fixture (PNG and JPEG) decoded by the browser as www/image.js decodes
/// it, then our preprocessing, against transformers' pixel_values; per-kind bounds above. The figures
/// are printed (run the test binary with `--nocapture` to see them).
#[wasm_bindgen_test]
async fn browser_decoded_fixtures_against_pil() {
    let cases = shapes::cases(SHAPES_REFERENCE).unwrap();
    let (mut failures, mut jpeg) = (Vec::new(), (0, 0f32, 0));
    for case in &cases {
        let bytes = shape_file(case);
        let mime = if case.is_png() {
            "image/png"
        } else {
            "image/jpeg"
        };
        let image = decode_like_the_page(bytes, mime)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", case.file));
        let diff = case
            .compare(&siglip_lens::preprocess(&image, &case.config()).unwrap())
            .unwrap();
        let mut line = format!(
            "{:36} max {:3} levels, mean {:.4}, {:4.1} % > 1 level",
            case.key,
            diff.max_levels,
            diff.mean,
            100.0 * diff.over_one_level
        );
        match browser_tolerance(&case.file, bytes) {
            Ok((levels, mean)) if diff.max_levels > levels || diff.mean > mean => {
                failures.push(format!("{line} (bound {levels} levels, mean {mean})"));
            }
            Ok(_) => {}
            Err(why) => line += &format!(" (not compared: {why})"),
        }
        if !case.is_png() {
            jpeg = (
                jpeg.0.max(diff.max_levels),
                jpeg.1.max(diff.mean),
                jpeg.2 + 1,
            );
        }
        web_sys::console::log_1(&JsValue::from_str(&line));
    }
    let summary = format!(
        "JPEG through the browser: worst max {} levels, worst mean {:.4}, {} cases",
        jpeg.0, jpeg.1, jpeg.2
    );
    web_sys::console::log_1(&JsValue::from_str(&summary));
    assert_eq!(jpeg.2, 6, "JPEG cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[wasm_bindgen_test]
fn the_js_api_runs_an_image_and_answers_every_view() {
    let model = Model::new(
        SIGLIP_CONFIG,
        Some(SIGLIP_PREPROCESSOR.into()),
        SIGLIP_WEIGHTS,
        None,
    )
    .map_err(|_| "model")
    .unwrap();
    let trace = model
        .run(&large_rgba(), 500, 375)
        .map_err(|_| "run")
        .unwrap();
    let n = trace.num_patches();
    assert_eq!(
        (trace.num_layers(), trace.num_heads(), n, trace.grid_size()),
        (2, 4, 16, 4)
    );
    assert_eq!(
        trace.seen().map_err(|_| "seen").unwrap().length() as usize,
        32 * 32 * 4
    );
    let row = trace
        .attention_row(1, 2, 5)
        .map_err(|_| "row")
        .unwrap()
        .to_vec();
    assert_eq!(row.len(), n);
    assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    let rows = trace
        .attention_rows(1, 5)
        .map_err(|_| "rows")
        .unwrap()
        .to_vec();
    assert_eq!(&rows[2 * n..3 * n], row.as_slice());
    let mean = trace
        .attention_fused(1, 5, "mean")
        .map_err(|_| "fused")
        .unwrap()
        .to_vec();
    let expected: f32 = (0..4).map(|h| rows[h * n + 7]).sum::<f32>() / 4.0;
    assert!((mean[7] - expected).abs() < 1e-6);
    assert_eq!(
        trace.patch_norms(2).map_err(|_| "norms").unwrap().length() as usize,
        n
    );
    assert_eq!(
        trace.patch_pca(0).map_err(|_| "pca").unwrap().length() as usize,
        n * 3 + 3
    );
    assert_eq!(
        trace
            .rollout(None, "min")
            .map_err(|_| "rollout")
            .unwrap()
            .length() as usize,
        n
    );
    assert_eq!(
        trace.head_stats().map_err(|_| "stats").unwrap().length() as usize,
        2 * 4 * 2
    );
    assert_eq!(
        trace
            .head_attention_mean()
            .map_err(|_| "probe")
            .unwrap()
            .length() as usize,
        n
    );
    assert_eq!(
        model
            .position_similarity(3)
            .map_err(|_| "pos")
            .unwrap()
            .to_vec()[3],
        1.0
    );
}

#[wasm_bindgen_test]
fn bad_input_throws_instead_of_trapping() {
    // Each of these must come back as an Err (a JS exception), and the module must stay usable after.
    assert!(Model::new("not json", None, SIGLIP_WEIGHTS, None).is_err());
    assert!(
        Model::new(SIGLIP_CONFIG, None, SIGLIP_WEIGHTS, Some("f8".into())).is_err(),
        "unknown storage"
    );
    assert!(
        Model::new(
            "{\"vision_config\": {\"hidden_size\": 48}}",
            None,
            SIGLIP_WEIGHTS,
            None
        )
        .is_err(),
        "wrong shape"
    );
    assert!(
        Model::new(
            SIGLIP_CONFIG,
            None,
            &SIGLIP_WEIGHTS[..SIGLIP_WEIGHTS.len() / 2],
            None
        )
        .is_err(),
        "truncated"
    );
    assert!(
        Model::new(SIGLIP_CONFIG, None, &[1, 2, 3], None).is_err(),
        "too short"
    );
    assert!(Model::new(
        SIGLIP_CONFIG,
        Some("{\"resample\": 9}".into()),
        SIGLIP_WEIGHTS,
        None
    )
    .is_err());
    let model = Model::new(SIGLIP_CONFIG, None, SIGLIP_WEIGHTS, None)
        .map_err(|_| "model")
        .unwrap();
    assert!(model.run(&[0; 12], 2, 2).is_err(), "wrong byte count");
    assert!(model.run(&[], 0, 0).is_err(), "empty image");
    assert!(model.run(&[], 40_000, 40_000).is_err(), "bomb");
    assert!(model.run_pixels(&[0.0; 7]).is_err());
    let trace = model
        .run(&[128; 4 * 4 * 4], 4, 4)
        .map_err(|_| "1 run")
        .unwrap();
    assert!(trace.attention_row(2, 0, 0).is_err(), "layer out of range");
    assert!(trace.attention_row(0, 4, 0).is_err(), "head out of range");
    assert!(trace.attention_row(0, 0, 16).is_err(), "patch out of range");
    assert!(trace.hidden_states(3).is_err());
    assert!(trace.rollout(Some(99), "mean").is_err());
    assert!(trace.rollout(None, "median").is_err());
    assert!(model.position_similarity(16).is_err());
    assert!(trace.attention_row(1, 3, 15).is_ok(), "still usable");
}

#[wasm_bindgen_test]
fn simd_gemm_matches_the_naive_product_on_edge_shapes() {
    use siglip_lens::gemm::{matmul, PackedB};
    let values = |len: usize, seed: u32| -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    };
    for (m, n, k) in [
        (1, 1, 1),
        (4, 8, 256),
        (7, 9, 257),
        (13, 17, 600),
        (196, 24, 64),
        (5, 3, 1000),
        (37, 1000, 3072), // fc2's depth (12 k blocks), two column chunks of C
    ] {
        let (a, b, bias) = (values(m * k, 1), values(n * k, 2), values(n, 3));
        // NaN in C until the product writes it: a value left unwritten fails the comparison.
        let mut c = vec![f32::NAN; m * n];
        matmul(&a, m, &PackedB::from_rows(&b, n, k), Some(&bias), &mut c);
        let expected: Vec<f32> = (0..m * n)
            .map(|ij| {
                let (i, j) = (ij / n, ij % n);
                let dot: f64 = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[j * k + p] as f64)
                    .sum::<f64>();
                (dot + bias[j] as f64) as f32
            })
            .collect();
        ok(compare::check_abs(
            &format!("{m}×{n}×{k}"),
            &c,
            &expected,
            1e-3 * (k as f32).sqrt(),
        ));
    }
}

#[wasm_bindgen_test]
fn simd_exp_and_gelu_match_the_scalar_definitions() {
    let mut xs: Vec<f32> = (-400..=400).map(|i| i as f32 * 0.05).collect();
    let expected: Vec<f64> = xs
        .iter()
        .map(|&x| {
            let x = x as f64;
            0.5 * x * (1.0 + (0.797_884_560_802_865_4 * (x + 0.044715 * x * x * x)).tanh())
        })
        .collect();
    siglip_lens::simd::gelu_inplace(&mut xs);
    for (got, want) in xs.iter().zip(&expected) {
        assert!(
            (*got as f64 - want).abs() <= 1e-6 * (1.0 + want.abs()),
            "{got} vs {want}"
        );
    }
    let mut rows = vec![0.3f32, -2.0, 5.0, 1.0, 0.0, 7.5, -1.0];
    let reference: Vec<f64> = {
        let scaled: Vec<f64> = rows.iter().map(|&v| v as f64 * 0.5).collect();
        let max = scaled.iter().cloned().fold(f64::MIN, f64::max);
        let sum: f64 = scaled.iter().map(|v| (v - max).exp()).sum();
        scaled.iter().map(|v| (v - max).exp() / sum).collect()
    };
    siglip_lens::simd::softmax_rows_inplace(&mut rows, 7, 0.5);
    for (got, want) in rows.iter().zip(&reference) {
        assert!((*got as f64 - want).abs() < 1e-7, "{got} vs {want}");
    }
}

/// One tokenizer fixture folder: its files and transformers' reference ids.
struct TokenizerFixture {
    name: &'static str,
    files: siglip_lens::TokenizerFiles<'static>,
    reference: &'static str,
}

const TOKENIZER_FIXTURES: [TokenizerFixture; 3] = [
    TokenizerFixture {
        name: "siglip",
        files: siglip_lens::TokenizerFiles {
            spiece_model: Some(include_bytes!("fixtures/tokenizers/siglip/spiece.model")),
            tokenizer_json: None,
            tokenizer_config: Some(include_str!(
                "fixtures/tokenizers/siglip/tokenizer_config.json"
            )),
            special_tokens_map: Some(include_str!(
                "fixtures/tokenizers/siglip/special_tokens_map.json"
            )),
            config: Some(include_str!("fixtures/tokenizers/siglip/config.json")),
        },
        reference: include_str!("fixtures/tokenizers/siglip/reference.json"),
    },
    TokenizerFixture {
        name: "siglip-bytes",
        files: siglip_lens::TokenizerFiles {
            spiece_model: Some(include_bytes!(
                "fixtures/tokenizers/siglip-bytes/spiece.model"
            )),
            tokenizer_json: None,
            tokenizer_config: Some(include_str!(
                "fixtures/tokenizers/siglip-bytes/tokenizer_config.json"
            )),
            special_tokens_map: Some(include_str!(
                "fixtures/tokenizers/siglip-bytes/special_tokens_map.json"
            )),
            config: Some(include_str!("fixtures/tokenizers/siglip-bytes/config.json")),
        },
        reference: include_str!("fixtures/tokenizers/siglip-bytes/reference.json"),
    },
    TokenizerFixture {
        name: "siglip2",
        files: siglip_lens::TokenizerFiles {
            spiece_model: None,
            tokenizer_json: Some(include_str!("fixtures/tokenizers/siglip2/tokenizer.json")),
            tokenizer_config: Some(include_str!(
                "fixtures/tokenizers/siglip2/tokenizer_config.json"
            )),
            special_tokens_map: Some(include_str!(
                "fixtures/tokenizers/siglip2/special_tokens_map.json"
            )),
            config: Some(include_str!("fixtures/tokenizers/siglip2/config.json")),
        },
        reference: include_str!("fixtures/tokenizers/siglip2/reference.json"),
    },
];

/// Same checks as tests/tokenizer.rs: every string's ids identical to transformers'.
#[wasm_bindgen_test]
fn tokenizers_match_transformers_in_the_browser() {
    let ids = |value: &serde_json::Value| -> Vec<u32> {
        let list = value.as_array().expect("id list");
        list.iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect()
    };
    let mut failures = Vec::new();
    for fixture in &TOKENIZER_FIXTURES {
        let reference: serde_json::Value = serde_json::from_str(fixture.reference).unwrap();
        let tokenizer = siglip_lens::Tokenizer::from_files(&fixture.files).unwrap();
        let max_length = reference["max_length"].as_u64().unwrap() as usize;
        assert_eq!(tokenizer.max_length(), max_length, "{}", fixture.name);
        let cases = reference["cases"].as_array().unwrap();
        assert!(cases.len() >= 40, "{}: too few cases", fixture.name);
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let checks = [
                ("unpadded", tokenizer.encode(text), ids(&case["unpadded"])),
                (
                    "max_length",
                    tokenizer.encode_padded(text, max_length).unwrap(),
                    ids(&case["input_ids"]),
                ),
                (
                    "16",
                    tokenizer.encode_padded(text, 16).unwrap(),
                    ids(&case["input_ids_16"]),
                ),
            ];
            for (what, ours, theirs) in checks {
                if ours != theirs {
                    failures.push(format!(
                        "{} {text:?} ({what}): ours {ours:?}, transformers {theirs:?}",
                        fixture.name
                    ));
                }
            }
        }
        for case in reference["random"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let (ours, theirs) = (tokenizer.encode(text), ids(&case["unpadded"]));
            if ours != theirs {
                failures.push(format!(
                    "{} {text:?} (random): ours {ours:?}, transformers {theirs:?}",
                    fixture.name
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let damaged = siglip_lens::TokenizerFiles {
        spiece_model: Some(b"not a model"),
        ..Default::default()
    };
    assert!(siglip_lens::Tokenizer::from_files(&damaged).is_err());
}

// ---- the text tower and the scores ---------------------------------------------------------------

const TEXT_DIR_CONFIG: &str = include_str!("fixtures/models/siglip-text/config.json");
const TEXT_PREPROCESSOR: &str =
    include_str!("fixtures/models/siglip-text/preprocessor_config.json");
const TEXT_WEIGHTS: &[u8] = include_bytes!("fixtures/models/siglip-text/model.safetensors");
const TEXT_REFERENCE: &[u8] = include_bytes!("fixtures/models/siglip-text/reference.safetensors");
const TEXT_SPIECE: &[u8] = include_bytes!("fixtures/models/siglip-text/spiece.model");
const TEXT_TOKENIZER_CONFIG: &[u8] =
    include_bytes!("fixtures/models/siglip-text/tokenizer_config.json");
const PHOTO_PNG: &[u8] = include_bytes!("fixtures/images/photo.png");

/// The text tower built the way the page builds it: tensor by tensor, then the tokenizer's files.
fn text_model(storage: &str) -> siglip_lens::wasm::TextModel {
    let mut builder = siglip_lens::wasm::TextModelBuilder::new(Some(storage.into()))
        .map_err(|_| "builder")
        .unwrap();
    let file = safetensors::SafeTensors::deserialize(TEXT_WEIGHTS).unwrap();
    for (name, view) in file.tensors() {
        if name.starts_with("vision_model.") {
            continue; // the page sends the text tower alone
        }
        let shape: Vec<u32> = view.shape().iter().map(|&d| d as u32).collect();
        builder
            .add_tensor(&name, &format!("{:?}", view.dtype()), &shape, view.data())
            .map_err(|_| "tensor")
            .unwrap();
    }
    builder
        .add_tokenizer_file("spiece.model", TEXT_SPIECE)
        .map_err(|_| "spiece")
        .unwrap();
    builder
        .add_tokenizer_file("tokenizer_config.json", TEXT_TOKENIZER_CONFIG)
        .map_err(|_| "config")
        .unwrap();
    builder.build(TEXT_DIR_CONFIG).map_err(|_| "build").unwrap()
}

fn fixture_labels() -> Vec<String> {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(TEXT_REFERENCE).unwrap();
    serde_json::from_str(&metadata.metadata().as_ref().unwrap()["labels"]).unwrap()
}

#[wasm_bindgen_test]
fn text_tower_scores_and_maps_match_transformers() {
    let reference = tensors(TEXT_REFERENCE);
    let labels = fixture_labels();
    let text = text_model("f32");
    assert!(text.has_scores());
    // input_ids: identical to the processor's.
    let ids: Vec<i64> = reference["input_ids"]
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let length = text.max_length();
    for (i, label) in labels.iter().enumerate() {
        let ours: Vec<i64> = text
            .tokenize(label)
            .map_err(|_| "ids")
            .unwrap()
            .to_vec()
            .into_iter()
            .map(i64::from)
            .collect();
        assert_eq!(ours, ids[i * length..][..length], "{label:?}");
    }
    // text_embeds, then the score table against transformers' image_embeds.
    let embeds = text
        .embed(labels.clone())
        .map_err(|_| "embed")
        .unwrap()
        .to_vec();
    let expected = values(&reference["text_embeds"]);
    ok(compare::check_abs("text_embeds", &embeds, &expected, 1e-4));
    let model = Model::new(
        TEXT_DIR_CONFIG,
        Some(TEXT_PREPROCESSOR.into()),
        TEXT_WEIGHTS,
        None,
    )
    .map_err(|_| "model")
    .unwrap();
    let rgba = image::load_from_memory(PHOTO_PNG).unwrap().to_rgba8();
    let trace = model
        .run(rgba.as_raw(), rgba.width() as usize, rgba.height() as usize)
        .map_err(|_| "run")
        .unwrap();
    let image_embeds = trace.image_embeds().map_err(|_| "image").unwrap().to_vec();
    let expected_image = values(&reference["image_embeds"]);
    ok(compare::check_abs(
        "image_embeds",
        &image_embeds,
        &expected_image,
        1e-4,
    ));
    let table = text
        .score_table(&image_embeds, &embeds)
        .map_err(|_| "table")
        .unwrap()
        .to_vec();
    let t = labels.len();
    let logits = values(&reference["logits_per_image"]);
    assert_eq!(
        table.len(),
        3 * t,
        "score table: (cosine, logit, probability) per label"
    );
    ok(compare::check_rel(
        "logits",
        &table[t..2 * t],
        &logits,
        1e-4,
    ));
    let sigmoid: Vec<f32> = logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect();
    ok(compare::check_abs(
        "sigmoid",
        &table[2 * t..],
        &sigmoid,
        1e-6,
    ));
    // The maps.
    let value_path = model
        .value_path_map(&trace, &embeds)
        .map_err(|_| "value path")
        .unwrap()
        .to_vec();
    ok(compare::check_abs(
        "value_path",
        &value_path,
        &values(&reference["value_path"]),
        1e-5,
    ));
    let n = trace.num_patches();
    let mut occluded = Vec::new();
    for start in (0..n).step_by(5) {
        let count = 5.min(n - start);
        occluded.extend(
            model
                .occlusion_embeds(&trace, 3, start, count)
                .map_err(|_| "occlusion")
                .unwrap()
                .to_vec(),
        );
    }
    let d = embeds.len() / t;
    let expected = values(&reference["occlusion_3"]);
    let scale = ok(compare::max_abs("occlusion_3", &expected));
    for (i, text_embed) in embeds.chunks_exact(d).enumerate() {
        let drops = text
            .logit_drops(&image_embeds, &occluded, text_embed)
            .map_err(|_| "drops")
            .unwrap()
            .to_vec();
        ok(compare::check_abs(
            &format!("occlusion of label {i}"),
            &drops,
            &expected[i * n..][..n],
            1e-4 * scale,
        ));
    }
}

#[wasm_bindgen_test]
fn text_tower_in_f16_stays_close() {
    let reference = tensors(TEXT_REFERENCE);
    let text = text_model("f16");
    assert_eq!(text.weight_storage(), "f16");
    let embeds = text
        .embed(fixture_labels())
        .map_err(|_| "embed")
        .unwrap()
        .to_vec();
    ok(compare::check_abs(
        "text_embeds with f16 weights",
        &embeds,
        &values(&reference["text_embeds"]),
        1e-2,
    ));
}
