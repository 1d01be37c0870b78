//! `siglip-lens score`: SigLIP's sigmoid scores of labels against one image, as
//! `model(**processor(text=labels, images=image, padding="max_length", truncation=True))` computes
//! them, written to a safetensors file (and printed as a table).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use clap::Args;
use siglip_lens::checkpoint::WeightStorage;
use siglip_lens::maps::{logit_drops, value_path, Occlusion};
use siglip_lens::model::{ids_tensor, KeyMask};
use siglip_lens::tokenizer::Tokenizer;
use siglip_lens::{SiglipModel, TextConfig};

use crate::input::{self, Input, ModelDir};

#[derive(Args)]
pub struct Score {
    /// Folder with config.json, model.safetensors (both towers), the tokenizer's files (spiece.model
    /// or tokenizer.json, tokenizer_config.json) and optionally preprocessor_config.json.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    input: Input,
    /// A label to score; repeat for more.
    #[arg(long = "text", required = true)]
    texts: Vec<String>,
    /// Where to write input_ids [T, L] (i64), attention_mask [T, L] (i64; all ones when padding is
    /// attended to), text_embeds [T, d],
    /// image_embeds [1, d], logits_per_image [1, T], logits_per_text [T, 1] (f32).
    #[arg(long)]
    out: PathBuf,
    /// How to hold the weights: f32, or f16 matrices (half the memory, outputs within 1e-2).
    #[arg(long, default_value = "f32", value_parser = WeightStorage::parse)]
    weights: WeightStorage,
    /// Whether the text tower masks out padding. `auto` does what `model(**processor(...))` does:
    /// mask when the tokenizer returns an attention_mask (tokenizer_config.json's
    /// `model_input_names`; the hub's SigLIP repos return none, so padding is attended to, as SigLIP
    /// was trained); `on` / `off` force it.
    #[arg(long, default_value = "auto", value_parser = ["auto", "on", "off"])]
    attention_mask: String,
    /// Also write the text → patch maps: `value_path` [T, N] (cosine) and `occlusion` [T, N] (logit
    /// drop when a window of patches is painted with the mean colour; needs --image).
    #[arg(long)]
    maps: bool,
    /// Side of the occlusion window in patches (1, 2 or 3), with --maps.
    #[arg(long, default_value_t = 1)]
    window: usize,
}

pub fn run(args: &Score) -> Result<(), String> {
    let started = Instant::now();
    let dir = ModelDir(&args.model);
    let config_text = dir.config_text()?;
    let vision_config = dir.vision_config()?;
    let text_config = TextConfig::from_json(&config_text)
        .map_err(|e| format!("{}: {e}", dir.path("config.json").display()))?;
    let preprocess_config = dir.preprocess_config(&vision_config)?;
    let tokenizer = Tokenizer::from_dir(&args.model).map_err(|e| e.to_string())?;
    let model =
        SiglipModel::from_safetensors(&vision_config, &text_config, &dir.weights()?, args.weights)
            .map_err(|e| e.to_string())?;
    let loaded = started.elapsed();

    let (pixel_values, seen) = input::pixel_values(&args.input, &preprocess_config)?;
    // The processor pads to the tokenizer's max_length; a longer sequence would not fit the
    // position table (transformers raises), so it is cut to the table's size.
    let length = tokenizer
        .max_length()
        .min(text_config.max_position_embeddings);
    let mut rows = Vec::with_capacity(args.texts.len());
    let mut keep = Vec::new();
    for text in &args.texts {
        rows.push(
            tokenizer
                .encode_padded(text, length)
                .map_err(|e| e.to_string())?,
        );
        keep.extend(tokenizer.attention_mask(text, length));
    }
    let input_ids = ids_tensor(&rows).map_err(|e| e.to_string())?;
    let masked = match args.attention_mask.as_str() {
        "on" => true,
        "off" => false,
        _ => tokenizer.returns_attention_mask(),
    };
    if !masked {
        keep.iter_mut().for_each(|k| *k = true);
    }
    let mask = KeyMask::new(keep.clone(), length).map_err(|e| e.to_string())?;
    let forward_start = Instant::now();
    let out = model
        .forward(&pixel_values, &input_ids, masked.then_some(&mask))
        .map_err(|e| e.to_string())?;
    let forward = forward_start.elapsed();

    let t = args.texts.len();
    let ids_i64 = |values: Vec<i64>| {
        Tensor::from_vec(values, (t, length), &Device::Cpu).map_err(|e| e.to_string())
    };
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    tensors.insert(
        "input_ids".into(),
        ids_i64(rows.concat().into_iter().map(i64::from).collect())?,
    );
    tensors.insert(
        "attention_mask".into(),
        ids_i64(keep.iter().map(|&k| k as i64).collect())?,
    );
    if args.maps {
        let maps = text_maps(args, &model, &out, seen.as_ref(), &preprocess_config)?;
        tensors.extend(maps);
    }
    print_table(&args.texts, &out.logits_per_image, &model.logits)?;
    tensors.insert("text_embeds".into(), out.text_embeds);
    tensors.insert("image_embeds".into(), out.image_embeds);
    tensors.insert("logits_per_image".into(), out.logits_per_image);
    tensors.insert("logits_per_text".into(), out.logits_per_text);
    candle_core::safetensors::save(&tensors, &args.out)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} labels of {length} tokens; load {:.0} ms, forward {:.0} ms)",
        args.out.display(),
        t,
        loaded.as_secs_f64() * 1e3,
        forward.as_secs_f64() * 1e3
    );
    Ok(())
}

/// `value_path` and `occlusion`, both (T, N).
fn text_maps(
    args: &Score,
    model: &SiglipModel,
    out: &siglip_lens::model::SiglipOutput,
    seen: Option<&siglip_lens::Rgb8>,
    preprocess_config: &siglip_lens::PreprocessConfig,
) -> Result<HashMap<String, Tensor>, String> {
    let fail = |e: siglip_lens::Error| e.to_string();
    let mut maps = HashMap::new();
    let values = value_path(
        &model.vision,
        &out.vision.last_hidden_state,
        &out.text_embeds,
    )
    .map_err(fail)?;
    maps.insert("value_path".to_owned(), values);
    let seen = seen.ok_or("--maps needs --image: occlusion paints over the image's pixels")?;
    let config = model.vision.config();
    let occlusion =
        Occlusion::new(seen, config.grid_size(), config.patch_size, args.window).map_err(fail)?;
    let n = config.num_patches();
    let mut occluded = Vec::with_capacity(n * config.hidden_size);
    for start in (0..n).step_by(16) {
        let embeds = occlusion
            .embeddings(&model.vision, preprocess_config, start..(start + 16).min(n))
            .map_err(fail)?;
        occluded.extend(
            embeds
                .flatten_all()
                .and_then(|e| e.to_vec1::<f32>())
                .map_err(|e| e.to_string())?,
        );
    }
    let image: Vec<f32> = out
        .image_embeds
        .flatten_all()
        .and_then(|e| e.to_vec1())
        .map_err(|e| e.to_string())?;
    let texts: Vec<Vec<f32>> = out.text_embeds.to_vec2().map_err(|e| e.to_string())?;
    let drops: Vec<f32> = texts
        .iter()
        .flat_map(|text| logit_drops(&model.logits, &image, &occluded, text))
        .collect();
    let drops =
        Tensor::from_vec(drops, (texts.len(), n), &Device::Cpu).map_err(|e| e.to_string())?;
    maps.insert("occlusion".to_owned(), drops);
    Ok(maps)
}

/// One line per label: cosine, logit, sigmoid probability.
fn print_table(
    texts: &[String],
    logits_per_image: &Tensor,
    params: &siglip_lens::model::LogitParams,
) -> Result<(), String> {
    let logits: Vec<f32> = logits_per_image
        .to_dtype(DType::F32)
        .and_then(|l| l.flatten_all())
        .and_then(|l| l.to_vec1())
        .map_err(|e| e.to_string())?;
    println!(
        "logit = exp({:.4}) · cos + ({:.4}) = {:.3} · cos {:+.3}",
        params.logit_scale,
        params.logit_bias,
        params.temperature(),
        params.logit_bias
    );
    println!(
        "{:>9}  {:>9}  {:>11}  label",
        "cosine", "logit", "probability"
    );
    for (text, logit) in texts.iter().zip(logits) {
        let cosine = (logit - params.logit_bias) / params.temperature();
        let probability = 1.0 / (1.0 + (-logit).exp());
        println!("{cosine:>9.4}  {logit:>9.4}  {probability:>11.6}  {text:?}");
    }
    Ok(())
}
