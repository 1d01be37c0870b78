//! `Siglip2Tokenizer`: SigLIP 2's tokenizer, Gemma's BPE vocabulary from `tokenizer.json` run
//! through the pipeline transformers 5 rebuilds around it.
//!
//! transformers 5.24 takes only the vocabulary, the merges, the post-processor and the added
//! tokens from `tokenizer.json` and builds the rest itself: normaliser `Lowercase` then
//! `Replace(" ", "▁")` (SigLIP 2 only; plain `GemmaTokenizer` does not lowercase), BPE with
//! `byte_fallback` and `fuse_unk`. The `Split(" ")` pre-tokeniser it also sets never fires, since no
//! space survives the normaliser. Added tokens are cut out of the raw text first (non-normalised
//! ones) or of the normalised text (normalised ones). The post-processor (a `TemplateProcessing`;
//! `$A </s>` in google/siglip2-*) adds EOS; `add_bos_token` / `add_eos_token` in
//! `tokenizer_config.json` are not consulted. Truncation keeps room for the template's tokens;
//! padding uses `<pad>` on the side `padding_side` names (the class default is left).
//!
//! References: <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/siglip2/tokenization_siglip2.py>,
//! <https://github.com/huggingface/tokenizers/blob/v0.23.2/tokenizers/src/models/bpe/model.rs>,
//! <https://github.com/huggingface/tokenizers/blob/v0.23.2/tokenizers/src/models/bpe/word.rs>,
//! <https://github.com/huggingface/tokenizers/blob/v0.23.2/tokenizers/src/tokenizer/added_vocabulary.rs>.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};

use serde_json::Value;

use super::config::{object, AddedToken, TokenizerConfig};
use super::sentencepiece::SPACE;
use super::{pad, Side};
use crate::error::{Error, Result};

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Tokenizer(format!("tokenizer.json: {what}"))
}

/// SigLIP 2's tokenizer (`Siglip2Tokenizer`, or `GemmaTokenizer` with `lowercase = false`).
///
/// Reference: <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/models/siglip2/tokenization_siglip2.py>
#[derive(Debug)]
pub struct Siglip2Tokenizer {
    bpe: Bpe,
    /// Added tokens, longest first: matched on the raw text (`normalized == false`) or on the
    /// normalised text.
    added: Vec<(AddedToken, u32)>,
    lowercase: bool,
    /// The template: ids before and after the sequence.
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    pad_id: u32,
    eos_id: Option<u32>,
    max_length: usize,
    padding_side: Side,
    /// Whether the processor returns an attention mask (`model_input_names`).
    returns_attention_mask: bool,
    truncation_side: Side,
}

impl Siglip2Tokenizer {
    /// Builds the tokenizer from `tokenizer.json`'s text and the parsed tokenizer config.
    pub fn new(tokenizer_json: &str, config: &TokenizerConfig, lowercase: bool) -> Result<Self> {
        let json = object(Some(tokenizer_json), "tokenizer.json")?;
        let model = json
            .get("model")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("it has no \"model\""))?;
        match model.get("type").and_then(Value::as_str) {
            Some("BPE") => {}
            other => {
                return Err(bad(format!(
                    "model type {other:?} is not supported: SigLIP 2's (Gemma's) tokenizer is BPE"
                )))
            }
        }
        let unk = config.special_or("unk_token", "<unk>");
        let bpe = Bpe::new(model, unk)?;
        let added = Self::added_tokens(&json, config, &bpe)?;
        let (prefix, suffix) = template(json.get("post_processor"), &bpe)?;
        let pad = config.special_or("pad_token", "<pad>");
        let pad_id = bpe.vocab.get(&pad).copied().ok_or_else(|| {
            Error::Tokenizer(format!(
                "tokenizer_config.json: pad token {pad:?} is not in tokenizer.json's vocabulary"
            ))
        })?;
        let eos_id = bpe
            .vocab
            .get(&config.special_or("eos_token", "<eos>"))
            .copied();
        Ok(Self {
            bpe,
            added,
            lowercase,
            prefix,
            suffix,
            pad_id,
            eos_id,
            max_length: config.model_max_length().unwrap_or(64),
            padding_side: config.side("padding_side", Side::Left)?,
            returns_attention_mask: config.returns_attention_mask(),
            truncation_side: config.side("truncation_side", Side::Right)?,
        })
    }

    /// `tokenizer.json`'s `added_tokens`, then `added_tokens_decoder` and the named special tokens
    /// of the config (these win for the same text); ids from the vocabulary where it has the text.
    fn added_tokens(
        json: &serde_json::Map<String, Value>,
        config: &TokenizerConfig,
        bpe: &Bpe,
    ) -> Result<Vec<(AddedToken, u32)>> {
        let mut added: Vec<(AddedToken, u32)> = Vec::new();
        let mut add = |token: AddedToken, id: Option<u32>| -> Result<()> {
            let id = bpe.vocab.get(&token.content).copied().or(id).ok_or_else(|| {
                Error::Tokenizer(format!(
                    "added token {:?} has no id: it is neither in tokenizer.json's vocabulary nor in added_tokens_decoder",
                    token.content
                ))
            })?;
            match added.iter_mut().find(|(t, _)| t.content == token.content) {
                Some(entry) => *entry = (token, id),
                None => added.push((token, id)),
            }
            Ok(())
        };
        if let Some(list) = json.get("added_tokens").and_then(Value::as_array) {
            for entry in list {
                let token = parse_json_added(entry)?;
                let id = entry.get("id").and_then(Value::as_u64).map(|id| id as u32);
                add(token, id)?;
            }
        }
        for (id, token) in &config.added_tokens {
            add(token.clone(), Some(*id))?;
        }
        for name in [
            "bos_token",
            "eos_token",
            "unk_token",
            "pad_token",
            "mask_token",
        ] {
            if let Some(token) = config.named_token(name) {
                if !config
                    .added_tokens
                    .iter()
                    .any(|(_, t)| t.content == token.content)
                {
                    add(AddedToken::special(&token.content, false), None)?;
                }
            }
        }
        for content in &config.extra_special {
            if !config
                .added_tokens
                .iter()
                .any(|(_, t)| &t.content == content)
            {
                add(AddedToken::special(content, false), None)?;
            }
        }
        added.sort_by_key(|(t, _)| Reverse(t.content.len()));
        Ok(added)
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

    pub fn eos_id(&self) -> Option<u32> {
        self.eos_id
    }

    /// `tokenizer(text)["input_ids"]`: the template applied, no truncation, no padding.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let ids = self.sequence(text);
        [self.prefix.as_slice(), &ids, &self.suffix].concat()
    }

    /// `tokenizer(text, padding="max_length", truncation=True, max_length=max_length)["input_ids"]`.
    pub fn encode_padded(&self, text: &str, max_length: usize) -> Result<Vec<u32>> {
        let added = self.prefix.len() + self.suffix.len();
        if max_length < added {
            return Err(Error::Tokenizer(format!(
                "max_length {max_length} leaves no room for the {added} tokens the template adds"
            )));
        }
        let mut ids = self.sequence(text);
        let keep = max_length - added;
        if ids.len() > keep {
            match self.truncation_side {
                Side::Right => ids.truncate(keep),
                Side::Left => drop(ids.drain(..ids.len() - keep)),
            }
        }
        let mut ids = [self.prefix.as_slice(), &ids, &self.suffix].concat();
        pad(&mut ids, max_length, self.pad_id, self.padding_side);
        Ok(ids)
    }

    /// The sequence's ids before the template: added tokens, normaliser, BPE.
    fn sequence(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        for (raw, id) in split(text, &self.added, false) {
            if let Some(id) = id {
                ids.push(id);
                continue;
            }
            let normalized = self.normalize(raw);
            for (piece, id) in split(&normalized, &self.added, true) {
                match id {
                    Some(id) => ids.push(id),
                    None => ids.extend(self.bpe.tokenize(piece)),
                }
            }
        }
        ids
    }

    /// `Lowercase` (tokenizers': each character's own lowercase, no final-sigma rule), then
    /// `Replace(" ", "▁")`.
    fn normalize(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if c == ' ' {
                out.push(SPACE);
            } else if self.lowercase {
                out.extend(c.to_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

/// `tokenizer.json`'s form of an added token.
fn parse_json_added(entry: &Value) -> Result<AddedToken> {
    let flag = |name: &str| entry.get(name).and_then(Value::as_bool).unwrap_or(false);
    let content = entry
        .get("content")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("an added token has no \"content\""))?;
    Ok(AddedToken {
        content: content.to_owned(),
        lstrip: flag("lstrip"),
        rstrip: flag("rstrip"),
        single_word: flag("single_word"),
        normalized: flag("normalized"),
        special: flag("special"),
    })
}

/// `AddedVocabulary::find_matches`: cuts `text` around the added tokens whose `normalized` flag
/// is `normalized`, leftmost-longest, honouring `single_word`, `lstrip` and `rstrip`.
fn split<'a>(
    text: &'a str,
    added: &[(AddedToken, u32)],
    normalized: bool,
) -> Vec<(&'a str, Option<u32>)> {
    if text.is_empty() {
        return vec![("", None)];
    }
    let mut out = Vec::new();
    let mut done = 0;
    let mut at = 0;
    while at < text.len() {
        let found = added.iter().find(|(t, _)| {
            t.normalized == normalized
                && text[at..].starts_with(t.content.as_str())
                && (!t.single_word || single_word_ok(text, at, at + t.content.len()))
        });
        let Some((token, id)) = found else {
            at += text[at..].chars().next().map_or(1, char::len_utf8);
            continue;
        };
        let (mut start, mut stop) = (at, at + token.content.len());
        if token.lstrip {
            let trimmed = text[..start].trim_end_matches(char::is_whitespace).len();
            start = trimmed.max(done);
        }
        if token.rstrip {
            stop = text.len() - text[stop..].trim_start_matches(char::is_whitespace).len();
        }
        if done < start {
            out.push((&text[done..start], None));
        }
        out.push((&text[start..stop], Some(*id)));
        done = stop;
        at = stop;
    }
    if done < text.len() {
        out.push((&text[done..], None));
    }
    out
}

/// A `single_word` token matches only between non-word characters.
fn single_word_ok(text: &str, start: usize, stop: usize) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let before = text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !is_word(c));
    let after = text[stop..].chars().next().is_none_or(|c| !is_word(c));
    before && after
}

/// The post-processor's template for one sequence: ids before and after `$A`.
fn template(post: Option<&Value>, bpe: &Bpe) -> Result<(Vec<u32>, Vec<u32>)> {
    let post = match post {
        None | Some(Value::Null) => return Ok((Vec::new(), Vec::new())),
        Some(post) => post,
    };
    match post.get("type").and_then(Value::as_str) {
        Some("TemplateProcessing") => {}
        Some("Sequence") => {
            let processors = post
                .get("processors")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("post_processor Sequence has no processors"))?;
            let templates: Vec<&Value> = processors
                .iter()
                .filter(|p| p.get("type").and_then(Value::as_str) != Some("ByteLevel"))
                .collect();
            return match templates.as_slice() {
                [] => Ok((Vec::new(), Vec::new())),
                [one] => template(Some(one), bpe),
                _ => Err(bad(
                    "post_processor Sequence with several templates is not supported",
                )),
            };
        }
        other => return Err(bad(format!("post_processor {other:?} is not supported"))),
    }
    let single = post
        .get("single")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("post_processor has no \"single\" template"))?;
    let specials = post.get("special_tokens").and_then(Value::as_object);
    let (mut prefix, mut suffix) = (Vec::new(), Vec::new());
    let mut seen_sequence = false;
    for piece in single {
        if piece.get("Sequence").is_some() {
            seen_sequence = true;
            continue;
        }
        let name = piece
            .get("SpecialToken")
            .and_then(|s| s.get("id"))
            .and_then(Value::as_str)
            .ok_or_else(|| bad("post_processor template has an unknown entry"))?;
        let ids: Vec<u32> = match specials
            .and_then(|s| s.get(name))
            .and_then(|s| s.get("ids"))
        {
            Some(Value::Array(ids)) => ids
                .iter()
                .filter_map(Value::as_u64)
                .map(|id| id as u32)
                .collect(),
            _ => vec![bpe.vocab.get(name).copied().ok_or_else(|| {
                bad(format!("post_processor's special token {name:?} has no id"))
            })?],
        };
        if seen_sequence {
            suffix.extend(ids);
        } else {
            prefix.extend(ids);
        }
    }
    Ok((prefix, suffix))
}

/// tokenizers' BPE model as transformers builds it for Gemma: vocabulary and merges from
/// `tokenizer.json`, `byte_fallback` and `fuse_unk` on, no dropout, no subword prefixes.
#[derive(Debug)]
struct Bpe {
    vocab: HashMap<String, u32>,
    /// `(left, right)` → `(rank, merged id)`.
    merges: HashMap<(u32, u32), (u32, u32)>,
    unk_id: Option<u32>,
    /// The ids of `<0x00>`..`<0xFF>` (byte fallback), where the vocabulary has them.
    bytes: Vec<Option<u32>>,
}

impl Bpe {
    fn new(model: &serde_json::Map<String, Value>, unk: String) -> Result<Self> {
        let vocab: HashMap<String, u32> = model
            .get("vocab")
            .and_then(Value::as_object)
            .ok_or_else(|| bad("the BPE model has no \"vocab\" object"))?
            .iter()
            .map(|(token, id)| {
                let id = id.as_u64().and_then(|id| u32::try_from(id).ok());
                id.map(|id| (token.clone(), id))
                    .ok_or_else(|| bad(format!("token {token:?} has no valid id")))
            })
            .collect::<Result<_>>()?;
        let list = model
            .get("merges")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("the BPE model has no \"merges\" list"))?;
        let mut merges = HashMap::with_capacity(list.len());
        for (rank, merge) in list.iter().enumerate() {
            let (left, right) = match merge {
                Value::String(s) => s
                    .split_once(' ')
                    .ok_or_else(|| bad(format!("merge {s:?} is not two tokens")))?,
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(a), Value::String(b)] => (a.as_str(), b.as_str()),
                    _ => return Err(bad(format!("merge {rank} is not a pair of tokens"))),
                },
                _ => return Err(bad(format!("merge {rank} is not a pair of tokens"))),
            };
            let id = |token: &str| {
                vocab.get(token).copied().ok_or_else(|| {
                    bad(format!(
                        "merge {rank} uses {token:?}, which is not in the vocabulary"
                    ))
                })
            };
            let merged = id(&format!("{left}{right}"))?;
            merges.insert((id(left)?, id(right)?), (rank as u32, merged));
        }
        let bytes = (0..=255u8)
            .map(|b| vocab.get(&super::sentencepiece::byte_piece(b)).copied())
            .collect();
        Ok(Self {
            unk_id: vocab.get(&unk).copied(),
            bytes,
            vocab,
            merges,
        })
    }

    /// `BPE::merge_word` + `Word::merge_all`: characters (or their bytes, or a fused `<unk>`),
    /// then the lowest-ranked adjacent pair merged first, leftmost on ties.
    fn tokenize(&self, word: &str) -> Vec<u32> {
        let mut symbols: Vec<u32> = Vec::with_capacity(word.len());
        let mut unk: Option<u32> = None;
        for c in word.chars() {
            let mut buf = [0u8; 4];
            let s = c.encode_utf8(&mut buf);
            if let Some(&id) = self.vocab.get(&*s) {
                if let Some(unk_id) = unk.take() {
                    symbols.push(unk_id);
                }
                symbols.push(id);
            } else if let Some(bytes) = s
                .bytes()
                .map(|b| self.bytes[b as usize])
                .collect::<Option<Vec<u32>>>()
            {
                // As tokenizers does: byte pieces go in without flushing a pending <unk>.
                symbols.extend(bytes);
            } else if let Some(unk_id) = self.unk_id {
                // fuse_unk: a run of unknown characters is one <unk>.
                unk.get_or_insert(unk_id);
            }
        }
        if let Some(unk_id) = unk {
            symbols.push(unk_id);
        }
        self.merge_all(symbols)
    }

    fn merge_all(&self, symbols: Vec<u32>) -> Vec<u32> {
        #[derive(PartialEq, Eq)]
        struct Merge {
            pos: usize,
            rank: u32,
            new_id: u32,
        }
        impl Ord for Merge {
            /// Lowest rank first, then leftmost (a max-heap, so reversed).
            fn cmp(&self, other: &Self) -> Ordering {
                other.rank.cmp(&self.rank).then(other.pos.cmp(&self.pos))
            }
        }
        impl PartialOrd for Merge {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        let n = symbols.len();
        let mut ids = symbols;
        let mut alive = vec![true; n];
        let mut prev: Vec<Option<usize>> = (0..n).map(|i| i.checked_sub(1)).collect();
        let mut next: Vec<Option<usize>> = (0..n).map(|i| (i + 1 < n).then_some(i + 1)).collect();
        let mut queue = BinaryHeap::new();
        let push = |queue: &mut BinaryHeap<Merge>, pos: usize, left: u32, right: u32| {
            if let Some(&(rank, new_id)) = self.merges.get(&(left, right)) {
                queue.push(Merge { pos, rank, new_id });
            }
        };
        for i in 0..n.saturating_sub(1) {
            push(&mut queue, i, ids[i], ids[i + 1]);
        }
        while let Some(top) = queue.pop() {
            let Some(right) = next[top.pos].filter(|_| alive[top.pos]) else {
                continue;
            };
            // Skip entries made stale by an earlier merge.
            match self.merges.get(&(ids[top.pos], ids[right])) {
                Some(&(_, new_id)) if new_id == top.new_id => {}
                _ => continue,
            }
            ids[top.pos] = top.new_id;
            alive[right] = false;
            next[top.pos] = next[right];
            if let Some(after) = next[right] {
                prev[after] = Some(top.pos);
            }
            if let Some(before) = prev[top.pos] {
                push(&mut queue, before, ids[before], ids[top.pos]);
            }
            if let Some(after) = next[top.pos] {
                push(&mut queue, top.pos, ids[top.pos], ids[after]);
            }
        }
        ids.into_iter()
            .zip(alive)
            .filter(|&(_, a)| a)
            .map(|(id, _)| id)
            .collect()
    }
}
