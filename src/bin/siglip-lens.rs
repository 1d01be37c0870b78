//! `siglip-lens encode`: runs the tower on one image (or on given pixel values) and writes the whole
//! trace to a safetensors file, with the names transformers' outputs have.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("siglip-lens: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    use candle_core::{DType, Device, Tensor};
    use clap::{Args, Parser, Subcommand};
    use siglip_lens::checkpoint::WeightStorage;
    use siglip_lens::{image_file, preprocess, PreprocessConfig, SiglipVisionModel, VisionConfig};

    #[derive(Parser)]
    #[command(
        version,
        about = "SigLIP's vision tower, exactly as transformers computes it, with the whole trace"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Encode one image and write pixel_values, hidden states, attentions (and the head's outputs).
        Encode(Encode),
        /// Write the vision tower alone, its matrices in f16 (half the download for the page).
        Convert(Convert),
    }

    #[derive(Args)]
    #[group(required = true, multiple = false, id = "input")]
    struct Input {
        /// A PNG, JPEG, GIF, WebP or BMP image, preprocessed as SiglipImageProcessor would.
        #[arg(long)]
        image: Option<PathBuf>,
        /// A safetensors file holding `pixel_values` [1, 3, H, W]; skips preprocessing.
        #[arg(long)]
        pixels: Option<PathBuf>,
    }

    #[derive(Args)]
    struct Encode {
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

    #[derive(Args)]
    struct Convert {
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

    pub fn run() -> Result<(), String> {
        match Cli::parse().command {
            Command::Encode(args) => encode(&args),
            Command::Convert(args) => convert(&args),
        }
    }

    /// Writes the vision tower alone, its matrices in f16 if asked, with the configs beside it: a
    /// folder to host for the page.
    fn convert(args: &Convert) -> Result<(), String> {
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

    fn read_text(path: &Path) -> Result<String, String> {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }

    fn encode(args: &Encode) -> Result<(), String> {
        let started = Instant::now();
        let config = VisionConfig::from_json(&read_text(&args.model.join("config.json"))?)
            .map_err(|e| format!("{}: {e}", args.model.join("config.json").display()))?;
        let preprocessor_path = args.model.join("preprocessor_config.json");
        let preprocess_config = match preprocessor_path.exists() {
            true => PreprocessConfig::from_json(&read_text(&preprocessor_path)?, &config)
                .map_err(|e| e.to_string())?,
            false => PreprocessConfig::for_model(&config),
        };
        let weights_path = args.model.join("model.safetensors");
        let weights = std::fs::read(&weights_path)
            .map_err(|e| format!("cannot read {}: {e}", weights_path.display()))?;
        let model = SiglipVisionModel::from_safetensors(&config, &weights, args.weights)
            .map_err(|e| e.to_string())?;
        drop(weights);
        let loaded = started.elapsed();

        let pixel_values = match (&args.input.image, &args.input.pixels) {
            (Some(image), _) => {
                let rgba = image_file::open(image).map_err(|e| e.to_string())?;
                preprocess(&rgba, &preprocess_config)
                    .map_err(|e| e.to_string())?
                    .pixel_values
            }
            (None, Some(pixels)) => read_pixels(pixels)?,
            (None, None) => unreachable!("clap requires one input"),
        };
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

    fn read_pixels(path: &Path) -> Result<Tensor, String> {
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .map_err(|e| format!("{}: cannot read safetensors ({e})", path.display()))?;
        let pixels = tensors
            .get("pixel_values")
            .ok_or_else(|| format!("{} has no tensor named `pixel_values`", path.display()))?;
        pixels.to_dtype(DType::F32).map_err(|e| e.to_string())
    }
}
