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

/// A parsed safetensors file and the prefix of its vision tower.
pub struct Checkpoint<'a> {
    tensors: SafeTensors<'a>,
    prefix: String,
}

impl<'a> Checkpoint<'a> {
    /// Parses the header of a safetensors file (whole, or holding only the vision tensors).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let tensors = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::Checkpoint(describe(e, bytes.len())))?;
        let mut towers: Vec<String> = tensors
            .names()
            .into_iter()
            .filter_map(|name| name.strip_suffix(TOWER_MARKER).map(str::to_owned))
            .collect();
        towers.sort();
        let prefix = match towers.len() {
            1 => towers.remove(0),
            0 => {
                let mut names = tensors.names();
                names.sort();
                let sample: Vec<String> = names.iter().take(3).map(|s| s.to_string()).collect();
                return Err(Error::Checkpoint(format!(
                    "no SigLIP vision tower in this file: no tensor name ends in `{TOWER_MARKER}` \
                     ({} tensors, e.g. {}). A text-only or non-SigLIP checkpoint cannot be visualised.",
                    names.len(),
                    if sample.is_empty() { "none".to_owned() } else { sample.join(", ") },
                )));
            }
            _ => {
                return Err(Error::Checkpoint(format!(
                    "several vision towers in this file, under the prefixes {towers:?}; save one tower per file"
                )))
            }
        };
        Ok(Checkpoint { tensors, prefix })
    }

    /// Where the tower sits, e.g. `vision_model.` (empty for a bare SiglipVisionModel).
    pub fn prefix(&self) -> &str {
        &self.prefix
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
