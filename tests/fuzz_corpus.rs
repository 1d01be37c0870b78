//! Every file of the committed fuzz corpora (fuzz/corpus/{config,checkpoint,preprocess}) through the
//! very checks the fuzz targets run (fuzz/checks/*.rs): no panic on any of them — errors are fine. A
//! campaign needs nightly and cargo-fuzz; this replay keeps what the campaigns found covered in every
//! `cargo test`.
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/checks/checkpoint.rs"]
mod checkpoint;
#[path = "../fuzz/checks/config.rs"]
mod config;
#[path = "../fuzz/checks/preprocess.rs"]
mod preprocess;

use std::path::Path;

/// Runs `check` on every file of fuzz/corpus/`target`; fails naming each file that panicked.
fn replay(target: &str, check: fn(&[u8]), at_least: usize) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= at_least,
        "{target}: {} files, the corpus has more",
        files.len()
    );
    let start = std::time::Instant::now();
    let panicked: Vec<String> = files
        .iter()
        .filter(|path| {
            let bytes = std::fs::read(path).expect("a corpus file");
            std::panic::catch_unwind(|| check(&bytes)).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    println!(
        "{target}: {} inputs in {:.0} ms",
        files.len(),
        start.elapsed().as_secs_f64() * 1e3
    );
    assert!(panicked.is_empty(), "{target}: panicked on {panicked:#?}");
}

#[test]
fn the_config_corpus_replays_without_a_panic() {
    replay("config", config::check, 150);
}

#[test]
fn the_checkpoint_corpus_replays_without_a_panic() {
    replay("checkpoint", checkpoint::check, 150);
}

#[test]
fn the_preprocess_corpus_replays_without_a_panic() {
    replay("preprocess", preprocess::check, 150);
}
