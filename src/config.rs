//! The two configuration files of a Hugging Face SigLIP repository.
//!
//! `config.json` comes in three layouts on the hub — a full `SiglipConfig` (`vision_config` nested), a
//! bare `SiglipVisionConfig`, and a PaliGemma config (`vision_config` nested) — and fields that are
//! missing take transformers' defaults, exactly as `SiglipVisionConfig.__init__` would fill them in.
//! `preprocessor_config.json` describes `SiglipImageProcessor`.
//!
//! Reference: <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/configuration_siglip.py>

use serde::Deserialize;

use crate::error::{Error, Result};

mod text;
pub use text::TextConfig;

/// What the encoder's blocks need to know, whichever tower they belong to: transformers hands either
/// tower's config to `SiglipEncoder`, which reads exactly these fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderConfig {
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub hidden_act: Activation,
    pub layer_norm_eps: f64,
}

impl EncoderConfig {
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }
}

/// The vision tower's hyper-parameters (`SiglipVisionConfig`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VisionConfig {
    #[serde(default = "hidden_size")]
    pub hidden_size: usize,
    #[serde(default = "intermediate_size")]
    pub intermediate_size: usize,
    #[serde(default = "num_hidden_layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "num_attention_heads")]
    pub num_attention_heads: usize,
    #[serde(default = "num_channels")]
    pub num_channels: usize,
    #[serde(default = "image_size", deserialize_with = "square")]
    pub image_size: usize,
    #[serde(default = "patch_size", deserialize_with = "square")]
    pub patch_size: usize,
    #[serde(default = "hidden_act")]
    pub hidden_act: Activation,
    #[serde(default = "layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// PaliGemma's towers have no pooling head; SigLIP's do (transformers treats a missing field as true).
    #[serde(default = "vision_use_head")]
    pub vision_use_head: bool,
}

/// transformers allows `image_size` / `patch_size` as a number or an `[h, w]` pair; we take squares.
fn square<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<usize, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Side {
        One(usize),
        Pair([usize; 2]),
    }
    match Side::deserialize(deserializer)? {
        Side::One(n) => Ok(n),
        Side::Pair([h, w]) if h == w => Ok(h),
        Side::Pair([h, w]) => Err(serde::de::Error::custom(format!(
            "non-square sizes ({h} × {w}) are not supported"
        ))),
    }
}

fn hidden_size() -> usize {
    768
}
fn intermediate_size() -> usize {
    3072
}
fn num_hidden_layers() -> usize {
    12
}
fn num_attention_heads() -> usize {
    12
}
fn num_channels() -> usize {
    3
}
fn image_size() -> usize {
    224
}
fn patch_size() -> usize {
    16
}
fn hidden_act() -> Activation {
    Activation::GeluPytorchTanh
}
fn layer_norm_eps() -> f64 {
    1e-6
}
fn vision_use_head() -> bool {
    true
}

impl Default for VisionConfig {
    fn default() -> Self {
        serde_json::from_str("{}").expect("every field has a default")
    }
}

/// The activations transformers' `ACT2FN` offers that a SigLIP-style MLP may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Activation {
    /// `gelu_pytorch_tanh`, SigLIP's: `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    #[serde(rename = "gelu_pytorch_tanh", alias = "gelu_new", alias = "gelu_fast")]
    GeluPytorchTanh,
    /// `gelu`: the exact, erf-based GELU.
    #[serde(rename = "gelu")]
    Gelu,
    #[serde(rename = "quick_gelu")]
    QuickGelu,
    #[serde(rename = "relu")]
    Relu,
}

impl VisionConfig {
    /// The sizes the encoder's blocks and the pooling head use.
    pub fn encoder(&self) -> EncoderConfig {
        EncoderConfig {
            hidden_size: self.hidden_size,
            intermediate_size: self.intermediate_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            hidden_act: self.hidden_act,
            layer_norm_eps: self.layer_norm_eps,
        }
    }

    /// Reads a `config.json` in any of the hub's layouts.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Config(format!("config.json is not valid JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| Error::Config("config.json must hold a JSON object".into()))?;
        let vision = match object.get("vision_config") {
            Some(nested) if nested.is_object() => nested.clone(),
            Some(serde_json::Value::Null) | None => {
                let model_type = object.get("model_type").and_then(|v| v.as_str());
                if matches!(model_type, Some(t) if t != "siglip_vision_model" && t != "siglip2_vision_model" && t != "siglip")
                    && !object.contains_key("patch_size")
                {
                    return Err(Error::Config(format!(
                        "config.json describes a `{}` model without a vision tower (no `vision_config`, no `patch_size`); \
                         pick a SigLIP vision or SigLIP/PaliGemma checkpoint",
                        model_type.unwrap_or_default()
                    )));
                }
                value.clone()
            }
            Some(_) => {
                return Err(Error::Config(
                    "`vision_config` in config.json must be an object".into(),
                ))
            }
        };
        let config: VisionConfig = serde_path_to_error::deserialize(vision)
            .map_err(|e| Error::Config(format!("config.json: `{}`: {}", e.path(), e.inner())))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the relations between fields that the forward relies on.
    pub fn validate(&self) -> Result<()> {
        let fail = |what: String| Err(Error::Config(format!("config.json: {what}")));
        for (name, value) in [
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("num_channels", self.num_channels),
            ("image_size", self.image_size),
            ("patch_size", self.patch_size),
        ] {
            if value == 0 {
                return fail(format!("`{name}` must be positive"));
            }
            if value > 1 << 16 {
                return fail(format!("`{name}` = {value} is implausibly large"));
            }
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return fail(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.patch_size > self.image_size {
            return fail(format!(
                "patch_size {} is larger than image_size {}",
                self.patch_size, self.image_size
            ));
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps >= 0.0) {
            return fail(format!(
                "layer_norm_eps {} must be a non-negative number",
                self.layer_norm_eps
            ));
        }
        if self.checked_num_parameters().is_none() {
            return fail(format!(
                "these sizes imply more than {} parameters, more than this build can address",
                usize::MAX
            ));
        }
        Ok(())
    }

    /// Patches along one side of the image (a "valid" convolution drops the remainder: 384 / 14 → 27).
    pub fn grid_size(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Tokens the encoder sees (there is no class token).
    pub fn num_patches(&self) -> usize {
        self.grid_size() * self.grid_size()
    }

    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads
    }

    /// Parameters of the vision tower (with its head when the config has one). `validate` refuses
    /// sizes whose count overflows `usize`; for such a config this saturates at `usize::MAX`.
    pub fn num_parameters(&self) -> usize {
        self.checked_num_parameters().unwrap_or(usize::MAX)
    }

    /// The parameter count, or `None` if it overflows `usize`: each size is at most 2¹⁶, but d·c·p²
    /// reaches 2⁶⁴, and on wasm32 d² alone (hidden_size 65536) overflows. Bounds `num_patches()` too.
    fn checked_num_parameters(&self) -> Option<usize> {
        let (d, i, c, p, g) = (
            self.hidden_size,
            self.intermediate_size,
            self.num_channels,
            self.patch_size,
            self.grid_size(),
        );
        let sum = |terms: &[Option<usize>]| {
            terms
                .iter()
                .try_fold(0usize, |acc, t| acc.checked_add((*t)?))
        };
        let mul = |factors: &[usize]| {
            factors
                .iter()
                .try_fold(1usize, |acc, f| acc.checked_mul(*f))
        };
        let embeddings = sum(&[mul(&[d, c, p, p]), Some(d), mul(&[g, g, d])])?;
        let mlp = sum(&[mul(&[2, d, i]), Some(i), Some(d)])?;
        let four_linears = mul(&[4, sum(&[mul(&[d, d]), Some(d)])?]); // q, k, v, out: d → d
        let layer = sum(&[four_linears, Some(mlp), mul(&[4, d])])?;
        let head = match self.vision_use_head {
            true => sum(&[Some(d), four_linears, mul(&[2, d]), Some(mlp)])?,
            false => 0,
        };
        sum(&[
            Some(embeddings),
            mul(&[self.num_hidden_layers, layer]),
            mul(&[2, d]),
            Some(head),
        ])
    }
}

/// PIL's resampling filters, by the number transformers stores in `resample`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    Nearest,
    Bilinear,
    Bicubic,
    Box,
    Hamming,
    Lanczos,
}

impl Resample {
    pub fn from_pil(code: i64) -> Result<Self> {
        Ok(match code {
            0 => Resample::Nearest,
            1 => Resample::Lanczos,
            2 => Resample::Bilinear,
            3 => Resample::Bicubic,
            4 => Resample::Box,
            5 => Resample::Hamming,
            _ => {
                return Err(Error::Config(format!(
                    "preprocessor_config.json: `resample` {code} is not a PIL filter (0..=5)"
                )))
            }
        })
    }
}

/// `SiglipImageProcessor`'s settings.
#[derive(Debug, Clone, PartialEq)]
pub struct PreprocessConfig {
    pub do_resize: bool,
    /// (height, width) the image is resized to.
    pub size: (usize, usize),
    pub resample: Resample,
    pub do_rescale: bool,
    pub rescale_factor: f32,
    pub do_normalize: bool,
    pub image_mean: [f32; 3],
    pub image_std: [f32; 3],
    pub do_convert_rgb: bool,
}

#[derive(Deserialize)]
struct RawPreprocess {
    do_resize: Option<bool>,
    size: Option<serde_json::Value>,
    resample: Option<i64>,
    do_rescale: Option<bool>,
    rescale_factor: Option<f32>,
    do_normalize: Option<bool>,
    image_mean: Option<Mean>,
    image_std: Option<Mean>,
    do_convert_rgb: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Mean {
    One(f32),
    Three([f32; 3]),
}

impl Mean {
    fn channels(self) -> [f32; 3] {
        match self {
            Mean::One(v) => [v; 3],
            Mean::Three(v) => v,
        }
    }
}

impl PreprocessConfig {
    /// `SiglipImageProcessor`'s defaults for a tower of this configuration.
    pub fn for_model(vision: &VisionConfig) -> Self {
        PreprocessConfig {
            do_resize: true,
            size: (vision.image_size, vision.image_size),
            resample: Resample::Bicubic,
            do_rescale: true,
            rescale_factor: 1.0 / 255.0,
            do_normalize: true,
            image_mean: [0.5; 3],
            image_std: [0.5; 3],
            do_convert_rgb: true,
        }
    }

    /// Reads a `preprocessor_config.json`; missing fields take the processor's defaults for `vision`.
    pub fn from_json(text: &str, vision: &VisionConfig) -> Result<Self> {
        let fail = |what: String| Error::Config(format!("preprocessor_config.json: {what}"));
        let raw: RawPreprocess = serde_json::from_str(text).map_err(|e| fail(e.to_string()))?;
        let mut config = Self::for_model(vision);
        if let Some(v) = raw.do_resize {
            config.do_resize = v;
        }
        if let Some(size) = raw.size {
            config.size = parse_size(&size).ok_or_else(|| {
                fail(format!("`size` {size} must be {{\"height\": h, \"width\": w}} or a number (fixed-resolution SigLIP)"))
            })?;
        }
        if let Some(code) = raw.resample {
            config.resample = Resample::from_pil(code)?;
        }
        if let Some(v) = raw.do_rescale {
            config.do_rescale = v;
        }
        if let Some(v) = raw.rescale_factor {
            config.rescale_factor = v;
        }
        if let Some(v) = raw.do_normalize {
            config.do_normalize = v;
        }
        if let Some(v) = raw.image_mean {
            config.image_mean = v.channels();
        }
        if let Some(v) = raw.image_std {
            config.image_std = v.channels();
        }
        if let Some(v) = raw.do_convert_rgb {
            config.do_convert_rgb = v;
        }
        if config.image_std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err(fail(format!(
                "`image_std` {:?} must be finite and non-zero",
                config.image_std
            )));
        }
        // Numbers beyond f32 (1e39) read as infinity, and finite ones can still overflow (255 / 1e-45).
        // The map is monotonic in the pixel value: if 0 and 255 land on finite values, every value does.
        if (0..3).any(|c| {
            [0, 255]
                .iter()
                .any(|&v| !config.normalise(v, c).is_finite())
        }) {
            return Err(fail(format!(
                "`rescale_factor` {}, `image_mean` {:?} and `image_std` {:?} would turn pixel values into inf or NaN",
                config.rescale_factor, config.image_mean, config.image_std
            )));
        }
        let (h, w) = config.size;
        if h == 0 || w == 0 || h > 1 << 14 || w > 1 << 14 {
            return Err(fail(format!("`size` {h}×{w} is out of range")));
        }
        Ok(config)
    }

    /// One 8-bit channel value as `pixel_values` holds it. transformers rescales in float64, then
    /// casts to float32, then normalises in float32.
    pub(crate) fn normalise(&self, value: u8, channel: usize) -> f32 {
        let mut v = value as f32;
        if self.do_rescale {
            v = (value as f64 * self.rescale_factor as f64) as f32;
        }
        if self.do_normalize {
            v = (v - self.image_mean[channel]) / self.image_std[channel];
        }
        v
    }
}

fn parse_size(value: &serde_json::Value) -> Option<(usize, usize)> {
    let as_usize = |v: &serde_json::Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
    if let Some(n) = as_usize(value) {
        return Some((n, n));
    }
    let object = value.as_object()?;
    // An aspect-preserving `shortest_edge` is not a fixed-resolution SigLIP setting: refused.
    Some((
        as_usize(object.get("height")?)?,
        as_usize(object.get("width")?)?,
    ))
}

/// A public fixed-resolution SigLIP tower, by its hub id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    pub id: &'static str,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub image_size: usize,
    pub patch_size: usize,
    /// PIL filter the repository's `preprocessor_config.json` asks for.
    pub resample: Resample,
}

/// The public towers a user can name by id.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "google/siglip-base-patch16-224",
        hidden_size: 768,
        intermediate_size: 3072,
        num_hidden_layers: 12,
        num_attention_heads: 12,
        image_size: 224,
        patch_size: 16,
        resample: Resample::Bicubic,
    },
    Preset {
        id: "google/siglip-base-patch16-384",
        hidden_size: 768,
        intermediate_size: 3072,
        num_hidden_layers: 12,
        num_attention_heads: 12,
        image_size: 384,
        patch_size: 16,
        resample: Resample::Bicubic,
    },
    Preset {
        id: "google/siglip2-base-patch16-224",
        hidden_size: 768,
        intermediate_size: 3072,
        num_hidden_layers: 12,
        num_attention_heads: 12,
        image_size: 224,
        patch_size: 16,
        resample: Resample::Bilinear,
    },
    Preset {
        id: "google/siglip-large-patch16-256",
        hidden_size: 1024,
        intermediate_size: 4096,
        num_hidden_layers: 24,
        num_attention_heads: 16,
        image_size: 256,
        patch_size: 16,
        resample: Resample::Bicubic,
    },
    Preset {
        id: "google/siglip-so400m-patch14-384",
        hidden_size: 1152,
        intermediate_size: 4304,
        num_hidden_layers: 27,
        num_attention_heads: 16,
        image_size: 384,
        patch_size: 14,
        resample: Resample::Bicubic,
    },
];

impl Preset {
    pub fn by_id(id: &str) -> Option<&'static Preset> {
        PRESETS.iter().find(|p| p.id == id)
    }

    pub fn vision_config(&self) -> VisionConfig {
        VisionConfig {
            hidden_size: self.hidden_size,
            intermediate_size: self.intermediate_size,
            num_hidden_layers: self.num_hidden_layers,
            num_attention_heads: self.num_attention_heads,
            image_size: self.image_size,
            patch_size: self.patch_size,
            ..VisionConfig::default()
        }
    }

    pub fn preprocess_config(&self) -> PreprocessConfig {
        PreprocessConfig {
            resample: self.resample,
            ..PreprocessConfig::for_model(&self.vision_config())
        }
    }
}
