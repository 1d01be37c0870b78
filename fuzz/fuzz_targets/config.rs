//! The `config` fuzz target. What it checks is fuzz/checks/config.rs, which tests/fuzz_corpus.rs
//! also runs on every file of the committed corpus in `cargo test`.
#![no_main]

#[path = "../checks/config.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
