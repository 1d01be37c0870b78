//! The tokenizers against transformers 5.24: every string of tools/tokenizer_fixtures.py, in every
//! fixture folder, must give exactly the `input_ids` AutoTokenizer gave (unpadded, padded to the
//! checkpoint's max_length, padded and truncated to 16); and bad files must give errors.
//! (The browsers run the same comparison in tests/web.rs.)
#![cfg(not(target_arch = "wasm32"))]

use std::path::{Path, PathBuf};

use serde_json::Value;
use siglip_lens::tokenizer::{Tokenizer, TokenizerFiles};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tokenizers")
        .join(name)
}

fn ids(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .expect("id list")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

/// Compares every case; the failure lists each string that differs with both id lists.
fn check(name: &str, class: &str) {
    let dir = fixture(name);
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    assert_eq!(
        reference["tokenizer_class"], class,
        "{name}: fixture made by another class"
    );
    let tokenizer = Tokenizer::from_dir(&dir).unwrap();
    let max_length = reference["max_length"].as_u64().unwrap() as usize;
    assert_eq!(tokenizer.max_length(), max_length, "{name}: max_length");
    assert_eq!(
        tokenizer.pad_token_id() as u64,
        reference["pad_token_id"].as_u64().unwrap()
    );
    assert_eq!(
        tokenizer.eos_token_id().map(u64::from),
        reference["eos_token_id"].as_u64()
    );
    let cases = reference["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "{name}: too few cases");
    let mut failures = Vec::new();
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
                    "{text:?} ({what}):\n  ours         {ours:?}\n  transformers {theirs:?}"
                ));
            }
        }
    }
    let random = reference["random"].as_array().unwrap();
    assert!(random.len() >= 300, "{name}: too few random strings");
    for case in random {
        let text = case["text"].as_str().unwrap();
        let (ours, theirs) = (tokenizer.encode(text), ids(&case["unpadded"]));
        if ours != theirs {
            failures.push(format!(
                "{text:?} (random):\n  ours         {ours:?}\n  transformers {theirs:?}"
            ));
        }
    }
    let total = cases.len() + random.len();
    assert!(
        failures.is_empty(),
        "{name}: {} of {total} strings differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn siglip_spiece_model_matches_transformers() {
    check("siglip", "SiglipTokenizer");
}

#[test]
fn siglip_byte_fallback_matches_transformers() {
    check("siglip-bytes", "SiglipTokenizer");
}

#[test]
fn siglip2_tokenizer_json_matches_transformers() {
    check("siglip2", "Siglip2Tokenizer");
}

#[test]
fn batch_is_row_major_at_max_length() {
    let tokenizer = Tokenizer::from_dir(&fixture("siglip")).unwrap();
    let batch = tokenizer.encode_batch(&["a photo of a cat", ""]).unwrap();
    assert_eq!(batch.len(), 2 * 64);
    assert_eq!(
        &batch[..64],
        tokenizer
            .encode_padded("a photo of a cat", 64)
            .unwrap()
            .as_slice()
    );
    assert_eq!(
        &batch[64..],
        tokenizer.encode_padded("", 64).unwrap().as_slice()
    );
}

fn error_of(files: TokenizerFiles) -> String {
    Tokenizer::from_files(&files)
        .expect_err("must fail")
        .to_string()
}

fn read(name: &str, file: &str) -> Vec<u8> {
    std::fs::read(fixture(name).join(file)).unwrap()
}

#[test]
fn missing_files_are_named() {
    let message = error_of(TokenizerFiles::default());
    assert!(
        message.contains("spiece.model") && message.contains("tokenizer.json"),
        "{message}"
    );
    let config = String::from_utf8(read("siglip", "tokenizer_config.json")).unwrap();
    let message = error_of(TokenizerFiles {
        tokenizer_config: Some(&config),
        ..Default::default()
    });
    assert!(message.contains("spiece.model is missing"), "{message}");
    let empty = tempdir("empty");
    let message = Tokenizer::from_dir(&empty)
        .expect_err("empty folder")
        .to_string();
    assert!(message.contains("no tokenizer file"), "{message}");
}

#[test]
fn damaged_spiece_model_is_an_error() {
    let model = read("siglip", "spiece.model");
    for (what, bytes) in [
        ("empty", Vec::new()),
        ("truncated", model[..model.len() / 2].to_vec()),
        ("text", b"this is not a protobuf".to_vec()),
        (
            "garbage",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
                .collect(),
        ),
    ] {
        let result = Tokenizer::from_files(&TokenizerFiles {
            spiece_model: Some(&bytes),
            ..Default::default()
        });
        let message = result.expect_err(what).to_string();
        assert!(message.contains("spiece.model"), "{what}: {message}");
    }
}

#[test]
fn damaged_json_files_are_errors() {
    let model = read("siglip", "spiece.model");
    let files = |config: &'static str| TokenizerFiles {
        spiece_model: Some(&model),
        tokenizer_config: Some(config),
        ..Default::default()
    };
    let message = Tokenizer::from_files(&files("{not json"))
        .expect_err("bad json")
        .to_string();
    assert!(
        message.contains("tokenizer_config.json is not valid JSON"),
        "{message}"
    );
    let message = Tokenizer::from_files(&files("[]"))
        .expect_err("not an object")
        .to_string();
    assert!(
        message.contains("tokenizer_config.json must hold a JSON object"),
        "{message}"
    );
    let message = Tokenizer::from_files(&files(r#"{"eos_token": "<nope>"}"#))
        .expect_err("unknown token")
        .to_string();
    assert!(message.contains("<nope>"), "{message}");
    let message = Tokenizer::from_files(&files(r#"{"padding_side": "middle"}"#))
        .expect_err("side")
        .to_string();
    assert!(message.contains("padding_side"), "{message}");

    let json = String::from_utf8(read("siglip2", "tokenizer.json")).unwrap();
    for (what, text, needle) in [
        (
            "truncated",
            &json[..json.len() / 2],
            "tokenizer.json is not valid JSON",
        ),
        (
            "unigram",
            r#"{"model": {"type": "Unigram", "vocab": []}}"#,
            "not supported",
        ),
        (
            "no merges",
            r#"{"model": {"type": "BPE", "vocab": {"<pad>": 0}}}"#,
            "merges",
        ),
        (
            "bad merge",
            r#"{"model": {"type": "BPE", "vocab": {"<pad>": 0, "a": 1}, "merges": ["a b"]}}"#,
            "not in the vocabulary",
        ),
    ] {
        let result = Tokenizer::from_files(&TokenizerFiles {
            tokenizer_json: Some(text),
            ..Default::default()
        });
        let message = result.expect_err(what).to_string();
        assert!(message.contains(needle), "{what}: {message}");
    }
    let message = Tokenizer::from_files(&TokenizerFiles {
        tokenizer_json: Some(&json),
        tokenizer_config: Some(r#"{"pad_token": "<nothing>"}"#),
        ..Default::default()
    })
    .expect_err("unknown pad")
    .to_string();
    assert!(message.contains("<nothing>"), "{message}");
}

#[test]
fn max_length_too_small_is_an_error() {
    let tokenizer = Tokenizer::from_dir(&fixture("siglip")).unwrap();
    assert!(tokenizer.encode_padded("a cat", 0).is_err());
    assert_eq!(
        tokenizer.encode_padded("a cat", 1).unwrap(),
        vec![tokenizer.eos_token_id().unwrap()]
    );
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "siglip-lens-tokenizer-{name}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
