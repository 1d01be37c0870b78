//! What the commands read: a model folder as the hub lays it out, and an image or pixel values.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use clap::Args;
use siglip_lens::{image_file, preprocess, PreprocessConfig, Rgb8, VisionConfig};

/// The image to run: a file, or pixel values made elsewhere.
#[derive(Args)]
#[group(required = true, multiple = false, id = "input")]
pub struct Input {
    /// A PNG, JPEG, GIF, WebP or BMP image, preprocessed as SiglipImageProcessor would.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// A safetensors file holding `pixel_values` [1, 3, H, W]; skips preprocessing.
    #[arg(long)]
    pub pixels: Option<PathBuf>,
}

/// The pixel values of `input`, and the 8-bit image the model sees when it came from an image file.
pub fn pixel_values(
    input: &Input,
    preprocess_config: &PreprocessConfig,
) -> Result<(Tensor, Option<Rgb8>), String> {
    match (&input.image, &input.pixels) {
        (Some(image), _) => {
            let rgba = image_file::open(image).map_err(|e| e.to_string())?;
            let prepared = preprocess(&rgba, preprocess_config).map_err(|e| e.to_string())?;
            Ok((prepared.pixel_values, Some(prepared.resized)))
        }
        (None, Some(pixels)) => Ok((read_pixels(pixels)?, None)),
        (None, None) => Err("give --image or --pixels".into()),
    }
}

fn read_pixels(path: &Path) -> Result<Tensor, String> {
    let tensors = candle_core::safetensors::load(path, &Device::Cpu)
        .map_err(|e| format!("{}: cannot read safetensors ({e})", path.display()))?;
    let pixels = tensors
        .get("pixel_values")
        .ok_or_else(|| format!("{} has no tensor named `pixel_values`", path.display()))?;
    pixels.to_dtype(DType::F32).map_err(|e| e.to_string())
}

/// A checkpoint folder: config.json, model.safetensors, optionally preprocessor_config.json (and
/// the tokenizer's files).
pub struct ModelDir<'a>(pub &'a Path);

impl ModelDir<'_> {
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn read_text(&self, name: &str) -> Result<String, String> {
        let path = self.path(name);
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    pub fn read_bytes(&self, name: &str) -> Result<Vec<u8>, String> {
        let path = self.path(name);
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    /// config.json's text.
    pub fn config_text(&self) -> Result<String, String> {
        self.read_text("config.json")
    }

    pub fn vision_config(&self) -> Result<VisionConfig, String> {
        VisionConfig::from_json(&self.config_text()?)
            .map_err(|e| format!("{}: {e}", self.path("config.json").display()))
    }

    /// preprocessor_config.json, or the processor's defaults for this tower when the folder has none.
    pub fn preprocess_config(&self, vision: &VisionConfig) -> Result<PreprocessConfig, String> {
        let path = self.path("preprocessor_config.json");
        match path.exists() {
            true => {
                PreprocessConfig::from_json(&self.read_text("preprocessor_config.json")?, vision)
                    .map_err(|e| e.to_string())
            }
            false => Ok(PreprocessConfig::for_model(vision)),
        }
    }

    /// model.safetensors' bytes.
    pub fn weights(&self) -> Result<Vec<u8>, String> {
        self.read_bytes("model.safetensors")
    }
}
