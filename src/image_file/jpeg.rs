//! JPEG as Pillow decodes it: with libjpeg-turbo's decoder (mozjpeg carries it unchanged), at the
//! defaults Pillow keeps (integer "islow" IDCT, fancy chroma upsampling), so the pixels are Pillow's
//! to the bit — checked on 4:2:0, 4:2:2, 4:4:4, progressive, grey, CMYK and 1-pixel-wide files
//! (tests/fixtures/images/jpeg, tests/preprocess.rs). The image crate's zune-jpeg rounds the IDCT and
//! upsamples chroma differently: up to 3 levels off.
//!
//! Where Pillow refuses, we refuse: a file that ends before its last scan ("image file is
//! truncated" in Pillow; libjpeg would only warn and fill the rest with grey). Corrupt-data warnings
//! that Pillow ignores, we ignore.

use std::ffi::c_int;
use std::panic::{catch_unwind, resume_unwind};

use image::RgbaImage;
use mozjpeg::{ColorSpace, Decompress};
use mozjpeg_sys::{
    jpeg_common_struct, jpeg_error_mgr, jpeg_std_error, JWRN_JPEG_EOF, J_COLOR_SPACE,
};

/// Whether `bytes` starts as a JPEG file does (SOI marker, then another marker).
pub(super) fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xFF, 0xD8, 0xFF])
}

/// Decodes a JPEG into RGBA (alpha 255), as `Image.open(f).convert("RGB")` gives it.
pub(super) fn decode(bytes: &[u8]) -> Result<RgbaImage, String> {
    // libjpeg reports a fatal error by unwinding through the decoder (see `fatal`); it stops here.
    match catch_unwind(|| pixels(bytes)) {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(payload) => Err(payload
            .downcast::<String>()
            .map(|message| *message)
            .unwrap_or_else(|_| "libjpeg stopped".into())),
    }
}

fn pixels(bytes: &[u8]) -> std::io::Result<RgbaImage> {
    let decompress = Decompress::with_err(error_manager()).from_mem(bytes)?;
    let (width, height) = decompress.size();
    let rgba: Vec<u8> = match decompress.color_space() {
        // Four channels: libjpeg turns YCCK into CMYK; Pillow reads it as Adobe's inverted CMYK.
        J_COLOR_SPACE::JCS_CMYK | J_COLOR_SPACE::JCS_YCCK => {
            let mut started = decompress.to_colorspace(ColorSpace::JCS_CMYK)?;
            let cmyk: Vec<[u8; 4]> = started.read_scanlines()?;
            started.finish()?;
            cmyk.into_iter().flat_map(pillow_cmyk_to_rgba).collect()
        }
        // Grey is replicated, RGB or YCbCr converted, by libjpeg itself, as in Pillow's convert.
        _ => {
            let mut started = decompress.rgb()?;
            let rgb: Vec<[u8; 3]> = started.read_scanlines()?;
            started.finish()?;
            rgb.into_iter()
                .flat_map(|[r, g, b]| [r, g, b, 255])
                .collect()
        }
    };
    RgbaImage::from_raw(width as u32, height as u32, rgba).ok_or_else(|| {
        std::io::Error::other("libjpeg returned fewer pixels than the header declares")
    })
}

/// One pixel as libjpeg gives it from a four-channel JPEG, through Pillow's `CMYK;I` raw mode (each
/// value inverted: Adobe's convention, which Pillow always assumes) and `cmyk2rgb` (Convert.c):
/// `r = clip(255 − k − c·(255 − k)/255)` with its rounding division by 255.
fn pillow_cmyk_to_rgba(raw: [u8; 4]) -> [u8; 4] {
    let [c, m, y, k] = raw.map(|v| 255 - i32::from(v));
    let nk = 255 - k;
    let muldiv255 = |a: i32, b: i32| {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    };
    let channel = |v: i32| (nk - muldiv255(v, nk)).clamp(0, 255) as u8;
    [channel(c), channel(m), channel(y), 255]
}

/// libjpeg's standard error manager, with our two callbacks.
fn error_manager() -> jpeg_error_mgr {
    // SAFETY: an all-zero jpeg_error_mgr is valid (null pointers, `None` callbacks), and
    // jpeg_std_error then sets every field, as libjpeg's own callers do.
    let mut manager: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { jpeg_std_error(&mut manager) };
    manager.error_exit = Some(fatal);
    manager.emit_message = Some(warning);
    manager
}

/// libjpeg's fatal errors (it must not return): unwind to `decode` with libjpeg's message.
extern "C-unwind" fn fatal(cinfo: &mut jpeg_common_struct) {
    let message = format!("libjpeg: {}", libjpeg_message(cinfo));
    resume_unwind(Box::new(message)) // resume_unwind: no panic hook, no noise on stderr
}

/// libjpeg's warnings (level −1) and trace messages (≥ 0): a premature end of the file is fatal, as
/// in Pillow; the rest are ignored, as in Pillow.
extern "C-unwind" fn warning(cinfo: &mut jpeg_common_struct, level: c_int) {
    // SAFETY: libjpeg calls this with its `err` pointing at the manager set up in `error_manager`.
    let code = unsafe { cinfo.err.as_ref() }.map_or(0, |err| err.msg_code);
    if level < 0 && code == JWRN_JPEG_EOF as c_int {
        resume_unwind(Box::new(
            "the JPEG file is truncated: it ends before its last scan (Pillow refuses it too)"
                .to_string(),
        ));
    }
}

/// The text of libjpeg's current message (its `format_message`, parameters filled in).
fn libjpeg_message(cinfo: &mut jpeg_common_struct) -> String {
    // SAFETY: `err` is the manager from `error_manager`; jpeg_std_error set `format_message` to
    // libjpeg's, which writes at most JMSG_LENGTH_MAX (80) bytes, NUL included, into the buffer. The
    // binding declares the buffer `&[u8; 80]`; the C side writes it, so it is passed as `&mut`
    // (the same pointer at the ABI level).
    unsafe {
        let Some(format) = cinfo.err.as_ref().and_then(|err| err.format_message) else {
            return "unknown error".into();
        };
        type Writes = unsafe extern "C-unwind" fn(&mut jpeg_common_struct, &mut [u8; 80]);
        let format: Writes = std::mem::transmute(format);
        let mut buffer = [0u8; 80];
        format(cinfo, &mut buffer);
        let text = buffer.split(|&b| b == 0).next().unwrap_or_default();
        String::from_utf8_lossy(text).into_owned()
    }
}
