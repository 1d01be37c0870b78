//! Finds the vision tower inside a `model.safetensors` file and hands its tensors to the model.
//!
//! The tower's tensors sit under a prefix that depends on which model saved them —
//! `vision_model.` (SiglipModel), none (SiglipVisionModel saved by transformers 5),
//! `vision_tower.vision_model.` or `model.vision_tower.vision_model.` (PaliGemma) — so the prefix is
//! found from the one tensor every tower has, `embeddings.patch_embedding.weight`. Everything else in
//! the file (text tower, projector, language model) is ignored and never converted.
//!
//! The model's constructors say which tensor of which shape they need; [`Checkpoint`] answers each
//! request, checking name, shape and dtype, and holding it as [`WeightStorage`] says: everything in
//! f32 (f16/bf16 widened), or the matrices in f16. A request it cannot answer is an error naming the
//! tensor — never a silent default.

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

use crate::error::{Error, Result};

/// How the weights are held once loaded.
///
/// `F16` keeps every matrix (the linear layers' weights and the position embeddings: 99 % of a
/// tower's bytes) in half precision, halving weight memory; the linear layers widen their weights to
/// f32 as they compute, a panel at a time, so arithmetic stays f32. Vectors (LayerNorm, biases), the
/// patch filters and the probe stay f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightStorage {
    #[default]
    F32,
    F16,
}

impl WeightStorage {
    /// The largest finite f16.
    const F16_MAX: f32 = 65504.0;

    /// `"f32"` or `"f16"`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "f32" => Ok(Self::F32),
            "f16" => Ok(Self::F16),
            other => Err(Error::Checkpoint(format!(
                "unknown weight storage `{other}`: use \"f32\" or \"f16\""
            ))),
        }
    }

    /// The tensor `full` as this storage holds it: f16 for a matrix under `F16`, else f32.
    pub fn hold(self, full: &str, tensor: Tensor) -> candle_core::Result<Tensor> {
        if self == Self::F32 || tensor.rank() != 2 {
            return tensor.to_dtype(DType::F32);
        }
        if tensor.dtype() != DType::F16 {
            let largest = tensor
                .abs()?
                .max_all()?
                .to_dtype(DType::F32)?
                .to_scalar::<f32>()?;
            // (∞ and NaN convert as they are: the page warns about such weights in either storage.)
            if largest.is_finite() && largest > Self::F16_MAX {
                return Err(candle_core::Error::Msg(format!(
                    "tensor `{full}` holds values up to {largest:e}, beyond f16's range (±65504); \
                     load this model with f32 weights"
                )));
            }
        }
        tensor.to_dtype(DType::F16)
    }
}

/// The suffix that identifies a SigLIP vision tower, wherever it sits in the file.
pub const TOWER_MARKER: &str = "embeddings.patch_embedding.weight";
/// The suffix that identifies a SigLIP text tower.
pub const TEXT_MARKER: &str = "embeddings.token_embedding.weight";

/// Which of a SigLIP checkpoint's two towers to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tower {
    Vision,
    Text,
}

impl Tower {
    /// The tensor every tower of this kind has, found wherever it sits.
    pub fn marker(self) -> &'static str {
        match self {
            Tower::Vision => TOWER_MARKER,
            Tower::Text => TEXT_MARKER,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Tower::Vision => "vision",
            Tower::Text => "text",
        }
    }
}

/// The prefix of the one `tower` among tensor `names`; `source` says where the names come from
/// ("this file", "the tensors given"), for messages.
pub(crate) fn find_tower<'n>(
    names: impl IntoIterator<Item = &'n str>,
    tower: Tower,
    source: &str,
) -> Result<String> {
    let mut names: Vec<&str> = names.into_iter().collect();
    names.sort_unstable();
    let marker = tower.marker();
    let towers: Vec<&str> = names
        .iter()
        .filter_map(|name| name.strip_suffix(marker))
        .collect();
    match towers.as_slice() {
        [prefix] => Ok(prefix.to_string()),
        [] => {
            let sample = match names.len() {
                0 => "none".to_owned(),
                _ => names.iter().take(3).copied().collect::<Vec<_>>().join(", "),
            };
            let advice = match tower {
                Tower::Vision => "A text-only or non-SigLIP checkpoint cannot be visualised.",
                Tower::Text => {
                    "Vision-only towers and PaliGemma checkpoints have none; scores and text maps need a \
                     SiglipModel checkpoint (both towers), e.g. google/siglip-base-patch16-224."
                }
            };
            Err(Error::Checkpoint(format!(
                "no SigLIP {} tower in {source}: no tensor name ends in `{marker}` ({} tensors, e.g. {sample}). {advice}",
                tower.name(),
                names.len(),
            )))
        }
        several => Err(Error::Checkpoint(format!(
            "several {} towers in {source}, under the prefixes {several:?}; save one tower per file",
            tower.name()
        ))),
    }
}

/// Where `SiglipModel`'s own parameters (`logit_scale`, `logit_bias`) sit for a text tower under
/// `prefix`: beside `text_model.`, or nowhere for a bare text model.
pub(crate) fn model_root(text_prefix: &str) -> Option<&str> {
    text_prefix.strip_suffix("text_model.")
}

/// A parsed safetensors file and the prefix of one of its towers.
pub struct Checkpoint<'a> {
    tensors: SafeTensors<'a>,
    prefix: String,
    tower: Tower,
}

impl<'a> Checkpoint<'a> {
    /// Parses the header of a safetensors file (whole, or holding only the vision tensors) and finds
    /// its vision tower.
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        Self::parse_tower(bytes, Tower::Vision)
    }

    /// Parses the header of a safetensors file and finds `tower` in it.
    pub fn parse_tower(bytes: &'a [u8], tower: Tower) -> Result<Self> {
        let tensors = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::Checkpoint(describe(e, bytes.len())))?;
        let names = tensors.names();
        let prefix = find_tower(names.iter().map(|n| &n[..]), tower, "this file")?;
        Ok(Checkpoint {
            tensors,
            prefix,
            tower,
        })
    }

    /// Where the tower sits, e.g. `vision_model.` (empty for a bare SiglipVisionModel).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `SiglipModel`'s `logit_scale` and `logit_bias` (one value each), beside a text tower; `None`
    /// when the file holds a bare text model.
    pub fn logit_params(&self) -> Result<Option<(f32, f32)>> {
        let Some(root) = model_root(&self.prefix).filter(|_| self.tower == Tower::Text) else {
            return Ok(None);
        };
        let scalar = |name: &str| -> Result<Option<f32>> {
            let full = format!("{root}{name}");
            let Ok(view) = self.tensors.tensor(&full) else {
                return Ok(None);
            };
            check_shape(&full, view.shape(), &Shape::from(1)).map_err(Error::loading)?;
            let value = view_tensor(&full, &view)
                .and_then(|t| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())
                .map_err(Error::loading)?;
            Ok(Some(value[0]))
        };
        match (scalar("logit_scale")?, scalar("logit_bias")?) {
            (Some(scale), Some(bias)) => Ok(Some((scale, bias))),
            (None, None) => Ok(None),
            _ => Err(Error::Checkpoint(format!(
                "`{root}logit_scale` and `{root}logit_bias` must come together; the file has only one"
            ))),
        }
    }

    /// Names (without the prefix) of every tensor of the tower.
    pub fn tower_tensor_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .tensors
            .names()
            .into_iter()
            .filter_map(|n| n.strip_prefix(self.prefix.as_str()).map(str::to_owned))
            .collect();
        names.sort();
        names
    }

    /// Every tensor of the tower under its full name, held as `storage` says — what `siglip-lens
    /// convert` writes: with `F16`, a file half the size whose matrices load exactly as `F16`
    /// storage holds them.
    pub fn tower(&self, storage: WeightStorage) -> Result<Vec<(String, Tensor)>> {
        self.tensors
            .tensors()
            .into_iter()
            .filter(|(full, _)| full.starts_with(self.prefix.as_str()))
            .map(|(full, view)| {
                let tensor = view_tensor(&full, &view).map_err(Error::loading)?;
                let held = storage.hold(&full, tensor).map_err(Error::loading)?;
                Ok((full, held))
            })
            .collect()
    }

    /// A `VarBuilder` rooted at the tower, holding the tensors as `storage` says, on the CPU.
    pub fn var_builder(&'a self, storage: WeightStorage) -> VarBuilder<'a> {
        VarBuilder::from_backend(
            Box::new(TowerBackend {
                checkpoint: self,
                storage,
            }),
            DType::F32,
            Device::Cpu,
        )
    }

    /// One tower tensor (name without prefix), checked against `expected`, in its stored dtype.
    /// Errors are plain messages (no backtrace): they are shown to the user as they are.
    fn tensor(&self, name: &str, expected: &Shape) -> candle_core::Result<Tensor> {
        let full = format!("{}{name}", self.prefix);
        let view = self
            .tensors
            .tensor(&full)
            .map_err(|_| missing_tensor(&full, expected))?;
        check_shape(&full, view.shape(), expected)?;
        view_tensor(&full, &view)
    }
}

/// A tensor of the file (`full` is its name, for messages) as a candle tensor in its stored dtype.
fn view_tensor(full: &str, view: &TensorView) -> candle_core::Result<Tensor> {
    let dtype = match view.dtype() {
        Dtype::F32 => DType::F32,
        Dtype::F16 => DType::F16,
        Dtype::BF16 => DType::BF16,
        other => {
            return Err(candle_core::Error::Msg(format!(
            "tensor `{full}` is stored as {other:?}; only F32, F16 and BF16 weights are supported"
        )))
        }
    };
    Tensor::from_raw_buffer(view.data(), dtype, view.shape(), &Device::Cpu)
}

/// The tensor the model asks for is not in the file. (A plain message: it is shown to the user as is.)
pub(crate) fn missing_tensor(full: &str, expected: &Shape) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "tensor `{full}` is missing; the config asks for it with shape {expected:?}. \
         Is config.json the one that belongs to this checkpoint?"
    ))
}

/// Checks a tensor's shape in the file against the one the config implies.
pub(crate) fn check_shape(
    full: &str,
    found: &[usize],
    expected: &Shape,
) -> candle_core::Result<()> {
    if found == expected.dims() {
        return Ok(());
    }
    Err(candle_core::Error::Msg(format!(
        "tensor `{full}` has shape {found:?}, but config.json implies {:?}; \
         the config and the weights belong to different models",
        expected.dims()
    )))
}

/// Rewrites the safetensors crate's errors into advice.
fn describe(error: safetensors::SafeTensorError, file_len: usize) -> String {
    use safetensors::SafeTensorError as E;
    match error {
        E::HeaderTooSmall => format!("the file is {file_len} bytes, too short to be safetensors (truncated download?)"),
        E::HeaderTooLarge | E::InvalidHeaderLength => format!(
            "its header length does not fit in the {file_len}-byte file: the file is truncated or not safetensors"
        ),
        E::InvalidHeader(_) => "its header is not UTF-8 text: is this really a .safetensors file?".to_owned(),
        E::InvalidHeaderDeserialization(e) => {
            format!("its header cannot be read ({e}): the file is damaged, not safetensors, or uses an unknown dtype")
        }
        E::MetadataIncompleteBuffer => format!(
            "the tensors' data runs past the end of the {file_len}-byte file: the download is truncated; fetch it again"
        ),
        other => format!("{other}; the file is damaged or not safetensors"),
    }
}

/// Serves the model's tensor requests from a [`Checkpoint`].
/// Answers the model's requests from the file. A matrix comes back in the storage's dtype whatever the
/// request says: the model's linear layers take f32 or f16 weights.
struct TowerBackend<'a> {
    checkpoint: &'a Checkpoint<'a>,
    storage: WeightStorage,
}

impl SimpleBackend for TowerBackend<'_> {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: Init,
        _: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.checkpoint.tensor(name, &shape)?;
        let full = format!("{}{name}", self.checkpoint.prefix);
        self.storage.hold(&full, tensor)?.to_device(dev)
    }

    fn get_unchecked(
        &self,
        name: &str,
        _dtype: DType,
        _dev: &Device,
    ) -> candle_core::Result<Tensor> {
        Err(candle_core::Error::Msg(format!(
            "tensor `{name}` was requested without a shape to check"
        )))
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.checkpoint
            .tensors
            .tensor(&format!("{}{name}", self.checkpoint.prefix))
            .is_ok()
    }
}
