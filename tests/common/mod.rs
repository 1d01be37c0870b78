//! Shared by the native tests: fixture paths and comparisons with transformers' outputs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use siglip_lens::checkpoint::WeightStorage;
use siglip_lens::{PreprocessConfig, SiglipVisionModel, VisionConfig};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A checkpoint folder laid out as on the hub.
pub struct ModelDir {
    pub config: VisionConfig,
    pub preprocess: PreprocessConfig,
    pub model: SiglipVisionModel,
}

pub fn load_model(dir: &Path) -> Result<ModelDir, Box<dyn std::error::Error>> {
    load_model_stored(dir, WeightStorage::F32)
}

pub fn load_model_stored(
    dir: &Path,
    storage: WeightStorage,
) -> Result<ModelDir, Box<dyn std::error::Error>> {
    let config = VisionConfig::from_json(&std::fs::read_to_string(dir.join("config.json"))?)?;
    let preprocess = PreprocessConfig::from_json(
        &std::fs::read_to_string(dir.join("preprocessor_config.json"))?,
        &config,
    )?;
    let model = SiglipVisionModel::from_safetensors(
        &config,
        &std::fs::read(dir.join("model.safetensors"))?,
        storage,
    )?;
    Ok(ModelDir {
        config,
        preprocess,
        model,
    })
}

pub fn load_tensors(path: &Path) -> Result<HashMap<String, Tensor>, Box<dyn std::error::Error>> {
    Ok(candle_core::safetensors::load(path, &Device::Cpu)?)
}

fn values(t: &Tensor) -> Vec<f32> {
    t.to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1())
        .expect("f32 tensor")
}

/// Largest absolute difference, after checking the shapes agree.
pub fn max_abs_diff(name: &str, ours: &Tensor, reference: &Tensor) -> Result<f32, String> {
    if ours.dims() != reference.dims() {
        return Err(format!(
            "{name}: shape {:?}, reference {:?}",
            ours.dims(),
            reference.dims()
        ));
    }
    let (a, b) = (values(ours), values(reference));
    if a.iter().any(|v| !v.is_finite()) {
        return Err(format!("{name}: non-finite values"));
    }
    Ok(a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max))
}

pub fn max_abs(t: &Tensor) -> f32 {
    values(t).iter().map(|v| v.abs()).fold(0.0, f32::max)
}

/// Checks |ours − reference| ≤ `tolerance` everywhere; returns the worst difference.
pub fn assert_abs(
    name: &str,
    ours: &Tensor,
    reference: &Tensor,
    tolerance: f32,
) -> Result<f32, String> {
    let diff = max_abs_diff(name, ours, reference)?;
    if diff > tolerance {
        return Err(format!("{name}: max |diff| {diff:e} > {tolerance:e}"));
    }
    Ok(diff)
}

/// Checks |ours − reference| ≤ `tolerance` · max|reference|; returns the worst relative difference.
pub fn assert_rel(
    name: &str,
    ours: &Tensor,
    reference: &Tensor,
    tolerance: f32,
) -> Result<f32, String> {
    let scale = max_abs(reference).max(f32::MIN_POSITIVE);
    let diff = max_abs_diff(name, ours, reference)? / scale;
    if diff > tolerance {
        return Err(format!(
            "{name}: max |diff| / max|ref| = {diff:e} > {tolerance:e}"
        ));
    }
    Ok(diff)
}
