"""Tokenizer fixtures: small tokenizers laid out as the hub ships them, and transformers' input_ids.

    tools/.venv/bin/python tools/make_fixtures.py --only tokenizer

writes tests/fixtures/tokenizers/<name>/ (and nothing else):

- siglip/: a SentencePiece unigram `spiece.model` configured like SigLIP v1's (T5's c4_en vocabulary:
  nmt_nfkc normalisation, dummy prefix, extra whitespace removed, <pad>=0 </s>=1 <unk>=2, no byte
  fallback), saved by `SiglipTokenizer.save_pretrained` with `model_input_names=["input_ids"]` as
  transformers' convert_siglip_to_hf.py saved google/siglip-*, and a config.json (model_type siglip).
- siglip-bytes/: a unigram model with byte fallback (<0x00>..<0xFF> pieces) and the identity normaliser
  (no character map), for the code paths SigLIP's English model does not take.
- siglip2/: a Gemma-style tokenizer.json (SentencePiece BPE with byte fallback, converted by
  transformers' GemmaConverter), saved as convert_siglip2_to_hf.py saved google/siglip2-*
  (add_bos_token=False, add_eos_token=True, padding_side="right"), and a config.json (model_type siglip2).

Each folder gets reference.json: for every string in STRINGS, the input_ids transformers returns when
the folder is loaded with AutoTokenizer and the processor's standard call is made
(padding="max_length", truncation=True), at the checkpoint's max_length and at 16 (so400m-224's),
and unpadded; and for 300 seeded random strings (`random`), the unpadded input_ids.
"""

import inspect
import json
import random
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_NAME = "corpus.txt"
OUT = ROOT / "tests" / "fixtures" / "tokenizers"

# Labels a user might type: every case the held-out checks name, and the awkward ones around them.
STRINGS = [
    "a photo of a cat",
    "A Photo Of A CAT",
    "",
    " ",
    "   ",
    "\t\n",
    "   leading and trailing   ",
    "repeated    spaces   between  words",
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cform feed",
    "café crème brûlée",
    "cafe\u0301 cre\u0300me bru\u0302le\u0301e",
    "naïve über straße",
    "niño año señor",
    "Ärger Öl Übermut ÀÉÎÕÜ",
    "Ångström ÅNGSTRÖM",
    "東京タワーの写真",
    "中文字符测试 一只猫",
    "한국어 텍스트",
    "ｶﾀｶﾅ half-width katakana",
    "emoji 🐱🐶 and 👍🏽 and 👨‍👩‍👧",
    "punctuation!!! \"quoted\" 'single' (parens) [brackets] {braces}",
    "a-b_c.d,e;f:g?h!i@j#k$l%m^n&o*p+q=r~s`t|u\\v/w<x>y",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "unicode punctuation: « guillemets » — em dash … ellipsis ¿qué? ¡sí! “curly” ‘quotes’",
    "digits 0123456789 and 3.14159 and 1,000,000 and 2024-01-31",
    "▁",
    "▁ itself and ▁▁ double and ▁word",
    "</s>",
    "a photo </s> of a cat",
    "a photo of a cat</s>",
    "</s></s>",
    "<unk> <pad> <s> <eos> <bos> <mask>",
    "x<unk>y",
    "</S> uppercase eos",
    "<start_of_turn>user<end_of_turn>",
    "ＦＵＬＬＷＩＤＴＨ ｆｕｌｌｗｉｄｔｈ １２３ ！？",
    "ligatures ﬁ ﬂ and ½ ² ℃ ㎏ Ⅻ ⑤",
    "Σίσυφος ΟΔΟΣ ὁδός",
    "İstanbul ǅ ß ẞ",
    "zero\u200bwidth\u00a0nbsp\u3000ideographic\u2003em space",
    "control \x07 bell \x1f unit sep \x1c file sep",
    "\ufeffbyte order mark",
    "Привет мир",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "a photo of a <table> and\n\nparagraphs",
    "a photo of " + "a very long label that keeps going " * 12,
    "a " * 70,
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
]

# Seeded random labels over an awkward alphabet (accents precomposed and combining, CJK, emoji,
# full-width forms, sigma, dotted I, digit runs whose splits tie): compared unpadded.
RANDOM_ALPHABET = list("abcdeéèêëñüöäßçåøæœ東京写真猫中文한국어🐱👍 \t\n.,!?-'\"ＡＢＣ１２３ﬁ½²ΣσςİıǅⅫ①<>/▁") + [
    "e\u0301", "a\u0308", "\u200b", "\u00a0", "</s>", "<unk>", "<table>", "11", "111", "1",
]


def random_strings(count: int = 300) -> list:
    rng = random.Random(20261202)
    return ["".join(rng.choice(RANDOM_ALPHABET) for _ in range(rng.randint(1, 24))) for _ in range(count)]


# Text the SentencePiece models learn from: English prose from the standard library's docstrings,
# and a few lines in other scripts so that some accented and CJK pieces exist and others stay unknown.
EXTRA_CORPUS = [
    "a photo of a cat", "a photo of a dog", "a picture of two cats on a sofa", "this is a photo of a car",
    "café crème brûlée naïve über straße niño año señor", "Ärger Öl Übermut à la carte", "déjà vu façade",
    "Ångström résumé coöperate", "東京 写真 猫 犬 中文", "日本語のテキスト", "Привет мир", "Σίσυφος",
    "the quick brown fox jumps over the lazy dog", "THE QUICK BROWN FOX", "1 2 3 4 5 6 7 8 9 10 100 1000",
    "a photo of a <table>", "<start_of_turn>user\nhello<end_of_turn>\n\nnext paragraph", "tab\tseparated",
]


def corpus_lines() -> list:
    """Deterministic training text (same Python, same lines)."""
    import argparse
    import collections
    import csv
    import email
    import functools
    import itertools
    import json as json_module
    import logging
    import pathlib
    import random
    import re
    import string
    import textwrap

    lines = []
    for module in [argparse, collections, csv, email, functools, itertools, json_module, logging, pathlib,
                   random, re, string, textwrap]:
        for _, member in sorted(inspect.getmembers(module), key=lambda m: m[0]):
            doc = inspect.getdoc(member)
            if doc:
                lines.extend(line.strip() for line in doc.splitlines() if line.strip())
    return lines + EXTRA_CORPUS * 20


def train_unigram(directory: Path, byte_fallback: bool) -> Path:
    """A SentencePiece unigram model with the trainer and normaliser settings of T5's / SigLIP's."""
    import sentencepiece as spm

    corpus = directory / CORPUS_NAME
    corpus.write_text("\n".join(corpus_lines()), encoding="utf-8")
    prefix = directory / "spiece"
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(prefix), model_type="unigram", vocab_size=1500 if byte_fallback else 1200,
        character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>",
        unk_piece="<unk>", normalization_rule_name="identity" if byte_fallback else "nmt_nfkc", add_dummy_prefix=True,
        remove_extra_whitespaces=True, byte_fallback=byte_fallback, num_threads=1, seed_sentencepiece_size=100000,
        minloglevel=2,
    )
    return without_paths(prefix.with_suffix(".model"))


def without_paths(model: Path) -> Path:
    """Drops the scratch paths the trainer records, so that reruns write identical files."""
    from transformers.convert_slow_tokenizer import import_protobuf

    proto = import_protobuf().ModelProto()
    proto.ParseFromString(model.read_bytes())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.input.append(CORPUS_NAME)
    proto.trainer_spec.model_prefix = model.stem
    model.write_bytes(proto.SerializeToString())
    return model


def train_gemma_bpe(directory: Path) -> Path:
    """A SentencePiece BPE model with Gemma's settings (identity normalisation, byte fallback, split digits)."""
    import sentencepiece as spm

    corpus = directory / CORPUS_NAME
    corpus.write_text("\n".join(corpus_lines()), encoding="utf-8")
    prefix = directory / "tokenizer"
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(prefix), model_type="bpe", vocab_size=1400, character_coverage=1.0,
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>",
        unk_piece="<unk>", user_defined_symbols=["<mask>", "<start_of_turn>", "<end_of_turn>", "\n", "\n\n", "\t",
                                                 "▁▁", "▁▁▁", "<table>", "<h1>"],
        normalization_rule_name="identity", add_dummy_prefix=False, remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True, split_digits=True, byte_fallback=True, split_by_unicode_script=True,
        num_threads=1, minloglevel=2,
    )
    return without_paths(prefix.with_suffix(".model"))


def write_siglip(name: str, byte_fallback: bool) -> None:
    from transformers import SiglipConfig, SiglipTokenizer

    directory = OUT / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        model = train_unigram(Path(scratch), byte_fallback)
        tokenizer = SiglipTokenizer(vocab_file=str(model), model_input_names=["input_ids"])
        tokenizer.save_pretrained(directory)
    write_hub_siglip_configs(directory)
    SiglipConfig(text_config={"vocab_size": tokenizer.vocab_size}).to_json_file(directory / "config.json")
    write_reference(directory)


def write_siglip2() -> None:
    from transformers import GemmaTokenizer, Siglip2Config
    
    directory = OUT / "siglip2"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as scratch:
        model = train_gemma_bpe(Path(scratch))
        # transformers 5's own path from a SentencePiece BPE model to a tokenizers backend (its GemmaConverter
        # cannot run outside a slow tokenizer any more).
        native = GemmaTokenizer.convert_to_native_format(vocab_file=str(model))
        tokenizer = GemmaTokenizer(**native, add_bos_token=False, add_eos_token=True, padding_side="right",
                                   model_input_names=["input_ids"])
        tokenizer.save_pretrained(directory)
    write_hub_siglip2_configs(directory)
    Siglip2Config(text_config={"vocab_size": tokenizer.vocab_size}).to_json_file(directory / "config.json")
    write_reference(directory)


def write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def added_token(content: str, strip: bool, special: bool = True, normalized: bool = False) -> dict:
    return {"content": content, "lstrip": strip, "normalized": normalized, "rstrip": strip, "single_word": False,
            "special": special}


def write_hub_siglip_configs(directory: Path) -> None:
    """tokenizer_config.json and special_tokens_map.json as google/siglip-* ship them (written by transformers
    4.37's save_pretrained: SiglipTokenizer's special tokens strip whitespace on both sides)."""
    write_json(directory / "tokenizer_config.json", {
        "added_tokens_decoder": {"1": added_token("</s>", True), "2": added_token("<unk>", True)},
        "additional_special_tokens": [],
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": "</s>",
        "model_input_names": ["input_ids"],
        "model_max_length": 64,
        "pad_token": "</s>",
        "processor_class": "SiglipProcessor",
        "sp_model_kwargs": {},
        "tokenizer_class": "SiglipTokenizer",
        "unk_token": "<unk>",
    })
    strip = {key: value for key, value in added_token("", True).items() if key != "special"}
    write_json(directory / "special_tokens_map.json", {
        "eos_token": {**strip, "content": "</s>"},
        "pad_token": {**strip, "content": "</s>"},
        "unk_token": {**strip, "content": "<unk>"},
    })


def write_hub_siglip2_configs(directory: Path) -> None:
    """tokenizer_config.json and special_tokens_map.json as google/siglip2-* ship them (Gemma's tokenizer saved by
    transformers 4.49 with add_bos_token=False, add_eos_token=True, padding_side="right")."""
    backend = json.loads((directory / "tokenizer.json").read_text(encoding="utf-8"))
    decoder = {str(token["id"]): {key: token[key] for key in ("content", "lstrip", "normalized", "rstrip",
                                                               "single_word", "special")}
               for token in backend["added_tokens"]}
    write_json(directory / "tokenizer_config.json", {
        "add_bos_token": False,
        "add_eos_token": True,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"],
        "bos_token": "<bos>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "<eos>",
        "extra_special_tokens": {},
        "mask_token": "<mask>",
        "model_input_names": ["input_ids"],
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": "<pad>",
        "padding_side": "right",
        "processor_class": "Siglip2Processor",
        "sp_model_kwargs": {},
        "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    })
    plain = {key: value for key, value in added_token("", False).items() if key != "special"}
    write_json(directory / "special_tokens_map.json", {
        "additional_special_tokens": ["<start_of_turn>", "<end_of_turn>"],
        **{name: {**plain, "content": content} for name, content in (
            ("bos_token", "<bos>"), ("eos_token", "<eos>"), ("mask_token", "<mask>"), ("pad_token", "<pad>"),
            ("unk_token", "<unk>"))},
    })


def compact_json(value: dict) -> str:
    """JSON with one line per case, so the file stays small and diffs stay readable."""
    lines = []
    for key, item in value.items():
        if isinstance(item, list):
            rows = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in item)
            lines.append(f"{json.dumps(key)}: [\n{rows}\n]")
        else:
            lines.append(f"{json.dumps(key)}: {json.dumps(item, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write_reference(directory: Path) -> None:
    """transformers' input_ids for every string: AutoTokenizer on the folder, the processor's standard call."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory)
    max_length = tokenizer.model_max_length if tokenizer.model_max_length < 10**6 else 64
    cases = []
    for text in STRINGS:
        ids = tokenizer(text, padding="max_length", truncation=True, max_length=max_length)["input_ids"]
        ids16 = tokenizer(text, padding="max_length", truncation=True, max_length=16)["input_ids"]
        unpadded = tokenizer(text)["input_ids"]
        assert len(ids) == max_length and len(ids16) == 16, text
        cases.append({"text": text, "input_ids": ids, "input_ids_16": ids16, "unpadded": unpadded})
    random_cases = [{"text": text, "unpadded": tokenizer(text)["input_ids"]} for text in random_strings()]
    reference = {
        "tokenizer_class": type(tokenizer).__name__,
        "max_length": max_length,
        "pad_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "unk_token_id": tokenizer.unk_token_id,
        "cases": cases,
        "random": random_cases,
    }
    (directory / "reference.json").write_text(compact_json(reference), encoding="utf-8")
    print(f"wrote {directory} ({type(tokenizer).__name__}, max_length {max_length}, {len(cases)} strings)")


def make_tokenizers() -> None:
    write_siglip("siglip", byte_fallback=False)
    write_siglip("siglip-bytes", byte_fallback=True)
    write_siglip2()
