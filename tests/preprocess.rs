//! Preprocessing against SiglipImageProcessorPil: decoding, compositing, PIL's filters, normalising.

#![cfg(not(target_arch = "wasm32"))]

mod common;
mod compare;
mod shapes;

use common::{fixtures, load_tensors, max_abs_diff, TestResult};
use siglip_lens::{image_file, preprocess, PreprocessConfig, Resample, VisionConfig};

/// One 8-bit level after normalisation with mean = std = 0.5.
const ONE_LEVEL: f32 = 2.0 / 255.0;

fn config(size: usize, resample: Resample) -> PreprocessConfig {
    let vision = VisionConfig {
        image_size: size,
        ..VisionConfig::default()
    };
    PreprocessConfig {
        resample,
        ..PreprocessConfig::for_model(&vision)
    }
}

fn compare(
    file: &str,
    key: &str,
    size: usize,
    resample: Resample,
) -> Result<(f32, f32), Box<dyn std::error::Error>> {
    let reference = load_tensors(&fixtures().join("preprocess.safetensors"))?;
    let image = image_file::open(&fixtures().join("images").join(file))?;
    let ours = preprocess(&image, &config(size, resample))?.pixel_values;
    let theirs = &reference[key];
    let max = max_abs_diff(key, &ours, theirs)?;
    let mean = (&ours - theirs)?.abs()?.mean_all()?.to_scalar::<f32>()?;
    Ok((max, mean))
}

/// PNG input: the resize is PIL's to the bit, so only float rounding may differ.
#[test]
fn png_images_match_pil_exactly() -> TestResult {
    for name in ["photo", "small", "wide", "gray", "rgba", "large"] {
        let size = if name == "large" { 224 } else { 32 };
        for (resample, code) in [(Resample::Bicubic, 3), (Resample::Bilinear, 2)] {
            let (max, mean) = compare(
                &format!("{name}.png"),
                &format!("{name}.{code}.{size}"),
                size,
                resample,
            )?;
            println!("{name} {resample:?} → {size}: max diff {max:.2e}, mean {mean:.2e}");
            assert!(
                max <= 1e-6,
                "{name} {resample:?}: max diff {max} (a whole level is {ONE_LEVEL})"
            );
        }
    }
    Ok(())
}

/// JPEG input, decoded as PIL decodes it (libjpeg-turbo's decoder): identical levels, so
/// pixel_values differ by float rounding at most.
#[test]
fn jpeg_image_as_pil_decodes_it() -> TestResult {
    for (resample, code) in [(Resample::Bicubic, 3), (Resample::Bilinear, 2)] {
        let (max, mean) = compare("photo.jpg", &format!("photo_jpg.{code}.32"), 32, resample)?;
        println!("photo.jpg {resample:?}: max diff {max:.2e}, mean {mean:.2e}");
        assert!(
            max <= 1e-6 && mean <= 1e-7,
            "{resample:?}: max {max}, mean {mean}"
        );
    }
    Ok(())
}

fn shape_cases() -> Result<Vec<shapes::Case>, Box<dyn std::error::Error>> {
    let cases = shapes::cases(&std::fs::read(
        fixtures().join("preprocess-shapes.safetensors"),
    )?)?;
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    Ok(cases)
}

/// Every PNG of tests/fixtures/images/shapes/ — tall, wide, nearly square on both sides of Pillow's
/// pass-order boundary, one axis up and the other down, 1-pixel strips, binary drawings in modes 1, L
/// and RGB, palette with transparency, 16-bit grey, RGB, RGBA and LA — at square and non-square sizes,
/// bicubic and bilinear: our 8-bit resized image is transformers' byte for byte.
#[test]
fn every_png_shape_and_mode_matches_pil_exactly() -> TestResult {
    let (mut vertical, mut horizontal, mut failures) = (0, 0, Vec::new());
    for case in shape_cases()?.iter().filter(|c| c.is_png()) {
        let image = image_file::open(&fixtures().join("images/shapes").join(&case.file))?;
        let diff = case.compare(&preprocess(&image, &case.config())?)?;
        let order = match shapes::vertical_first((image.width, image.height), case) {
            true => {
                vertical += 1;
                "vertical first"
            }
            false => {
                horizontal += 1;
                "horizontal first"
            }
        };
        println!(
            "{:44} {order:16} max {} levels, mean {:.4}, {:4.1} % > 1 level, max |Δ pixel_values| {:.1e}",
            case.key,
            diff.max_levels,
            diff.mean,
            100.0 * diff.over_one_level,
            diff.max_pixel_values
        );
        if diff.max_levels > 0 || diff.max_pixel_values > 1e-6 {
            failures.push(format!("{}: {diff:?}", case.key));
        }
    }
    assert!(
        vertical >= 10 && horizontal >= 10,
        "both pass orders must be exercised"
    );
    assert!(
        failures.is_empty(),
        "differ from PIL:\n{}",
        failures.join("\n")
    );
    Ok(())
}

/// JPEGs decoded by the CLI's decoder (libjpeg-turbo's, as PIL's) against SiglipImageProcessorPil on
/// the same files: identical levels. `images` names the folder, `cases` the cases of the reference.
fn jpegs_identical(folder: &str, cases: &[shapes::Case]) -> TestResult {
    let mut failures = Vec::new();
    for case in cases {
        let image = image_file::open(&fixtures().join("images").join(folder).join(&case.file))?;
        let diff = case.compare(&preprocess(&image, &case.config())?)?;
        println!(
            "{:36} max {} levels, mean {:.2e}",
            case.key, diff.max_levels, diff.mean
        );
        if diff.max_levels > 0 || diff.max_pixel_values > 1e-6 {
            failures.push(format!("{}: {diff:?}", case.key));
        }
    }
    assert!(
        failures.is_empty(),
        "differ from PIL:\n{}",
        failures.join("\n")
    );
    Ok(())
}

/// The JPEGs of images/shapes/: a photo at 4:2:0 and 4:4:4, a line drawing at 4:2:0.
#[test]
fn jpeg_shapes_as_pil_decodes_them() -> TestResult {
    let cases: Vec<_> = shape_cases()?.into_iter().filter(|c| !c.is_png()).collect();
    assert_eq!(cases.len(), 6);
    jpegs_identical("shapes", &cases)
}

/// Every JPEG layout libjpeg decodes differently (tools/make_fixtures.py --only jpeg): 4:2:2,
/// progressive, 4:4:4 at quality 100, grey, Adobe CMYK, partial edge blocks, a 1-pixel strip.
#[test]
fn jpeg_layouts_as_pil_decodes_them() -> TestResult {
    let cases = shapes::cases(&std::fs::read(
        fixtures().join("preprocess-jpeg.safetensors"),
    )?)?;
    assert_eq!(cases.len(), 14, "7 files × 2 filters");
    jpegs_identical("jpeg", &cases)
}

/// A JPEG cut short: PIL refuses it ("image file is truncated"); so do we, saying so, where libjpeg
/// alone would fill the rest with grey. A damaged header is an error too, not a panic.
#[test]
fn damaged_jpegs_are_refused_with_a_reason() -> TestResult {
    let truncated = image_file::open(&fixtures().join("images/jpeg/truncated.jpg"));
    let message = truncated.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("ends before its last scan"), "{message:?}");
    let whole = std::fs::read(fixtures().join("images/jpeg/photo-422.jpg"))?;
    for damaged in [whole[..200].to_vec(), {
        let mut bytes = whole.clone();
        bytes[400..420].fill(0xFF);
        bytes
    }] {
        let result = image_file::decode(&damaged);
        assert!(result.is_err(), "a damaged JPEG decoded");
        println!(
            "damaged: {}",
            result.err().map(|e| e.to_string()).unwrap_or_default()
        );
    }
    Ok(())
}

#[test]
fn fixture_models_pixel_values_come_from_our_preprocessing() -> TestResult {
    for (name, image) in [
        ("siglip", "photo.png"),
        ("vision-bf16", "wide.png"),
        ("paligemma-f16", "rgba.png"),
    ] {
        let dir = fixtures().join("models").join(name);
        let vision = VisionConfig::from_json(&std::fs::read_to_string(dir.join("config.json"))?)?;
        let config = PreprocessConfig::from_json(
            &std::fs::read_to_string(dir.join("preprocessor_config.json"))?,
            &vision,
        )?;
        let ours = preprocess(
            &image_file::open(&fixtures().join("images").join(image))?,
            &config,
        )?;
        let reference = load_tensors(&dir.join("reference.safetensors"))?;
        let max = max_abs_diff(name, &ours.pixel_values, &reference["pixel_values"])?;
        assert!(max <= 1e-6, "{name}: {max}");
        assert_eq!(
            (ours.resized.width, ours.resized.height),
            (vision.image_size, vision.image_size)
        );
    }
    Ok(())
}

#[test]
fn opaque_pixels_pass_compositing_unchanged_and_transparent_ones_turn_white() -> TestResult {
    let mut data = Vec::new();
    for c in 0..=255u8 {
        data.extend_from_slice(&[c, 255 - c, c / 2, 255]);
    }
    data.extend_from_slice(&[12, 34, 56, 0]);
    let image = siglip_lens::Rgba8::new(257, 1, data)?;
    let rgb = image.to_rgb_on_white();
    for c in 0..=255u8 {
        assert_eq!(&rgb.data[c as usize * 3..][..3], &[c, 255 - c, c / 2]);
    }
    assert_eq!(&rgb.data[256 * 3..], &[255, 255, 255]);
    Ok(())
}

#[test]
fn bad_images_are_errors() {
    assert!(siglip_lens::Rgba8::new(0, 10, vec![]).is_err());
    assert!(siglip_lens::Rgba8::new(2, 2, vec![0; 15]).is_err());
    assert!(siglip_lens::Rgba8::new(20_000, 20_000, vec![]).is_err());
    let message = image_file::decode(b"this is not an image")
        .unwrap_err()
        .to_string();
    assert!(message.contains("not a readable"), "{message}");
    let png = std::fs::read(fixtures().join("images/photo.png")).unwrap();
    assert!(
        image_file::decode(&png[..png.len() / 2]).is_err(),
        "a truncated PNG must not decode"
    );
    assert!(image_file::decode(&[]).is_err());
}
