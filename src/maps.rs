//! Text → patch maps: where in the image is the label?
//!
//! - [`Occlusion`] (faithful, slow): grey out a window of patches with the image's mean colour, run
//!   the vision tower again, and see how far the label's logit drops. One forward per patch, but each
//!   occluded image's embedding serves every label: the drop for a label is one dot product.
//! - [`value_path`] (fast, heuristic): each patch's value vector through the pooling head's
//!   out-projection and MLP, as if the probe attended to that patch alone (MaskCLIP), compared with
//!   the text embedding by cosine. It ignores how the probe actually mixes patches.

use std::ops::Range;

use candle_core::{IndexOp, Tensor};

use crate::config::PreprocessConfig;
use crate::error::{Error, Result};
use crate::model::{l2_normalize, LogitParams, SiglipVisionModel};
use crate::preprocess::{pixel_values, Rgb8};

/// The occlusion experiment on one image (the 8-bit image the model saw, at the model's size).
pub struct Occlusion<'a> {
    seen: &'a Rgb8,
    grid: usize,
    patch_size: usize,
    window: usize,
    /// The image's mean colour, rounded to 8 bits: what the window is painted with.
    colour: [u8; 3],
}

impl<'a> Occlusion<'a> {
    /// Occluding `window` × `window` patches (1, 2 or 3; the window is centred on the patch, reaching
    /// one patch further right and down when even, and clipped at the image's edges).
    pub fn new(seen: &'a Rgb8, grid: usize, patch_size: usize, window: usize) -> Result<Self> {
        if !(1..=3).contains(&window) {
            return Err(Error::Image(format!(
                "occlusion window {window} must be 1, 2 or 3 patches"
            )));
        }
        if grid == 0 || grid * patch_size > seen.width.min(seen.height) {
            return Err(Error::Image(format!(
                "a {grid} × {grid} grid of {patch_size}-pixel patches does not fit the {} × {} image",
                seen.width, seen.height
            )));
        }
        Ok(Self {
            seen,
            grid,
            patch_size,
            window,
            colour: mean_colour(seen),
        })
    }

    pub fn colour(&self) -> [u8; 3] {
        self.colour
    }

    /// The patches (rows, columns) the window centred on `patch` covers.
    pub fn covered(&self, patch: usize) -> (Range<usize>, Range<usize>) {
        let (row, col) = (patch / self.grid, patch % self.grid);
        let before = (self.window - 1) / 2;
        let span = |centre: usize| {
            let end = (centre + self.window - before).min(self.grid);
            centre.saturating_sub(before)..end
        };
        (span(row), span(col))
    }

    /// The image with the window centred on `patch` painted in the mean colour.
    pub fn occluded(&self, patch: usize) -> Rgb8 {
        let (rows, cols) = self.covered(patch);
        let p = self.patch_size;
        let mut image = self.seen.clone();
        for y in rows.start * p..rows.end * p {
            for x in cols.start * p..cols.end * p {
                image.data[(y * image.width + x) * 3..][..3].copy_from_slice(&self.colour);
            }
        }
        image
    }

    /// L2-normalised image embeddings (len, d) of the occluded images for `patches`, run in one batch.
    pub fn embeddings(
        &self,
        vision: &SiglipVisionModel,
        preprocess: &PreprocessConfig,
        patches: Range<usize>,
    ) -> Result<Tensor> {
        let n = self.grid * self.grid;
        if patches.end > n || patches.is_empty() {
            return Err(Error::Image(format!(
                "patches {patches:?} are not within 0..{n}"
            )));
        }
        let images: Vec<Rgb8> = patches.map(|p| self.occluded(p)).collect();
        let pixels = pixel_values(&images.iter().collect::<Vec<_>>(), preprocess)?;
        l2_normalize(&vision.pooled(&pixels)?)
    }
}

/// Per-channel mean of an 8-bit RGB image, rounded half up.
pub fn mean_colour(image: &Rgb8) -> [u8; 3] {
    let mut sums = [0u64; 3];
    for pixel in image.data.chunks_exact(3) {
        for c in 0..3 {
            sums[c] += pixel[c] as u64;
        }
    }
    let count = (image.data.len() / 3).max(1) as u64;
    sums.map(|s| ((2 * s + count) / (2 * count)) as u8)
}

/// How much each occlusion lowers the label's logit: `logit(image) − logit(occluded)` per patch, from
/// L2-normalised embeddings — the image's (d), the occluded images' (n, d), the label's (d).
pub fn logit_drops(
    params: &LogitParams,
    image_embed: &[f32],
    occluded: &[f32],
    text_embed: &[f32],
) -> Vec<f32> {
    let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let base = params.logit(dot(image_embed, text_embed));
    occluded
        .chunks_exact(text_embed.len())
        .map(|row| base - params.logit(dot(row, text_embed)))
        .collect()
}

/// The value-path map: cosine of each patch's MaskCLIP embedding (see
/// [`crate::model::SiglipMultiheadAttentionPoolingHead::value_path`]) with each label's embedding.
/// `last_hidden_state` (1, n, d) after post-LayerNorm, `text_embeds` (t, d) → (t, n).
pub fn value_path(
    vision: &SiglipVisionModel,
    last_hidden_state: &Tensor,
    text_embeds: &Tensor,
) -> Result<Tensor> {
    let head = vision.head().ok_or_else(|| {
        Error::Config("this tower has no pooling head, so there is no value path to follow".into())
    })?;
    let patches = l2_normalize(&head.value_path(last_hidden_state)?.i(0)?)?; // (n, d)
    let texts = l2_normalize(text_embeds)?; // (t, d)
    Ok(texts.matmul(&patches.t()?)?) // (t, n)
}
