#!/usr/bin/env python3
"""Trains the page's default demo: a tiny SigLIP (transformers' SiglipModel, both towers) on generated
pictures of shapes and simple objects and their generated captions, with SigLIP's sigmoid loss.

    tools/.venv/bin/python tools/train_demo.py                      # www/models/shapes + samples + fixture
    tools/.venv/bin/python tools/train_demo.py --steps 200 --out /tmp/shapes --no-extras   # a short trial
    tools/.venv/bin/python tools/train_demo.py --eval-only          # re-measure the committed checkpoint

Everything is deterministic from --seed: the scenes, the captions, the tokenizer, the initial weights
and the batches (torch on CPU with a fixed thread count). CI never runs this script.

Data. A scene is 1-3 coloured shapes (6 colours x 5 shapes, big/small, placed without overlap), 2-3
identical shapes ("two blue squares"), or 1-3 simple objects (house, tree, sun, car, flower), on a
plain or gently graded background. Scenes are drawn at 384 x 384 and turned into pixel_values exactly as
SiglipImageProcessorPil does (bicubic resize to 192 x 192, rescale, normalise with mean = std = 0.5), so
the sample PNGs (384 x 384) go through the page's own preprocessing. Captions come from each scene's
description in several phrasings; every phrasing is true of its scene, and the first-named object is
always the largest one.

Batches. Each batch holds one shape scene per colour x shape pair as its largest object (30) and one
scene per object kind (5): every image meets the captions of its hard negatives (same colour, other
shape; same shape, other colour), and no two captions in a batch name the same main subject, so the
identity labels that `return_loss=True` uses are not contradicted by a duplicate.

Outputs (--out, default www/models/shapes): config.json, model.safetensors (f16), preprocessor_config.json,
spiece.model, tokenizer_config.json, special_tokens_map.json, labels.json, loss.png, README.md (the
model card, with the figures measured below); www/samples/shapes-*.png; and
tests/fixtures/shapes-reference.safetensors, transformers' outputs (attn_implementation="eager") on the
f16-rounded weights for shapes-1.png and LABELS_REFERENCE:

    pixel_values               (1, 3, 192, 192)  SiglipImageProcessorPil's output for www/samples/shapes-1.png
    vision.last_hidden_state   (1, 144, d)       vision tower after post_layernorm
    vision.pooler_output       (1, d)            the pooling head's output (image embedding, unnormalised)
    vision.head_attention      (1, heads, 144)   the probe's attention weights (as make_fixtures.reference())
    vision.hidden_states.{i}   (1, 144, d)       i = 0 (embeddings) .. layers
    vision.attentions.{i}      (1, heads, 144, 144)  i = 0 and the last layer
    input_ids                  (k, 16) int64     AutoTokenizer(labels, padding="max_length", max_length=16)
    text.last_hidden_state     (k, 16, d)        text tower after final_layer_norm
    text.pooler_output         (k, d)            text head on the last token (unnormalised text embedding)
    text.hidden_states.{i}     (k, 16, d)        i = 0 (embeddings) .. layers
    text.attentions.{i}        (k, heads, 16, 16)  every layer
    image_embeds               (1, d)            SiglipModel's, L2-normalised
    text_embeds                (k, d)            SiglipModel's, L2-normalised
    logits_per_image           (1, k)            image_embeds . text_embeds * exp(logit_scale) + logit_bias
    logit_scale, logit_bias    (1,)              the raw parameters
"""

import argparse
import json
import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

# Idle OpenMP threads sleep instead of spinning: on a machine shared with other work, spinning threads
# made each step ten times slower. Must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
DRAW = 384  # scenes are drawn at this size (the sample PNGs' size) ...
SIZE = 192  # ... and the model sees them at this one, after the processor's bicubic resize
PATCH = 16
MAX_LENGTH = 16

COLOURS = {
    "red": (214, 39, 40),
    "orange": (247, 135, 20),
    "yellow": (240, 206, 30),
    "green": (44, 160, 60),
    "blue": (38, 92, 222),
    "purple": (140, 60, 190),
}
SHAPES = ["circle", "square", "triangle", "star", "heart"]
OBJECTS = ["house", "tree", "sun", "car", "flower"]
BACKGROUNDS = [(255, 255, 255), (232, 232, 232), (246, 240, 226), (60, 60, 64), (208, 226, 240)]
NUMBERS = {2: "two", 3: "three"}
BATCH = len(COLOURS) * len(SHAPES) + len(OBJECTS)  # see batch()
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars", "heart": "hearts"}
# The zero-shot prompt (one label per colour x shape) used for the accuracy figure.
# The zero-shot prompts: the first gives the accuracy figure, the others are reported beside it.
PROMPTS = {
    "a {colour} {shape}": lambda c, s: a(f"{c} {s}"),  # "a red circle", "an orange star"
    "a photo of a {colour} {shape}": lambda c, s: "a photo of " + a(f"{c} {s}"),
    "a big {colour} {shape}": lambda c, s: a(f"big {c} {s}"),
}
TEMPLATE = next(iter(PROMPTS))
LABELS_REFERENCE = ["a red circle", "a green triangle", "a blue square", "a house next to a tree", "a yellow sun"]


# ----------------------------------------------------------------------------------------------- scenes


def a(phrase: str) -> str:
    """The phrase with its indefinite article ("a red circle", "an orange star")."""
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


@dataclass
class Item:
    kind: str  # a shape or an object
    colour: str | None  # None for objects with fixed colours (tree, sun)
    cx: float
    cy: float
    r: float  # radius of the bounding circle, in DRAW pixels

    def words(self, size_word: str = "") -> str:
        return a(" ".join(w for w in (size_word, self.colour, self.kind) if w))


@dataclass
class Scene:
    background: tuple
    top: tuple  # the gradient's top colour (== background when plain)
    items: list = field(default_factory=list)  # largest first
    kind: str = "shapes"  # shapes | count | objects

    @property
    def main(self) -> Item:
        return self.items[0]


def place(rng: np.random.Generator, radii: list) -> list | None:
    """Centres for circles of these radii inside the canvas, apart from each other (None: no room)."""
    centres = []
    for r in radii:
        for _ in range(200):
            c = rng.uniform(r + 6, DRAW - r - 6, size=2)
            if all(math.dist(c, d) > r + s + 10 for d, s in zip(centres, radii)):
                centres.append(c)
                break
        else:
            return None
    return centres


def background(rng: np.random.Generator) -> tuple:
    base = BACKGROUNDS[rng.integers(len(BACKGROUNDS))]
    if rng.random() < 0.5:
        return base, base
    shade = int(rng.integers(-24, 25))
    return base, tuple(int(np.clip(v + shade, 0, 255)) for v in base)


def shape_scene(rng: np.random.Generator, colour: str, shape: str) -> Scene:
    """1-3 shapes whose largest is a `colour` `shape`, or 2-3 of that same shape and colour."""
    bg, top = background(rng)
    roll = rng.random()
    if roll < 0.2:  # a count scene: identical shapes of similar size
        n = int(rng.integers(2, 4))
        radii = list(rng.uniform(28, 52 if n == 3 else 62, size=n))
        radii.sort(reverse=True)
        centres = place(rng, radii)
        if centres is not None:
            items = [Item(shape, colour, *c, r) for c, r in zip(centres, radii)]
            return Scene(bg, top, items, "count")
    n = 1 if roll < 0.5 else int(rng.integers(2, 4))
    radii = [float(rng.uniform(52, 110)) if n == 1 else float(rng.uniform(72, 104))]
    others = []
    for _ in range(n - 1):
        while True:
            other = (COLOURS_LIST[rng.integers(6)], SHAPES[rng.integers(5)])
            if other != (colour, shape) and other not in others:
                break
        others.append(other)
        radii.append(float(rng.uniform(28, 44)))
    centres = place(rng, radii)
    if centres is None:
        return shape_scene(rng, colour, shape)
    items = [Item(shape, colour, *centres[0], radii[0])]
    items += [Item(s, c, *centres[i + 1], radii[i + 1]) for i, (c, s) in enumerate(others)]
    return Scene(bg, top, items, "shapes")


def object_scene(rng: np.random.Generator, main: str) -> Scene:
    """`main` (largest) and up to two other objects of other kinds."""
    bg, top = background(rng)
    n = int(rng.choice([1, 2, 2, 3]))
    kinds = [main] + [str(k) for k in rng.permutation([o for o in OBJECTS if o != main])[: n - 1]]
    radii = [float(rng.uniform(70, 110)) if n > 1 else float(rng.uniform(80, 130))]
    radii += [float(rng.uniform(45, 64)) for _ in kinds[1:]]
    centres = place(rng, radii)
    if centres is None:
        return object_scene(rng, main)
    items = []
    for kind, c, r in zip(kinds, centres, radii):
        colour = None
        if kind in ("house", "car", "flower"):
            colour = COLOURS_LIST[rng.integers(6)]
        items.append(Item(kind, colour, *c, r))
    return Scene(bg, top, items, "objects")


COLOURS_LIST = list(COLOURS)


def polygon_shape(kind: str, cx: float, cy: float, r: float) -> list:
    if kind == "square":
        s = r * 0.78
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if kind == "triangle":
        return [(cx + r * math.cos(a), cy + 0.12 * r + r * math.sin(a)) for a in np.radians([-90, 30, 150])]
    if kind == "star":
        points = []
        for i in range(10):
            a = math.radians(-90 + 36 * i)
            rr = r if i % 2 == 0 else r * 0.45
            points.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return points
    if kind == "heart":
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        scale = r / 17.0
        return list(zip(cx + x * scale, cy + (y + 1.5) * scale))
    raise ValueError(kind)


def draw_item(draw: ImageDraw.ImageDraw, item: Item, fill=None) -> None:
    """Draws one item; `fill` (for the mask) replaces every colour."""

    def paint(rgb):
        return fill if fill is not None else rgb

    cx, cy, r = item.cx, item.cy, item.r
    colour = COLOURS[item.colour] if item.colour else None
    if item.kind == "circle":
        draw.ellipse([cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9], fill=paint(colour))
    elif item.kind in SHAPES:
        draw.polygon(polygon_shape(item.kind, cx, cy, r), fill=paint(colour))
    elif item.kind == "house":
        w = r * 0.7
        draw.rectangle([cx - w, cy - 0.1 * r, cx + w, cy + 0.75 * r], fill=paint(colour))
        draw.polygon([(cx - w * 1.2, cy - 0.1 * r), (cx, cy - 0.8 * r), (cx + w * 1.2, cy - 0.1 * r)],
                     fill=paint((120, 62, 40)))
        draw.rectangle([cx - 0.15 * r, cy + 0.3 * r, cx + 0.15 * r, cy + 0.75 * r], fill=paint((70, 45, 30)))
        draw.rectangle([cx + 0.3 * r, cy + 0.05 * r, cx + 0.55 * r, cy + 0.3 * r], fill=paint((235, 245, 255)))
    elif item.kind == "tree":
        draw.rectangle([cx - 0.13 * r, cy + 0.2 * r, cx + 0.13 * r, cy + 0.9 * r], fill=paint((110, 70, 35)))
        draw.ellipse([cx - 0.6 * r, cy - 0.9 * r, cx + 0.6 * r, cy + 0.35 * r], fill=paint((34, 125, 45)))
    elif item.kind == "sun":
        for a in np.radians(np.arange(0, 360, 30)):
            d = (math.cos(a), math.sin(a))
            draw.line([(cx + 0.55 * r * d[0], cy + 0.55 * r * d[1]), (cx + 0.92 * r * d[0], cy + 0.92 * r * d[1])],
                      fill=paint((250, 190, 20)), width=max(2, int(r * 0.09)))
        draw.ellipse([cx - 0.5 * r, cy - 0.5 * r, cx + 0.5 * r, cy + 0.5 * r], fill=paint((250, 200, 30)))
    elif item.kind == "car":
        draw.rectangle([cx - 0.9 * r, cy - 0.1 * r, cx + 0.9 * r, cy + 0.35 * r], fill=paint(colour))
        draw.polygon([(cx - 0.5 * r, cy - 0.1 * r), (cx - 0.3 * r, cy - 0.45 * r), (cx + 0.35 * r, cy - 0.45 * r),
                      (cx + 0.55 * r, cy - 0.1 * r)], fill=paint(colour))
        draw.polygon([(cx - 0.35 * r, cy - 0.12 * r), (cx - 0.22 * r, cy - 0.36 * r), (cx + 0.3 * r, cy - 0.36 * r),
                      (cx + 0.42 * r, cy - 0.12 * r)], fill=paint((210, 230, 245)))
        for wx in (-0.5, 0.5):
            draw.ellipse([cx + wx * r - 0.2 * r, cy + 0.2 * r, cx + wx * r + 0.2 * r, cy + 0.6 * r], fill=paint((30, 30, 30)))
    elif item.kind == "flower":
        draw.line([(cx, cy), (cx, cy + 0.95 * r)], fill=paint((40, 140, 50)), width=max(2, int(r * 0.08)))
        for a in np.radians(np.arange(0, 360, 60)):
            px, py = cx + 0.3 * r * math.cos(a), cy - 0.3 * r + 0.3 * r * math.sin(a)
            draw.ellipse([px - 0.24 * r, py - 0.24 * r, px + 0.24 * r, py + 0.24 * r], fill=paint(colour))
        draw.ellipse([cx - 0.16 * r, cy - 0.46 * r, cx + 0.16 * r, cy - 0.14 * r], fill=paint((250, 220, 60)))
    else:
        raise ValueError(item.kind)


def render(scene: Scene) -> tuple:
    """The scene at DRAW x DRAW (RGB) and its object mask (bool, DRAW x DRAW)."""
    ramp = np.linspace(0.0, 1.0, DRAW)[:, None, None]
    rows = np.array(scene.top, np.float64) * (1 - ramp) + np.array(scene.background, np.float64) * ramp
    image = Image.fromarray(np.repeat(rows.round().astype(np.uint8), DRAW, axis=1))
    mask = Image.new("L", (DRAW, DRAW), 0)
    draw, draw_mask = ImageDraw.Draw(image), ImageDraw.Draw(mask)
    for item in reversed(scene.items):
        draw_item(draw, item)
        draw_item(draw_mask, item, fill=255)
    return image, np.asarray(mask) > 0


def patch_mask(mask: np.ndarray) -> np.ndarray:
    """(grid * grid,) bool: the patches any object pixel falls in."""
    grid = SIZE // PATCH
    cell = DRAW // grid
    return mask.reshape(grid, cell, grid, cell).any(axis=(1, 3)).reshape(-1)


def pixel_values(images: list) -> torch.Tensor:
    """What SiglipImageProcessorPil (size 192, bicubic, rescale, mean = std = 0.5) gives for these images."""
    arrays = [np.asarray(im.resize((SIZE, SIZE), Image.Resampling.BICUBIC), np.float32) for im in images]
    x = np.stack(arrays).transpose(0, 3, 1, 2) * np.float32(1 / 255)
    return torch.from_numpy((x - 0.5) / 0.5)


# --------------------------------------------------------------------------------------------- captions


def relation(a: Item, b: Item) -> str:
    dx, dy = b.cx - a.cx, b.cy - a.cy
    if abs(dx) >= abs(dy):
        return "left of" if dx > 0 else "right of"
    return "above" if dy > 0 else "below"


def captions(scene: Scene) -> list:
    """Every phrasing that is true of the scene (the main object named first), without repeats."""
    return list(dict.fromkeys(phrasings(scene)))


def phrasings(scene: Scene) -> list:
    items = scene.items
    main = scene.main
    out = []
    if scene.kind == "count":
        n = NUMBERS[len(items)]
        noun = f"{main.colour} {PLURAL[main.kind]}"
        out += [f"{n} {noun}", f"a photo of {n} {noun}", f"{n} {noun} on a plain background", f"a picture of {n} {noun}"]
        return out
    out += [main.words(), f"a photo of {main.words()}", f"a picture of {main.words()}"]
    if scene.kind == "shapes":
        if len(items) == 1:
            size = "big" if main.r > 80 else ("small" if main.r < 64 else "")
            if size:
                out += [main.words(size), f"a photo of {main.words(size)}"]
            out += [f"{main.words()} on a plain background"]
            return out
        out += [main.words("big"), f"a photo of {main.words('big')}"]
        if len(items) == 2:
            other = items[1]
            out += [f"{main.words('big')} and {other.words('small')}", f"{main.words()} and {other.words()}",
                    f"a photo of {main.words()} and {other.words()}", f"{main.words()} {relation(main, other)} {other.words()}",
                    f"{main.words()} with {other.words('small')}"]
        else:
            a, b = items[1], items[2]
            out += [f"{main.words()}, {a.words()} and {b.words()}", f"{main.words('big')} and two small shapes",
                    f"{main.words()} with {a.words()} and {b.words()}"]
        return out
    # objects
    if main.colour:
        out += [f"a {main.kind}", f"a photo of a {main.kind}"]
    if len(items) == 2:
        other = items[1]
        near = "next to" if abs(other.cx - main.cx) >= abs(other.cy - main.cy) else relation(main, other)
        out += [f"{main.words()} and {other.words()}", f"{main.words()} {near} {other.words()}",
                f"a {main.kind} and a {other.kind}", f"a picture of a {main.kind} {near} a {other.kind}"]
    elif len(items) == 3:
        a, b = items[1], items[2]
        out += [f"a {main.kind}, a {a.kind} and a {b.kind}", f"{main.words()} with {a.words()} and {b.words()}",
                f"a picture of a {main.kind} with a {a.kind} and a {b.kind}"]
    return out


def batch(rng: np.random.Generator) -> list:
    """One scene per colour x shape as the main object, one per object kind, in a random order."""
    scenes = [shape_scene(rng, c, s) for c in COLOURS for s in SHAPES] + [object_scene(rng, o) for o in OBJECTS]
    return [scenes[i] for i in rng.permutation(len(scenes))]


def held_out(seed: int, n: int) -> list:
    """n shape scenes (random main colour and shape) from a seed the training never uses."""
    rng = np.random.default_rng([seed, 999_999])
    return [shape_scene(rng, COLOURS_LIST[rng.integers(6)], SHAPES[rng.integers(5)]) for _ in range(n)]


# -------------------------------------------------------------------------------------------- tokenizer


def train_tokenizer(seed: int, directory: Path, vocab_size: int):
    """A SentencePiece unigram model on the caption corpus, laid out like google/siglip's spiece.model
    (0 <pad>, 1 </s> = eos and SiglipTokenizer's pad, 2 <unk>, no bos), wrapped in SiglipTokenizer."""
    import sentencepiece as spm
    from transformers import SiglipTokenizer

    rng = np.random.default_rng([seed, 1])
    lines = [PROMPTS[TEMPLATE](c, s) for c in COLOURS for s in SHAPES] + LABELS_REFERENCE
    for _ in range(100):
        for scene in batch(rng):
            lines += [c.replace(",", "") for c in captions(scene)]
    # Each word once on its own line too: in a corpus where "▁red" is always followed by "▁", the
    # unigram trainer's seed (the branching substrings of a suffix tree) never holds "▁red" alone.
    words = sorted(set(" ".join(lines).split()))
    directory.mkdir(parents=True, exist_ok=True)
    prefix = directory / "spiece"
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines + words), model_prefix=str(prefix),
        model_type="unigram", vocab_size=vocab_size, hard_vocab_limit=False, character_coverage=1.0,
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        num_threads=1, minloglevel=2,
    )
    prefix.with_suffix(".vocab").unlink()
    tokenizer = SiglipTokenizer(vocab_file=str(prefix.with_suffix(".model")), model_max_length=MAX_LENGTH)
    tokenizer.save_pretrained(directory)
    for name in ("tokenizer.json", "added_tokens.json"):
        (directory / name).unlink(missing_ok=True)
    write_special_tokens_map(directory)
    return tokenizer, sorted(set(lines))


def write_special_tokens_map(directory: Path) -> None:
    """special_tokens_map.json as google/siglip-* repos have it (transformers 5 writes the same facts into
    tokenizer_config.json only; older readers look here)."""
    def token(content: str) -> dict:
        return dict(content=content, lstrip=True, normalized=False, rstrip=True, single_word=False)

    tokens = {"eos_token": token("</s>"), "pad_token": token("</s>"), "unk_token": token("<unk>")}
    (directory / "special_tokens_map.json").write_text(json.dumps(tokens, indent=2) + "\n")


# ------------------------------------------------------------------------------------------------ model


def make_model(vocab_size: int, args):
    from transformers import SiglipConfig, SiglipModel

    width = args.width
    text = dict(vocab_size=vocab_size, hidden_size=width, intermediate_size=4 * width,
                num_hidden_layers=args.text_layers, num_attention_heads=4, max_position_embeddings=MAX_LENGTH,
                pad_token_id=1, eos_token_id=1, bos_token_id=None, projection_size=width)
    vision = dict(hidden_size=width, intermediate_size=4 * width, num_hidden_layers=args.vision_layers,
                  num_attention_heads=4, image_size=SIZE, patch_size=PATCH)
    config = SiglipConfig(text_config=text, vision_config=vision)
    torch.manual_seed(args.seed)
    model = SiglipModel(config)
    # SigLIP starts the bias at -10, right for the paper's batches of thousands (one positive among them);
    # with BATCH pairs per image it would take thousands of steps to climb. Start at the prior log-odds.
    with torch.no_grad():
        model.logit_bias.fill_(-math.log(BATCH - 1))
        # Positions start as 2-D sine-cosine features (MAE's), not noise: the tower then knows from the
        # first step which patches are neighbours, which is what telling a square from a circle needs.
        embedding = model.vision_model.embeddings.position_embedding.weight
        embedding.copy_(sincos_2d(SIZE // PATCH, embedding.shape[1]))
    return model


def sincos_2d(grid: int, width: int) -> torch.Tensor:
    """(grid * grid, width): half the channels encode the row, half the column, as sin/cos pairs."""
    quarter = width // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter, dtype=torch.float64) / quarter)
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64),
                                indexing="ij")
    parts = []
    for coord in (rows.reshape(-1), cols.reshape(-1)):
        angles = coord[:, None] * omega[None, :]
        parts += [torch.sin(angles), torch.cos(angles)]
    return torch.cat(parts, dim=1).to(torch.float32)


def lr_at(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    t = (step - warmup) / max(1, steps - warmup)
    return peak * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


class Captioner:
    """Token ids for captions, cached (the caption set is small)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.cache = {}

    def __call__(self, texts: list) -> torch.Tensor:
        missing = [t for t in set(texts) if t not in self.cache]
        if missing:
            ids = self.tokenizer(missing, padding="max_length", max_length=MAX_LENGTH, truncation=True,
                                 return_tensors="pt")["input_ids"]
            self.cache.update(zip(missing, ids))
        return torch.stack([self.cache[t] for t in texts])


def batches(seed: int, steps: int):
    """(scenes, captions, pixel_values) per step, drawn in a background thread while torch trains
    (each step's batch depends only on (seed, step), so the order of work does not change the data)."""
    import queue
    import threading

    ready = queue.Queue(maxsize=3)

    def work():
        for step in range(steps):
            rng = np.random.default_rng([seed, 2, step])
            scenes = batch(rng)
            texts = [str(rng.choice(captions(s))) for s in scenes]
            ready.put((scenes, texts, pixel_values([render(s)[0] for s in scenes])))

    threading.Thread(target=work, daemon=True).start()
    for _ in range(steps):
        yield ready.get()


def train(model, captioner: Captioner, args) -> list:
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n and "probe" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "embedding" not in n and "probe" not in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                                   {"params": rest, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95))
    warmup = max(1, int(args.steps * 0.05))
    history = []
    start, cpu_start = time.perf_counter(), time.process_time()
    probe_scenes = held_out(args.seed + 1, 200)
    for step, (scenes, texts, pixels) in enumerate(batches(args.seed, args.steps)):
        model.train()
        ids = captioner(texts)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, warmup)
        loss = model(input_ids=ids, pixel_values=pixels, return_loss=True).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        history.append(loss.item())
        if (step + 1) % args.log_every == 0 or step == args.steps - 1:
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            recent = np.mean(history[-args.log_every:])
            print(f"step {step + 1:5d}/{args.steps}  loss {recent:.4f}  lr {optimizer.param_groups[0]['lr']:.2e}  "
                  f"{elapsed / (step + 1):.3f} s/step  {elapsed:.0f} s wall, {cpu:.0f} s cpu", flush=True)
        if args.eval_every and (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            f = evaluate(model, captioner, probe_scenes)
            print(f"    check on 200 other scenes: accuracy {f['accuracy']:.1%} (colour {f['colour_accuracy']:.1%}, "
                  f"shape {f['shape_accuracy']:.1%}), probe on objects {f['probe_mass']:.1%}", flush=True)
    return history


# --------------------------------------------------------------------------------------------- measures


def label_set() -> list:
    return [(c, s) for c in COLOURS for s in SHAPES]


@torch.no_grad()
def evaluate(model, captioner: Captioner, scenes: list, chunk: int = 100) -> dict:
    """Zero-shot accuracy for the main (largest) object's colour + shape over every colour x shape label
    (TEMPLATE; a few other templates reported beside it), a shape confusion matrix, and the share of the
    pooling probe's attention (mean over heads) on patches that hold object pixels."""
    model.eval()
    pairs = label_set()
    templates = list(PROMPTS)
    ids = captioner([PROMPTS[t](c, s) for t in templates for c, s in pairs])
    text_embeds = model.get_text_features(input_ids=ids)
    text_embeds = getattr(text_embeds, "pooler_output", text_embeds)
    text_embeds = (text_embeds / text_embeds.norm(dim=-1, keepdim=True)).reshape(len(templates), len(pairs), -1)
    correct = np.zeros(len(templates))
    colour_ok, shape_ok, mass = 0, 0, []
    confusion = np.zeros((len(SHAPES), len(SHAPES)), dtype=int)  # [true shape, predicted shape]
    for i in range(0, len(scenes), chunk):
        part = scenes[i:i + chunk]
        rendered = [render(s) for s in part]
        pixels = pixel_values([im for im, _ in rendered])
        vision = model.vision_model(pixel_values=pixels)
        image_embeds = vision.pooler_output / vision.pooler_output.norm(dim=-1, keepdim=True)
        best = torch.einsum("bd,tld->tbl", image_embeds, text_embeds).argmax(dim=-1)  # (templates, b)
        weights = probe_attention(model, vision.last_hidden_state).mean(dim=1)  # (b, n)
        for j, (scene, w, (_, m)) in enumerate(zip(part, weights, rendered)):
            truth = (scene.main.colour, scene.main.kind)
            correct += np.array([pairs[b] == truth for b in best[:, j].tolist()])
            colour, shape = pairs[int(best[0, j])]
            colour_ok += colour == truth[0]
            shape_ok += shape == truth[1]
            confusion[SHAPES.index(truth[1]), SHAPES.index(shape)] += 1
            mass.append(float(w[torch.from_numpy(patch_mask(m))].sum()))
    n = len(scenes)
    return dict(accuracy=float(correct[0]) / n, colour_accuracy=colour_ok / n, shape_accuracy=shape_ok / n,
                probe_mass=float(np.mean(mass)), scenes=n, template=TEMPLATE,
                other_templates={t: float(c) / n for t, c in zip(templates[1:], correct[1:])},
                shape_confusion=dict(shapes=SHAPES, rows_true_columns_predicted=confusion.tolist()))


def probe_attention(model, last_hidden_state: torch.Tensor) -> torch.Tensor:
    """(b, heads, n): the pooling head's probe attention, as tools/make_fixtures.py's reference() computes it."""
    head = model.vision_model.head
    probe = head.probe.repeat(last_hidden_state.shape[0], 1, 1)
    _, weights = head.attention(probe, last_hidden_state, last_hidden_state, need_weights=True,
                                average_attn_weights=False)
    return weights[:, :, 0, :]


def round_to_f16(model) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.float16).to(torch.float32))


# ---------------------------------------------------------------------------------------------- outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--out", type=Path, default=ROOT / "www" / "models" / "shapes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=4e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--vision-layers", type=int, default=4)
    parser.add_argument("--text-layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=256, help="asked of SentencePiece; the corpus gives fewer")
    parser.add_argument("--eval-scenes", type=int, default=1000)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--eval-every", type=int, default=0, help="check accuracy on 200 scenes every N steps")
    parser.add_argument("--no-extras", action="store_true", help="skip samples, labels, card and fixture")
    parser.add_argument("--finish-only", action="store_true",
                        help="no training: measure the checkpoint in --out, rewrite samples, labels, card, fixture")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    if not args.finish_only:
        train_and_save(args)
    finish(args)


def train_and_save(args) -> None:
    """Tokenizer, model, training; writes the f16 checkpoint, training.json and loss.png to --out."""
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    if args.out.exists():
        shutil.rmtree(args.out)
    t_start = time.perf_counter()
    tokenizer, corpus = train_tokenizer(args.seed, args.out, args.vocab)
    longest = max(len(tokenizer(c)["input_ids"]) for c in corpus)
    print(f"tokenizer: {tokenizer.vocab_size} pieces from {len(corpus)} distinct captions; "
          f"longest caption {longest} tokens with </s>")
    assert longest <= MAX_LENGTH, "a caption longer than the text tower's positions"
    captioner = Captioner(tokenizer)
    model = make_model(tokenizer.vocab_size, args)
    print(f"parameters: vision {sum(p.numel() for p in model.vision_model.parameters()):,}, "
          f"text {sum(p.numel() for p in model.text_model.parameters()):,}")
    t_train, cpu_train = time.perf_counter(), time.process_time()
    history = train(model, captioner, args)
    train_seconds, cpu_seconds = time.perf_counter() - t_train, time.process_time() - cpu_train
    print(f"trained {args.steps} steps in {train_seconds:.0f} s ({train_seconds / args.steps:.3f} s/step), "
          f"{cpu_seconds:.0f} s of CPU time")
    model.to(torch.float16).save_pretrained(args.out, safe_serialization=True)
    SiglipImageProcessorPil(size={"height": SIZE, "width": SIZE}, resample=3).save_pretrained(args.out)
    (args.out / "generation_config.json").unlink(missing_ok=True)
    run = dict(steps=args.steps, batch=BATCH, seed=args.seed, lr=args.lr,
               weight_decay=args.weight_decay, threads=args.threads, train_seconds=round(train_seconds, 1),
               seconds_per_step=round(train_seconds / args.steps, 3), cpu_seconds=round(cpu_seconds, 1),
               total_seconds=round(time.perf_counter() - t_start, 1), corpus_captions=len(corpus),
               vocab=tokenizer.vocab_size, longest_caption_tokens=longest)
    (args.out / "training.json").write_text(json.dumps({**run, "loss": [round(v, 4) for v in history]}) + "\n")
    plot_loss(history, args.out / "loss.png")


def load(directory: Path):
    """The checkpoint as the page and the tests see it: f16 weights read back into f32, eager attention."""
    from transformers import AutoTokenizer, SiglipModel

    model = SiglipModel.from_pretrained(directory, dtype=torch.float32, attn_implementation="eager")
    model.eval()
    return model, AutoTokenizer.from_pretrained(directory)


def finish(args) -> None:
    write_special_tokens_map(args.out)
    model, tokenizer = load(args.out)
    captioner = Captioner(tokenizer)
    t0 = time.perf_counter()
    figures = evaluate(model, captioner, held_out(args.seed, args.eval_scenes))
    figures["attention_on_objects"] = layer_attention(model, held_out(args.seed, 100))
    print(f"held-out ({figures['scenes']} scenes, f16 weights): accuracy {figures['accuracy']:.1%} "
          f"(colour {figures['colour_accuracy']:.1%}, shape {figures['shape_accuracy']:.1%}), "
          f"probe attention on objects {figures['probe_mass']:.1%}  [{time.perf_counter() - t0:.0f} s]")
    (args.out / "quality.json").write_text(json.dumps(figures, indent=1) + "\n")
    if args.no_extras:
        return
    samples = write_samples(model, captioner)
    write_labels(args.out, samples)
    write_card(args.out, figures, samples)
    write_reference(args.out, ROOT / "www" / "samples" / "shapes-1.png", ROOT / "tests" / "fixtures" / "shapes-reference.safetensors")


@torch.no_grad()
def layer_attention(model, scenes: list) -> dict:
    """Per layer and head: the share of attention (mean over all query patches) that lands on object
    patches, and the share of patches that are object patches (what uniform attention would give)."""
    rendered = [render(s) for s in scenes]
    out = model.vision_model(pixel_values=pixel_values([im for im, _ in rendered]), output_attentions=True)
    masks = torch.stack([torch.from_numpy(patch_mask(m)) for _, m in rendered]).float()  # (b, n)
    shares = [(att * masks[:, None, None, :]).sum(-1).mean(dim=(0, 2)).tolist() for att in out.attentions]
    return dict(per_layer_head=[[round(v, 3) for v in layer] for layer in shares],
                object_patches=round(float(masks.mean()), 3))


# ------------------------------------------------------------------------------------- samples and card

# The page's sample scenes (drawn as any scene, at 384 x 384) and the label sets preset for each: the
# right answer first, then its hard negatives.
SAMPLES = {
    "shapes-1.png": (
        Scene((246, 240, 226), (246, 240, 226), [Item("circle", "red", 140, 220, 104), Item("triangle", "green", 300, 90, 46),
                                                 Item("square", "blue", 300, 300, 40)]),
        ["a red circle", "a green triangle", "a blue square", "a red triangle", "a green circle", "a blue circle",
         "a red square", "a house"],
    ),
    "shapes-2.png": (
        Scene((255, 255, 255), (255, 255, 255), [Item("star", "blue", 100, 110, 62), Item("star", "blue", 280, 150, 58),
                                                 Item("star", "blue", 170, 285, 60)], "count"),
        ["three blue stars", "two blue stars", "a blue star", "three yellow stars", "three blue hearts", "a blue circle"],
    ),
    "shapes-3.png": (
        Scene((208, 226, 240), (180, 205, 232), [Item("house", "red", 130, 230, 110), Item("tree", None, 300, 250, 80),
                                                 Item("sun", None, 310, 75, 55)], "objects"),
        ["a house next to a tree", "a house", "a tree", "a sun", "a car", "a red house", "a blue house",
         "a red triangle"],
    ),
    "shapes-4.png": (
        Scene((60, 60, 64), (60, 60, 64), [Item("heart", "yellow", 200, 200, 100), Item("star", "purple", 320, 70, 40)]),
        ["a yellow heart", "a purple star", "a yellow star", "a purple heart", "a yellow circle", "a sun"],
    ),
    "shapes-5.png": (
        Scene((232, 232, 232), (210, 210, 210), [Item("car", "blue", 150, 250, 110), Item("tree", None, 310, 150, 70)],
              "objects"),
        ["a blue car", "a car next to a tree", "a red car", "a tree", "a house", "a blue square"],
    ),
}
DEFAULT_LABELS = ["a red circle", "a blue square", "a green triangle", "a yellow star", "a purple heart",
                  "an orange circle", "a house", "a tree", "a sun", "a car", "a flower"]


@torch.no_grad()
def write_samples(model, captioner: Captioner) -> dict:
    """Writes www/samples/shapes-*.png; returns, per sample, its labels' scores and its probe share."""
    directory = ROOT / "www" / "samples"
    results = {}
    for name, (scene, labels) in SAMPLES.items():
        image, mask = render(scene)
        image.save(directory / name, optimize=True)
        image = Image.open(directory / name)  # what the page will read
        out = model(input_ids=captioner(labels), pixel_values=pixel_values([image]))
        probs = torch.sigmoid(out.logits_per_image[0])
        vision = model.vision_model(pixel_values=pixel_values([image]))
        probe = probe_attention(model, vision.last_hidden_state).mean(dim=1)[0]
        share = float(probe[torch.from_numpy(patch_mask(mask))].sum())
        best = labels[int(out.logits_per_image[0].argmax())]
        results[name] = dict(labels=labels, best=best, logits=[round(v, 3) for v in out.logits_per_image[0].tolist()],
                             probabilities=[round(v, 3) for v in probs.tolist()], probe_on_objects=round(share, 3))
        print(f"{name}: best '{best}' ({'right' if best == labels[0] else 'WRONG'}), probe on objects {share:.0%}, "
              + ", ".join(f"{l} {p:.2f}" for l, p in zip(labels, probs.tolist())))
    return results


def write_labels(directory: Path, samples: dict) -> None:
    labels = {"default": DEFAULT_LABELS, "samples": {name: r["labels"] for name, r in samples.items()}}
    (directory / "labels.json").write_text(json.dumps(labels, indent=1) + "\n")


def write_reference(directory: Path, image_path: Path, out_path: Path) -> None:
    """transformers' outputs for one sample scene and LABELS_REFERENCE (key names in the module doc)."""
    from safetensors.torch import save_file
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    model, tokenizer = load(directory)
    processor = SiglipImageProcessorPil.from_pretrained(directory)
    pixels = processor(images=Image.open(image_path), return_tensors="pt")["pixel_values"]
    ids = tokenizer(LABELS_REFERENCE, padding="max_length", max_length=MAX_LENGTH, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        out = model(input_ids=ids, pixel_values=pixels, output_hidden_states=True, output_attentions=True)
        head = probe_attention(model, out.vision_model_output.last_hidden_state)
    vision, text = out.vision_model_output, out.text_model_output
    tensors = {"pixel_values": pixels, "input_ids": ids.to(torch.int64),
               "vision.last_hidden_state": vision.last_hidden_state, "vision.pooler_output": vision.pooler_output,
               "vision.head_attention": head, "text.last_hidden_state": text.last_hidden_state,
               "text.pooler_output": text.pooler_output, "image_embeds": out.image_embeds,
               "text_embeds": out.text_embeds, "logits_per_image": out.logits_per_image,
               "logit_scale": model.logit_scale.detach(), "logit_bias": model.logit_bias.detach()}
    for i, t in enumerate(vision.hidden_states):
        tensors[f"vision.hidden_states.{i}"] = t
    last = len(vision.attentions) - 1
    for i in (0, last):  # the first and last layers' maps (each 332 kB in f32 for 4 heads)
        tensors[f"vision.attentions.{i}"] = vision.attentions[i]
    for i, t in enumerate(text.hidden_states):
        tensors[f"text.hidden_states.{i}"] = t
    for i, t in enumerate(text.attentions):
        tensors[f"text.attentions.{i}"] = t
    tensors = {k: (v if v.dtype == torch.int64 else v.to(torch.float32)).contiguous() for k, v in tensors.items()}
    for k, v in tensors.items():
        assert torch.isfinite(v.float()).all(), k
    save_file(tensors, out_path)
    print(f"wrote {out_path.relative_to(ROOT)} ({len(tensors)} tensors, {out_path.stat().st_size / 1e3:.0f} kB)")


def write_card(directory: Path, figures: dict, samples: dict) -> None:
    """The model card, from config.json, training.json, quality.json and the samples' scores."""
    config = json.loads((directory / "config.json").read_text())
    run = json.loads((directory / "training.json").read_text())
    v, t = config["vision_config"], config["text_config"]
    sizes = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.name != "README.md"}
    total = sum(sizes.values())
    table = "\n".join(f"| {name} | {size / 1e3:,.1f} kB |" for name, size in sizes.items())
    att = figures["attention_on_objects"]
    heads = "\n".join(f"| {i} | " + " | ".join(f"{x:.0%}" for x in layer) + " |"
                      for i, layer in enumerate(att["per_layer_head"]))
    matrix = figures["shape_confusion"]["rows_true_columns_predicted"]
    confusion = "\n".join(f"| {shape} | " + " | ".join(str(x) for x in row) + " |" for shape, row in zip(SHAPES, matrix))
    sample_rows = "\n".join(
        f"| {name} | {r['labels'][0]} | {r['best']} | "
        f"{r['probabilities'][0]:.2f} | {r['probe_on_objects']:.0%} |" for name, r in samples.items())
    text = f"""# shapes: a tiny SigLIP trained on generated shapes

**A tiny model trained on generated shapes, not Google's SigLIP.** It has SigLIP's architecture
(transformers' `SiglipModel`, both towers) and SigLIP's sigmoid loss, but {run['steps']} training steps on
pictures of coloured shapes and toy objects that `tools/train_demo.py` draws itself. It knows
{len(COLOURS)} colours ({", ".join(COLOURS)}), {len(SHAPES)} shapes ({", ".join(SHAPES)}), {len(OBJECTS)} objects
({", ".join(OBJECTS)}), "big"/"small", "two"/"three", and left of / right of / above / below / next to —
and nothing else. Every file here is made by

    tools/.venv/bin/python tools/train_demo.py          # seed {run['seed']}, deterministic

## Quality (held-out scenes, the committed f16 weights)

Measured by the same command on {figures['scenes']:,} scenes the training never drew (1-3 coloured shapes,
or 2-3 identical ones; `--finish-only` re-measures without training):

- **Zero-shot accuracy: {figures['accuracy']:.1%}** for the colour + shape of the largest object, over all
  {len(COLOURS) * len(SHAPES)} labels "a {{colour}} {{shape}}" (argmax of `logits_per_image`); colour alone
  {figures['colour_accuracy']:.1%}, shape alone {figures['shape_accuracy']:.1%}.
  With the prompt "a photo of a {{colour}} {{shape}}": {figures['other_templates']['a photo of a {colour} {shape}']:.1%};
  "a big {{colour}} {{shape}}": {figures['other_templates']['a big {colour} {shape}']:.1%}.
- **Probe attention on objects: {figures['probe_mass']:.1%}** of the pooling head's attention (mean over
  heads) falls on patches that hold any object pixel (such patches are {att['object_patches']:.0%} of all patches).

Shapes of the largest object, true (rows) against predicted (columns), prompt "a {{colour}} {{shape}}":

| | {" | ".join(SHAPES)} |
| --- | {" | ".join("---" for _ in SHAPES)} |
{confusion}

Share of each layer's attention (mean over query patches and 100 scenes) that lands on object patches,
per head (uniform attention would give {att['object_patches']:.0%}):

| layer | {" | ".join(f"head {h}" for h in range(v['num_attention_heads']))} |
| --- | {" | ".join("---" for _ in range(v['num_attention_heads']))} |
{heads}

The sample scenes in `www/samples/` with their preset labels (`labels.json`):

| sample | first preset label | best label | sigmoid score of the first label | probe on objects |
| --- | --- | --- | --- | --- |
{sample_rows}

## Data

Scenes are drawn at 384 x 384 with Pillow on a plain or gently graded background (white, light grey,
cream, dark grey, pale blue): 1-3 shapes of distinct colour/shape, the first clearly the largest
(radius 72-104 px against 28-44 px), or a single shape (52-110 px), or 2-3 identical shapes; or 1-3
objects (house, car and flower in any of the colours; tree and sun in their own). Objects never overlap.
Each scene has several true captions ("a red circle", "a photo of a big red circle", "a red circle left of
a green triangle", "two blue squares", "a house next to a tree", ...); each step draws one at random. The
largest object is always named first. The model sees each scene as SiglipImageProcessorPil makes it:
bicubic resize to {v['image_size']} x {v['image_size']}, rescale, normalise with mean = std = 0.5
(`preprocessor_config.json`), so a page or script that preprocesses the 384 x 384 PNGs as transformers
does gives the model exactly what it was trained on.

Each batch holds {run['batch']} scenes: one whose largest object is each colour x shape pair (30) and one per
object kind (5), shuffled. So every image meets the captions of its hard negatives (same colour, other shape;
same shape, other colour), and no two captions in a batch share their main subject, which keeps the
identity targets of `return_loss=True` true.

## Tokenizer

A SentencePiece unigram model trained on the captions (`spiece.model`, {run['vocab']} pieces: whole words
plus single characters as fallback), laid out like Google's: 0 `<pad>`, 1 `</s>` (end of text and
SiglipTokenizer's padding), 2 `<unk>`, no start token; nmt_nfkc normalisation. `tokenizer_config.json`
and `special_tokens_map.json` are SiglipTokenizer's, so `AutoTokenizer.from_pretrained` and `SiglipProcessor`
load it; it lowercases and drops punctuation. Texts are padded to {t['max_position_embeddings']} tokens
(`padding="max_length"`), the text tower's length; the longest training caption has
{run['longest_caption_tokens']} tokens with `</s>`.

## Architecture

| | vision | text |
| --- | --- | --- |
| hidden size | {v['hidden_size']} | {t['hidden_size']} |
| layers | {v['num_hidden_layers']} | {t['num_hidden_layers']} |
| heads | {v['num_attention_heads']} | {t['num_attention_heads']} |
| MLP size | {v['intermediate_size']} | {t['intermediate_size']} |
| input | {v['image_size']} x {v['image_size']}, patch {v['patch_size']} ({v['image_size'] // v['patch_size']} x {v['image_size'] // v['patch_size']} = {(v['image_size'] // v['patch_size']) ** 2} patches) | {t['max_position_embeddings']} tokens, vocabulary {t['vocab_size']} |
| pooling | attention-pooling head (probe) | last token + linear head |

Weights are stored in f16 ({total / 1e6:.2f} MB for the folder); the figures above are measured on those
f16 weights read back as f32.

| file | size |
| --- | --- |
{table}

## Training

From transformers' initialisation except two values: the logit bias starts at -log({run['batch'] - 1}) (the
log-odds of one positive among the batch's pairs; SigLIP's -10 suits batches of thousands and would take
thousands of steps to climb here), and the vision position embeddings start as 2-D sine-cosine features.
AdamW (betas 0.9, 0.95; weight decay {run['weight_decay']} on matrices), peak learning rate {run['lr']},
linear warm-up over 5 % of the steps then cosine decay to 2 %, gradient clipping at 1.0, batch {run['batch']},
{run['steps']} steps, SigLIP's sigmoid loss (`SiglipModel(..., return_loss=True).loss`, with its learned
temperature and bias). torch on CPU with {run['threads']} threads: {run['train_seconds']:.0f} s wall-clock
({run['seconds_per_step']:.2f} s per step) and {run['cpu_seconds']:.0f} s of CPU time on a machine shared with
other work; on a quiet 2-core machine the CPU time divided by the 2 threads, about
{run['cpu_seconds'] / 2 / 60:.0f} minutes, is the estimate.

![sigmoid loss per step](loss.png)

`training.json` holds the run's settings and the loss at every step; `quality.json` the figures above.
"""
    (directory / "README.md").write_text(text)


def plot_loss(history: list, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=100)
    steps = np.arange(1, len(history) + 1)
    ax.plot(steps, history, color="#bbb", linewidth=0.6, label="per step")
    k = max(1, len(history) // 50)
    smooth = np.convolve(history, np.ones(k) / k, mode="valid")
    ax.plot(steps[k - 1:], smooth, color="#1f77b4", linewidth=1.5, label=f"mean of {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("sigmoid loss")
    ax.set_yscale("log")
    ax.legend(frameon=False)
    ax.set_title("tiny SigLIP on generated shapes")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
