//! The position-wise feed-forward network of every block (and of the pooling head).
//!
//! Reference: `SiglipMLP` in
//! <https://github.com/huggingface/transformers/blob/v4.57.1/src/transformers/models/siglip/modeling_siglip.py#L393>

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::linear::{linear, Linear};

use crate::config::{Activation, EncoderConfig};

#[derive(Debug, Clone)]
pub struct SiglipMLP {
    fc1: Linear,
    fc2: Linear,
    activation: Activation,
}

impl SiglipMLP {
    pub fn new(cfg: &EncoderConfig, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            fc1: linear(cfg.hidden_size, cfg.intermediate_size, vb.pp("fc1"))?,
            fc2: linear(cfg.intermediate_size, cfg.hidden_size, vb.pp("fc2"))?,
            activation: cfg.hidden_act,
        })
    }

    /// (b, n, d) → (b, n, d) through (b, n, intermediate).
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let hidden = match self.activation {
            // In wasm the GELU runs inside fc1's product, on each block of output as it is finished.
            #[cfg(target_arch = "wasm32")]
            Activation::GeluPytorchTanh => {
                self.fc1.forward_then(xs, crate::gemm::Epilogue::GeluTanh)?
            }
            activation => activation.forward(&self.fc1.forward(xs)?)?,
        }; // (b, n, intermediate)
        self.fc2.forward(&hidden)
    }
}

impl Module for Activation {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        match self {
            Activation::GeluPytorchTanh => gelu_tanh(xs),
            Activation::Gelu => xs.gelu_erf(),
            Activation::QuickGelu => xs * candle_nn::ops::sigmoid(&(xs * 1.702)?)?,
            Activation::Relu => xs.relu(),
        }
    }
}

/// `gelu_pytorch_tanh`: candle's `gelu` (the tanh approximation) natively; in wasm, where candle's
/// calls scalar libm `tanhf` per element, [`crate::simd::gelu_inplace`].
fn gelu_tanh(xs: &Tensor) -> Result<Tensor> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        xs.gelu()
    }
    #[cfg(target_arch = "wasm32")]
    {
        let mut values: Vec<f32> = xs.flatten_all()?.to_vec1()?;
        crate::simd::gelu_inplace(&mut values);
        Tensor::from_vec(values, xs.shape(), xs.device())
    }
}
