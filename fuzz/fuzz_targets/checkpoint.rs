//! Arbitrary bytes as `model.safetensors` for a tiny tower (d 8, mlp 16, 1 layer, 2 heads, 8 px image,
//! 4 px patches), with and without the pooling head: parsing and loading return errors, never panic;
//! a tower that loads runs its forward (weights may be NaN or infinite: no panic either).
#![no_main]

use std::sync::LazyLock;

use candle_core::{DType, Device, Tensor};
use libfuzzer_sys::fuzz_target;
use siglip_lens::checkpoint::{Checkpoint, WeightStorage};
use siglip_lens::{SiglipVisionModel, VisionConfig};

static CONFIGS: LazyLock<[VisionConfig; 2]> = LazyLock::new(|| {
    let with_head = VisionConfig {
        hidden_size: 8,
        intermediate_size: 16,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        image_size: 8,
        patch_size: 4,
        ..VisionConfig::default()
    };
    with_head.validate().expect("the fuzz config is valid");
    let without_head = VisionConfig {
        vision_use_head: false,
        ..with_head.clone()
    };
    [with_head, without_head]
});

static PIXELS: LazyLock<Tensor> = LazyLock::new(|| {
    Tensor::arange(0f32, 192., &Device::Cpu)
        .and_then(|t| (t / 96.)?.reshape((1, 3, 8, 8)))
        .expect("pixels")
});

/// `FUZZ_VERBOSE=1` prints why each input was refused (to check the seeds).
static VERBOSE: LazyLock<bool> = LazyLock::new(|| std::env::var_os("FUZZ_VERBOSE").is_some());

fuzz_target!(|data: &[u8]| {
    if let Ok(checkpoint) = Checkpoint::parse(data) {
        let names = checkpoint.tower_tensor_names();
        assert!(
            names
                .iter()
                .any(|n| n == siglip_lens::checkpoint::TOWER_MARKER),
            "{names:?}"
        );
    }
    for config in CONFIGS.iter() {
        let loaded = SiglipVisionModel::from_safetensors(config, data, WeightStorage::F32);
        if *VERBOSE {
            eprintln!(
                "head {}: {:?}",
                config.vision_use_head,
                loaded.as_ref().map(|_| "loaded")
            );
        }
        if let Ok(model) = loaded {
            let trace = model.forward(&PIXELS).expect("a loaded tower runs");
            assert_eq!(trace.last_hidden_state.dims(), [1, 4, 8]);
            assert_eq!(trace.attentions.len(), 1);
            assert_eq!(trace.pooler_output.is_some(), config.vision_use_head);
            assert_eq!(trace.last_hidden_state.dtype(), DType::F32);
        }
    }
});
