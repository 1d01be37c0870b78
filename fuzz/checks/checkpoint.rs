//! Arbitrary bytes as `model.safetensors` for a tiny tower (d 8, mlp 16, 1 layer, 2 heads, 8 px image,
//! 4 px patches), with and without the pooling head, loaded every way the crate offers: the whole file
//! (`from_safetensors`, as the CLI) and tensor by tensor (`TensorStore`, what the page's
//! `ModelBuilder` does with each tensor its download delivers), each with the weights held in f32 and
//! in f16. Parsing and loading return errors, never panic; a tower that loads runs its forward (weights
//! may be NaN or infinite: no panic either); and where both paths load the same storage, they compute
//! the same bits.

use std::sync::LazyLock;

use candle_core::{DType, Device, Tensor};
use siglip_lens::checkpoint::{Checkpoint, WeightStorage};
use siglip_lens::store::TensorStore;
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

const STORAGES: [WeightStorage; 2] = [WeightStorage::F32, WeightStorage::F16];

/// One input.
pub fn check(data: &[u8]) {
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
        for storage in STORAGES {
            let whole = SiglipVisionModel::from_safetensors(config, data, storage)
                .map_err(|e| e.to_string())
                .map(|model| run(&model, config));
            let streamed = streamed(config, data, storage).map(|model| run(&model, config));
            if *VERBOSE {
                eprintln!(
                    "head {}, {storage:?}: whole file {:?}; streamed {:?}",
                    config.vision_use_head,
                    whole.as_ref().map(|_| "loaded"),
                    streamed.as_ref().map(|_| "loaded")
                );
            }
            if let (Ok(a), Ok(b)) = (whole, streamed) {
                assert!(
                    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
                    "the whole file and the streamed tensors computed different outputs ({storage:?})"
                );
            }
        }
    }
}

/// The page's path: the file's tensors handed to a [`TensorStore`] one by one (the page's own header
/// parser hands over the same names, dtypes, shapes and bytes), then the model built from it.
fn streamed(
    config: &VisionConfig,
    data: &[u8],
    storage: WeightStorage,
) -> Result<SiglipVisionModel, String> {
    let file = safetensors::SafeTensors::deserialize(data).map_err(|e| e.to_string())?;
    let mut store = TensorStore::with_storage(storage);
    for (name, view) in file.tensors() {
        let dtype = format!("{:?}", view.dtype());
        store
            .insert(&name, &dtype, view.shape(), view.data())
            .map_err(|e| e.to_string())?;
    }
    SiglipVisionModel::from_store(config, store).map_err(|e| e.to_string())
}

/// The forward of a loaded tower, checked for shape and dtype: its last hidden state.
fn run(model: &SiglipVisionModel, config: &VisionConfig) -> Vec<f32> {
    let trace = model.forward(&PIXELS).expect("a loaded tower runs");
    assert_eq!(trace.last_hidden_state.dims(), [1, 4, 8]);
    assert_eq!(trace.attentions.len(), 1);
    assert_eq!(trace.pooler_output.is_some(), config.vision_use_head);
    assert_eq!(trace.last_hidden_state.dtype(), DType::F32);
    trace
        .last_hidden_state
        .flatten_all()
        .and_then(|t| t.to_vec1())
        .expect("f32 values")
}
