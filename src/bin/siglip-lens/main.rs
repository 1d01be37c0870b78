//! The command line: `encode` (the vision tower's whole trace), `score` (sigmoid scores of labels
//! against an image, with the text tower), `convert` (a smaller copy of the vision tower for the page).

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod convert;
#[cfg(not(target_arch = "wasm32"))]
mod encode;
#[cfg(not(target_arch = "wasm32"))]
mod input;
#[cfg(not(target_arch = "wasm32"))]
mod score;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    use clap::{Parser, Subcommand};

    #[derive(Parser)]
    #[command(
        version,
        about = "SigLIP exactly as transformers computes it, with the whole trace"
    )]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Encode one image and write pixel_values, hidden states, attentions (and the head's outputs).
        Encode(encode::Encode),
        /// Score labels against one image: input_ids, text and image embeddings, sigmoid logits.
        Score(score::Score),
        /// Write the vision tower alone, its matrices in f16 (half the download for the page).
        Convert(convert::Convert),
    }

    let result = match Cli::parse().command {
        Command::Encode(args) => encode::run(&args),
        Command::Score(args) => score::run(&args),
        Command::Convert(args) => convert::run(&args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("siglip-lens: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
