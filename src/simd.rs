//! Element-wise kernels for the WebAssembly build: exp, softmax rows, GELU (tanh approximation) and
//! f16 → f32 widening, four lanes at a time with SIMD128 where compiled for it.
//!
//! candle's CPU ops call libm's scalar `expf` / `tanhf` per element, which in wasm dominates the
//! non-matmul time (≈ 7 M GELUs and 5.5 M exps per base-224 forward). Here `exp` is a range
//! reduction `x = n·ln2 + r` with a degree-6 polynomial for `eʳ` (relative error ≈ 2e-7, well inside
//! the 1e-5 attention tolerance), and GELU uses the identity `0.5·x·(1 + tanh u) = x · σ(2u)`.

const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
const LOG2E: f32 = std::f32::consts::LOG2_E;
/// Inputs are clamped to ±EXP_LIMIT: e^±87.3 is the edge of the normal f32 range.
const EXP_LIMIT: f32 = 87.3;
/// Taylor coefficients 1/2! … 1/6! for eʳ, |r| ≤ ln2/2.
const P: [f32; 5] = [
    0.5,
    1.666_666_7e-1,
    4.166_666_8e-2,
    8.333_334e-3,
    1.388_888_9e-3,
];
/// √(2/π), and the cubic coefficient of the tanh GELU.
const GELU_A: f32 = 0.797_884_6;
const GELU_B: f32 = 0.044_715;

/// e^x for one value, the same arithmetic as the SIMD lanes (used for the tails of slices).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-EXP_LIMIT, EXP_LIMIT);
    let n = (x * LOG2E).round();
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0 + r * (1.0 + r * (P[0] + r * (P[1] + r * (P[2] + r * (P[3] + r * P[4])))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// `gelu_pytorch_tanh` for one value.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    let u = GELU_A * (x + GELU_B * x * x * x);
    x / (1.0 + exp(-2.0 * u))
}

/// GELU (tanh approximation) in place.
pub fn gelu_inplace(values: &mut [f32]) {
    #[cfg(target_arch = "wasm32")]
    let values = {
        let (chunks, tail) = values.split_at_mut(values.len() / 4 * 4);
        // SAFETY: `chunks` has a multiple of 4 values; loads and stores stay inside it.
        unsafe { wasm::gelu(chunks) };
        tail
    };
    values.iter_mut().for_each(|v| *v = gelu(*v));
}

/// `softmax(scale · row)` of every row of `n` values, in place (max-subtracted, like torch), for
/// `scale > 0`. The max is taken before scaling: rounding is monotonic, so `fl(scale · max)` is the
/// largest of the scaled values, and each `fl(scale · v)` is formed as torch forms it.
pub fn softmax_rows_inplace(values: &mut [f32], n: usize, scale: f32) {
    for row in values.chunks_exact_mut(n) {
        #[cfg(target_arch = "wasm32")]
        // SAFETY: the helper reads and writes only inside `row`.
        unsafe {
            wasm::softmax_row(row, scale)
        };
        #[cfg(not(target_arch = "wasm32"))]
        {
            let max = scale * row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let sum = row.iter_mut().fold(0.0, |s, v| {
                *v = exp(*v * scale - max);
                s + *v
            });
            let inverse = 1.0 / sum;
            row.iter_mut().for_each(|v| *v *= inverse);
        }
    }
}

/// IEEE half-precision bits → f32, exactly (subnormals, ±∞ and NaN included). The exponent and
/// mantissa move up 13 bits into an f32 whose exponent is 112 too small, and one multiply by 2¹¹²
/// rebiases it — also for subnormals, which land on f32 subnormals first. ∞/NaN get the full exponent.
pub fn f16_to_f32(half: &[u16], out: &mut [f32]) {
    assert_eq!(half.len(), out.len(), "f16_to_f32: lengths differ");
    #[cfg(target_arch = "wasm32")]
    let (half, out) = {
        let split = half.len() / 8 * 8;
        // SAFETY: both slices hold `split` elements, a multiple of 8.
        unsafe { wasm::f16_to_f32(&half[..split], &mut out[..split]) };
        (&half[split..], &mut out[split..])
    };
    for (h, o) in half.iter().zip(out) {
        *o = widen(*h);
    }
}

const F16_REBIAS: f32 = 5.192_297e33; // 2¹¹²

#[inline(always)]
fn widen(h: u16) -> f32 {
    let magnitude = (h & 0x7fff) as u32;
    let value = match magnitude >= 0x7c00 {
        true => f32::from_bits((magnitude << 13) | 0x7f80_0000),
        false => f32::from_bits(magnitude << 13) * F16_REBIAS,
    };
    f32::from_bits(value.to_bits() | ((h as u32 & 0x8000) << 16))
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use core::arch::wasm32::*;

    use super::*;

    /// e^x four lanes at a time, the same arithmetic as [`super::exp`]. The clamp uses the
    /// pseudo-min/max (one instruction each; a NaN still comes out NaN), and `n = round(x·log2 e)` is
    /// found by adding 1.5·2²³, which rounds to nearest-even as `nearest` does and leaves n in the
    /// low bits, so 2ⁿ is one integer add and shift away.
    #[inline(always)]
    unsafe fn exp4(x: v128) -> v128 {
        const MAGIC: f32 = 12_582_912.0; // 1.5 · 2²³
        let x = f32x4_pmax(
            f32x4_pmin(x, f32x4_splat(EXP_LIMIT)),
            f32x4_splat(-EXP_LIMIT),
        );
        let shifted = f32x4_add(f32x4_mul(x, f32x4_splat(LOG2E)), f32x4_splat(MAGIC));
        let n = f32x4_sub(shifted, f32x4_splat(MAGIC));
        let r = f32x4_sub(
            f32x4_sub(x, f32x4_mul(n, f32x4_splat(LN2_HI))),
            f32x4_mul(n, f32x4_splat(LN2_LO)),
        );
        let mut p = f32x4_splat(P[4]);
        for c in [P[3], P[2], P[1], P[0], 1.0, 1.0] {
            p = f32x4_add(f32x4_mul(p, r), f32x4_splat(c));
        }
        // shifted's bits are MAGIC's (0x4B40_0000) plus n; 2ⁿ's are (n + 127) << 23.
        let scale = i32x4_shl(i32x4_add(shifted, i32x4_splat(127 - 0x4B40_0000)), 23);
        f32x4_mul(p, scale)
    }

    pub(super) unsafe fn gelu(values: &mut [f32]) {
        let (a, b) = (f32x4_splat(GELU_A), f32x4_splat(GELU_B));
        for chunk in values.chunks_exact_mut(4) {
            let p = chunk.as_mut_ptr() as *mut v128;
            let x = v128_load(p);
            let u = f32x4_mul(a, f32x4_add(x, f32x4_mul(b, f32x4_mul(x, f32x4_mul(x, x)))));
            let e = exp4(f32x4_mul(f32x4_splat(-2.0), u));
            v128_store(p, f32x4_div(x, f32x4_add(f32x4_splat(1.0), e)));
        }
    }

    /// Eight halves at a time; see [`super::f16_to_f32`].
    pub(super) unsafe fn f16_to_f32(half: &[u16], out: &mut [f32]) {
        let rebias = f32x4_splat(F16_REBIAS);
        let (magnitude, top) = (i32x4_splat(0x7fff), i32x4_splat(0x7c00));
        let widen4 = |h: v128| {
            let m = v128_and(h, magnitude);
            let finite = f32x4_mul(i32x4_shl(m, 13), rebias);
            let special = v128_or(i32x4_shl(m, 13), i32x4_splat(0x7f80_0000));
            let value = v128_bitselect(special, finite, i32x4_ge(m, top));
            v128_or(value, i32x4_shl(v128_and(h, i32x4_splat(0x8000)), 16))
        };
        for (h, o) in half.chunks_exact(8).zip(out.chunks_exact_mut(8)) {
            let h8 = v128_load(h.as_ptr() as *const v128);
            let o = o.as_mut_ptr() as *mut v128;
            v128_store(o, widen4(u32x4_extend_low_u16x8(h8)));
            v128_store(o.add(1), widen4(u32x4_extend_high_u16x8(h8)));
        }
    }

    /// One row of [`super::softmax_rows_inplace`]: max, then e^(scale·v − max) with its sum, then the
    /// division, each pass four lanes at a time.
    pub(super) unsafe fn softmax_row(row: &mut [f32], scale: f32) {
        let split = row.len() / 4 * 4;
        let (chunks, tail) = row.split_at_mut(split);
        let mut top = f32x4_splat(f32::NEG_INFINITY);
        for chunk in chunks.chunks_exact(4) {
            top = f32x4_pmax(top, v128_load(chunk.as_ptr() as *const v128));
        }
        let lanes = [
            f32x4_extract_lane::<0>(top),
            f32x4_extract_lane::<1>(top),
            f32x4_extract_lane::<2>(top),
            f32x4_extract_lane::<3>(top),
        ];
        let max = scale
            * lanes
                .iter()
                .chain(tail.iter())
                .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let (s, m) = (f32x4_splat(scale), f32x4_splat(max));
        let mut acc = f32x4_splat(0.0);
        for chunk in chunks.chunks_exact_mut(4) {
            let p = chunk.as_mut_ptr() as *mut v128;
            let e = exp4(f32x4_sub(f32x4_mul(v128_load(p), s), m));
            v128_store(p, e);
            acc = f32x4_add(acc, e);
        }
        let mut sum = f32x4_extract_lane::<0>(acc)
            + f32x4_extract_lane::<1>(acc)
            + f32x4_extract_lane::<2>(acc)
            + f32x4_extract_lane::<3>(acc);
        for v in tail.iter_mut() {
            *v = exp(*v * scale - max);
            sum += *v;
        }
        let inverse = 1.0 / sum;
        let k = f32x4_splat(inverse);
        for chunk in chunks.chunks_exact_mut(4) {
            let p = chunk.as_mut_ptr() as *mut v128;
            v128_store(p, f32x4_mul(v128_load(p), k));
        }
        tail.iter_mut().for_each(|v| *v *= inverse);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_accurate_over_the_range_softmax_uses() {
        let mut worst = 0f64;
        for i in -8700..=8700 {
            let x = i as f32 * 0.01;
            let expected = (x as f64).exp();
            worst = worst.max(((exp(x) as f64 - expected) / expected).abs());
        }
        assert!(worst < 5e-7, "relative error {worst}");
        assert_eq!(exp(-1000.0), exp(-EXP_LIMIT));
    }

    #[test]
    fn gelu_matches_the_tanh_formula() {
        for i in -2000..=2000 {
            let x = i as f64 * 0.01;
            let expected =
                0.5 * x * (1.0 + (0.797_884_560_802_865_4 * (x + 0.044715 * x * x * x)).tanh());
            let got = gelu(x as f32) as f64;
            assert!(
                (got - expected).abs() <= 1e-6 * (1.0 + expected.abs()),
                "gelu({x}) = {got}, want {expected}"
            );
        }
    }

    #[test]
    fn f16_widening_is_exact_for_every_bit_pattern() {
        let bits: Vec<u16> = (0..=u16::MAX).collect();
        let mut out = vec![0f32; bits.len()];
        f16_to_f32(&bits, &mut out);
        for (&h, &f) in bits.iter().zip(&out) {
            let expected = half::f16::from_bits(h).to_f32();
            match expected.is_nan() {
                true => assert!(f.is_nan(), "{h:#06x} → {f}"),
                false => assert_eq!(
                    f.to_bits(),
                    expected.to_bits(),
                    "{h:#06x} → {f}, want {expected}"
                ),
            }
        }
    }

    #[test]
    fn softmax_rows_sum_to_one_and_keep_order() {
        let mut rows = vec![1.0, 2.0, 3.0, -50.0, 0.5, 0.5, 0.5, 0.5, 100.0, 0.0];
        softmax_rows_inplace(&mut rows[..8], 4, 1.0);
        for row in rows[..8].chunks(4) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        assert!(rows[0] < rows[1] && rows[1] < rows[2]);
        assert_eq!(&rows[8..], &[100.0, 0.0]);
    }
}
