//! The text tower and SigLIP's scores against transformers' outputs
//! (tools/make_text_fixtures.py: `model(**processor(text, images, padding="max_length"))`).

#![cfg(not(target_arch = "wasm32"))]

mod common;
mod compare;

use std::path::Path;

use candle_core::{DType, Tensor};
use common::{assert_abs, assert_rel, fixtures, load_tensors, TestResult};
use siglip_lens::checkpoint::WeightStorage;
use siglip_lens::model::{KeyMask, SiglipModel, SiglipTextModel};
use siglip_lens::{TextConfig, VisionConfig};

/// Hidden states, embeddings and logits: relative to the tensor's largest magnitude.
const HIDDEN_TOLERANCE: f32 = 1e-4;
/// Attention probabilities: absolute.
const ATTENTION_TOLERANCE: f32 = 1e-5;
/// Matrices held in f16 (measured: see the printed figures).
const F16_TOLERANCE: f32 = 1e-2;
/// Attention probabilities with f16 weights, absolute: 3.8e-4 at worst.
const F16_ATTENTION_TOLERANCE: f32 = 1e-3;

fn read(dir: &Path, name: &str) -> Result<String, Box<dyn std::error::Error>> {
    Ok(std::fs::read_to_string(dir.join(name))?)
}

fn load(dir: &Path, storage: WeightStorage) -> Result<SiglipModel, Box<dyn std::error::Error>> {
    let config = read(dir, "config.json")?;
    let model = SiglipModel::from_safetensors(
        &VisionConfig::from_json(&config)?,
        &TextConfig::from_json(&config)?,
        &std::fs::read(dir.join("model.safetensors"))?,
        storage,
    )?;
    Ok(model)
}

/// transformers' `attention_mask` (i64, 1 = token) as our mask.
fn key_mask(mask: &Tensor) -> Result<KeyMask, Box<dyn std::error::Error>> {
    let (_, len) = mask.dims2()?;
    let keep = mask
        .flatten_all()?
        .to_vec1::<i64>()?
        .into_iter()
        .map(|v| v != 0)
        .collect();
    Ok(KeyMask::new(keep, len)?)
}

fn check(name: &str, storage: WeightStorage) -> TestResult {
    let (hidden, attention) = match storage {
        WeightStorage::F32 => (HIDDEN_TOLERANCE, ATTENTION_TOLERANCE),
        WeightStorage::F16 => (F16_TOLERANCE, F16_ATTENTION_TOLERANCE),
    };
    let dir = fixtures().join("models").join(name);
    let model = load(&dir, storage)?;
    let reference = load_tensors(&dir.join("reference.safetensors"))?;
    let mask = key_mask(&reference["attention_mask"])?;
    let out = model.forward(
        &reference["pixel_values"],
        &reference["input_ids"],
        Some(&mask),
    )?;
    let mut worst = 0f32;
    for (key, ours) in [
        ("logits_per_image", &out.logits_per_image),
        ("logits_per_text", &out.logits_per_text),
        ("text_embeds", &out.text_embeds),
        ("image_embeds", &out.image_embeds),
        ("text_pooler_output", &out.text.pooler_output),
        ("text_last_hidden_state", &out.text.last_hidden_state),
    ] {
        worst = worst.max(assert_rel(key, ours, &reference[key], hidden)?);
    }
    for (i, ours) in out.text.hidden_states.iter().enumerate() {
        let key = format!("text_hidden_states.{i}");
        worst = worst.max(assert_rel(&key, ours, &reference[&key], hidden)?);
    }
    let mut worst_attention = 0f32;
    for (i, ours) in out.text.attentions.iter().enumerate() {
        let key = format!("text_attentions.{i}");
        worst_attention = worst_attention.max(assert_abs(&key, ours, &reference[&key], attention)?);
    }
    // Without the mask, as `model(input_ids=…, pixel_values=…)` computes it.
    let unmasked = model.forward(&reference["pixel_values"], &reference["input_ids"], None)?;
    worst = worst.max(assert_rel(
        "logits_per_image_unmasked",
        &unmasked.logits_per_image,
        &reference["logits_per_image_unmasked"],
        hidden,
    )?);
    println!(
        "{name} ({storage:?}): worst rel diff {worst:.2e}, attention abs {worst_attention:.2e}"
    );
    Ok(())
}

#[test]
fn siglip_model_matches_transformers() -> TestResult {
    check("siglip-text", WeightStorage::F32)
}

#[test]
fn siglip_model_with_f16_weights_is_close() -> TestResult {
    check("siglip-text", WeightStorage::F16)
}

#[test]
fn f16_checkpoint_matches_transformers() -> TestResult {
    check("siglip-text-f16", WeightStorage::F32)?;
    check("siglip-text-f16", WeightStorage::F16)
}

#[test]
fn the_mask_changes_the_scores() -> TestResult {
    // The fixture's labels are padded, so attending to padding or not must matter: otherwise the
    // masked and unmasked checks above could not tell a mask that is ignored.
    let reference = load_tensors(&fixtures().join("models/siglip-text/reference.safetensors"))?;
    let diff = common::max_abs_diff(
        "logits, masked and not",
        &reference["logits_per_image"],
        &reference["logits_per_image_unmasked"],
    )?;
    assert!(
        diff > 0.05,
        "masked and unmasked logits differ by only {diff}"
    );
    Ok(())
}

#[test]
fn text_tower_alone_loads_from_a_siglip_model_file() -> TestResult {
    let dir = fixtures().join("models/siglip-text");
    let config = TextConfig::from_json(&read(&dir, "config.json")?)?;
    let model = SiglipTextModel::from_safetensors(
        &config,
        &std::fs::read(dir.join("model.safetensors"))?,
        WeightStorage::F32,
    )?;
    let reference = load_tensors(&dir.join("reference.safetensors"))?;
    let trace = model.forward(
        &reference["input_ids"],
        Some(&key_mask(&reference["attention_mask"])?),
    )?;
    assert_rel(
        "text_pooler_output",
        &trace.pooler_output,
        &reference["text_pooler_output"],
        HIDDEN_TOLERANCE,
    )?;
    Ok(())
}

#[test]
fn bad_token_input_is_an_error_naming_it() -> TestResult {
    let dir = fixtures().join("models/siglip-text");
    let config = TextConfig::from_json(&read(&dir, "config.json")?)?;
    let model = SiglipTextModel::from_safetensors(
        &config,
        &std::fs::read(dir.join("model.safetensors"))?,
        WeightStorage::F32,
    )?;
    let device = candle_core::Device::Cpu;
    let outside = Tensor::new(&[[3u32, 9999]], &device)?;
    let message = model.forward(&outside, None).unwrap_err().to_string();
    assert!(
        message.contains("9999") && message.contains("vocabulary"),
        "{message}"
    );
    let too_long = Tensor::zeros((1, config.max_position_embeddings + 1), DType::U32, &device)?;
    let message = model.forward(&too_long, None).unwrap_err().to_string();
    assert!(message.contains("truncation"), "{message}");
    Ok(())
}

#[test]
fn configs_without_a_text_tower_say_so() {
    for dir in ["paligemma-f16", "vision-bf16"] {
        let text = std::fs::read_to_string(fixtures().join("models").join(dir).join("config.json"))
            .expect("fixture config");
        let message = TextConfig::from_json(&text).unwrap_err().to_string();
        assert!(message.contains("no SigLIP text tower"), "{dir}: {message}");
    }
}

#[test]
fn a_vision_only_file_has_no_text_tower() {
    let bytes = std::fs::read(fixtures().join("models/vision-bf16/model.safetensors"))
        .expect("fixture weights");
    let message =
        SiglipTextModel::from_safetensors(&TextConfig::default(), &bytes, WeightStorage::F32)
            .unwrap_err()
            .to_string();
    assert!(message.contains("no SigLIP text tower"), "{message}");
}

#[test]
fn text_to_patch_maps_match_the_reference() -> TestResult {
    use siglip_lens::maps::{logit_drops, value_path, Occlusion};
    use siglip_lens::{image_file, preprocess, PreprocessConfig};

    let dir = fixtures().join("models/siglip-text");
    let model = load(&dir, WeightStorage::F32)?;
    let reference = load_tensors(&dir.join("reference.safetensors"))?;
    let mask = key_mask(&reference["attention_mask"])?;
    let out = model.forward(
        &reference["pixel_values"],
        &reference["input_ids"],
        Some(&mask),
    )?;

    let ours = value_path(
        &model.vision,
        &out.vision.last_hidden_state,
        &out.text_embeds,
    )?;
    let worst_value = assert_abs("value_path", &ours, &reference["value_path"], 1e-5)?;

    let config = model.vision.config().clone();
    let preprocess_config =
        PreprocessConfig::from_json(&read(&dir, "preprocessor_config.json")?, &config)?;
    let image = image_file::open(&fixtures().join("images/photo.png"))?;
    let seen = preprocess(&image, &preprocess_config)?.resized;
    let (grid, n) = (config.grid_size(), config.num_patches());
    let image_embed: Vec<f32> = out.image_embeds.flatten_all()?.to_vec1()?;
    let text_embeds: Vec<Vec<f32>> = out.text_embeds.to_vec2()?;
    let mut worst_occlusion = 0f32;
    for window in [1, 3] {
        let occlusion = Occlusion::new(&seen, grid, config.patch_size, window)?;
        // In two batches, as the page runs it.
        let first = occlusion.embeddings(&model.vision, &preprocess_config, 0..n / 2)?;
        let rest = occlusion.embeddings(&model.vision, &preprocess_config, n / 2..n)?;
        let occluded: Vec<f32> = Tensor::cat(&[first, rest], 0)?.flatten_all()?.to_vec1()?;
        let drops: Vec<f32> = text_embeds
            .iter()
            .flat_map(|text| logit_drops(&model.logits, &image_embed, &occluded, text))
            .collect();
        let drops = Tensor::from_vec(drops, (text_embeds.len(), n), &candle_core::Device::Cpu)?;
        let key = format!("occlusion_{window}");
        worst_occlusion = worst_occlusion.max(assert_rel(&key, &drops, &reference[&key], 1e-4)?);
    }
    println!("maps: value path abs {worst_value:.2e}, occlusion rel {worst_occlusion:.2e}");
    Ok(())
}
