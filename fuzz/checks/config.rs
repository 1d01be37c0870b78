//! `config.json` then `preprocessor_config.json`, split at the input's first 0 byte: neither parser
//! may panic, and every value derived from an accepted config must be computable without overflow.

use siglip_lens::{PreprocessConfig, VisionConfig};

/// One input: neither parser may panic; an accepted config's derived values are exact.
pub fn check(data: &[u8]) {
    let (vision_json, preprocess_json) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(vision_json) = std::str::from_utf8(vision_json) else {
        return;
    };
    let Ok(vision) = VisionConfig::from_json(vision_json) else {
        return;
    };
    check_derived(&vision);

    let Ok(preprocess_json) = std::str::from_utf8(preprocess_json) else {
        return;
    };
    if let Ok(preprocess) = PreprocessConfig::from_json(preprocess_json, &vision) {
        let (h, w) = preprocess.size;
        assert!(
            (1..=1 << 14).contains(&h) && (1..=1 << 14).contains(&w),
            "size {h}×{w} accepted"
        );
        assert!(preprocess
            .image_std
            .iter()
            .all(|s| s.is_finite() && *s != 0.0));
    }
}

/// The derived values, then the same formulas computed exactly in u128.
fn check_derived(v: &VisionConfig) {
    let (grid, patches, head_dim, params) = (
        v.grid_size(),
        v.num_patches(),
        v.head_dim(),
        v.num_parameters(),
    );
    assert!(grid >= 1, "grid 0 from an accepted config");
    assert_eq!(head_dim * v.num_attention_heads, v.hidden_size);

    let [d, i, c, p, l] = [
        v.hidden_size,
        v.intermediate_size,
        v.num_channels,
        v.patch_size,
        v.num_hidden_layers,
    ]
    .map(|x| x as u128);
    let n = (grid as u128) * (grid as u128);
    let embeddings = d * c * p * p + d + n * d;
    let mlp = d * i + i + i * d + d;
    let layer = 4 * (d * d + d) + mlp + 4 * d;
    let head = if v.vision_use_head {
        d + 3 * (d * d + d) + (d * d + d) + 2 * d + mlp
    } else {
        0
    };
    let exact = embeddings + l * layer + 2 * d + head;

    // An accepted config's parameter count fits this platform's usize.
    assert!(
        exact <= usize::MAX as u128,
        "{exact} parameters overflow usize"
    );
    assert_eq!(patches as u128, n);
    assert_eq!(params as u128, exact);
}
