//! `nn.Linear`: `y = x Wᵀ + b`, W stored `[out, in]`.
//!
//! Natively this is candle's matmul (gemm's AVX2/FMA kernels). In the WebAssembly build the weight is
//! packed once at load time for [`crate::gemm`]'s SIMD128 micro-kernel, and the packed copy replaces
//! the original, so weights are held once.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

#[derive(Debug, Clone)]
pub struct Linear {
    #[cfg(not(target_arch = "wasm32"))]
    inner: candle_nn::Linear,
    #[cfg(target_arch = "wasm32")]
    weight: std::sync::Arc<crate::gemm::PackedB>,
    #[cfg(target_arch = "wasm32")]
    bias: Option<Vec<f32>>,
}

/// `linear(in, out, vb)` reads `vb/weight` (out, in) and `vb/bias` (out), like candle_nn's.
pub fn linear(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Linear> {
    let weight = vb.get((out_dim, in_dim), "weight")?;
    let bias = vb.get(out_dim, "bias")?;
    Linear::new(weight, Some(bias))
}

impl Linear {
    /// From a weight (out, in) and an optional bias (out).
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            Ok(Self {
                inner: candle_nn::Linear::new(weight, bias),
            })
        }
        #[cfg(target_arch = "wasm32")]
        {
            let (out_dim, in_dim) = weight.dims2()?;
            let values: Vec<f32> = weight.flatten_all()?.to_vec1()?;
            let packed = crate::gemm::PackedB::from_rows(&values, out_dim, in_dim);
            let bias = bias.map(|b| b.to_vec1()).transpose()?;
            Ok(Self {
                weight: std::sync::Arc::new(packed),
                bias,
            })
        }
    }

    /// (…, in) → (…, out).
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            candle_core::Module::forward(&self.inner, xs)
        }
        #[cfg(target_arch = "wasm32")]
        {
            let dims = xs.dims().to_vec();
            let (k, n) = (self.weight.k(), self.weight.n());
            let m = xs.elem_count() / k;
            let mut out = vec![0f32; m * n];
            with_f32_slice(xs, |a| {
                crate::gemm::matmul(a, m, &self.weight, self.bias.as_deref(), &mut out)
            })?;
            let mut shape = dims;
            *shape.last_mut().expect("at least one dim") = n;
            Tensor::from_vec(out, shape, xs.device())
        }
    }
}

/// Runs `f` on the tensor's f32 values without copying them when the tensor is contiguous.
#[cfg(target_arch = "wasm32")]
pub(crate) fn with_f32_slice<R>(xs: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    use candle_core::{CpuStorage, Storage};
    let xs = xs.contiguous()?;
    let (storage, layout) = xs.storage_and_layout();
    match &*storage {
        Storage::Cpu(CpuStorage::F32(values)) => {
            let start = layout.start_offset();
            Ok(f(&values[start..start + xs.elem_count()]))
        }
        _ => candle_core::bail!("expected f32 values on the CPU"),
    }
}
