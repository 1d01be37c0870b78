//! Tensors handed over one at a time — the page streams them out of its download — so a model can be
//! built without holding the file's bytes and the weights at the same time. Each tensor is converted
//! on arrival to what the [`WeightStorage`] holds (f32, or f16 matrices); the model takes each one out
//! as it packs it, so the store empties as the model fills.

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};

use crate::checkpoint::{
    check_shape, find_tower, missing_tensor, model_root, Tower, WeightStorage,
};
use crate::error::{Error, Result};

#[derive(Default)]
pub struct TensorStore {
    tensors: HashMap<String, Tensor>,
    storage: WeightStorage,
}

impl TensorStore {
    /// A store holding everything in f32.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_storage(storage: WeightStorage) -> Self {
        Self {
            storage,
            ..Self::default()
        }
    }

    /// Adds one tensor as stored in a safetensors file: `dtype` is its header's name ("F32", "F16",
    /// "BF16"), `bytes` its little-endian data.
    pub fn insert(&mut self, name: &str, dtype: &str, shape: &[usize], bytes: &[u8]) -> Result<()> {
        let fail = |what: String| Error::Checkpoint(format!("tensor `{name}`: {what}"));
        let dtype = match dtype {
            "F32" => DType::F32,
            "F16" => DType::F16,
            "BF16" => DType::BF16,
            other => {
                return Err(fail(format!(
                    "stored as {other}; only F32, F16 and BF16 weights are supported"
                )))
            }
        };
        let elements = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| fail(format!("shape {shape:?} overflows")))?;
        if elements.checked_mul(dtype.size_in_bytes()) != Some(bytes.len()) {
            return Err(fail(format!(
                "{} bytes do not hold a {dtype:?} tensor of shape {shape:?}",
                bytes.len()
            )));
        }
        let tensor = Tensor::from_raw_buffer(bytes, dtype, shape, &Device::Cpu)?;
        let tensor = self.storage.hold(name, tensor).map_err(Error::loading)?;
        self.tensors.insert(name.to_owned(), tensor);
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Where `tower` sits among the names given, found as in [`crate::checkpoint::Checkpoint::parse_tower`].
    fn prefix(&self, tower: Tower) -> Result<String> {
        find_tower(
            self.tensors.keys().map(|n| &n[..]),
            tower,
            "the tensors given",
        )
    }

    /// `logit_scale` and `logit_bias` beside the text tower, taken out of the store; `None` when the
    /// tensors given have neither.
    pub fn take_logit_params(&mut self) -> Result<Option<(f32, f32)>> {
        let prefix = self.prefix(Tower::Text)?;
        let Some(root) = model_root(&prefix) else {
            return Ok(None);
        };
        let mut take = |name: &str| -> Result<Option<f32>> {
            let full = format!("{root}{name}");
            let Some(tensor) = self.tensors.remove(&full) else {
                return Ok(None);
            };
            check_shape(&full, tensor.dims(), &Shape::from(1)).map_err(Error::loading)?;
            let values: Vec<f32> = tensor.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
            Ok(Some(values[0]))
        };
        match (take("logit_scale")?, take("logit_bias")?) {
            (Some(scale), Some(bias)) => Ok(Some((scale, bias))),
            (None, None) => Ok(None),
            _ => Err(Error::Checkpoint(format!(
                "`{root}logit_scale` and `{root}logit_bias` must come together; only one was given"
            ))),
        }
    }

    /// A `VarBuilder` rooted at `tower` that hands each tensor out once (checked against the shape
    /// the model asks for) and forgets it.
    pub fn into_var_builder(self, tower: Tower) -> Result<VarBuilder<'static>> {
        let prefix = self.prefix(tower)?;
        let backend = TakeOnce {
            prefix,
            tensors: Mutex::new(self.tensors),
        };
        Ok(VarBuilder::from_backend(
            Box::new(backend),
            DType::F32,
            Device::Cpu,
        ))
    }
}

struct TakeOnce {
    prefix: String,
    tensors: Mutex<HashMap<String, Tensor>>,
}

impl SimpleBackend for TakeOnce {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: Init,
        _: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let full = format!("{}{name}", self.prefix);
        let tensor = self
            .tensors
            .lock()
            .map_err(|_| candle_core::Error::Msg("tensor store poisoned".into()))?
            .remove(&full);
        let tensor = tensor.ok_or_else(|| missing_tensor(&full, &shape))?;
        check_shape(&full, tensor.dims(), &shape)?;
        tensor.to_device(dev) // as the storage holds it (see `TowerBackend`)
    }

    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        Err(candle_core::Error::Msg(format!(
            "tensor `{name}` was requested without a shape to check"
        )))
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors
            .lock()
            .map(|t| t.contains_key(&format!("{}{name}", self.prefix)))
            .unwrap_or(false)
    }
}
