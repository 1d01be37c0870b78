//! siglip-lens: Google's SigLIP vision encoder exactly as Hugging Face transformers computes it,
//! returning the whole trace — every hidden state, every attention map, the pooling head's probe
//! attention — for native use and, compiled to WebAssembly, for the page in `www/`.
//!
//! - [`config`]: `config.json` and `preprocessor_config.json` in every hub layout, and the presets.
//! - [`checkpoint`]: finds the tower inside `model.safetensors` and checks every tensor.
//! - [`preprocess`]: image → pixel values, as `SiglipImageProcessor` (PIL path) does.
//! - [`model`]: the tower, one module per transformers class, and its [`VisionTrace`].
//! - [`tokenizer`]: SigLIP's and SigLIP 2's tokenizers, `input_ids` exactly as transformers'.

pub mod analysis;
pub mod checkpoint;
pub mod config;
pub mod error;
pub mod gemm;
#[cfg(not(target_arch = "wasm32"))]
pub mod image_file;
pub mod maps;
pub mod model;
pub mod preprocess;
pub mod simd;
pub mod store;
pub mod tokenizer;
#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use config::{
    EncoderConfig, PreprocessConfig, Preset, Resample, TextConfig, VisionConfig, PRESETS,
};
pub use error::{Error, Result};
pub use model::{SiglipModel, SiglipTextModel, SiglipVisionModel, TextTrace, VisionTrace};
pub use preprocess::{preprocess, Preprocessed, Rgb8, Rgba8};
pub use tokenizer::{Tokenizer, TokenizerFiles};
