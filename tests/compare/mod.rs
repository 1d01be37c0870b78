//! The one numeric comparison of the Rust tests: the native tests (`mod compare;` beside `mod common;`),
//! tests/web.rs in the browsers, and src/gemm.rs's unit tests (by `#[path]`). Lengths (or shapes) must
//! agree, there must be something to compare, and a NaN or an infinity on either side is an error, not a
//! difference that `f32::max` would quietly drop: an all-NaN forward, an output the code never wrote
//! (tests pre-fill with NaN to catch that) or a truncated result cannot pass.
#![allow(dead_code)]

use candle_core::{DType, Tensor};

/// Largest |ours − reference|. Errors (naming `name`) when the lengths differ, when both are empty, or
/// when either side holds a NaN or an infinity (the first such index is named).
pub fn max_abs_diff(name: &str, ours: &[f32], reference: &[f32]) -> Result<f32, String> {
    if ours.len() != reference.len() {
        return Err(format!(
            "{name}: {} values, reference {}",
            ours.len(),
            reference.len()
        ));
    }
    if ours.is_empty() {
        return Err(format!("{name}: nothing to compare (no values)"));
    }
    let mut worst = 0f32;
    for (i, (&x, &y)) in ours.iter().zip(reference).enumerate() {
        if !x.is_finite() || !y.is_finite() {
            return Err(format!(
                "{name}: at index {i} ours is {x}, reference {y} (NaN or infinite)"
            ));
        }
        worst = worst.max((x - y).abs());
    }
    Ok(worst)
}

/// Largest |value|; an error on NaN, infinity or no values (it scales relative tolerances).
pub fn max_abs(name: &str, values: &[f32]) -> Result<f32, String> {
    if values.is_empty() {
        return Err(format!("{name}: no values"));
    }
    values.iter().try_fold(0f32, |m, &v| match v.is_finite() {
        true => Ok(m.max(v.abs())),
        false => Err(format!("{name}: reference holds {v}")),
    })
}

/// Checks |ours − reference| ≤ `tolerance` everywhere; returns the worst difference.
pub fn check_abs(
    name: &str,
    ours: &[f32],
    reference: &[f32],
    tolerance: f32,
) -> Result<f32, String> {
    let diff = max_abs_diff(name, ours, reference)?;
    match diff <= tolerance {
        true => Ok(diff),
        false => Err(format!("{name}: max |diff| {diff:e} > {tolerance:e}")),
    }
}

/// Checks |ours − reference| ≤ `tolerance` · max|reference| everywhere; returns the worst relative
/// difference.
pub fn check_rel(
    name: &str,
    ours: &[f32],
    reference: &[f32],
    tolerance: f32,
) -> Result<f32, String> {
    let diff = max_abs_diff(name, ours, reference)?;
    let scale = max_abs(name, reference)?.max(f32::MIN_POSITIVE);
    let rel = diff / scale;
    match rel <= tolerance {
        true => Ok(rel),
        false => Err(format!(
            "{name}: max |diff| / max|ref| = {rel:e} > {tolerance:e}"
        )),
    }
}

/// A tensor's values as f32, row-major.
pub fn values(name: &str, t: &Tensor) -> Result<Vec<f32>, String> {
    t.to_dtype(DType::F32)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1())
        .map_err(|e| format!("{name}: {e}"))
}

fn same_shape(name: &str, ours: &Tensor, reference: &Tensor) -> Result<(), String> {
    match ours.dims() == reference.dims() {
        true => Ok(()),
        false => Err(format!(
            "{name}: shape {:?}, reference {:?}",
            ours.dims(),
            reference.dims()
        )),
    }
}

/// [`max_abs_diff`] of two tensors of the same shape.
pub fn tensor_max_abs_diff(name: &str, ours: &Tensor, reference: &Tensor) -> Result<f32, String> {
    same_shape(name, ours, reference)?;
    max_abs_diff(name, &values(name, ours)?, &values(name, reference)?)
}

/// [`check_abs`] of two tensors of the same shape.
pub fn check_tensor_abs(
    name: &str,
    ours: &Tensor,
    reference: &Tensor,
    tolerance: f32,
) -> Result<f32, String> {
    same_shape(name, ours, reference)?;
    check_abs(
        name,
        &values(name, ours)?,
        &values(name, reference)?,
        tolerance,
    )
}

/// [`check_rel`] of two tensors of the same shape.
pub fn check_tensor_rel(
    name: &str,
    ours: &Tensor,
    reference: &Tensor,
    tolerance: f32,
) -> Result<f32, String> {
    same_shape(name, ours, reference)?;
    check_rel(
        name,
        &values(name, ours)?,
        &values(name, reference)?,
        tolerance,
    )
}
