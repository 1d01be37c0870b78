//! `siglip-lens encode` end to end: image file in, trace file out, named as transformers names them.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::process::Command;

use common::{assert_abs, assert_rel, fixtures, load_tensors, TestResult};

fn encode(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_siglip-lens"))
        .arg("encode")
        .args(args)
        .output()
        .expect("run the CLI")
}

#[test]
fn encode_an_image_writes_the_whole_trace() -> TestResult {
    let model = fixtures().join("models/siglip");
    let out = std::env::temp_dir().join(format!(
        "siglip-lens-cli-{}.safetensors",
        std::process::id()
    ));
    let image = fixtures().join("images/photo.png");
    let output = encode(&[
        "--model",
        model.to_str().unwrap(),
        "--image",
        image.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ours = load_tensors(&out)?;
    let reference = load_tensors(&model.join("reference.safetensors"))?;
    std::fs::remove_file(&out)?;
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
    let out = std::env::temp_dir().join(format!(
        "siglip-lens-cli-px-{}.safetensors",
        std::process::id()
    ));
    let output = encode(&[
        "--model",
        model.to_str().unwrap(),
        "--pixels",
        pixels.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let ours = load_tensors(&out)?;
    std::fs::remove_file(&out)?;
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
