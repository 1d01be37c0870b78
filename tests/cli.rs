//! The CLI end to end: `encode` (image file in, trace file out, named as transformers names them),
//! `score` (labels against an image) and `convert`.
#![cfg(not(target_arch = "wasm32"))]

mod common;
mod compare;

use std::collections::HashMap;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::Tensor;
use common::{assert_abs, assert_rel, fixtures, load_tensors, TestResult};

/// Runs `siglip-lens <args>`.
fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_siglip-lens"))
        .args(args)
        .output()
        .expect("run the CLI")
}

fn encode(args: &[&str]) -> Output {
    run(&[&["encode"], args].concat())
}

/// Runs `encode` with `args` into a temporary file, expects success, and returns what it wrote.
fn encode_tensors(args: &[&str]) -> Result<HashMap<String, Tensor>, Box<dyn std::error::Error>> {
    command_tensors("encode", args)
}

/// Runs `command` with `args` into a temporary file, expects success, and returns what it wrote.
fn command_tensors(
    command: &str,
    args: &[&str],
) -> Result<HashMap<String, Tensor>, Box<dyn std::error::Error>> {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let out = std::env::temp_dir().join(format!(
        "siglip-lens-cli-{}-{}.safetensors",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let output = run(&[&[command], args, &["--out", out.to_str().unwrap()]].concat());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tensors = load_tensors(&out)?;
    std::fs::remove_file(&out)?;
    Ok(tensors)
}

#[test]
fn encode_an_image_writes_the_whole_trace() -> TestResult {
    let model = fixtures().join("models/siglip");
    let image = fixtures().join("images/photo.png");
    let ours = encode_tensors(&[
        "--model",
        model.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
    ])?;
    let reference = load_tensors(&model.join("reference.safetensors"))?;
    let mut names: Vec<&String> = ours.keys().collect();
    names.sort();
    let mut expected: Vec<&String> = reference.keys().collect();
    expected.sort();
    assert_eq!(names, expected, "the same tensor names as the reference");
    assert_abs(
        "pixel_values",
        &ours["pixel_values"],
        &reference["pixel_values"],
        1e-6,
    )?;
    for name in names {
        if name.starts_with("attentions") || name == "head_attention" {
            assert_abs(name, &ours[name], &reference[name], 1e-5)?;
        } else {
            assert_rel(name, &ours[name], &reference[name], 1e-4)?;
        }
    }
    Ok(())
}

#[test]
fn encode_given_pixels_skips_preprocessing() -> TestResult {
    let model = fixtures().join("models/paligemma-f16");
    let pixels = model.join("reference.safetensors");
    let ours = encode_tensors(&[
        "--model",
        model.to_str().unwrap(),
        "--pixels",
        pixels.to_str().unwrap(),
    ])?;
    assert!(
        !ours.contains_key("pooler_output") && !ours.contains_key("head_attention"),
        "PaliGemma has no head"
    );
    assert_rel(
        "last_hidden_state",
        &ours["last_hidden_state"],
        &load_tensors(&pixels)?["last_hidden_state"],
        1e-4,
    )?;
    Ok(())
}

#[test]
fn failures_go_to_stderr_with_a_nonzero_exit() {
    let dir = fixtures().join("models/siglip");
    let (model, config, weights) = (
        dir.to_str().unwrap(),
        dir.join("config.json"),
        dir.join("model.safetensors"),
    );
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--model",
                "/nonexistent",
                "--image",
                "x.png",
                "--out",
                "/tmp/x",
            ],
            "config.json",
        ),
        (
            &[
                "--model",
                model,
                "--image",
                "/nonexistent.png",
                "--out",
                "/tmp/x",
            ],
            "nonexistent.png",
        ),
        (
            &[
                "--model",
                model,
                "--image",
                config.to_str().unwrap(),
                "--out",
                "/tmp/x",
            ],
            "not a readable",
        ),
        (
            &[
                "--model",
                model,
                "--pixels",
                weights.to_str().unwrap(),
                "--out",
                "/tmp/x",
            ],
            "pixel_values",
        ),
    ];
    for (args, expected) in cases {
        let output = encode(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(
            stderr.contains(expected),
            "{args:?}: stderr {stderr:?} should mention {expected:?}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `convert --weights f16` halves the tower's bytes, and the file it writes computes exactly what the
/// f32 original does when held with `--weights f16`: the page downloads half and gets the same maps.
#[test]
fn convert_to_f16_halves_the_tower_and_computes_as_f16_storage() -> TestResult {
    let model = fixtures().join("models/siglip");
    let dir = std::env::temp_dir().join(format!("siglip-lens-convert-{}", std::process::id()));
    let output = run(&[
        "convert",
        "--model",
        model.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--weights",
        "f16",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let converted = load_tensors(&dir.join("model.safetensors"))?;
    let original = load_tensors(&model.join("model.safetensors"))?;
    let (mut f16_bytes, mut f32_bytes) = (0, 0);
    for (name, tensor) in &converted {
        let want = if tensor.rank() == 2 {
            candle_core::DType::F16
        } else {
            candle_core::DType::F32
        };
        assert_eq!(tensor.dtype(), want, "{name}");
        f16_bytes += tensor.elem_count() * tensor.dtype().size_in_bytes();
        f32_bytes += original[name].elem_count() * 4;
    }
    assert!(
        converted.keys().all(|n| n.starts_with("vision_model.")),
        "the vision tower only"
    );
    // Vectors stay f32: in this tiny tower they are a third of the bytes, in base-224 about 1 %.
    println!("vision tower: {f16_bytes} bytes with f16 matrices, {f32_bytes} in f32");
    assert!(f16_bytes < f32_bytes * 2 / 3, "{f16_bytes} vs {f32_bytes}");
    assert!(dir.join("config.json").exists() && dir.join("preprocessor_config.json").exists());

    let image = fixtures().join("images/photo.png");
    let trace = |model: &std::path::Path, weights: &str| {
        encode_tensors(&[
            "--model",
            model.to_str().unwrap(),
            "--image",
            image.to_str().unwrap(),
            "--weights",
            weights,
        ])
    };
    let from_converted = trace(&dir, "f32")?;
    let held_in_f16 = trace(&model, "f16")?;
    for (name, tensor) in &held_in_f16 {
        let (a, b) = (
            tensor.flatten_all()?.to_vec1::<f32>()?,
            from_converted[name].flatten_all()?.to_vec1::<f32>()?,
        );
        assert!(a == b, "{name} differs");
    }
    std::fs::remove_dir_all(&dir)?;

    let same = run(&[
        "convert",
        "--model",
        model.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(
        !same.status.success() && String::from_utf8_lossy(&same.stderr).contains("another folder")
    );
    Ok(())
}

/// The labels tools/make_text_fixtures.py scored, from the reference file's metadata.
fn fixture_labels(reference: &std::path::Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(reference)?;
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes)?;
    let labels = metadata
        .metadata()
        .as_ref()
        .and_then(|m| m.get("labels"))
        .ok_or("reference.safetensors has no `labels` metadata")?;
    Ok(serde_json::from_str(labels)?)
}

#[test]
fn score_labels_against_an_image() -> TestResult {
    let model = fixtures().join("models/siglip-text");
    let image = fixtures().join("images/photo.png");
    let labels = fixture_labels(&model.join("reference.safetensors"))?;
    let mut args = vec![
        "--model",
        model.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
        "--maps",
        "--window",
        "3",
    ];
    for label in &labels {
        args.extend(["--text", label.as_str()]);
    }
    let ours = command_tensors("score", &args)?;
    let reference = load_tensors(&model.join("reference.safetensors"))?;
    for key in ["input_ids", "attention_mask"] {
        let (a, b) = (
            ours[key].to_vec2::<i64>()?,
            reference[key].to_vec2::<i64>()?,
        );
        assert_eq!(a, b, "{key} identical to the processor's");
    }
    for key in [
        "text_embeds",
        "image_embeds",
        "logits_per_image",
        "logits_per_text",
    ] {
        assert_rel(key, &ours[key], &reference[key], 1e-4)?;
    }
    assert_abs(
        "value_path",
        &ours["value_path"],
        &reference["value_path"],
        1e-5,
    )?;
    assert_rel(
        "occlusion",
        &ours["occlusion"],
        &reference["occlusion_3"],
        1e-4,
    )?;

    // Without the mask, as `model(input_ids=…, pixel_values=…)`.
    args.truncate(4);
    for label in &labels {
        args.extend(["--text", label.as_str()]);
    }
    args.extend(["--attention-mask", "off"]);
    let unmasked = command_tensors("score", &args)?;
    assert_rel(
        "logits_per_image (no mask)",
        &unmasked["logits_per_image"],
        &reference["logits_per_image_unmasked"],
        1e-4,
    )?;
    Ok(())
}

#[test]
fn score_explains_a_checkpoint_without_text() {
    let model = fixtures().join("models/vision-bf16");
    let image = fixtures().join("images/photo.png");
    let output = run(&[
        "score",
        "--model",
        model.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
        "--text",
        "a cat",
        "--out",
        "/dev/null",
    ]);
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("no SigLIP text tower"), "{message}");
}

/// The hub's layout (tokenizer_config.json's `model_input_names: ["input_ids"]`): the processor
/// returns no attention_mask, so `model(**inputs)` attends to the padding — and so must `score`.
#[test]
fn score_follows_the_tokenizers_model_input_names() -> TestResult {
    let model = fixtures().join("models/siglip-text-f16");
    let image = fixtures().join("images/photo.png");
    let mut args = vec![
        "--model",
        model.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
    ];
    let labels = fixture_labels(&model.join("reference.safetensors"))?;
    for label in &labels {
        args.extend(["--text", label.as_str()]);
    }
    let ours = command_tensors("score", &args)?;
    let reference = load_tensors(&model.join("reference.safetensors"))?;
    assert_eq!(
        ours["input_ids"].to_vec2::<i64>()?,
        reference["input_ids"].to_vec2::<i64>()?
    );
    assert_rel(
        "logits_per_image",
        &ours["logits_per_image"],
        &reference["logits_per_image"],
        1e-4,
    )?;
    assert_rel(
        "text_embeds",
        &ours["text_embeds"],
        &reference["text_embeds"],
        1e-4,
    )?;
    Ok(())
}
