//! `nn.Linear`: `y = x Wᵀ + b`, W stored `[out, in]`.
//!
//! Natively this is candle's matmul (gemm's AVX2/FMA kernels). In the WebAssembly build the weight is
//! packed once at load time for [`crate::gemm`]'s SIMD128 micro-kernel, and the packed copy replaces
//! the original, so weights are held once.
//!
//! The weight may be f32 or f16 ([`crate::checkpoint::WeightStorage`]); an f16 weight stays f16 and
//! is widened as it is used — natively the whole matrix per call, in wasm a packed panel at a time —
//! so the arithmetic is f32 either way.

use candle_core::{DType, Result, Tensor};
use candle_nn::VarBuilder;

#[derive(Debug, Clone)]
pub struct Linear {
    #[cfg(not(target_arch = "wasm32"))]
    weight: Tensor,
    #[cfg(not(target_arch = "wasm32"))]
    bias: Option<Tensor>,
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
    /// From a weight (out, in), f32 or f16, and an optional f32 bias (out).
    pub fn new(weight: Tensor, bias: Option<Tensor>) -> Result<Self> {
        if !matches!(weight.dtype(), DType::F32 | DType::F16) {
            candle_core::bail!("linear weight in {:?}: expected f32 or f16", weight.dtype())
        }
        let bias = bias.map(|b| b.to_dtype(DType::F32)).transpose()?;
        #[cfg(not(target_arch = "wasm32"))]
        {
            Ok(Self { weight, bias })
        }
        #[cfg(target_arch = "wasm32")]
        {
            use crate::gemm::PackedB;
            let (out_dim, in_dim) = weight.dims2()?;
            let weight = weight.flatten_all()?;
            let packed = match weight.dtype() {
                DType::F16 => {
                    let bits: Vec<u16> = weight
                        .to_vec1::<half::f16>()?
                        .into_iter()
                        .map(half::f16::to_bits)
                        .collect();
                    PackedB::from_rows_f16(&bits, out_dim, in_dim)
                }
                _ => PackedB::from_rows(&weight.to_vec1::<f32>()?, out_dim, in_dim),
            };
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
            let weight = self.weight.to_dtype(DType::F32)?; // a no-op for f32 weights
            candle_core::Module::forward(&candle_nn::Linear::new(weight, self.bias.clone()), xs)
        }
        #[cfg(target_arch = "wasm32")]
        self.forward_then(xs, crate::gemm::Epilogue::None)
    }

    /// (…, in) → (…, out) with `epilogue` applied inside the product, as each part of the output is
    /// finished.
    #[cfg(target_arch = "wasm32")]
    pub fn forward_then(&self, xs: &Tensor, epilogue: crate::gemm::Epilogue) -> Result<Tensor> {
        let dims = xs.dims().to_vec();
        let (k, n) = (self.weight.k(), self.weight.n());
        let m = xs.elem_count() / k;
        let bias = self.bias.as_deref();
        let out = with_f32_slice(xs, |a| {
            crate::gemm::matmul_owned(a, m, &self.weight, bias, epilogue)
        })?;
        let mut shape = dims;
        *shape.last_mut().expect("at least one dim") = n;
        Tensor::from_vec(out, shape, xs.device())
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

/// Runs `f` on a 3-D tensor's f32 values as rows: `f(values, row_stride, batch_stride)`, where
/// element (b, i, j) is `values[b·batch_stride + i·row_stride + j]`. A column slice (`narrow` of
/// the last dim) of a contiguous tensor is read in place; any other layout is copied first.
#[cfg(target_arch = "wasm32")]
pub(crate) fn with_rows<R>(xs: &Tensor, f: impl FnOnce(&[f32], usize, usize) -> R) -> Result<R> {
    use candle_core::{CpuStorage, Storage};
    let (b, n, d) = xs.dims3()?;
    let (storage, layout) = xs.storage_and_layout();
    if let (Storage::Cpu(CpuStorage::F32(values)), [batch_stride, row_stride, 1], true) =
        (&*storage, layout.stride(), b > 0 && n > 0)
    {
        let (batch_stride, row_stride) = (*batch_stride, *row_stride);
        let len = (b - 1) * batch_stride + (n - 1) * row_stride + d;
        if row_stride >= d && batch_stride >= (n - 1) * row_stride + d {
            let start = layout.start_offset();
            return Ok(f(&values[start..start + len], row_stride, batch_stride));
        }
    }
    drop(storage);
    with_f32_slice(xs, |values| f(values, d, n * d))
}
