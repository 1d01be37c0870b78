//! A SentencePiece unigram model (`spiece.model`) encoding exactly as the `sentencepiece` library
//! does: the normaliser compiled into the model (nmt_nfkc's character map, whitespace handling,
//! the dummy prefix), Viterbi over the pieces in f32 with the library's tie-breaking, runs of
//! unknown characters merged into one `<unk>`, and byte fallback.
//!
//! References (sentencepiece v0.2.0, the library transformers' `SiglipTokenizer` calls):
//! <https://github.com/google/sentencepiece/blob/v0.2.0/src/sentencepiece_model.proto>,
//! <https://github.com/google/sentencepiece/blob/v0.2.0/src/normalizer.cc>,
//! <https://github.com/google/sentencepiece/blob/v0.2.0/src/unigram_model.cc>,
//! <https://github.com/google/sentencepiece/blob/v0.2.0/src/sentencepiece_processor.cc>.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// What the library prints for a space inside pieces (U+2581).
pub const SPACE: char = '\u{2581}';
/// `kUnkPenalty` in unigram_model.cc: an unknown character scores this much below the worst piece.
const UNK_PENALTY: f32 = 10.0;

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Tokenizer(format!(
        "spiece.model: {what}; it is not a SentencePiece model file (use the repository's spiece.model)"
    ))
}

/// `ModelProto.SentencePiece.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_proto(value: u64) -> Result<Self> {
        Ok(match value {
            1 => PieceType::Normal,
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            other => return Err(bad(format!("piece type {other} is unknown"))),
        })
    }
}

/// One entry of the vocabulary.
#[derive(Debug, Clone)]
pub struct Piece {
    pub text: String,
    pub score: f32,
    pub kind: PieceType,
}

/// One piece of an encoding: its id and the text sentencepiece returns for it (`out_type=str`:
/// the piece, or the normalised surface for an unknown run).
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub id: u32,
    pub text: String,
}

/// A loaded `spiece.model`.
#[derive(Debug)]
pub struct SentencePiece {
    pieces: Vec<Piece>,
    /// NORMAL, USER_DEFINED and UNUSED pieces (what the library's `pieces_` holds) …
    matchable: HashMap<String, u32>,
    /// … and the rest (CONTROL, UNKNOWN, BYTE), its `reserved_id_map_`.
    reserved: HashMap<String, u32>,
    /// Length in bytes of the longest piece in `matchable`, to bound the lattice's look-ups.
    longest: usize,
    unk_id: u32,
    min_score: f32,
    max_score: f32,
    byte_fallback: bool,
    normalizer: Normalizer,
}

impl SentencePiece {
    /// Parses the bytes of `spiece.model` (a `ModelProto`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.is_empty() {
            return Err(bad("the file is empty"));
        }
        let mut pieces = Vec::new();
        let mut model_type = 1;
        let mut byte_fallback = false;
        let mut suffix = false;
        let mut spec = NormalizerSpec::default();
        for field in Fields::new(bytes) {
            match field? {
                (1, Value::Bytes(b)) => pieces.push(parse_piece(b)?),
                (2, Value::Bytes(b)) => {
                    for field in Fields::new(b) {
                        match field? {
                            (3, Value::Varint(v)) => model_type = v,
                            (24, Value::Varint(v)) => suffix = v != 0,
                            (35, Value::Varint(v)) => byte_fallback = v != 0,
                            _ => {}
                        }
                    }
                }
                (3, Value::Bytes(b)) => spec = NormalizerSpec::parse(b)?,
                _ => {}
            }
        }
        if model_type != 1 {
            return Err(Error::Tokenizer(format!(
                "spiece.model: model type {model_type} is not a unigram model (type 1); only SigLIP's unigram models are supported"
            )));
        }
        if suffix {
            return Err(Error::Tokenizer(
                "spiece.model: treat_whitespace_as_suffix is not supported".into(),
            ));
        }
        Self::new(pieces, byte_fallback, spec)
    }

    fn new(pieces: Vec<Piece>, byte_fallback: bool, spec: NormalizerSpec) -> Result<Self> {
        if pieces.is_empty() {
            return Err(bad("it holds no pieces"));
        }
        let mut matchable = HashMap::new();
        let mut reserved = HashMap::new();
        let mut unk_id = None;
        let mut user_defined = Vec::new();
        let (mut min_score, mut max_score) = (f32::MAX, f32::MIN);
        for (id, piece) in pieces.iter().enumerate() {
            let id = id as u32;
            if piece.text.is_empty() {
                return Err(bad(format!("piece {id} is empty")));
            }
            let map = match piece.kind {
                PieceType::Normal | PieceType::UserDefined | PieceType::Unused => &mut matchable,
                _ => &mut reserved,
            };
            if map.insert(piece.text.clone(), id).is_some() {
                return Err(bad(format!("piece {:?} is defined twice", piece.text)));
            }
            match piece.kind {
                PieceType::Unknown => unk_id = Some(id),
                PieceType::UserDefined => user_defined.push(piece.text.clone()),
                PieceType::Normal => {
                    min_score = min_score.min(piece.score);
                    max_score = max_score.max(piece.score);
                }
                PieceType::Byte if !byte_fallback => {
                    return Err(bad("byte pieces without byte_fallback"))
                }
                _ => {}
            }
        }
        let unk_id = unk_id.ok_or_else(|| bad("it has no <unk> piece"))?;
        if byte_fallback {
            for byte in 0..=255u8 {
                if !reserved.contains_key(&byte_piece(byte)) {
                    return Err(bad(format!("byte piece {} is missing", byte_piece(byte))));
                }
            }
        }
        let longest = matchable.keys().map(String::len).max().unwrap_or(0);
        let normalizer = Normalizer::new(spec, user_defined)?;
        Ok(Self {
            pieces,
            matchable,
            reserved,
            longest,
            unk_id,
            min_score,
            max_score,
            byte_fallback,
            normalizer,
        })
    }

    pub fn unk_id(&self) -> u32 {
        self.unk_id
    }

    pub fn len(&self) -> usize {
        self.pieces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }

    /// The piece with this id (`IdToPiece`).
    pub fn piece(&self, id: u32) -> Option<&str> {
        self.pieces.get(id as usize).map(|p| p.text.as_str())
    }

    /// `PieceToId`: any piece, else the unknown id.
    pub fn piece_to_id(&self, piece: &str) -> u32 {
        self.matchable
            .get(piece)
            .or_else(|| self.reserved.get(piece))
            .copied()
            .unwrap_or(self.unk_id)
    }

    /// `SentencePieceProcessor.encode(text, out_type=str)` with the pieces' ids.
    pub fn encode(&self, text: &str) -> Vec<Encoded> {
        let normalized = self.normalizer.normalize(text);
        let mut out = Vec::new();
        for (start, end, id) in self.viterbi(&normalized) {
            let surface = &normalized[start..end];
            if id == self.unk_id && self.byte_fallback {
                for byte in surface.bytes() {
                    let text = byte_piece(byte);
                    out.push(Encoded {
                        id: self.piece_to_id(&text),
                        text,
                    });
                }
            } else {
                let text = match self.pieces[id as usize].kind {
                    PieceType::Unknown => surface.to_owned(),
                    _ => self.pieces[id as usize].text.clone(),
                };
                out.push(Encoded { id, text });
            }
        }
        out
    }

    /// `(length in bytes, id)` of every matchable piece that starts `text`, shortest first (what
    /// the library's trie traversal finds).
    fn prefixes<'a>(&'a self, text: &'a str) -> impl Iterator<Item = (usize, u32)> + 'a {
        (1..=self.longest.min(text.len()))
            .filter(|&end| text.is_char_boundary(end))
            .filter_map(|end| self.matchable.get(&text[..end]).map(|&id| (end, id)))
    }

    /// The best segmentation (`EncodeOptimized`): `(start, end, id)` byte spans of `normalized`,
    /// consecutive unknown spans merged into one as the library does.
    fn viterbi(&self, normalized: &str) -> Vec<(usize, usize, u32)> {
        #[derive(Clone, Copy)]
        struct Best {
            id: u32,
            score: f32,
            starts_at: Option<usize>,
        }
        let size = normalized.len();
        let bytes = normalized.as_bytes();
        let unk_score = self.min_score - UNK_PENALTY;
        let empty = Best {
            id: 0,
            score: 0.0,
            starts_at: None,
        };
        let mut best = vec![empty; size + 1];
        let mut starts_at = 0;
        while starts_at < size {
            let till_here = best[starts_at].score;
            let char_len = utf8_len(bytes[starts_at]).min(size - starts_at);
            let mut has_single_node = false;
            // All in f32, as the library (0.2.x as pip ships it) computes: candidates are the
            // float sum of the score and the best score so far, compared in float.
            let offer = |end: usize, id: u32, candidate: f32, best: &mut [Best]| {
                let target = &mut best[end];
                if target.starts_at.is_none() || candidate > target.score {
                    *target = Best {
                        id,
                        score: candidate,
                        starts_at: Some(starts_at),
                    };
                }
            };
            for (length, id) in self.prefixes(&normalized[starts_at..]) {
                let piece = &self.pieces[id as usize];
                if piece.kind == PieceType::Unused {
                    continue;
                }
                let score = if piece.kind == PieceType::UserDefined {
                    length as f32 * self.max_score - 0.1
                } else {
                    piece.score
                };
                offer(starts_at + length, id, score + till_here, &mut best);
                if length == char_len {
                    has_single_node = true;
                }
            }
            if !has_single_node {
                offer(
                    starts_at + char_len,
                    self.unk_id,
                    unk_score + till_here,
                    &mut best,
                );
            }
            starts_at += char_len;
        }
        let mut spans = Vec::new();
        let mut end = size;
        while end > 0 {
            let node = best[end];
            let start = node.starts_at.unwrap_or(0);
            spans.push((start, end, node.id));
            end = start;
        }
        spans.reverse();
        let mut merged: Vec<(usize, usize, u32)> = Vec::with_capacity(spans.len());
        for span in spans {
            match merged.last_mut() {
                Some(last) if last.2 == self.unk_id && span.2 == self.unk_id => last.1 = span.1,
                _ => merged.push(span),
            }
        }
        merged
    }
}

/// `<0xAB>`, the name of a byte piece.
pub fn byte_piece(byte: u8) -> String {
    format!("<0x{byte:02X}>")
}

/// Length of the UTF-8 sequence a lead byte starts (1 for a stray continuation byte, as the
/// library's `OneCharLen`).
fn utf8_len(lead: u8) -> usize {
    const LENGTHS: [usize; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    LENGTHS[(lead >> 4) as usize]
}

fn parse_piece(bytes: &[u8]) -> Result<Piece> {
    let mut text = None;
    let mut score = 0.0;
    let mut kind = PieceType::Normal;
    for field in Fields::new(bytes) {
        match field? {
            (1, Value::Bytes(b)) => {
                text = Some(
                    String::from_utf8(b.to_vec()).map_err(|_| bad("a piece is not valid UTF-8"))?,
                )
            }
            (2, Value::Fixed32(bits)) => score = f32::from_bits(bits),
            (3, Value::Varint(v)) => kind = PieceType::from_proto(v)?,
            _ => {}
        }
    }
    let text = text.ok_or_else(|| bad("a piece has no text"))?;
    Ok(Piece { text, score, kind })
}

/// `NormalizerSpec`: the rule name is not needed, its compiled form is in the character map.
#[derive(Debug, Clone)]
struct NormalizerSpec {
    charsmap: Vec<u8>,
    add_dummy_prefix: bool,
    remove_extra_whitespaces: bool,
    escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    /// The proto's defaults.
    fn default() -> Self {
        Self {
            charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

impl NormalizerSpec {
    fn parse(bytes: &[u8]) -> Result<Self> {
        let mut spec = Self::default();
        for field in Fields::new(bytes) {
            match field? {
                (2, Value::Bytes(b)) => spec.charsmap = b.to_vec(),
                (3, Value::Varint(v)) => spec.add_dummy_prefix = v != 0,
                (4, Value::Varint(v)) => spec.remove_extra_whitespaces = v != 0,
                (5, Value::Varint(v)) => spec.escape_whitespaces = v != 0,
                _ => {}
            }
        }
        Ok(spec)
    }
}

/// The library's `Normalizer`: longest-prefix rewriting through the compiled character map (a
/// darts-clone double array whose values index NUL-terminated replacement strings), user-defined
/// pieces passed through untouched, whitespace trimmed / collapsed / escaped, the dummy prefix.
#[derive(Debug)]
struct Normalizer {
    spec: NormalizerSpec,
    /// Double-array units.
    units: Vec<u32>,
    /// The replacement strings.
    replacements: Vec<u8>,
    user_defined: Vec<String>,
}

impl Normalizer {
    fn new(spec: NormalizerSpec, user_defined: Vec<String>) -> Result<Self> {
        let (units, replacements) = if spec.charsmap.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            let map = &spec.charsmap;
            let size = map
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                .ok_or_else(|| bad("the normaliser's character map is truncated"))?;
            if size % 4 != 0 || 4 + size > map.len() {
                return Err(bad("the normaliser's character map is damaged"));
            }
            let units = map[4..4 + size]
                .chunks_exact(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (units, map[4 + size..].to_vec())
        };
        Ok(Self {
            spec,
            units,
            replacements,
            user_defined,
        })
    }

    /// `NormalizePrefix`: the replacement for the longest rule matching the start of `input`, and
    /// how many bytes it consumes.
    fn normalize_prefix<'a>(&'a self, input: &'a str) -> (&'a str, usize) {
        if let Some(symbol) = self
            .user_defined
            .iter()
            .filter(|s| input.starts_with(s.as_str()))
            .max_by_key(|s| s.len())
        {
            return (&input[..symbol.len()], symbol.len());
        }
        if let Some((length, value)) = self.longest_rule(input.as_bytes()) {
            let tail = &self.replacements[value..];
            let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
            // A rule that would cut a character in two, or a replacement that is not UTF-8,
            // means a damaged map: keep the character as it is instead.
            if input.is_char_boundary(length) {
                if let Ok(replacement) = std::str::from_utf8(&tail[..end]) {
                    return (replacement, length);
                }
            }
        }
        let length = input.chars().next().map_or(0, char::len_utf8);
        (&input[..length], length)
    }

    /// darts-clone's `commonPrefixSearch`, keeping the longest hit: `(length, value)`.
    fn longest_rule(&self, key: &[u8]) -> Option<(usize, usize)> {
        let unit = |pos: usize| self.units.get(pos).copied();
        let offset = |u: u32| ((u >> 10) << ((u & (1 << 9)) >> 6)) as usize;
        let has_leaf = |u: u32| (u >> 8) & 1 == 1;
        let label = |u: u32| u & ((1 << 31) | 0xFF);
        let value = |u: u32| (u & ((1 << 31) - 1)) as usize;
        let mut node = offset(unit(0)?);
        let mut found = None;
        for (i, &byte) in key.iter().enumerate() {
            node ^= byte as usize;
            let u = unit(node)?;
            if label(u) != byte as u32 {
                break;
            }
            node ^= offset(u);
            if has_leaf(u) {
                found = Some((i + 1, value(unit(node)?)));
            }
        }
        found.filter(|&(_, v)| v < self.replacements.len())
    }

    /// `Normalizer::Normalize` (without the alignment it also computes).
    fn normalize(&self, input: &str) -> String {
        let spec = &self.spec;
        let mut input = input;
        if spec.remove_extra_whitespaces {
            loop {
                let (replacement, consumed) = self.normalize_prefix(input);
                if consumed == 0 || replacement != " " {
                    break;
                }
                input = &input[consumed..];
            }
        }
        let mut out = String::with_capacity(input.len() * 3);
        if input.is_empty() {
            return out;
        }
        if spec.add_dummy_prefix {
            out.push(if spec.escape_whitespaces { SPACE } else { ' ' });
        }
        let mut is_prev_space = spec.remove_extra_whitespaces;
        while !input.is_empty() {
            let (mut replacement, consumed) = self.normalize_prefix(input);
            if is_prev_space {
                replacement = replacement.trim_start_matches(' ');
            }
            if !replacement.is_empty() {
                for c in replacement.chars() {
                    out.push(if spec.escape_whitespaces && c == ' ' {
                        SPACE
                    } else {
                        c
                    });
                }
                is_prev_space = replacement.ends_with(' ');
            }
            input = &input[consumed..];
            if !spec.remove_extra_whitespaces {
                is_prev_space = false;
            }
        }
        if spec.remove_extra_whitespaces {
            let space = if spec.escape_whitespaces { SPACE } else { ' ' };
            while out.ends_with(space) {
                out.pop();
            }
        }
        out
    }
}

/// A protobuf field value (wire types 0, 1, 2, 5).
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// Iterates over the fields of one protobuf message.
struct Fields<'a> {
    bytes: &'a [u8],
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            failed: false,
        }
    }

    fn varint(&mut self) -> Result<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .bytes
                .split_first()
                .ok_or_else(|| bad("the file ends inside a number"))?;
            self.bytes = rest;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(bad("a number is too long"))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(bad("the file is truncated"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn field(&mut self) -> Result<(u64, Value<'a>)> {
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed64
            }
            2 => {
                let n =
                    usize::try_from(self.varint()?).map_err(|_| bad("a length is too large"))?;
                Value::Bytes(self.take(n)?)
            }
            5 => {
                let b = self.take(4)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            other => return Err(bad(format!("wire type {other} is not valid"))),
        };
        Ok((key >> 3, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Value<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.bytes.is_empty() {
            return None;
        }
        let field = self.field();
        self.failed = field.is_err();
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_lengths() {
        assert_eq!(utf8_len(b'a'), 1);
        assert_eq!(utf8_len("é".as_bytes()[0]), 2);
        assert_eq!(utf8_len("猫".as_bytes()[0]), 3);
        assert_eq!(utf8_len("🐱".as_bytes()[0]), 4);
    }

    #[test]
    fn byte_piece_names() {
        assert_eq!(byte_piece(0x0A), "<0x0A>");
        assert_eq!(byte_piece(0xE4), "<0xE4>");
    }
}
