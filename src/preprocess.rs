//! Image → `pixel_values`, exactly as transformers' `SiglipImageProcessorPil` computes them:
//! composite transparency onto white (transformers' `convert_to_rgb`), resize straight to `size` with
//! PIL's filter on 8-bit pixels (no crop, aspect ratio not kept), rescale by `rescale_factor`,
//! normalise with `image_mean` / `image_std`.
//!
//! transformers 5.24 (`PilBackend.process_image`, then `image_transforms.resize`) converts every image
//! to 8-bit RGB *before* resizing — modes 1, L, P, LA, RGBA and I;16 alike (how each mode becomes RGB
//! is the decoder's job: `image_file` natively, the browser on the page) — and then calls
//! `Image.resize(size, resample)` without `box` or `reducing_gap`. So the resize is always Pillow's
//! 8-bit RGB path, and this module ports what Pillow 13.0.0 does on it:
//!
//! - `Image.resize` (src/PIL/Image.py): same size → a copy; no `reduce()` step (`reducing_gap` is
//!   None). Its switch to NEAREST for modes 1 and P and its premultiplication of LA and RGBA never
//!   apply: the image is RGB by then.
//! - `ImagingResampleInner` (src/libImaging/Resample.c): one horizontal and one vertical pass, each
//!   skipped when its axis keeps its size. **Order:** the vertical pass runs first when the height
//!   shrinks by more pixels than twice what the width shrinks by — `(H − h) > 0 && (H − h) >
//!   2·(W − w)` in signed pixel counts, so a shrinking height always goes first when the width grows
//!   — otherwise the horizontal pass runs first ([`Pass::order`]). The order shows in the result:
//!   the intermediate image is rounded and clipped to 8 bits, which loses bicubic's overshoot at hard
//!   edges (up to 30 levels on the fixtures' binary drawings when the order is wrong).
//! - `precompute_coeffs` and `normalize_coeffs_8bpc`: the filter stretched by the scale when
//!   downsampling, taps normalised to sum 1, then 22-bit fixed point rounded away from zero;
//!   `box_filter` is 1 on (−0.5, 0.5].
//! - `ImagingResampleHorizontal_8bpc` / `ImagingResampleVertical_8bpc`: integer sums with a rounding
//!   bias, shifted and clipped to 0..=255 (`clip8`).
//!
//! The resized image is PIL's to the bit: every PNG fixture (tests/fixtures/images and
//! images/shapes: tall, wide, nearly square either side of the order boundary, one axis up and the
//! other down, 1-pixel strips, binary drawings; square and non-square targets) matches with zero
//! differing values. We measured fast_image_resize 6.1 first (its `Convolution` with CatmullRom /
//! Bilinear on the same fixtures): it runs the vertical pass first with ≤ 15-bit weights on 8-bit
//! images, and about 20 % of the output values differ from PIL's — by up to 5 levels (bicubic,
//! 500 × 375 → 224) and 24 levels (bicubic upscale, 13 × 11 → 32).

use std::borrow::Cow;

use candle_core::{Device, Tensor};

use crate::config::{PreprocessConfig, Resample};
use crate::error::{Error, Result};

/// Largest image we accept, in pixels (a 30000 × 30000 "decompression bomb" is refused up front).
pub const MAX_PIXELS: usize = 100_000_000;

/// An 8-bit RGBA image, rows top to bottom, as browsers' `ImageData` and `image::RgbaImage` hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgba8 {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

/// An 8-bit RGB image, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rgb8 {
    pub width: usize,
    pub height: usize,
    pub data: Vec<u8>,
}

fn check_size(width: usize, height: usize, channels: usize, len: usize) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::Image(format!(
            "the image is {width} × {height} pixels: it has no pixels"
        )));
    }
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(Error::Image(format!(
            "the image is {width} × {height} pixels, more than the {} megapixels we accept; use a smaller image",
            MAX_PIXELS / 1_000_000
        )));
    }
    if len != width * height * channels {
        return Err(Error::Image(format!(
            "{len} bytes do not make a {width} × {height} image with {channels} channels ({} bytes)",
            width * height * channels
        )));
    }
    Ok(())
}

impl Rgba8 {
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        check_size(width, height, 4, data.len())?;
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Composites onto opaque white, with Pillow's `alpha_composite` integer arithmetic
    /// (transformers' `convert_to_rgb` does `alpha_composite(white, image).convert("RGB")`).
    pub fn to_rgb_on_white(&self) -> Rgb8 {
        let mut data = vec![0u8; self.width * self.height * 3];
        for (p, rgb) in self.data.chunks_exact(4).zip(data.chunks_exact_mut(3)) {
            let a = p[3] as u32;
            let blend = |c: u8| -> u8 {
                match a {
                    255 => c,
                    0 => 255,
                    // Pillow: coef1 = a·255·255·2⁷ / (255·255) = a·2⁷, coef2 = (255 − a)·2⁷.
                    _ => {
                        let t = (c as u32 * a + 255 * (255 - a)) * 128 + (0x80 << 7);
                        ((((t >> 8) + t) >> 8) >> 7) as u8
                    }
                }
            };
            rgb.copy_from_slice(&[blend(p[0]), blend(p[1]), blend(p[2])]);
        }
        Rgb8 {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

impl Rgb8 {
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self> {
        check_size(width, height, 3, data.len())?;
        Ok(Self {
            width,
            height,
            data,
        })
    }

    /// Resizes to `width` × `height` exactly as PIL's `Image.resize(…, resample)` does on an RGB
    /// image: the two passes in Pillow's order ([`Pass::order`]), each only if its axis changes.
    pub fn resize(&self, width: usize, height: usize, filter: Resample) -> Result<Rgb8> {
        if (width, height) == (self.width, self.height) {
            return Ok(self.clone());
        }
        let filter = Filter::of(filter)?;
        let mut image = Cow::Borrowed(self);
        for pass in Pass::order((self.width, self.height), (width, height)) {
            let resized = match pass {
                Pass::Horizontal if width != image.width => {
                    resample_rows(&image, &Coefficients::new(image.width, width, filter))
                }
                Pass::Vertical if height != image.height => {
                    resample_columns(&image, &Coefficients::new(image.height, height, filter))
                }
                _ => continue,
            };
            image = Cow::Owned(resized);
        }
        Ok(image.into_owned())
    }
}

/// One of the two 1-D passes of Pillow's separable resampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Horizontal,
    Vertical,
}

impl Pass {
    /// The order in which Pillow 13 runs the passes to resize `from` to `to` (both width × height):
    /// vertical first iff the height shrinks, and by more than twice as many pixels as the width does
    /// (`ImagingResampleInner` in Resample.c: `(ysize_in − ysize) > 0 && (ysize_in − ysize) >
    /// (xsize_in − xsize) * 2`, signed ints; "to make the horizontal pass faster").
    pub fn order(from: (usize, usize), to: (usize, usize)) -> [Pass; 2] {
        let shrink = |a: usize, b: usize| a as i64 - b as i64;
        let (dx, dy) = (shrink(from.0, to.0), shrink(from.1, to.1));
        match dy > 0 && dy > dx * 2 {
            true => [Pass::Vertical, Pass::Horizontal],
            false => [Pass::Horizontal, Pass::Vertical],
        }
    }
}

/// What the model sees: the resized 8-bit image and the normalised tensor made from it.
#[derive(Debug, Clone)]
pub struct Preprocessed {
    /// The image after conversion to RGB and resizing, before rescaling: what the page shows.
    pub resized: Rgb8,
    /// (1, 3, height, width), f32.
    pub pixel_values: Tensor,
}

/// Runs `SiglipImageProcessor` on one RGBA image.
pub fn preprocess(image: &Rgba8, config: &PreprocessConfig) -> Result<Preprocessed> {
    let rgb = image.to_rgb_on_white();
    let (height, width) = config.size;
    let resized = match config.do_resize {
        true => rgb.resize(width, height, config.resample)?,
        false => rgb,
    };
    let pixel_values = pixel_values(&[&resized], config)?;
    Ok(Preprocessed {
        resized,
        pixel_values,
    })
}

/// Rescales and normalises 8-bit RGB images of one size (already resized) into `pixel_values`
/// (b, 3, height, width), f32.
pub fn pixel_values(images: &[&Rgb8], config: &PreprocessConfig) -> Result<Tensor> {
    let (w, h) = match images.first() {
        Some(first) => (first.width, first.height),
        None => return Err(Error::Image("no images to normalise".into())),
    };
    if images.iter().any(|i| (i.width, i.height) != (w, h)) {
        return Err(Error::Image(
            "images of different sizes cannot share a batch".into(),
        ));
    }
    let mut chw = vec![0f32; images.len() * 3 * w * h];
    for (image, out) in images.iter().zip(chw.chunks_exact_mut(3 * w * h)) {
        for (i, pixel) in image.data.chunks_exact(3).enumerate() {
            for c in 0..3 {
                out[c * w * h + i] = config.normalise(pixel[c], c);
            }
        }
    }
    Ok(Tensor::from_vec(
        chw,
        (images.len(), 3, h, w),
        &Device::Cpu,
    )?)
}

/// One of PIL's separable filters: its kernel and its support at scale 1.
#[derive(Clone, Copy)]
struct Filter {
    support: f64,
    kernel: fn(f64) -> f64,
}

impl Filter {
    fn of(resample: Resample) -> Result<Self> {
        let (support, kernel): (f64, fn(f64) -> f64) = match resample {
            Resample::Bilinear => (1.0, |x| (1.0 - x.abs()).max(0.0)),
            Resample::Bicubic => (2.0, bicubic),
            // Pillow's box_filter: 1 on (−0.5, 0.5].
            Resample::Box => (0.5, |x| if x > -0.5 && x <= 0.5 { 1.0 } else { 0.0 }),
            other => {
                return Err(Error::Config(format!(
                    "preprocessor_config.json: resample {other:?} is not supported; SigLIP uses bicubic (3) or bilinear (2)"
                )))
            }
        };
        Ok(Filter { support, kernel })
    }
}

/// Keys' cubic with a = −0.5, as Pillow's `bicubic_filter`.
fn bicubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Pillow's `PRECISION_BITS` for 8-bit images.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// For every output pixel, the first input pixel it reads and its fixed-point weights
/// (Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc`).
struct Coefficients {
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
    stride: usize,
}

impl Coefficients {
    fn new(in_size: usize, out_size: usize, filter: Filter) -> Self {
        let scale = in_size as f64 / out_size as f64;
        let filter_scale = scale.max(1.0);
        let support = filter.support * filter_scale;
        let stride = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * stride];
        let mut k = vec![0f64; stride];
        for xx in 0..out_size {
            let center = (xx as f64 + 0.5) * scale;
            let ss = 1.0 / filter_scale;
            // Pillow truncates towards zero with a C cast; (center ± support + 0.5) can be negative only on the left.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
            let mut total = 0.0;
            for (x, w) in k.iter_mut().enumerate().take(xmax) {
                *w = (filter.kernel)((x as f64 + xmin as f64 - center + 0.5) * ss);
                total += *w;
            }
            for (x, w) in k.iter().enumerate().take(xmax) {
                let w = if total != 0.0 { w / total } else { *w };
                let fixed = w * (1u64 << PRECISION_BITS) as f64;
                weights[xx * stride + x] = if w < 0.0 {
                    (fixed - 0.5) as i32
                } else {
                    (fixed + 0.5) as i32
                };
            }
            bounds.push((xmin, xmax));
        }
        Coefficients {
            bounds,
            weights,
            stride,
        }
    }
}

/// Resamples every row of `image` to `coefficients.bounds.len()` pixels (Pillow's
/// `ImagingResampleHorizontal_8bpc`): rounding bias, integer accumulation, clip to 0..=255.
fn resample_rows(image: &Rgb8, coefficients: &Coefficients) -> Rgb8 {
    let out_width = coefficients.bounds.len();
    let mut data = vec![0u8; out_width * image.height * 3];
    for (row_in, row_out) in image
        .data
        .chunks_exact(image.width * 3)
        .zip(data.chunks_exact_mut(out_width * 3))
    {
        for (xx, &(xmin, xmax)) in coefficients.bounds.iter().enumerate() {
            let k = &coefficients.weights[xx * coefficients.stride..][..xmax];
            let pixels = row_in[xmin * 3..(xmin + xmax) * 3].chunks_exact(3);
            let mut sum = [1i32 << (PRECISION_BITS - 1); 3];
            for (pixel, &w) in pixels.zip(k) {
                for c in 0..3 {
                    sum[c] += pixel[c] as i32 * w;
                }
            }
            for c in 0..3 {
                row_out[xx * 3 + c] = clip8(sum[c]);
            }
        }
    }
    Rgb8 {
        width: out_width,
        height: image.height,
        data,
    }
}

/// Resamples every column of `image` to `coefficients.bounds.len()` pixels (Pillow's
/// `ImagingResampleVertical_8bpc`). Pillow sums down each column; we add whole weighted rows into
/// one row of sums instead, which reads memory in order and gives the same integers: every partial
/// sum, in either order, lies within 2²¹ + 255 · Σ|w| < 2³¹ (Σ|w| ≤ 1.25 · 2²² for bicubic).
fn resample_columns(image: &Rgb8, coefficients: &Coefficients) -> Rgb8 {
    let row = image.width * 3;
    let out_height = coefficients.bounds.len();
    let mut data = vec![0u8; row * out_height];
    let mut sums = vec![0i32; row];
    for (yy, (&(ymin, ymax), row_out)) in coefficients
        .bounds
        .iter()
        .zip(data.chunks_exact_mut(row))
        .enumerate()
    {
        let k = &coefficients.weights[yy * coefficients.stride..][..ymax];
        sums.fill(1 << (PRECISION_BITS - 1));
        for (row_in, &w) in image.data[ymin * row..(ymin + ymax) * row]
            .chunks_exact(row)
            .zip(k)
        {
            for (sum, &value) in sums.iter_mut().zip(row_in) {
                *sum += value as i32 * w;
            }
        }
        for (out, &sum) in row_out.iter_mut().zip(&sums) {
            *out = clip8(sum);
        }
    }
    Rgb8 {
        width: image.width,
        height: out_height,
        data,
    }
}

/// Pillow's `clip8`: the fixed-point sum back to a level, clipped to 0..=255.
fn clip8(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}
