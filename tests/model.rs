//! The forward against transformers' outputs, for every checkpoint layout and dtype.

#![cfg(not(target_arch = "wasm32"))]

mod common;
mod compare;
mod views;

use common::{
    assert_abs, assert_rel, fixtures, load_model, load_model_stored, load_tensors, TestResult,
};
use siglip_lens::analysis::{self, Fusion};
use siglip_lens::checkpoint::WeightStorage;

/// Hidden states and pooled output: relative to the tensor's largest magnitude.
const HIDDEN_TOLERANCE: f32 = 1e-4;
/// Attention probabilities: absolute.
const ATTENTION_TOLERANCE: f32 = 1e-5;
/// With the matrices held in f16 the issue asks for hidden states within 1e-2 of their largest
/// magnitude; the figures reached are printed.
const F16_TOLERANCE: f32 = 1e-2;
/// Attention probabilities with f16 weights, absolute: 2.4e-4 at worst on the tiny fixtures and 1.7e-4
/// at base-224's shape, so 1e-3 (1e-2 would be a third of the largest probability in some rows).
const F16_ATTENTION_TOLERANCE: f32 = 1e-3;

fn check_against_reference(name: &str, expect_head: bool) -> TestResult {
    check_stored(name, expect_head, WeightStorage::F32)
}

fn check_stored(name: &str, expect_head: bool, storage: WeightStorage) -> TestResult {
    let (hidden_tolerance, attention_tolerance) = match storage {
        WeightStorage::F32 => (HIDDEN_TOLERANCE, ATTENTION_TOLERANCE),
        WeightStorage::F16 => (F16_TOLERANCE, F16_ATTENTION_TOLERANCE),
    };
    let dir = fixtures().join("models").join(name);
    let loaded = load_model_stored(&dir, storage)?;
    let reference = load_tensors(&dir.join("reference.safetensors"))?;
    let trace = loaded.model.forward(&reference["pixel_values"])?;
    let layers = loaded.config.num_hidden_layers;
    assert_eq!(trace.hidden_states.len(), layers + 1);
    assert_eq!(trace.attentions.len(), layers);

    let mut worst_hidden = assert_rel(
        "last_hidden_state",
        &trace.last_hidden_state,
        &reference["last_hidden_state"],
        hidden_tolerance,
    )?;
    for (i, ours) in trace.hidden_states.iter().enumerate() {
        let key = format!("hidden_states.{i}");
        worst_hidden =
            worst_hidden.max(assert_rel(&key, ours, &reference[&key], hidden_tolerance)?);
    }
    let mut worst_attention = 0f32;
    for (i, ours) in trace.attentions.iter().enumerate() {
        let key = format!("attentions.{i}");
        worst_attention = worst_attention.max(assert_abs(
            &key,
            ours,
            &reference[&key],
            attention_tolerance,
        )?);
    }
    match (&trace.pooler_output, &trace.head_attention) {
        (Some(pooled), Some(head)) => {
            assert!(expect_head, "{name} should have no head");
            worst_hidden = worst_hidden.max(assert_rel(
                "pooler_output",
                pooled,
                &reference["pooler_output"],
                hidden_tolerance,
            )?);
            worst_attention = worst_attention.max(assert_abs(
                "head_attention",
                head,
                &reference["head_attention"],
                attention_tolerance,
            )?);
        }
        _ => assert!(
            !expect_head && !reference.contains_key("pooler_output"),
            "{name}: head outputs missing"
        ),
    }
    println!("{name} ({storage:?} weights): worst hidden/pooled rel diff {worst_hidden:.2e}, worst attention abs diff {worst_attention:.2e}");
    Ok(())
}

#[test]
fn siglip_model_layout_f32() -> TestResult {
    check_against_reference("siglip", true)
}

#[test]
fn bare_vision_model_bf16_with_remainder_pixels() -> TestResult {
    check_against_reference("vision-bf16", true)
}

#[test]
fn paligemma_layout_f16_without_head() -> TestResult {
    check_against_reference("paligemma-f16", false)
}

#[test]
fn f16_weights_stay_close_to_the_reference() -> TestResult {
    check_stored("siglip", true, WeightStorage::F16)?;
    check_stored("vision-bf16", true, WeightStorage::F16)?;
    check_stored("paligemma-f16", false, WeightStorage::F16)
}

/// An f16 checkpoint loses nothing when held in f16: the widened values are the same floats.
#[test]
fn an_f16_checkpoint_held_in_f16_computes_exactly_as_in_f32() -> TestResult {
    let dir = fixtures().join("models").join("paligemma-f16");
    let pixels = &load_tensors(&dir.join("reference.safetensors"))?["pixel_values"];
    let traces = [WeightStorage::F32, WeightStorage::F16].map(|storage| {
        load_model_stored(&dir, storage).and_then(|m| Ok(m.model.forward(pixels)?))
    });
    let [f32_trace, f16_trace] = traces;
    let (a, b) = (f32_trace?.last_hidden_state, f16_trace?.last_hidden_state);
    assert_eq!(
        a.flatten_all()?.to_vec1::<f32>()?,
        b.flatten_all()?.to_vec1::<f32>()?
    );
    Ok(())
}

#[test]
fn demo_checkpoint_matches_its_reference() -> TestResult {
    let loaded =
        load_model(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/models/demo"))?;
    let reference = load_tensors(&fixtures().join("demo-reference.safetensors"))?;
    let pixels = load_tensors(&fixtures().join("preprocess.safetensors"))?;
    let trace = loaded.model.forward(&pixels["large.3.224"])?;
    assert_rel(
        "last_hidden_state",
        &trace.last_hidden_state,
        &reference["last_hidden_state"],
        HIDDEN_TOLERANCE,
    )?;
    assert_rel(
        "hidden_states.2",
        &trace.hidden_states[2],
        &reference["hidden_states.2"],
        HIDDEN_TOLERANCE,
    )?;
    assert_abs(
        "attentions.3",
        &trace.attentions[3],
        &reference["attentions.3"],
        ATTENTION_TOLERANCE,
    )?;
    assert_rel(
        "pooler_output",
        trace.pooler_output.as_ref().ok_or("no head")?,
        &reference["pooler_output"],
        HIDDEN_TOLERANCE,
    )?;
    assert_abs(
        "head_attention",
        trace.head_attention.as_ref().ok_or("no head")?,
        &reference["head_attention"],
        ATTENTION_TOLERANCE,
    )?;
    Ok(())
}

#[test]
fn batch_of_two_gives_each_image_its_own_trace() -> TestResult {
    let dir = fixtures().join("models").join("siglip");
    let loaded = load_model(&dir)?;
    let reference = load_tensors(&dir.join("reference.safetensors"))?;
    let pixels = &reference["pixel_values"];
    let flipped = pixels.flip(&[3])?;
    let batch = candle_core::Tensor::cat(&[pixels, &flipped], 0)?;
    let trace = loaded.model.forward(&batch)?;
    assert_rel(
        "batch[0]",
        &trace.last_hidden_state.get(0)?.unsqueeze(0)?,
        &reference["last_hidden_state"],
        HIDDEN_TOLERANCE,
    )?;
    let alone = loaded.model.forward(&flipped)?;
    assert_rel(
        "batch[1]",
        &trace.attentions[1].get(1)?.unsqueeze(0)?,
        &alone.attentions[1],
        1e-6,
    )?;
    Ok(())
}

/// google/siglip-base-patch16-224's shape (12 layers, 768 wide, 196 patches), random weights.
/// Too large to commit: `tools/make_fixtures.py --base224 tools/out/base224` writes it, then
/// `SIGLIP_BASE224=tools/out/base224 cargo test --release --test model -- --ignored --nocapture`.
#[test]
#[ignore = "needs tools/make_fixtures.py --base224 (344 MB); see the doc comment"]
fn base224_real_shape() -> TestResult {
    let dir = std::path::PathBuf::from(
        std::env::var("SIGLIP_BASE224").map_err(|_| "set SIGLIP_BASE224")?,
    );
    let reference = load_tensors(&dir.join("reference.safetensors"))?;
    for storage in [WeightStorage::F32, WeightStorage::F16] {
        base224_with(&dir, &reference, storage)?;
    }
    Ok(())
}

fn base224_with(
    dir: &std::path::Path,
    reference: &std::collections::HashMap<String, candle_core::Tensor>,
    storage: WeightStorage,
) -> TestResult {
    let (hidden, attention) = match storage {
        WeightStorage::F32 => (5e-4, 1e-4),
        WeightStorage::F16 => (F16_TOLERANCE, F16_ATTENTION_TOLERANCE),
    };
    let loaded = load_model_stored(dir, storage)?;
    let mut times = Vec::new();
    let mut trace = None;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        trace = Some(loaded.model.forward(&reference["pixel_values"])?);
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let trace = trace.ok_or("no run")?;
    let mut worst = (0f32, 0f32);
    for (i, ours) in trace.hidden_states.iter().enumerate() {
        let key = format!("hidden_states.{i}");
        worst.0 = worst
            .0
            .max(assert_rel(&key, ours, &reference[&key], hidden)?);
    }
    worst.0 = worst.0.max(assert_rel(
        "last_hidden_state",
        &trace.last_hidden_state,
        &reference["last_hidden_state"],
        hidden,
    )?);
    for (i, ours) in trace.attentions.iter().enumerate() {
        let key = format!("attentions.{i}");
        worst.1 = worst
            .1
            .max(assert_abs(&key, ours, &reference[&key], attention)?);
    }
    let pooled = trace.pooler_output.as_ref().ok_or("no head")?;
    worst.0 = worst.0.max(assert_rel(
        "pooler_output",
        pooled,
        &reference["pooler_output"],
        hidden,
    )?);
    let head = trace.head_attention.as_ref().ok_or("no head")?;
    worst.1 = worst.1.max(assert_abs(
        "head_attention",
        head,
        &reference["head_attention"],
        attention,
    )?);
    println!("base-224, {storage:?} weights: worst hidden rel {:.2e}, worst attention abs {:.2e}; forward median {:.0} ms (runs {times:.0?})", worst.0, worst.1, times[2]);
    Ok(())
}

/// The page's loading path: tensors handed over one by one (as a download streams them) build the
/// same model as the whole file does.
#[test]
fn streamed_tensors_build_the_same_model() -> TestResult {
    let dir = fixtures().join("models").join("vision-bf16");
    let bytes = std::fs::read(dir.join("model.safetensors"))?;
    let file = safetensors::SafeTensors::deserialize(&bytes)?;
    let mut store = siglip_lens::store::TensorStore::new();
    for (name, view) in file.tensors() {
        store.insert(
            &name,
            &format!("{:?}", view.dtype()),
            view.shape(),
            view.data(),
        )?;
    }
    let config =
        siglip_lens::VisionConfig::from_json(&std::fs::read_to_string(dir.join("config.json"))?)?;
    let model = siglip_lens::SiglipVisionModel::from_store(&config, store)?;
    let reference = load_tensors(&dir.join("reference.safetensors"))?;
    let trace = model.forward(&reference["pixel_values"])?;
    assert_rel(
        "last_hidden_state",
        &trace.last_hidden_state,
        &reference["last_hidden_state"],
        HIDDEN_TOLERANCE,
    )?;
    assert_abs(
        "attentions.1",
        &trace.attentions[1],
        &reference["attentions.1"],
        ATTENTION_TOLERANCE,
    )?;

    let mut huge = siglip_lens::store::TensorStore::with_storage(WeightStorage::F16);
    let bytes: Vec<u8> = [1e6f32, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let message = huge
        .insert("m.weight", "F32", &[1, 2], &bytes)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("m.weight") && message.contains("f16's range"),
        "{message}"
    );
    huge.insert("norm.weight", "F32", &[2], &bytes)?; // vectors stay f32: no range to fit

    let mut bad = siglip_lens::store::TensorStore::new();
    let message = bad
        .insert("x", "F32", &[2, 3], &[0; 20])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("20 bytes") && message.contains("[2, 3]"),
        "{message}"
    );
    let message = bad
        .insert("x", "I8", &[2], &[0; 2])
        .unwrap_err()
        .to_string();
    assert!(message.contains("I8"), "{message}");
    let message = siglip_lens::SiglipVisionModel::from_store(&config, bad)
        .unwrap_err()
        .to_string();
    assert!(message.contains("no SigLIP vision tower"), "{message}");
    Ok(())
}

/// The comparison every test uses fails on what `fold(0.0, f32::max)` let through: a NaN on either
/// side, a shorter result, nothing to compare.
#[test]
fn comparisons_fail_on_nan_truncation_and_no_values() -> TestResult {
    let t = |v: &[f32]| candle_core::Tensor::new(v, &candle_core::Device::Cpu);
    let reference = t(&[1.0, 2.0, 3.0])?;
    assert_eq!(
        common::max_abs_diff("same", &t(&[1.0, 2.5, 3.0])?, &reference)?,
        0.5
    );
    for (what, ours, reference) in [
        ("NaN in ours", t(&[1.0, f32::NAN, 3.0])?, reference.clone()),
        ("all NaN", t(&[f32::NAN; 3])?, reference.clone()),
        (
            "NaN in the reference",
            reference.clone(),
            t(&[1.0, f32::NAN, 3.0])?,
        ),
        (
            "infinity",
            t(&[1.0, f32::INFINITY, 3.0])?,
            reference.clone(),
        ),
        ("shorter", t(&[1.0, 2.0])?, reference.clone()),
        ("nothing", t(&[])?, t(&[])?),
    ] {
        assert!(
            common::max_abs_diff(what, &ours, &reference).is_err(),
            "{what} passed"
        );
        assert!(
            common::assert_abs(what, &ours, &reference, 1e9).is_err(),
            "{what}"
        );
        assert!(
            common::assert_rel(what, &ours, &reference, 1e9).is_err(),
            "{what}"
        );
    }
    Ok(())
}

/// google/siglip-base-patch16-224's width — 768 wide, MLP 3072, 12 heads, 196 patches — with one layer
/// and no head, stored in f16 (tools/make_fixtures.py --only realwidth): products 3072 deep and as wide
/// as the real model's. Natively the products are candle's; `cargo test --features threads` runs this
/// too, and the browser tests and the page run it through our GEMM in every build.
#[test]
fn real_width_tower_matches_transformers() -> TestResult {
    check_against_reference("realwidth-f16", false)?;
    // The file holds f16 values: held in f16 they widen back to the same floats.
    let dir = fixtures().join("models").join("realwidth-f16");
    let pixels = &load_tensors(&dir.join("reference.safetensors"))?["pixel_values"];
    let [f32_trace, f16_trace] = [WeightStorage::F32, WeightStorage::F16].map(|storage| {
        load_model_stored(&dir, storage).and_then(|m| Ok(m.model.forward(pixels)?))
    });
    let (a, b) = (f32_trace?.last_hidden_state, f16_trace?.last_hidden_state);
    assert_eq!(
        a.flatten_all()?.to_vec1::<f32>()?,
        b.flatten_all()?.to_vec1::<f32>()?
    );
    Ok(())
}

/// The views' numbers (src/analysis on our trace of the demo) against numpy's on transformers' trace.
#[test]
fn views_match_numpy_on_the_transformers_trace() -> TestResult {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/models/demo");
    let loaded = load_model(&demo)?;
    let pixels = load_tensors(&fixtures().join("preprocess.safetensors"))?;
    let trace = loaded.model.forward(&pixels["large.3.224"])?;
    let positions = loaded
        .model
        .embeddings()
        .position_embedding()
        .flatten_all()?
        .to_vec1()?;
    let source = NativeViews {
        trace,
        positions,
        d: loaded.config.hidden_size,
        grid: loaded.config.grid_size(),
        patch_size: loaded.config.patch_size,
        rollouts: Default::default(),
    };
    let fixture = views::Views::parse(&std::fs::read(fixtures().join("demo-views.safetensors"))?)?;
    let worst = fixture.check(&source)?;
    println!("views against numpy (native): {worst:?}");
    Ok(())
}

/// The views computed natively, as the wasm `Trace` computes them.
struct NativeViews {
    trace: siglip_lens::VisionTrace,
    positions: Vec<f32>,
    d: usize,
    grid: usize,
    patch_size: usize,
    rollouts: std::cell::RefCell<std::collections::HashMap<String, Vec<f32>>>,
}

fn floats(t: &candle_core::Tensor) -> Vec<f32> {
    t.flatten_all()
        .and_then(|t| t.to_vec1())
        .expect("f32 tensor")
}

impl NativeViews {
    fn states(&self, layer: usize) -> Vec<f32> {
        floats(&self.trace.hidden_states[layer])
    }
    /// (heads, n, n) of block `block`.
    fn attention(&self, block: usize) -> Vec<f32> {
        floats(&self.trace.attentions[block])
    }
    fn n(&self) -> usize {
        self.grid * self.grid
    }
}

impl views::Source for NativeViews {
    fn norms(&self, layer: usize) -> Vec<f32> {
        analysis::l2_norms(&self.states(layer), self.d)
    }
    fn similarity(&self, layer: usize, patch: usize) -> Vec<f32> {
        analysis::cosine_to(&self.states(layer), self.d, patch)
    }
    fn pca(&self, layer: usize) -> (Vec<f32>, Vec<f32>) {
        let (rgb, explained) = analysis::pca_rgb(&self.states(layer), self.d);
        (rgb, explained.to_vec())
    }
    fn rollout(&self, query: Option<usize>, fusion: &str) -> Vec<f32> {
        let n = self.n();
        let mut cache = self.rollouts.borrow_mut();
        let matrix = cache.entry(fusion.to_owned()).or_insert_with(|| {
            let layers: Vec<Vec<f32>> = (0..self.trace.attentions.len())
                .map(|l| self.attention(l))
                .collect();
            analysis::rollout(&layers, n, Fusion::parse(fusion).expect("fusion"))
        });
        match query {
            Some(q) => matrix[q * n..][..n].to_vec(),
            None => analysis::mean_rows(matrix, n),
        }
    }
    fn head_stats(&self) -> Vec<f32> {
        (0..self.trace.attentions.len())
            .flat_map(|l| analysis::head_stats(&self.attention(l), self.grid, self.patch_size))
            .flatten()
            .collect()
    }
    fn attention_row(&self, block: usize, head: usize, query: usize) -> Vec<f32> {
        let n = self.n();
        self.attention(block)[(head * n + query) * n..][..n].to_vec()
    }
    fn fused(&self, block: usize, query: usize, fusion: &str) -> Vec<f32> {
        let n = self.n();
        let attention = self.attention(block);
        let rows: Vec<f32> = attention
            .chunks_exact(n * n)
            .flat_map(|head| head[query * n..][..n].to_vec())
            .collect();
        analysis::fuse_heads(&rows, n, Fusion::parse(fusion).expect("fusion"))
    }
    fn probe(&self, head: usize) -> Vec<f32> {
        let n = self.n();
        floats(self.trace.head_attention.as_ref().expect("a head"))[head * n..][..n].to_vec()
    }
    fn probe_mean(&self) -> Vec<f32> {
        let probe = self.trace.head_attention.as_ref().expect("a head");
        floats(&probe.get(0).and_then(|p| p.mean(0)).expect("mean"))
    }
    fn position_similarity(&self, patch: usize) -> Vec<f32> {
        analysis::cosine_to(&self.positions, self.d, patch)
    }
}
