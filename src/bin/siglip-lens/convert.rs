//! `siglip-lens convert`: the vision tower alone, its matrices in f16 by default — a folder to host
//! for the page, half the download.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::Tensor;
use clap::Args;
use siglip_lens::checkpoint::WeightStorage;

#[derive(Args)]
pub struct Convert {
    /// Folder with config.json, model.safetensors and optionally preprocessor_config.json.
    #[arg(long)]
    model: PathBuf,
    /// Folder to write: the configs, and a model.safetensors holding only the vision tower.
    #[arg(long)]
    out: PathBuf,
    /// f16: every matrix in half precision (about half the bytes to download); f32: all in f32.
    #[arg(long, default_value = "f16", value_parser = WeightStorage::parse)]
    weights: WeightStorage,
}

/// Writes the vision tower alone, its matrices in f16 if asked, with the configs beside it: a
/// folder to host for the page.
pub fn run(args: &Convert) -> Result<(), String> {
    let same = |a: &Path, b: &Path| {
        a.canonicalize()
            .ok()
            .zip(b.canonicalize().ok())
            .is_some_and(|(a, b)| a == b)
    };
    if same(&args.model, &args.out) {
        return Err(
            "--out must be another folder: convert does not overwrite the checkpoint".into(),
        );
    }
    let weights_path = args.model.join("model.safetensors");
    let weights = std::fs::read(&weights_path)
        .map_err(|e| format!("cannot read {}: {e}", weights_path.display()))?;
    let checkpoint = siglip_lens::checkpoint::Checkpoint::parse(&weights)
        .map_err(|e| format!("{}: {e}", weights_path.display()))?;
    let tower: HashMap<String, Tensor> = checkpoint
        .tower(args.weights)
        .map_err(|e| format!("{}: {e}", weights_path.display()))?
        .into_iter()
        .collect();
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    for name in ["config.json", "preprocessor_config.json"] {
        let from = args.model.join(name);
        if name == "config.json" || from.exists() {
            std::fs::copy(&from, args.out.join(name))
                .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
        }
    }
    let out = args.out.join("model.safetensors");
    candle_core::safetensors::save(&tower, &out)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    let written = std::fs::metadata(&out).map_or(0, |m| m.len());
    eprintln!(
        "wrote {} ({} tensors, {} bytes; the input file was {} bytes)",
        out.display(),
        tower.len(),
        written,
        weights.len()
    );
    Ok(())
}
