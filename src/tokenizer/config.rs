//! `tokenizer_config.json` and `special_tokens_map.json`: the special tokens, the added tokens
//! and their flags, `model_max_length`, the padding side — what transformers' `from_pretrained`
//! reads from them.

use serde_json::{Map, Value};

use super::Side;
use crate::error::{Error, Result};

/// transformers' `LARGE_INTEGER` (1e20): a `model_max_length` above it means "no limit" (the
/// hub's Gemma configs say 1e30).
const LARGE_INTEGER: f64 = 1e20;

/// An entry of `added_tokens_decoder` (transformers' / tokenizers' `AddedToken`).
#[derive(Debug, Clone, PartialEq)]
pub struct AddedToken {
    pub content: String,
    pub lstrip: bool,
    pub rstrip: bool,
    pub single_word: bool,
    pub normalized: bool,
    pub special: bool,
}

impl AddedToken {
    /// A special token named in the config but not listed among the added tokens.
    pub fn special(content: &str, strip: bool) -> Self {
        Self {
            content: content.to_owned(),
            lstrip: strip,
            rstrip: strip,
            single_word: false,
            normalized: false,
            special: true,
        }
    }

    /// From `{"content": …, "lstrip": …}` or a bare string (then `special` as given).
    fn parse(value: &Value, special: bool, file: &str) -> Result<Self> {
        match value {
            Value::String(s) => Ok(Self::special(s, false)).map(|t| Self { special, ..t }),
            Value::Object(map) => {
                let content = map.get("content").and_then(Value::as_str).ok_or_else(|| {
                    Error::Tokenizer(format!("{file}: an added token has no \"content\""))
                })?;
                let flag = |name: &str, default: bool| {
                    map.get(name).and_then(Value::as_bool).unwrap_or(default)
                };
                let special = flag("special", special);
                Ok(Self {
                    content: content.to_owned(),
                    lstrip: flag("lstrip", false),
                    rstrip: flag("rstrip", false),
                    single_word: flag("single_word", false),
                    normalized: flag("normalized", !special),
                    special,
                })
            }
            other => Err(Error::Tokenizer(format!(
                "{file}: a token must be a string or an object, not {other}"
            ))),
        }
    }
}

/// The parts of `tokenizer_config.json` (with `special_tokens_map.json` filling gaps) we use.
#[derive(Debug, Clone, Default)]
pub struct TokenizerConfig {
    fields: Map<String, Value>,
    /// `added_tokens_decoder`, by id.
    pub added_tokens: Vec<(u32, AddedToken)>,
    /// Named special tokens (`eos_token`, …) as written.
    named: Vec<(String, AddedToken)>,
    /// `additional_special_tokens` and `extra_special_tokens`.
    pub extra_special: Vec<String>,
}

const NAMED: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

impl TokenizerConfig {
    /// Parses the two files (either may be absent).
    pub fn parse(tokenizer_config: Option<&str>, special_tokens_map: Option<&str>) -> Result<Self> {
        let mut config = Self {
            fields: object(tokenizer_config, "tokenizer_config.json")?,
            ..Self::default()
        };
        let map = object(special_tokens_map, "special_tokens_map.json")?;
        if let Some(decoder) = config.fields.get("added_tokens_decoder") {
            let decoder = decoder.as_object().ok_or_else(|| {
                Error::Tokenizer(
                    "tokenizer_config.json: \"added_tokens_decoder\" must be an object".into(),
                )
            })?;
            for (id, token) in decoder {
                let id = id.parse::<u32>().map_err(|_| {
                    Error::Tokenizer(format!(
                        "tokenizer_config.json: added_tokens_decoder key {id:?} is not a token id"
                    ))
                })?;
                let token = AddedToken::parse(token, false, "tokenizer_config.json")?;
                config.added_tokens.push((id, token));
            }
            config.added_tokens.sort_by_key(|&(id, _)| id);
        }
        for name in NAMED {
            let (value, file) = match (config.fields.get(name), map.get(name)) {
                (Some(v), _) if !v.is_null() => (v, "tokenizer_config.json"),
                (_, Some(v)) if !v.is_null() => (v, "special_tokens_map.json"),
                _ => continue,
            };
            config
                .named
                .push((name.to_owned(), AddedToken::parse(value, true, file)?));
        }
        for (source, file) in [
            (&config.fields, "tokenizer_config.json"),
            (&map, "special_tokens_map.json"),
        ] {
            for key in ["additional_special_tokens", "extra_special_tokens"] {
                let values: Vec<&Value> = match source.get(key) {
                    Some(Value::Array(list)) => list.iter().collect(),
                    Some(Value::Object(map)) => map.values().collect(),
                    _ => continue,
                };
                for value in values {
                    let token = AddedToken::parse(value, true, file)?;
                    if !config.extra_special.contains(&token.content) {
                        config.extra_special.push(token.content);
                    }
                }
            }
        }
        Ok(config)
    }

    /// A named special token's text, or the class default.
    pub fn special_or(&self, name: &str, default: &str) -> String {
        self.named_token(name)
            .map_or_else(|| default.to_owned(), |t| t.content.clone())
    }

    /// A named special token as written (`None` when absent).
    pub fn named_token(&self, name: &str) -> Option<&AddedToken> {
        self.named.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.fields
            .get(key)
            .and_then(Value::as_bool)
            .unwrap_or(default)
    }

    /// `model_max_length`, unless absent or "no limit".
    pub fn model_max_length(&self) -> Option<usize> {
        let value = self.fields.get("model_max_length")?.as_f64()?;
        (1.0..=LARGE_INTEGER)
            .contains(&value)
            .then_some(value as usize)
    }

    /// `padding_side` / `truncation_side`.
    pub fn side(&self, key: &str, default: Side) -> Result<Side> {
        match self.fields.get(key).and_then(Value::as_str) {
            None => Ok(default),
            Some("right") => Ok(Side::Right),
            Some("left") => Ok(Side::Left),
            Some(other) => Err(Error::Tokenizer(format!(
                "tokenizer_config.json: {key} must be \"left\" or \"right\", not {other:?}"
            ))),
        }
    }

    /// Whether the tokenizer returns an `attention_mask` beside `input_ids`: `model_input_names`
    /// when the file names them (the hub's SigLIP repos say `["input_ids"]` — no mask, as SigLIP was
    /// trained), else the classes' default (`SiglipTokenizer` and `Siglip2Tokenizer` both return one).
    pub fn returns_attention_mask(&self) -> bool {
        match self
            .fields
            .get("model_input_names")
            .and_then(Value::as_array)
        {
            Some(names) => names.iter().any(|n| n.as_str() == Some("attention_mask")),
            None => true,
        }
    }

    /// `tokenizer_class`, if given.
    pub fn tokenizer_class(&self) -> Option<&str> {
        self.fields.get("tokenizer_class").and_then(Value::as_str)
    }
}

/// A JSON file that must hold an object (absent → empty).
pub fn object(text: Option<&str>, file: &str) -> Result<Map<String, Value>> {
    let Some(text) = text else {
        return Ok(Map::new());
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Tokenizer(format!("{file} must hold a JSON object"))),
        Err(e) => Err(Error::Tokenizer(format!("{file} is not valid JSON: {e}"))),
    }
}
