//! Arbitrary RGBA images through `Rgba8::new` and `preprocess`: any size and filter either fails with
//! an error or gives `pixel_values` of the configured shape with every value finite.
//!
//! Input layout (missing bytes read as 0):
//! - byte 0: bits 0–2 the filter (bilinear, bicubic, box, nearest, lanczos, hamming, bilinear, bicubic),
//!   bit 3 `do_resize: false`, bits 4–5 size mode (3: raw, possibly 0 or huge, sizes that must be
//!   refused without allocating), bit 6 fuzzed `rescale_factor` / `image_mean` / `image_std`
//!   (through `PreprocessConfig::from_json`, so only configs it accepts), bit 7 opaque image;
//! - bytes 1–4: width and height (u16 each, mapped to 1..=300), or bytes 1–16 as two raw u64;
//! - next 2 bytes: target height and width (1..=64);
//! - with bit 6: 7 bytes choosing the 7 numbers from a table or from the next 4 bytes as f32 bits;
//! - the rest: pixels, repeated to fill the image.

use siglip_lens::{preprocess, PreprocessConfig, Resample, Rgba8, VisionConfig};

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u8(&mut self) -> u8 {
        self.take::<1>()[0]
    }
}

const FILTERS: [Resample; 8] = [
    Resample::Bilinear,
    Resample::Bicubic,
    Resample::Box,
    Resample::Nearest,
    Resample::Lanczos,
    Resample::Hamming,
    Resample::Bilinear,
    Resample::Bicubic,
];

/// Numbers a `preprocessor_config.json` might hold, as JSON text (1e39 overflows f32).
const NUMBERS: [&str; 16] = [
    "0.00392156862745098",
    "0.5",
    "1",
    "0",
    "-1",
    "255",
    "1e-45",
    "-1e-45",
    "1e-30",
    "1e30",
    "3.4e38",
    "-3.4e38",
    "1e39",
    "-1e39",
    "0.48145466",
    "0.26862954",
];

fn number(bytes: &mut Bytes) -> String {
    let pick = bytes.u8();
    match NUMBERS.get(pick as usize) {
        Some(text) => (*text).to_owned(),
        None => {
            let v = f32::from_le_bytes(bytes.take::<4>());
            if v.is_finite() {
                format!("{v:e}")
            } else {
                "0.5".to_owned()
            }
        }
    }
}

fn config(flags: u8, bytes: &mut Bytes) -> Option<PreprocessConfig> {
    let (th, tw) = (1 + bytes.u8() as usize % 64, 1 + bytes.u8() as usize % 64);
    let mut config = PreprocessConfig::for_model(&VisionConfig::default());
    if flags & 0x40 != 0 {
        let [rescale, m0, m1, m2, s0, s1, s2] = [(); 7].map(|_| number(bytes));
        let json = format!(
            r#"{{"rescale_factor": {rescale}, "image_mean": [{m0}, {m1}, {m2}], "image_std": [{s0}, {s1}, {s2}]}}"#
        );
        config = PreprocessConfig::from_json(&json, &VisionConfig::default()).ok()?;
    }
    config.size = (th, tw);
    config.resample = FILTERS[(flags & 7) as usize];
    config.do_resize = flags & 0x08 == 0;
    Some(config)
}

/// One input: an error, or pixel values of the configured shape, all finite.
pub fn check(data: &[u8]) {
    let mut bytes = Bytes(data);
    let flags = bytes.u8();
    let (width, height) = if (flags >> 4) & 3 == 3 {
        let [w, h] = [(); 2].map(|_| u64::from_le_bytes(bytes.take::<8>()) as usize);
        (w, h)
    } else {
        let [w, h] = [(); 2].map(|_| 1 + u16::from_le_bytes(bytes.take::<2>()) as usize % 300);
        (w, h)
    };
    let Some(config) = config(flags, &mut bytes) else {
        return;
    };

    let pixels = bytes.0;
    let raw = (flags >> 4) & 3 == 3;
    let data: Vec<u8> = if raw {
        // Never allocate what the sizes ask for: the image must be refused, or be exactly this small.
        pixels.to_vec()
    } else {
        let mut data: Vec<u8> = match pixels.is_empty() {
            true => vec![0; width * height * 4],
            false => pixels
                .iter()
                .copied()
                .cycle()
                .take(width * height * 4)
                .collect(),
        };
        if flags & 0x80 != 0 {
            data.chunks_exact_mut(4).for_each(|p| p[3] = 255);
        }
        data
    };
    let image = match Rgba8::new(width, height, data) {
        Ok(image) => image,
        Err(_) => {
            assert!(
                raw,
                "a {width}×{height} image with exactly its bytes was refused"
            );
            return;
        }
    };

    let result = preprocess(&image, &config);
    let supported = matches!(
        config.resample,
        Resample::Bilinear | Resample::Bicubic | Resample::Box
    );
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            assert!(
                config.do_resize && !supported && (height, width) != config.size,
                "preprocess refused a {width}×{height} image for {config:?}: {e}"
            );
            return;
        }
    };
    let (h, w) = if config.do_resize {
        config.size
    } else {
        (height, width)
    };
    assert_eq!(
        (
            out.resized.width,
            out.resized.height,
            out.resized.data.len()
        ),
        (w, h, w * h * 3)
    );
    assert_eq!(out.pixel_values.dims(), [1, 3, h, w]);
    let values = out
        .pixel_values
        .flatten_all()
        .and_then(|t| t.to_vec1::<f32>())
        .expect("f32 values");
    if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
        panic!("non-finite pixel value {bad} for {config:?}");
    }
}
