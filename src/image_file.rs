//! Image files → RGBA (native only; in the browser, `createImageBitmap` decodes).

use std::path::Path;

use image::ImageDecoder;

use crate::error::{Error, Result};
use crate::preprocess::{Rgba8, MAX_PIXELS};

/// Decodes a PNG, JPEG, GIF (first frame), WebP or BMP file upright (EXIF orientation applied) into
/// 8-bit RGBA; 16-bit images are rounded to 8 bits, grey is expanded.
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
    let mut image = image::DynamicImage::from_decoder(decoder).map_err(|e| fail(&e))?;
    image.apply_orientation(orientation);
    let rgba = image.to_rgba8();
    let (width, height) = rgba.dimensions();
    Rgba8::new(width as usize, height as usize, rgba.into_raw())
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
