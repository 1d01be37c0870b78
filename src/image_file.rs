//! Image files → RGBA (native only; in the browser, `createImageBitmap` decodes).

use std::path::Path;

use image::{DynamicImage, ImageDecoder};

use crate::error::{Error, Result};
use crate::preprocess::{Rgba8, MAX_PIXELS};

mod jpeg;

/// Decodes a PNG, JPEG, GIF (first frame), WebP or BMP file upright (EXIF orientation applied) into
/// 8-bit RGBA with the values Pillow gives transformers (see [`as_pillow_converts`]; JPEGs through
/// libjpeg-turbo's decoder, as Pillow's, in [`jpeg`]).
pub fn decode(bytes: &[u8]) -> Result<Rgba8> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::Image(format!(
            "not a readable PNG, JPEG, GIF, WebP or BMP image ({e})"
        ))
    };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| fail(&e))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_PIXELS as u64 * 8);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| fail(&e))?;
    let (width, height) = decoder.dimensions();
    if width as usize * height as usize > MAX_PIXELS {
        return Err(Error::Image(format!(
            "the image declares {width} × {height} pixels, more than the {} megapixels we accept",
            MAX_PIXELS / 1_000_000
        )));
    }
    let orientation = decoder.orientation().map_err(|e| fail(&e))?;
    let mut image = match jpeg::is_jpeg(bytes) {
        // The header (size, orientation) came from the image crate; the pixels from libjpeg.
        true => DynamicImage::ImageRgba8(jpeg::decode(bytes).map_err(|e| fail(&e))?),
        false => DynamicImage::from_decoder(decoder).map_err(|e| fail(&e))?,
    };
    image.apply_orientation(orientation);
    as_pillow_converts(image, is_16_bit_grey_png(bytes))
}

/// 8-bit RGBA with the values Pillow 13 gives transformers' `convert_to_rgb` for the file
/// (`Image.open`, then `convert("RGB")` or `convert("RGBA")`). The image crate's `to_rgba8` agrees
/// with Pillow on every 8-bit and lower-depth PNG — grey, mode 1, palette with or without tRNS, grey
/// and RGB colour keys, grey+alpha (checked on tests/fixtures/images/shapes) — but not on 16-bit PNGs:
///
/// - 16-bit grey opens as mode `I;16`, whose conversion to RGB *clips* instead of scaling: a value
///   above 255 becomes 255 (`I16_RGB` in Convert.c), so transformers sees a 16-bit grey photo as
///   nearly white. We do the same, to stay transformers' pixels.
/// - 16-bit RGB, RGBA and grey+alpha keep the high byte of each sample (`unpackRGB16B`,
///   `unpackRGBA16B`, `unpackRGBALA16B` in Unpack.c); the image crate would round v / 257.
///
/// Not reproduced: a tRNS colour key on a 16-bit grey or RGB PNG (Pillow compares the key's low
/// byte with the converted 8-bit pixel; we take the decoder's exact-match alpha).
fn as_pillow_converts(image: DynamicImage, mode_i16: bool) -> Result<Rgba8> {
    use DynamicImage::{ImageLuma16, ImageLumaA16, ImageRgb16, ImageRgba16};
    let (width, height) = (image.width() as usize, image.height() as usize);
    if !matches!(
        image,
        ImageLuma16(_) | ImageLumaA16(_) | ImageRgb16(_) | ImageRgba16(_)
    ) {
        return Rgba8::new(width, height, image.into_rgba8().into_raw());
    }
    let level = |v: u16| match mode_i16 {
        true => v.min(255) as u8,
        false => (v >> 8) as u8,
    };
    let data = image
        .into_rgba16()
        .as_raw()
        .chunks_exact(4)
        .flat_map(|p| [level(p[0]), level(p[1]), level(p[2]), (p[3] >> 8) as u8])
        .collect();
    Rgba8::new(width, height, data)
}

/// Whether `bytes` is a PNG of 16-bit grey samples (IHDR bit depth 16, colour type 0), which Pillow
/// opens as mode `I;16`. Read from the header because the image crate reports a grey PNG with a tRNS
/// key as grey+alpha, like a real grey+alpha PNG, which Pillow treats differently.
fn is_16_bit_grey_png(bytes: &[u8]) -> bool {
    // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), bit depth, colour type.
    bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        && bytes.get(12..16) == Some(b"IHDR")
        && bytes.get(24..26) == Some(&[16, 0])
}

/// Reads and decodes an image file.
pub fn open(path: &Path) -> Result<Rgba8> {
    let bytes = std::fs::read(path)
        .map_err(|e| Error::Image(format!("cannot read {}: {e}", path.display())))?;
    decode(&bytes).map_err(|e| {
        Error::Image(format!(
            "{}: {}",
            path.display(),
            e.to_string().trim_start_matches("image: ")
        ))
    })
}
