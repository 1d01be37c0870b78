//! SigLIP's tokenizers, giving the `input_ids` transformers 5.24 gives for the standard call
//! `processor(text=labels, padding="max_length", truncation=True)`.
//!
//! Which tokenizer a repository gets is decided as `AutoTokenizer` decides it:
//!
//! | repository | files | transformers class | here |
//! | --- | --- | --- | --- |
//! | google/siglip-* (v1) | `spiece.model`, `tokenizer_config.json`, `special_tokens_map.json` | `SiglipTokenizer` (SentencePiece, slow) | [`SiglipTokenizer`] |
//! | google/siglip2-* | `tokenizer.json`, `tokenizer.model`, `tokenizer_config.json`, `special_tokens_map.json` | `Siglip2Tokenizer` (config.json's `model_type` is `siglip2`) | [`Siglip2Tokenizer`] |
//!
//! `max_length` is `tokenizer_config.json`'s `model_max_length` (64 for most SigLIP v1 repos, 16
//! for so400m-patch14-224); when absent or "no limit" (Gemma's 1e30) it is 64, SiglipTokenizer's
//! default and Siglip2Processor's. transformers never reads the text config's
//! `max_position_embeddings` for this.
//!
//! Both are written from scratch rather than with Hugging Face's `tokenizers` crate: SigLIP v1's
//! reference is the `sentencepiece` library, not `tokenizers`, and `tokenizers` for wasm32 adds
//! ≈ 2.5 MB to the module (see the README's tokenizer section for the measurements).

mod config;
mod gemma;
mod sentencepiece;
mod siglip;

pub use config::{AddedToken, TokenizerConfig};
pub use gemma::Siglip2Tokenizer;
pub use sentencepiece::SentencePiece;
pub use siglip::{canonicalize, SiglipTokenizer};

use crate::error::{Error, Result};

/// Which end padding (or truncation) acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// The text of a repository's tokenizer files; `None` for a file the repository does not ship.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenizerFiles<'a> {
    /// `spiece.model` (SigLIP v1).
    pub spiece_model: Option<&'a [u8]>,
    /// `tokenizer.json` (SigLIP 2: Gemma's tokenizer).
    pub tokenizer_json: Option<&'a str>,
    pub tokenizer_config: Option<&'a str>,
    pub special_tokens_map: Option<&'a str>,
    /// `config.json`: its `model_type` tells SigLIP 2 (lowercasing `Siglip2Tokenizer`) from a
    /// plain Gemma tokenizer; without it a `tokenizer.json` is taken to be SigLIP 2's.
    pub config: Option<&'a str>,
}

/// A SigLIP tokenizer of either kind.
#[derive(Debug)]
pub enum Tokenizer {
    /// SigLIP v1: SentencePiece unigram (`spiece.model`).
    Siglip(SiglipTokenizer),
    /// SigLIP 2: Gemma's BPE (`tokenizer.json`).
    Siglip2(Siglip2Tokenizer),
}

impl Tokenizer {
    /// Builds the tokenizer the files describe, as `AutoTokenizer.from_pretrained` would.
    pub fn from_files(files: &TokenizerFiles) -> Result<Self> {
        let config = TokenizerConfig::parse(files.tokenizer_config, files.special_tokens_map)?;
        let model_type = match files.config {
            Some(text) => config::object(Some(text), "config.json")?
                .get("model_type")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            None => None,
        };
        let siglip_v1 = config.tokenizer_class().map(|c| c.trim_end_matches("Fast"))
            == Some("SiglipTokenizer")
            || model_type.as_deref() == Some("siglip");
        match (files.spiece_model, files.tokenizer_json) {
            (Some(model), None) => Ok(Tokenizer::Siglip(SiglipTokenizer::new(model, &config)?)),
            (Some(model), Some(_)) if siglip_v1 => {
                Ok(Tokenizer::Siglip(SiglipTokenizer::new(model, &config)?))
            }
            (None, _) if siglip_v1 => Err(Error::Tokenizer(
                "spiece.model is missing: SigLIP v1 repositories ship it beside tokenizer_config.json".into(),
            )),
            (_, Some(json)) => {
                let lowercase = model_type.as_deref().is_none_or(|t| t == "siglip2");
                Ok(Tokenizer::Siglip2(Siglip2Tokenizer::new(json, &config, lowercase)?))
            }
            (None, None) => Err(Error::Tokenizer(
                "no tokenizer file: give spiece.model (SigLIP) or tokenizer.json (SigLIP 2) from the model's repository".into(),
            )),
        }
    }

    /// Reads the files from a folder laid out like a hub repository (native only).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_dir(dir: &std::path::Path) -> Result<Self> {
        let read = |name: &str| -> Result<Option<Vec<u8>>> {
            match std::fs::read(dir.join(name)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Error::Tokenizer(format!(
                    "{}: {e}",
                    dir.join(name).display()
                ))),
            }
        };
        let text = |name: &str| -> Result<Option<String>> {
            read(name)?
                .map(|b| {
                    String::from_utf8(b)
                        .map_err(|_| Error::Tokenizer(format!("{name} is not UTF-8 text")))
                })
                .transpose()
        };
        let spiece = read("spiece.model")?;
        let (json, tc, stm, cfg) = (
            text("tokenizer.json")?,
            text("tokenizer_config.json")?,
            text("special_tokens_map.json")?,
            text("config.json")?,
        );
        Self::from_files(&TokenizerFiles {
            spiece_model: spiece.as_deref(),
            tokenizer_json: json.as_deref(),
            tokenizer_config: tc.as_deref(),
            special_tokens_map: stm.as_deref(),
            config: cfg.as_deref(),
        })
    }

    /// The length `encode_padded` pads to by default (see the module docs).
    pub fn max_length(&self) -> usize {
        match self {
            Tokenizer::Siglip(t) => t.max_length(),
            Tokenizer::Siglip2(t) => t.max_length(),
        }
    }

    pub fn pad_token_id(&self) -> u32 {
        match self {
            Tokenizer::Siglip(t) => t.pad_id(),
            Tokenizer::Siglip2(t) => t.pad_id(),
        }
    }

    pub fn eos_token_id(&self) -> Option<u32> {
        match self {
            Tokenizer::Siglip(t) => Some(t.eos_id()),
            Tokenizer::Siglip2(t) => t.eos_id(),
        }
    }

    /// `tokenizer(text)["input_ids"]`: special tokens added, no truncation, no padding.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        match self {
            Tokenizer::Siglip(t) => t.encode(text),
            Tokenizer::Siglip2(t) => t.encode(text),
        }
    }

    /// `processor(text=[text], padding="max_length", truncation=True, max_length=max_length)`:
    /// exactly `max_length` ids; a longer label is cut (keeping the end-of-sequence token).
    pub fn encode_padded(&self, text: &str, max_length: usize) -> Result<Vec<u32>> {
        match self {
            Tokenizer::Siglip(t) => t.encode_padded(text, max_length),
            Tokenizer::Siglip2(t) => t.encode_padded(text, max_length),
        }
    }

    /// Every label padded to [`Tokenizer::max_length`], as one row-major `[labels, max_length]`
    /// block ready for the text tower.
    pub fn encode_batch(&self, texts: &[&str]) -> Result<Vec<u32>> {
        let mut ids = Vec::with_capacity(texts.len() * self.max_length());
        for text in texts {
            ids.extend(self.encode_padded(text, self.max_length())?);
        }
        Ok(ids)
    }
}

/// Pads `ids` to `length` on `side`.
fn pad(ids: &mut Vec<u32>, length: usize, pad_id: u32, side: Side) {
    if ids.len() >= length {
        return;
    }
    let fill = std::iter::repeat_n(pad_id, length - ids.len());
    match side {
        Side::Right => ids.extend(fill),
        Side::Left => {
            ids.splice(0..0, fill);
        }
    }
}

/// Python's `str.isspace()` (what `\s`, `strip()` and `lstrip()` use): Unicode White_Space plus
/// the four information separators U+001C..U+001F.
pub(crate) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

impl Tokenizer {
    /// Whether `processor(text=…)` returns an `attention_mask` for this tokenizer, so that
    /// `model(**inputs)` masks the padding out (tokenizer_config.json's `model_input_names`).
    pub fn returns_attention_mask(&self) -> bool {
        match self {
            Tokenizer::Siglip(t) => t.returns_attention_mask(),
            Tokenizer::Siglip2(t) => t.returns_attention_mask(),
        }
    }

    /// The `attention_mask` the processor returns beside `encode_padded(text, max_length)`: true for
    /// the label's own ids (special tokens included), false for padding.
    pub fn attention_mask(&self, text: &str, max_length: usize) -> Vec<bool> {
        let own = self.encode(text).len().min(max_length);
        let padding_left = match self {
            Tokenizer::Siglip(t) => t.padding_side() == Side::Left,
            Tokenizer::Siglip2(t) => t.padding_side() == Side::Left,
        };
        let (pad, own) = (max_length - own, std::iter::repeat_n(true, own));
        let padding = std::iter::repeat_n(false, pad);
        match padding_left {
            true => padding.chain(own).collect(),
            false => own.chain(padding).collect(),
        }
    }
}
