//! The cases of tests/fixtures/preprocess-shapes.safetensors (written by
//! `tools/make_fixtures.py --only preprocess`), shared by tests/preprocess.rs and tests/web.rs: each
//! key `{file}.{resample}.{height}x{width}` holds SiglipImageProcessorPil's pixel_values for
//! tests/fixtures/images/shapes/{file}, stored as the 8-bit levels they are made of, (1, 3, h, w).
//! Both test files declare `mod compare;` beside `mod shapes;`.
#![allow(dead_code)]

use candle_core::{DType, Device};
use siglip_lens::{PreprocessConfig, Preprocessed, Resample, VisionConfig};

pub struct Case {
    pub key: String,
    pub file: String,
    pub resample: Resample,
    pub height: usize,
    pub width: usize,
    /// transformers' levels, channel-major: `levels[c·h·w + y·w + x]`.
    pub levels: Vec<u8>,
}

/// How far our preprocessing is from transformers' on one case.
#[derive(Debug)]
pub struct Diff {
    /// Largest difference of the resized image, in 8-bit levels.
    pub max_levels: u32,
    /// Mean |difference| of pixel_values (normalised: one level is 2/255).
    pub mean: f32,
    /// Share of values more than one level off.
    pub over_one_level: f32,
    /// Largest |difference| of pixel_values.
    pub max_pixel_values: f32,
}

/// Every case, sorted by key. Fails on a key or tensor that does not have the expected form.
pub fn cases(safetensors: &[u8]) -> Result<Vec<Case>, String> {
    let tensors = candle_core::safetensors::load_buffer(safetensors, &Device::Cpu)
        .map_err(|e| format!("preprocess-shapes.safetensors: {e}"))?;
    let mut cases = Vec::new();
    for (key, tensor) in tensors {
        let bad = || format!("key {key:?} is not {{file}}.{{resample}}.{{h}}x{{w}}");
        let mut parts = key.rsplitn(3, '.');
        let (size, code, file) = (parts.next(), parts.next(), parts.next());
        let (size, code, file) = (
            size.ok_or_else(bad)?,
            code.ok_or_else(bad)?,
            file.ok_or_else(bad)?,
        );
        let (height, width) = size.split_once('x').ok_or_else(bad)?;
        let (height, width): (usize, usize) = (
            height.parse().map_err(|_| bad())?,
            width.parse().map_err(|_| bad())?,
        );
        let resample =
            Resample::from_pil(code.parse().map_err(|_| bad())?).map_err(|e| e.to_string())?;
        if tensor.dims() != [1, 3, height, width] || tensor.dtype() != DType::U8 {
            return Err(format!(
                "{key}: {:?} {:?}, want u8 (1, 3, {height}, {width})",
                tensor.dtype(),
                tensor.dims()
            ));
        }
        let levels = tensor
            .flatten_all()
            .and_then(|t| t.to_vec1::<u8>())
            .map_err(|e| e.to_string())?;
        let file = file.to_owned();
        cases.push(Case {
            key,
            file,
            resample,
            height,
            width,
            levels,
        });
    }
    cases.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(cases)
}

impl Case {
    /// SiglipImageProcessor's defaults with this case's size and filter.
    pub fn config(&self) -> PreprocessConfig {
        PreprocessConfig {
            size: (self.height, self.width),
            resample: self.resample,
            ..PreprocessConfig::for_model(&VisionConfig::default())
        }
    }

    pub fn is_png(&self) -> bool {
        self.file.ends_with(".png")
    }

    /// Compares our resized image and pixel_values with transformers'. transformers' pixel_values are
    /// rebuilt from the levels with its arithmetic (float64 rescale by 1/255, float32 normalise),
    /// which the fixture script checked to reproduce them bit for bit.
    pub fn compare(&self, ours: &Preprocessed) -> Result<Diff, String> {
        let (h, w) = (self.height, self.width);
        if (ours.resized.height, ours.resized.width) != (h, w)
            || ours.pixel_values.dims() != [1, 3, h, w]
        {
            return Err(format!(
                "{}: we made {} × {} ({:?}), want {w} × {h}",
                self.key,
                ours.resized.width,
                ours.resized.height,
                ours.pixel_values.dims()
            ));
        }
        let values = ours
            .pixel_values
            .flatten_all()
            .and_then(|t| t.to_vec1::<f32>())
            .map_err(|e| e.to_string())?;
        let (mut max_levels, mut over) = (0u32, 0usize);
        let mut expected = Vec::with_capacity(3 * h * w);
        for c in 0..3 {
            for i in 0..h * w {
                let theirs = self.levels[c * h * w + i];
                let level = ours.resized.data[i * 3 + c];
                let levels = level.abs_diff(theirs) as u32;
                max_levels = max_levels.max(levels);
                over += (levels > 1) as usize;
                expected.push(((theirs as f64 * (1.0 / 255.0)) as f32 - 0.5) / 0.5);
            }
        }
        // Lengths and NaN checked here, so the mean below sees finite values only.
        let max_pixel_values = crate::compare::max_abs_diff(&self.key, &values, &expected)?;
        let sum: f64 = values
            .iter()
            .zip(&expected)
            .map(|(v, e)| (v - e).abs() as f64)
            .sum();
        let n = (3 * h * w) as f64;
        Ok(Diff {
            max_levels,
            mean: (sum / n) as f32,
            over_one_level: (over as f64 / n) as f32,
            max_pixel_values,
        })
    }
}

/// Pillow 13's pass order (`ImagingResampleInner`), for reporting which order a case exercises.
pub fn vertical_first(image: (usize, usize), case: &Case) -> bool {
    let (width, height) = (image.0 as i64, image.1 as i64);
    let dy = height - case.height as i64;
    dy > 0 && dy > (width - case.width as i64) * 2
}
