//! Bad checkpoints and bad configs give errors that name the problem — never a panic, never a default.
#![cfg(not(target_arch = "wasm32"))]

mod common;
mod compare;

use common::{fixtures, TestResult};
use serde_json::{json, Value};
use siglip_lens::checkpoint::WeightStorage;
use siglip_lens::{PreprocessConfig, SiglipVisionModel, VisionConfig};

fn fixture(name: &str) -> (String, Vec<u8>) {
    let dir = fixtures().join("models").join(name);
    let config = std::fs::read_to_string(dir.join("config.json")).expect("fixture config");
    (
        config,
        std::fs::read(dir.join("model.safetensors")).expect("fixture weights"),
    )
}

/// Rewrites a safetensors file: `edit` changes the header; tensors it drops lose their bytes.
fn rewrite(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Map<String, Value> =
        serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    edit(&mut header);
    let mut out_data = Vec::new();
    let mut names: Vec<String> = header
        .keys()
        .filter(|k| *k != "__metadata__")
        .cloned()
        .collect();
    names.sort();
    for name in names {
        let entry = header.get_mut(&name).unwrap();
        let [start, end] = [0, 1].map(|i| entry["data_offsets"][i].as_u64().unwrap() as usize);
        let begin = out_data.len();
        out_data.extend_from_slice(&data[start..end]);
        entry["data_offsets"] = json!([begin, out_data.len()]);
    }
    let text = serde_json::to_vec(&header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend(text);
    out.extend(out_data);
    out
}

fn load_error(config: &str, weights: &[u8]) -> String {
    let config = VisionConfig::from_json(config).expect("config parses");
    match SiglipVisionModel::from_safetensors(&config, weights, WeightStorage::F32) {
        Ok(_) => panic!("a bad checkpoint loaded"),
        Err(e) => e.to_string(),
    }
}

fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(
            message.contains(part),
            "message {message:?} should mention {part:?}"
        );
    }
    assert!(
        !message.contains("stack backtrace"),
        "no backtraces in user messages: {message}"
    );
}

#[test]
fn a_missing_tensor_is_named() {
    let (config, weights) = fixture("siglip");
    let broken = rewrite(&weights, |h| {
        h.remove("vision_model.encoder.layers.1.mlp.fc2.weight");
    });
    let message = load_error(&config, &broken);
    assert_mentions(
        &message,
        &[
            "vision_model.encoder.layers.1.mlp.fc2.weight",
            "missing",
            "[32, 48]",
        ],
    );
}

#[test]
fn a_misshapen_tensor_names_found_and_expected_shapes() {
    let (config, weights) = fixture("siglip");
    let broken = rewrite(&weights, |h| {
        let entry = h.get_mut("vision_model.post_layernorm.weight").unwrap();
        entry["shape"] = json!([16, 2]);
    });
    assert_mentions(
        &load_error(&config, &broken),
        &["vision_model.post_layernorm.weight", "[16, 2]", "[32]"],
    );
}

#[test]
fn a_config_that_contradicts_the_weights_is_caught() {
    let (config, weights) = fixture("siglip");
    let mut value: Value = serde_json::from_str(&config).unwrap();
    value["vision_config"]["intermediate_size"] = json!(64);
    let message = load_error(&value.to_string(), &weights);
    assert_mentions(
        &message,
        &["fc1.weight", "[48, 32]", "[64, 32]", "different models"],
    );
    value["vision_config"]["intermediate_size"] = json!(48);
    value["vision_config"]["num_hidden_layers"] = json!(3);
    assert_mentions(
        &load_error(&value.to_string(), &weights),
        &["encoder.layers.2.", "missing"],
    );
}

#[test]
fn truncated_and_garbage_files_are_errors() {
    let (config, weights) = fixture("siglip");
    assert_mentions(
        &load_error(&config, &weights[..weights.len() - 100]),
        &["truncated"],
    );
    assert_mentions(&load_error(&config, &weights[..1000]), &["truncated"]);
    assert_mentions(&load_error(&config, &weights[..5]), &["too short"]);
    assert_mentions(&load_error(&config, &[]), &["too short"]);
    let mut garbage = 20u64.to_le_bytes().to_vec();
    garbage.extend_from_slice(b"this is no json at all");
    assert_mentions(&load_error(&config, &garbage), &["header"]);
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(&[0; 64]);
    assert_mentions(&load_error(&config, &huge), &["header"]);
}

#[test]
fn unsupported_and_unknown_dtypes_are_named() {
    let (config, weights) = fixture("siglip");
    let name = "vision_model.post_layernorm.bias";
    let as_i32 = rewrite(&weights, |h| {
        h.get_mut(name).unwrap()["dtype"] = json!("I32")
    });
    assert_mentions(
        &load_error(&config, &as_i32),
        &[name, "I32", "F32, F16 and BF16"],
    );
    let unknown = rewrite(&weights, |h| {
        h.get_mut(name).unwrap()["dtype"] = json!("Q7")
    });
    assert_mentions(&load_error(&config, &unknown), &["dtype"]);
}

#[test]
fn a_text_only_checkpoint_has_no_vision_tower() {
    let (config, weights) = fixture("siglip");
    let text_only = rewrite(&weights, |h| {
        h.retain(|k, _| !k.starts_with("vision_model."))
    });
    assert_mentions(
        &load_error(&config, &text_only),
        &["no SigLIP vision tower", "text_model."],
    );
}

#[test]
fn every_hub_config_layout_reads_the_same_tower() -> TestResult {
    let full = VisionConfig::from_json(&fixture("siglip").0)?;
    assert_eq!(
        (
            full.hidden_size,
            full.num_hidden_layers,
            full.patch_size,
            full.image_size
        ),
        (32, 2, 8, 32)
    );
    let bare = VisionConfig::from_json(&fixture("vision-bf16").0)?;
    assert_eq!(
        (bare.image_size, bare.patch_size, bare.grid_size()),
        (30, 7, 4)
    );
    let pali = VisionConfig::from_json(&fixture("paligemma-f16").0)?;
    assert!(!pali.vision_use_head);
    // Missing fields take transformers' defaults (google/siglip-base-patch16-224's shape).
    let defaults = VisionConfig::from_json(r#"{"model_type": "siglip", "vision_config": {}}"#)?;
    assert_eq!(
        defaults,
        siglip_lens::Preset::by_id("google/siglip-base-patch16-224")
            .unwrap()
            .vision_config()
    );
    assert_eq!(defaults.num_patches(), 196);
    Ok(())
}

#[test]
fn bad_configs_are_explained() {
    let cases: &[(&str, &[&str])] = &[
        ("not json", &["not valid JSON"]),
        ("[1, 2]", &["JSON object"]),
        (
            r#"{"vision_config": {"hidden_size": 30, "num_attention_heads": 4}}"#,
            &["not divisible"],
        ),
        (
            r#"{"vision_config": {"patch_size": 0}}"#,
            &["patch_size", "positive"],
        ),
        (r#"{"vision_config": {"hidden_act": "swish"}}"#, &["swish"]),
        (
            r#"{"vision_config": {"hidden_size": "big"}}"#,
            &["hidden_size"],
        ),
        (
            r#"{"model_type": "bert", "hidden_size": 768}"#,
            &["bert", "vision"],
        ),
        (
            r#"{"vision_config": {"image_size": 8, "patch_size": 16}}"#,
            &["larger than image_size"],
        ),
    ];
    for (text, parts) in cases {
        match VisionConfig::from_json(text) {
            Ok(c) => panic!("{text} parsed as {c:?}"),
            Err(e) => assert_mentions(&e.to_string(), parts),
        }
    }
    let vision = VisionConfig::default();
    for (text, part) in [
        ("{\"resample\": 9}", "resample"),
        ("{\"image_std\": [0.5, 0, 0.5]}", "image_std"),
        ("{\"size\": {\"shortest_edge\": 224}}", "size"),
        ("nope", "preprocessor_config.json"),
    ] {
        let error = PreprocessConfig::from_json(text, &vision)
            .expect_err(text)
            .to_string();
        assert!(error.contains(part), "{error}");
    }
}

#[test]
fn presets_describe_the_public_towers() {
    let so400m = siglip_lens::Preset::by_id("google/siglip-so400m-patch14-384")
        .unwrap()
        .vision_config();
    assert_eq!(
        (so400m.grid_size(), so400m.num_patches(), so400m.head_dim()),
        (27, 729, 72)
    );
    let base = siglip_lens::Preset::by_id("google/siglip-base-patch16-224")
        .unwrap()
        .vision_config();
    // 92.9 M parameters in the base tower, as transformers counts them for SiglipVisionModel.
    assert_eq!(base.num_parameters(), 92_884_224);
    assert_eq!(siglip_lens::PRESETS.len(), 5);
}
