//! `SiglipTokenizer`: SigLIP v1's tokenizer, a slow (SentencePiece-backed) tokenizer in
//! transformers 5 — `AutoTokenizer` loads it for every google/siglip-* repository.
//!
//! What it does to a label, in order (transformers 5.24):
//! 1. `tokenize`: every `▁` becomes a space and one `▁` is put in front;
//! 2. the text is cut around the added tokens (`</s>`, `<unk>`, …) exactly as typed, longest first;
//!    their `lstrip` / `rstrip` flags strip whitespace off the neighbouring chunks;
//! 3. each other chunk is canonicalised as big_vision does (Python's `str.lower()`, ASCII
//!    punctuation removed, whitespace runs → one space, stripped), then encoded by SentencePiece
//!    behind `<unk>` (`sp.encode("<unk>" + text)` minus the pieces of `"<unk>"`);
//! 4. a leading lone `▁` before a special token is dropped;
//! 5. pieces → ids; `</s>` is appended unless the ids already end with it; truncation keeps the
//!    first `max_length - 1` ids (so `</s>` survives); padding appends the pad id (`</s>`).
//!
//! Reference: <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/siglip/tokenization_siglip.py>
//! and `PreTrainedTokenizer.tokenize` / `prepare_for_model` in
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/tokenization_python.py>.

use super::config::{AddedToken, TokenizerConfig};
use super::sentencepiece::{Encoded, SentencePiece, SPACE};
use super::{is_python_space, Side};
use crate::error::{Error, Result};

/// SigLIP v1's tokenizer (`SiglipTokenizer` over `spiece.model`).
///
/// Reference: <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/siglip/tokenization_siglip.py>
#[derive(Debug)]
pub struct SiglipTokenizer {
    model: SentencePiece,
    /// Added tokens (`added_tokens_decoder` and the named special tokens), longest first.
    added: Vec<(AddedToken, u32)>,
    /// Contents of the special tokens (`all_special_tokens`).
    special: Vec<String>,
    eos_id: u32,
    pad_id: u32,
    unk_token: String,
    do_lower_case: bool,
    max_length: usize,
    padding_side: Side,
    /// Whether the processor returns an attention mask (`model_input_names`).
    returns_attention_mask: bool,
    truncation_side: Side,
}

impl SiglipTokenizer {
    /// Builds the tokenizer from the bytes of `spiece.model` and the parsed tokenizer config.
    pub fn new(spiece_model: &[u8], config: &TokenizerConfig) -> Result<Self> {
        let model = SentencePiece::from_bytes(spiece_model)?;
        let eos = config.special_or("eos_token", "</s>");
        let unk = config.special_or("unk_token", "<unk>");
        let pad = config.special_or("pad_token", "</s>");
        // SiglipTokenizer.__init__ makes its three special tokens strip both sides.
        let mut tokens: Vec<AddedToken> =
            config.added_tokens.iter().map(|(_, t)| t.clone()).collect();
        let mut special = Vec::new();
        for name in [&eos, &unk, &pad]
            .into_iter()
            .chain(config.extra_special.iter())
        {
            if !tokens.iter().any(|t| &t.content == name) {
                tokens.push(AddedToken::special(name, true));
            }
            if !special.contains(name) {
                special.push(name.clone());
            }
        }
        let mut added = Vec::new();
        for token in tokens {
            let id = Self::token_id(&model, config, &token.content)?;
            added.push((token, id));
        }
        added.sort_by_key(|(t, _)| std::cmp::Reverse(t.content.len()));
        let id_of = |name: &str| {
            added
                .iter()
                .find(|(t, _)| t.content == name)
                .map(|&(_, id)| id)
                .ok_or_else(|| {
                    Error::Tokenizer(format!("tokenizer_config.json: no id for {name:?}"))
                })
        };
        let (eos_id, pad_id) = (id_of(&eos)?, id_of(&pad)?);
        Ok(Self {
            eos_id,
            pad_id,
            unk_token: unk,
            do_lower_case: config.bool_or("do_lower_case", true),
            max_length: config.model_max_length().unwrap_or(64),
            padding_side: config.side("padding_side", Side::Right)?,
            returns_attention_mask: config.returns_attention_mask(),
            truncation_side: config.side("truncation_side", Side::Right)?,
            added,
            special,
            model,
        })
    }

    /// The id transformers gives an added token: its piece in `spiece.model` if it has one (the
    /// usual case: `</s>`, `<unk>`), else the id `added_tokens_decoder` names for it.
    fn token_id(model: &SentencePiece, config: &TokenizerConfig, content: &str) -> Result<u32> {
        let id = model.piece_to_id(content);
        if model.piece(id) == Some(content) {
            return Ok(id);
        }
        config
            .added_tokens
            .iter()
            .find(|(_, t)| t.content == content)
            .map(|&(id, _)| id)
            .ok_or_else(|| {
                Error::Tokenizer(format!(
                    "special token {content:?} is neither a piece of spiece.model nor listed in tokenizer_config.json's added_tokens_decoder"
                ))
            })
    }

    pub fn max_length(&self) -> usize {
        self.max_length
    }

    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Whether the processor returns an `attention_mask` (see [`TokenizerConfig::returns_attention_mask`]).
    pub fn returns_attention_mask(&self) -> bool {
        self.returns_attention_mask
    }

    /// Where padding goes (`tokenizer_config.json`'s `padding_side`; right by default).
    pub fn padding_side(&self) -> super::Side {
        self.padding_side
    }

    pub fn eos_id(&self) -> u32 {
        self.eos_id
    }

    /// `tokenizer(text)["input_ids"]`: ids with `</s>`, no truncation, no padding.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = self.ids(text);
        self.add_eos(&mut ids);
        ids
    }

    /// `tokenizer(text, padding="max_length", truncation=True, max_length=max_length)["input_ids"]`.
    pub fn encode_padded(&self, text: &str, max_length: usize) -> Result<Vec<u32>> {
        if max_length == 0 {
            return Err(Error::Tokenizer(
                "max_length must be at least 1 (room for </s>)".into(),
            ));
        }
        let mut ids = self.ids(text);
        if ids.len() + 1 > max_length {
            let remove = ids.len() + 1 - max_length;
            match self.truncation_side {
                Side::Right => ids.truncate(ids.len() - remove),
                Side::Left => drop(ids.drain(..remove)),
            }
        }
        self.add_eos(&mut ids);
        super::pad(&mut ids, max_length, self.pad_id, self.padding_side);
        Ok(ids)
    }

    /// `_add_eos_if_not_present`.
    fn add_eos(&self, ids: &mut Vec<u32>) {
        if ids.last() != Some(&self.eos_id) {
            ids.push(self.eos_id);
        }
    }

    /// `convert_tokens_to_ids(tokenize(text))`.
    fn ids(&self, text: &str) -> Vec<u32> {
        let text = format!("{SPACE}{}", text.replace(SPACE, " "));
        let mut tokens: Vec<Token> = Vec::new();
        for chunk in self.split_added(&text) {
            match chunk {
                Chunk::Added(id, content) => tokens.push(Token { id, text: content }),
                Chunk::Text(text) if !text.is_empty() => {
                    tokens.extend(self.encode_chunk(&text).into_iter().map(|p| Token {
                        id: self.piece_id(&p),
                        text: p.text,
                    }))
                }
                Chunk::Text(_) => {}
            }
        }
        let lone_space = SPACE.to_string();
        if tokens.len() > 1
            && tokens[0].text == lone_space
            && self.special.contains(&tokens[1].text)
        {
            tokens.remove(0);
        }
        tokens.into_iter().map(|t| t.id).collect()
    }

    /// `_convert_token_to_id_with_added_voc`: an added token's id, else `sp.piece_to_id`.
    fn piece_id(&self, piece: &Encoded) -> u32 {
        match self.added.iter().find(|(t, _)| t.content == piece.text) {
            Some(&(_, id)) => id,
            None => self.model.piece_to_id(&piece.text),
        }
    }

    /// `SiglipTokenizer._tokenize`: canonicalise, encode behind `<unk>`, drop `<unk>`'s pieces.
    fn encode_chunk(&self, text: &str) -> Vec<Encoded> {
        let text = canonicalize(text, self.do_lower_case);
        let unk_length = self.model.encode(&self.unk_token).len();
        let pieces = self.model.encode(&format!("{}{text}", self.unk_token));
        if pieces.len() >= unk_length {
            pieces[unk_length..].to_vec()
        } else {
            pieces
        }
    }

    /// `Trie.split` followed by the added tokens' strip flags (`PreTrainedTokenizer.tokenize`).
    fn split_added(&self, text: &str) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        let mut rest_start = 0;
        let mut at = 0;
        while at < text.len() {
            let found = self
                .added
                .iter()
                .find(|(t, _)| text[at..].starts_with(t.content.as_str()));
            match found {
                Some((token, id)) => {
                    if rest_start < at {
                        chunks.push(Chunk::Text(text[rest_start..at].to_owned()));
                    }
                    chunks.push(Chunk::Added(*id, token.content.clone()));
                    at += token.content.len();
                    rest_start = at;
                }
                None => at += text[at..].chars().next().map_or(1, char::len_utf8),
            }
        }
        if rest_start < text.len() {
            chunks.push(Chunk::Text(text[rest_start..].to_owned()));
        }
        // Strip flags act on the neighbours, left to right, as transformers does.
        for i in 0..chunks.len() {
            let Chunk::Added(_, content) = &chunks[i] else {
                continue;
            };
            let Some((token, _)) = self.added.iter().find(|(t, _)| &t.content == content) else {
                continue;
            };
            let (lstrip, rstrip) = (token.lstrip, token.rstrip);
            if rstrip {
                if let Some(Chunk::Text(right)) = chunks.get_mut(i + 1) {
                    *right = right.trim_start_matches(is_python_space).to_owned();
                }
            }
            if lstrip && i > 0 {
                if let Some(Chunk::Text(left)) = chunks.get_mut(i - 1) {
                    *left = left.trim_end_matches(is_python_space).to_owned();
                }
            }
        }
        chunks
    }
}

/// A token of `tokenize`'s output: its id and its text (to spot the lone `▁`).
struct Token {
    id: u32,
    text: String,
}

enum Chunk {
    Added(u32, String),
    Text(String),
}

/// `canonicalize_text` (big_vision's prompt canonicalisation): Python's `str.lower()` (full case
/// mapping, final sigma), ASCII punctuation (`string.punctuation`) removed, every run of Python
/// whitespace → one space, stripped.
pub fn canonicalize(text: &str, lower: bool) -> String {
    let text = if lower {
        text.to_lowercase()
    } else {
        text.to_owned()
    };
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars().filter(|c| !c.is_ascii_punctuation()) {
        if is_python_space(c) {
            in_space = true;
        } else {
            if in_space && !out.is_empty() {
                out.push(' ');
            }
            in_space = false;
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

    #[test]
    fn canonicalize_like_big_vision() {
        assert_eq!(
            canonicalize("  A Photo,  of\ta CAT!! ", true),
            "a photo of a cat"
        );
        assert_eq!(canonicalize("«x» — y", true), "«x» — y");
        assert_eq!(canonicalize("a\u{1c}b", true), "a b");
        assert_eq!(canonicalize("!!!", true), "");
    }
}
