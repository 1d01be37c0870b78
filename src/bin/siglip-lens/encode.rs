//! `siglip-lens encode`: runs the vision tower on one image (or on given pixel values) and writes the
//! whole trace to a safetensors file, with the names transformers' outputs have.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Tensor;
use clap::Args;
use siglip_lens::checkpoint::WeightStorage;
use siglip_lens::SiglipVisionModel;

use crate::input::{self, Input, ModelDir};

#[derive(Args)]
pub struct Encode {
    /// Folder with config.json, model.safetensors and optionally preprocessor_config.json.
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    input: Input,
    /// Where to write the trace (safetensors, f32).
    #[arg(long)]
    out: PathBuf,
    /// How to hold the weights: f32, or f16 matrices (half the memory, outputs within 1e-2).
    #[arg(long, default_value = "f32", value_parser = WeightStorage::parse)]
    weights: WeightStorage,
}

pub fn run(args: &Encode) -> Result<(), String> {
    let started = Instant::now();
    let dir = ModelDir(&args.model);
    let config = dir.vision_config()?;
    let preprocess_config = dir.preprocess_config(&config)?;
    let model = SiglipVisionModel::from_safetensors(&config, &dir.weights()?, args.weights)
        .map_err(|e| e.to_string())?;
    let loaded = started.elapsed();

    let (pixel_values, _) = input::pixel_values(&args.input, &preprocess_config)?;
    let forward_start = Instant::now();
    let trace = model.forward(&pixel_values).map_err(|e| e.to_string())?;
    let forward = forward_start.elapsed();

    let mut out: HashMap<String, Tensor> = HashMap::new();
    out.insert("pixel_values".into(), pixel_values);
    out.insert("last_hidden_state".into(), trace.last_hidden_state);
    for (i, t) in trace.hidden_states.into_iter().enumerate() {
        out.insert(format!("hidden_states.{i}"), t);
    }
    for (i, t) in trace.attentions.into_iter().enumerate() {
        out.insert(format!("attentions.{i}"), t);
    }
    if let (Some(pooled), Some(head)) = (trace.pooler_output, trace.head_attention) {
        out.insert("pooler_output".into(), pooled);
        out.insert("head_attention".into(), head);
    }
    candle_core::safetensors::save(&out, &args.out)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    eprintln!(
        "wrote {} ({} tensors; load {:.0} ms, forward {:.0} ms)",
        args.out.display(),
        out.len(),
        loaded.as_secs_f64() * 1e3,
        forward.as_secs_f64() * 1e3
    );
    Ok(())
}
