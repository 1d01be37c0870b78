//! Inputs the fuzz targets in fuzz/ (or a review of what they check) found to panic or misbehave,
//! minimised: each must now give an error that says what is wrong. Natively a test file of its own;
//! tests/web.rs includes it too, so the cases that bite only where `usize` is 32 bits (wasm32) run
//! where they bite, in both browsers.

use siglip_lens::{PreprocessConfig, VisionConfig};

fn config_error(json: &str) -> String {
    match VisionConfig::from_json(json) {
        Ok(config) => panic!("accepted {config:?}"),
        Err(e) => e.to_string(),
    }
}

/// Each size is at most 65536, but `num_parameters` multiplied them in usize: d·c·p² = 2⁶⁴ overflowed
/// (a panic with overflow checks, a wrong count without). On wasm32, hidden_size 65536 alone (d² = 2³²)
/// did. The config is now refused; the sizes below it still give the exact count.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_parameter_count_that_overflows_usize_is_refused() {
    let json = r#"{"hidden_size": 65536, "num_attention_heads": 16, "num_channels": 65536, "image_size": 65536, "patch_size": 65536}"#;
    let message = config_error(json);
    assert!(
        message.contains("parameters, more than this build can address"),
        "{message}"
    );

    let json = r#"{"hidden_size": 65536, "num_attention_heads": 16, "num_channels": 65536, "image_size": 65536, "patch_size": 65535}"#;
    if usize::BITS < 64 {
        assert!(config_error(json).contains("more than this build can address"));
        return;
    }
    let config =
        VisionConfig::from_json(json).expect("2⁶⁴ − 2⁴⁹ + … parameters fit a 64-bit usize");
    let (d, c, p, i, l) = (65536u128, 65536u128, 65535u128, 3072u128, 12u128);
    let mlp = 2 * d * i + i + d;
    let exact = d * c * p * p
        + d
        + d
        + l * (4 * (d * d + d) + mlp + 4 * d)
        + 2 * d
        + (d + 4 * (d * d + d) + 2 * d + mlp);
    assert_eq!(config.num_parameters() as u128, exact);
}

/// What wasm32 (32-bit usize) refuses: 2³² parameters and more; 64-bit builds keep the exact count.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_parameter_count_beyond_32_bits_is_refused_only_where_usize_is_32_bits() {
    let json = r#"{"hidden_size": 65536, "num_attention_heads": 16, "intermediate_size": 16, "num_hidden_layers": 1, "image_size": 16, "patch_size": 16, "num_channels": 1}"#;
    match usize::BITS {
        32 => assert!(config_error(json).contains("more than this build can address")),
        _ => assert!(
            VisionConfig::from_json(json)
                .expect("fits 64 bits")
                .num_parameters()
                > u32::MAX as usize
        ),
    }
}

/// `size` was read as u64 and cast `as usize`: on wasm32, 4294967301 (2³² + 5) became 5 and was
/// accepted. It is now out of range everywhere. (On 64-bit the cast changed nothing: only the browsers'
/// run of this test can see that regression.)
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_size_beyond_usize_is_not_truncated() {
    for size in [
        r#"4294967301"#,
        r#"{"height": 4294967301, "width": 4294967301}"#,
    ] {
        let json = format!(r#"{{"size": {size}}}"#);
        let error = PreprocessConfig::from_json(&json, &VisionConfig::default())
            .expect_err("a size beyond usize must be refused")
            .to_string();
        assert!(
            error.contains("preprocessor_config.json") && error.contains("size"),
            "{error}"
        );
    }
}

fn preprocess_error(json: &str) -> String {
    match PreprocessConfig::from_json(json, &VisionConfig::default()) {
        Ok(config) => panic!("accepted {config:?}"),
        Err(e) => e.to_string(),
    }
}

/// fuzz target `preprocess`, minimised input `48 00 ff ff ab d0 e7 0c` (no resize, 256 × 44 image):
/// `rescale_factor` 1e39 is read as f32 infinity, was accepted, and every pixel became inf; the model
/// would have seen only NaNs. The first crash had `image_mean` [-1.8e24, inf, 2.9e-43].
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn a_rescale_factor_beyond_f32_is_refused() {
    let message = preprocess_error(
        r#"{"rescale_factor": 1e39, "image_mean": [0.00392156862745098, 0.00392156862745098, 0.00392156862745098],
            "image_std": [0.00392156862745098, 0.00392156862745098, 0.00392156862745098]}"#,
    );
    assert!(
        message.starts_with("preprocessor_config.json: `rescale_factor` inf"),
        "{message}"
    );
    assert!(message.contains("inf or NaN"), "{message}");
}

/// The same overflow with finite numbers: an infinite mean, a mean at f32's edge, a subnormal std.
#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
fn normalisation_that_overflows_f32_is_refused() {
    for json in [
        r#"{"image_mean": [-1.8380878e24, 1e39, 2.91e-43]}"#,
        r#"{"image_mean": [-3.4e38, 0.5, 0.5], "image_std": 0.5}"#,
        r#"{"image_std": [0.5, 1e-45, 0.5]}"#,
        r#"{"rescale_factor": 3.4e38, "image_std": 0.5}"#,
        r#"{"do_rescale": false, "image_mean": 1e39, "rescale_factor": 1e39}"#,
    ] {
        let message = preprocess_error(json);
        assert!(
            message.contains("would turn pixel values into inf or NaN"),
            "{json}: {message}"
        );
    }
    // Large but finite results are still accepted, as is an infinite factor nothing uses.
    for json in [
        r#"{"image_std": [1e-30, 1e-30, 1e-30]}"#,
        r#"{"do_rescale": false, "do_normalize": false, "rescale_factor": 1e39, "image_mean": 1e39}"#,
    ] {
        PreprocessConfig::from_json(json, &VisionConfig::default()).expect(json);
    }
}
