//! Shared by the native tests: fixture paths, loading, and (from tests/compare, which every test file
//! that uses this module declares beside it) the comparisons with transformers' outputs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
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

/// The tensor comparisons every native test uses (shape, NaN and tolerance checks): tests/compare.
#[allow(unused_imports)] // each test file uses some of them
pub use crate::compare::{
    check_tensor_abs as assert_abs, check_tensor_rel as assert_rel,
    tensor_max_abs_diff as max_abs_diff,
};
