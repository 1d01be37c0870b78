#!/usr/bin/env python3
"""Writes the reference fixtures the tests compare with, using transformers itself.

    python3 -m venv tools/.venv && tools/.venv/bin/pip install -r tools/requirements.txt
    tools/.venv/bin/python tools/make_fixtures.py            # tests/fixtures + www/models/demo
    tools/.venv/bin/python tools/make_fixtures.py --base224 tools/out/base224   # real-shape check (not committed)
    tools/.venv/bin/python tools/make_fixtures.py --so400m tools/out/so400m     # largest tower, for the page
    tools/.venv/bin/python tools/make_fixtures.py --only tokenizer   # tests/fixtures/tokenizers (tools/tokenizer_fixtures.py)
    tools/.venv/bin/python tools/make_fixtures.py --only preprocess  # images/shapes + preprocess-shapes only
    tools/.venv/bin/python tools/make_fixtures.py --only jpeg        # images/jpeg + preprocess-jpeg only
    tools/.venv/bin/python tools/make_fixtures.py --only realwidth   # models/realwidth-f16 (768 wide, 1 layer)
    tools/.venv/bin/python tools/make_fixtures.py --only views       # demo-views.safetensors (numpy from HF's trace)
    tools/.venv/bin/python tools/make_text_fixtures.py              # the two-tower fixtures (text tower, scores, maps)

Everything is seeded: rerunning it rewrites the same files. CI never runs this script.

- tests/fixtures/models/<name>/: small random-weight checkpoints saved with `save_pretrained`, one per
  layout the hub serves (full SiglipModel, bare SiglipVisionModel, PaliGemma), in f32, bf16 and f16,
  each with `reference.safetensors`: the pixel_values fed in and transformers' outputs
  (`attn_implementation="eager"`), named as `siglip-lens encode` names them.
- tests/fixtures/images/: test images, and `preprocess.safetensors` with SiglipImageProcessorPil's
  `pixel_values` for each image, filter and size.
- tests/fixtures/images/shapes/ and `preprocess-shapes.safetensors` (`--only preprocess`): images of every
  shape, mode and bit depth (and JPEGs) with SiglipImageProcessorPil's pixel_values as 8-bit levels.
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import (
    GemmaConfig,
    PaliGemmaConfig,
    PaliGemmaForConditionalGeneration,
    SiglipConfig,
    SiglipModel,
    SiglipTextConfig,
    SiglipVisionConfig,
    SiglipVisionModel,
)
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
BICUBIC, BILINEAR, BOX = 3, 2, 4

TINY_VISION = dict(
    hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4, image_size=32, patch_size=8
)


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Random weights everywhere, with non-trivial LayerNorm scales and biases (the default init has
    weight = 1, bias = 0, which would hide a swapped or missing LayerNorm)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            shape = parameter.shape
            if "norm" in name and name.endswith("weight"):
                value = 0.5 + torch.rand(shape, generator=generator)
            elif name.endswith("bias"):
                value = 0.1 * torch.randn(shape, generator=generator)
            else:
                fan_in = shape[-1] if len(shape) > 1 else shape[0]
                if len(shape) == 4:  # conv: in · k · k
                    fan_in = shape[1] * shape[2] * shape[3]
                value = torch.randn(shape, generator=generator) / np.sqrt(fan_in)
                if "position_embedding" in name or "probe" in name:
                    value = value * np.sqrt(fan_in) * 0.5
            parameter.copy_(value)


def round_to(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """Rounds the weights to `dtype` in place (kept as f32), so the reference is computed on exactly the
    values the file will hold."""
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.to(dtype).to(torch.float32))


def vision_of(model: torch.nn.Module) -> SiglipVisionModel:
    for module in model.modules():
        if isinstance(module, SiglipVisionModel):
            return module
    raise ValueError("no SiglipVisionModel inside")


@torch.no_grad()
def reference(vision: SiglipVisionModel, pixel_values: torch.Tensor) -> dict:
    """transformers' outputs, under the names `siglip-lens encode` writes."""
    vision.eval()
    out = vision(pixel_values=pixel_values, output_hidden_states=True, output_attentions=True)
    num_layers = vision.config.num_hidden_layers
    assert len(out.hidden_states) == num_layers + 1, len(out.hidden_states)
    assert len(out.attentions) == num_layers
    tensors = {"pixel_values": pixel_values, "last_hidden_state": out.last_hidden_state}
    tensors.update({f"hidden_states.{i}": t for i, t in enumerate(out.hidden_states)})
    tensors.update({f"attentions.{i}": t for i, t in enumerate(out.attentions)})
    if vision.config.vision_use_head:
        tensors["pooler_output"] = out.pooler_output
        head = vision.head
        probe = head.probe.repeat(pixel_values.shape[0], 1, 1)
        _, weights = head.attention(
            probe, out.last_hidden_state, out.last_hidden_state, need_weights=True, average_attn_weights=False
        )
        tensors["head_attention"] = weights[:, :, 0, :]  # (b, heads, n)
    return {k: v.detach().to(torch.float32).contiguous() for k, v in tensors.items()}


def processor(vision_config: SiglipVisionConfig, resample: int) -> SiglipImageProcessorPil:
    size = vision_config.image_size
    return SiglipImageProcessorPil(size={"height": size, "width": size}, resample=resample)


def save_checkpoint(model, directory: Path, dtype: torch.dtype, image_processor, image: Image.Image) -> None:
    """save_pretrained in `dtype`, plus the processor config and transformers' outputs for `image`."""
    if directory.exists():
        shutil.rmtree(directory)
    round_to(model, dtype)
    vision = vision_of(model)
    vision.config._attn_implementation = "eager"
    pixel_values = image_processor(images=image, return_tensors="pt")["pixel_values"]
    tensors = reference(vision, pixel_values)
    model.to(dtype).save_pretrained(directory, safe_serialization=True)
    image_processor.save_pretrained(directory)
    save_file(tensors, directory / "reference.safetensors")
    for extra in directory.iterdir():
        if extra.name == "generation_config.json":
            extra.unlink()
    print(f"wrote {directory} ({dtype}, {sum(p.numel() for p in vision.parameters())} vision params)")


def make_images() -> dict:
    """Synthetic test images with smooth regions, hard edges and noise (the hard cases for resizing)."""
    rng = np.random.default_rng(1)

    def scene(width: int, height: int) -> np.ndarray:
        y, x = np.mgrid[0:height, 0:width].astype(np.float64)
        r = 127.5 + 127.5 * np.sin(x / width * 6.0 + y / height * 2.0)
        g = 255.0 * (x / max(width - 1, 1))
        b = np.where((x // max(width // 5, 1) + y // max(height // 4, 1)) % 2 == 0, 230.0, 20.0)
        rgb = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (height, width, 3))
        return np.clip(np.round(rgb), 0, 255).astype(np.uint8)

    images = {
        "photo": Image.fromarray(scene(160, 128)),  # 5× and 4× downscale to 32
        "small": Image.fromarray(scene(13, 11)),  # upscale
        "wide": Image.fromarray(scene(90, 24)),  # non-square, mixed up/down
        "gray": Image.fromarray(scene(48, 36)[..., 1]),  # mode L
        "large": Image.fromarray(scene(500, 375)),  # the real 224 size
    }
    alpha = np.tile(np.linspace(0, 255, 40).round().astype(np.uint8), (40, 1))
    alpha[:4] = 0
    alpha[-4:] = 255
    images["rgba"] = Image.fromarray(np.dstack([scene(40, 40), alpha]), mode="RGBA")
    return images


def write_images(directory: Path) -> dict:
    directory.mkdir(parents=True, exist_ok=True)
    images = make_images()
    for name, image in images.items():
        image.save(directory / f"{name}.png")
    images["photo"].save(directory / "photo.jpg", quality=90)
    # Reload from disk so the reference sees exactly the decoded file.
    loaded = {name: Image.open(directory / f"{name}.png") for name in images}
    loaded["photo_jpg"] = Image.open(directory / "photo.jpg")
    return loaded


def write_preprocess_reference(images: dict, directory: Path) -> None:
    tensors = {}
    for name, image in images.items():
        sizes = [224] if name == "large" else [32]
        for size in sizes:
            for resample in (BICUBIC, BILINEAR):
                proc = SiglipImageProcessorPil(size={"height": size, "width": size}, resample=resample)
                pixels = proc(images=image, return_tensors="pt")["pixel_values"]
                tensors[f"{name}.{resample}.{size}"] = pixels.to(torch.float32).contiguous()
    save_file(tensors, directory / "preprocess.safetensors")
    print(f"wrote {len(tensors)} preprocessed references")


def tiny_text() -> SiglipTextConfig:
    return SiglipTextConfig(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        max_position_embeddings=8,
    )


def make_models(images: dict) -> None:
    models = FIXTURES / "models"
    photo = images["photo"]

    # 1. The google/siglip-* layout: a full SiglipModel, text tower included, tower under `vision_model.`.
    torch.manual_seed(0)
    config = SiglipConfig(text_config=tiny_text().to_dict(), vision_config=TINY_VISION)
    model = SiglipModel(config)
    randomize(model, seed=10)
    save_checkpoint(model, models / "siglip", torch.float32, processor(config.vision_config, BICUBIC), photo)

    # 2. A bare SiglipVisionModel (transformers 5 saves it without a prefix), bf16, SigLIP2-style
    #    bilinear resizing, and an image size that is not a multiple of the patch (30 / 7 → 4 × 4).
    vision_config = SiglipVisionConfig(**{**TINY_VISION, "image_size": 30, "patch_size": 7})
    model = SiglipVisionModel(vision_config)
    randomize(model, seed=11)
    save_checkpoint(model, models / "vision-bf16", torch.bfloat16, processor(vision_config, BILINEAR), images["wide"])

    # 3. PaliGemma: tower under `model.vision_tower.` (or its legacy name), no pooling head, f16.
    vision = SiglipVisionConfig(**TINY_VISION, vision_use_head=False, projection_dim=16)
    text = GemmaConfig(
        vocab_size=300, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1, head_dim=8,
    )
    config = PaliGemmaConfig(vision_config=vision.to_dict(), text_config=text.to_dict(), image_token_index=299,
                             projection_dim=16)
    model = PaliGemmaForConditionalGeneration(config)
    randomize(model, seed=12)
    save_checkpoint(model, models / "paligemma-f16", torch.float16, processor(vision, BICUBIC), images["rgba"])


def make_demo() -> None:
    """The page's offline demo: the real SigLIP architecture (patch 16, 224², 196 patches) made small
    in width and depth, random weights. Labelled untrained wherever the page shows it."""
    directory = ROOT / "www" / "models" / "demo"
    vision = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
                  image_size=224, patch_size=16)
    torch.manual_seed(0)
    config = SiglipConfig(text_config=tiny_text().to_dict(), vision_config=vision)
    model = SiglipModel(config)
    randomize(model, seed=20)
    if directory.exists():
        shutil.rmtree(directory)
    model.save_pretrained(directory, safe_serialization=True)
    processor(config.vision_config, BICUBIC).save_pretrained(directory)
    print(f"wrote {directory.relative_to(ROOT)}")
    # The demo's own reference, for the browser tests.
    image = Image.open(FIXTURES / "images" / "large.png")
    vision_model = vision_of(model)
    vision_model.config._attn_implementation = "eager"
    pixel_values = processor(config.vision_config, BICUBIC)(images=image, return_tensors="pt")["pixel_values"]
    out = reference(vision_model, pixel_values)
    # pixel_values are preprocess.safetensors' `large.3.224`; one attention layer is enough here.
    keep = {k: out[k] for k in ("last_hidden_state", "pooler_output", "head_attention", "attentions.3",
                                "hidden_states.2")}
    save_file(keep, FIXTURES / "demo-reference.safetensors")


def make_base224(directory: Path) -> None:
    """google/siglip-base-patch16-224's shape with random weights, in the hub layout, plus the
    reference outputs for tests/fixtures/images/large.png (the real-shape parity check)."""
    torch.manual_seed(0)
    config = SiglipConfig(text_config=SiglipTextConfig().to_dict(), vision_config=SiglipVisionConfig().to_dict())
    model = SiglipModel(config)
    randomize(model, seed=30)
    image = Image.open(FIXTURES / "images" / "large.png")
    save_checkpoint(model, directory, torch.float32, processor(config.vision_config, BICUBIC), image)


def make_so400m(directory: Path) -> None:
    """google/siglip-so400m-patch14-384's vision tower (27 layers, 1152 wide, 729 patches), random
    weights, bare SiglipVisionModel layout, f32 (1.7 GB): for checking that the page loads and runs it."""
    config = SiglipVisionConfig(hidden_size=1152, intermediate_size=4304, num_hidden_layers=27,
                                num_attention_heads=16, image_size=384, patch_size=14)
    torch.manual_seed(0)
    model = SiglipVisionModel(config)
    randomize(model, seed=40)
    if directory.exists():
        shutil.rmtree(directory)
    model.save_pretrained(directory, safe_serialization=True)
    processor(config, BICUBIC).save_pretrained(directory)
    print(f"wrote {directory}")


# --- Preprocessing on every image shape (issue 10): `--only preprocess` ------------------------------

SHAPES = FIXTURES / "images" / "shapes"
BOTH = (BICUBIC, BILINEAR)


def drawing(width: int, height: int, seed: int, text: str) -> np.ndarray:
    """A black-and-white line drawing with text, as a bool array (True = white): strokes of 1–3 pixels,
    outlines and the bitmap font's letters — the high-contrast content where the clipping of Pillow's
    8-bit intermediate image shows."""
    from PIL import ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for _ in range(max(width, height) // 12):
        x0, x1 = rng.integers(0, width, 2)
        y0, y1 = rng.integers(0, height, 2)
        kind = rng.integers(0, 3)
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        if kind == 0:
            draw.line((x0, y0, x1, y1), fill=0, width=int(rng.integers(1, 4)))
        elif kind == 1:
            draw.ellipse(box, outline=0, width=int(rng.integers(1, 3)))
        else:
            draw.rectangle(box, outline=0, width=1)
    font = ImageFont.load_default_imagefont()
    for row, y in enumerate(range(2, height - 10, 14)):
        draw.text((2 + (row * 7) % 11, y), text, fill=0, font=font)
    return np.asarray(image) > 127


def noisy_scene(width: int, height: int, seed: int) -> np.ndarray:
    """Smooth gradients, hard-edged blocks and noise, RGB uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 127.5 + 127.5 * np.sin(x / max(width, 2) * 7.0 + y / max(height, 2) * 3.0)
    g = 255.0 * ((x + y) % 7 < 3)
    b = np.where((x // 3 + y // 2) % 2 == 0, 250.0, 5.0)
    rgb = np.stack([r, g, b], axis=-1) + rng.normal(0, 4, (height, width, 3)).round()
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def shape_images() -> list:
    """(file name, PIL image to save, [(height, width) targets], filters) for every shape case.

    Pillow's `ImagingResampleInner` runs the vertical pass first when the height shrinks by more than
    twice as many pixels as the width: (H − h) > 0 and (H − h) > 2·(W − w). The cases sit on both
    sides of that line: tall and wide images, nearly square ones one pixel either side of it, one axis
    up and the other down, 1-pixel strips, binary drawings in modes L, 1 and RGB, and square and
    non-square targets."""
    white_on_black = lambda bits: Image.fromarray(np.where(bits, 255, 0).astype(np.uint8))  # noqa: E731
    issue = white_on_black(drawing(120, 300, seed=101, text="SigLIP"))  # mode L, the issue's image
    lineart = Image.fromarray(drawing(200, 90, seed=102, text="line art 10")).convert("1")
    text_rgb = np.repeat(np.where(drawing(64, 180, seed=103, text="Text")[..., None], 255, 0), 3, -1)
    text_rgb[40:60, 10:50] = [200, 30, 30]  # one coloured block among the black strokes
    palette = Image.fromarray(noisy_scene(60, 40, seed=104)).quantize(24)
    palette.info["transparency"] = 3
    gray16 = np.round(np.linspace(0, 1, 30 * 40).reshape(40, 30) ** 3 * 65535).astype(np.uint16)
    alpha = np.tile(np.linspace(0, 255, 40).round().astype(np.uint8), (30, 1))
    la = np.dstack([np.where(drawing(40, 30, seed=116, text="LA"), 255, 0), alpha]).astype(np.uint8)
    keyed = noisy_scene(40, 30, seed=117)
    keyed[5:12, 5:30] = [10, 20, 30]
    keyed_image = Image.fromarray(keyed)
    keyed_image.info["transparency"] = (10, 20, 30)
    keyed_gray = Image.fromarray(noisy_scene(40, 30, seed=118)[..., 0])
    keyed_gray.info["transparency"] = int(np.asarray(keyed_gray)[0, 0])
    return [
        ("drawing-L-120x300.png", issue, [(70, 70), (32, 32), (48, 48), (40, 64)], BOTH),
        ("drawing-L-120x300.png", issue, [(224, 224)], (BICUBIC,)),
        ("lineart-1-200x90.png", lineart, [(70, 70), (32, 32), (32, 180), (24, 64)], BOTH),
        ("text-RGB-64x180.png", Image.fromarray(text_rgb.astype(np.uint8)), [(32, 32), (48, 48), (70, 70)], BOTH),
        ("scene-tall-40x150.png", Image.fromarray(noisy_scene(40, 150, seed=105)), [(32, 32), (48, 48)], BOTH),
        ("scene-wide-150x40.png", Image.fromarray(noisy_scene(150, 40, seed=106)), [(32, 32), (48, 48)], BOTH),
        # 32²: 36 − 32 = 2·(34 − 32) keeps horizontal first; 37 − 32 > 2·(34 − 32) turns vertical first.
        ("near-34x36.png", Image.fromarray(noisy_scene(34, 36, seed=107)), [(32, 32)], BOTH),
        ("near-34x37.png", Image.fromarray(noisy_scene(34, 37, seed=108)), [(32, 32), (33, 32)], BOTH),
        ("near-52x57.png", Image.fromarray(noisy_scene(52, 57, seed=109)), [(48, 48), (49, 48)], BOTH),
        ("updown-20x50.png", Image.fromarray(noisy_scene(20, 50, seed=110)), [(32, 32), (48, 48)], BOTH),
        ("downup-50x20.png", Image.fromarray(noisy_scene(50, 20, seed=111)), [(32, 32)], BOTH),
        ("strip-1x60.png", Image.fromarray(noisy_scene(1, 60, seed=112)), [(32, 32), (24, 64)], BOTH),
        ("strip-60x1.png", Image.fromarray(noisy_scene(60, 1, seed=113)), [(32, 32), (24, 64)], BOTH),
        ("palette-P-60x40.png", palette, [(32, 32)], BOTH),
        ("gray16-30x40.png", Image.fromarray(gray16), [(32, 32)], BOTH),
        ("la-LA-40x30.png", Image.fromarray(la, mode="LA"), [(32, 32)], BOTH),
        ("key-RGB-40x30.png", keyed_image, [(32, 32)], BOTH),
        ("key-L-40x30.png", keyed_gray, [(32, 32)], BOTH),
        # PIL's box filter (SigLIP does not use it; its edge is (−0.5, 0.5]).
        ("drawing-L-120x300.png", issue, [(70, 70), (32, 32), (40, 64)], (BOX,)),
        ("near-34x37.png", Image.fromarray(noisy_scene(34, 37, seed=108)), [(32, 32), (33, 32)], (BOX,)),
    ]


def png16(path: Path, samples: np.ndarray, color_type: int) -> None:
    """Writes a 16-bit PNG (Pillow cannot write 16-bit RGB / RGBA / LA): colour type 2, 4 or 6."""
    import struct
    import zlib

    rows = samples.reshape(samples.shape[0], -1).astype(">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", samples.shape[1], samples.shape[0], 16, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9))
                     + chunk(b"IEND", b""))


def jpeg_images() -> list:
    """(file name, PIL image, subsampling) for the JPEG cases: a real photo (scikit-image's `coffee`,
    CC0, Rachel Michetti) at 4:2:0 and 4:4:4, and an RGB line drawing at 4:2:0 (ringing at edges)."""
    from skimage.data import coffee

    photo = Image.fromarray(coffee()[40:340:3, 150:510:3])  # 120 × 100
    lines = np.repeat(np.where(drawing(120, 90, seed=114, text="JPEG")[..., None], 255, 0), 3, -1)
    lines[10:40, 20:70] = [30, 90, 220]
    return [
        ("coffee-420.jpg", photo, 2),
        ("coffee-444.jpg", photo, 0),
        ("drawing-420.jpg", Image.fromarray(lines.astype(np.uint8)), 2),
    ]


def levels_of(pixel_values: torch.Tensor) -> torch.Tensor:
    """transformers' pixel_values (mean = std = 0.5, rescale 1/255) as the 8-bit levels they came from,
    checked to map back bit for bit with transformers' arithmetic (float64 rescale, float32 normalise)."""
    values = pixel_values.numpy()
    levels = np.round((values.astype(np.float64) * 0.5 + 0.5) * 255)
    assert levels.min() >= 0 and levels.max() <= 255
    back = ((levels * (1 / 255)).astype(np.float32) - np.float32(0.5)) / np.float32(0.5)
    assert np.array_equal(back, values), "pixel_values are not 8-bit levels"
    return torch.from_numpy(levels.astype(np.uint8))


def make_preprocess_shapes() -> None:
    """tests/fixtures/images/shapes/* and tests/fixtures/preprocess-shapes.safetensors: for every case,
    SiglipImageProcessorPil's pixel_values for the saved file opened with PIL.Image.open, stored as the
    8-bit levels they are made of (lossless, checked), under `{file}.{resample}.{height}x{width}`."""
    if SHAPES.exists():
        shutil.rmtree(SHAPES)
    SHAPES.mkdir(parents=True)
    cases = []
    for name, image, targets, filters in shape_images():
        if not (SHAPES / name).exists():
            image.save(SHAPES / name, optimize=True, **{k: v for k, v in image.info.items() if k == "transparency"})
        cases += [(name, t, f) for t in targets for f in filters]
    rng = np.random.default_rng(115)
    sixteen = {
        "rgb16-24x20.png": (rng.integers(0, 65536, (20, 24, 3)), 2),
        "rgba16-24x20.png": (rng.integers(0, 65536, (20, 24, 4)), 6),
        "la16-24x20.png": (rng.integers(0, 65536, (20, 24, 2)), 4),
    }
    for name, (samples, color_type) in sixteen.items():
        png16(SHAPES / name, samples, color_type)
        cases += [(name, (32, 32), f) for f in BOTH]
    for name, image, subsampling in jpeg_images():
        image.save(SHAPES / name, quality=90, subsampling=subsampling)
        cases += [(name, (64, 64), f) for f in BOTH]

    tensors = {}
    for name, (height, width), resample in cases:
        size = {"height": height, "width": width}
        pixels = SiglipImageProcessorPil(size=size, resample=resample)(
            images=Image.open(SHAPES / name), return_tensors="pt"
        )["pixel_values"]
        plain = SiglipImageProcessorPil(size=size, resample=resample, do_rescale=False, do_normalize=False)(
            images=Image.open(SHAPES / name), return_tensors="pt"
        )["pixel_values"]
        levels = levels_of(pixels)
        assert torch.equal(levels.to(torch.float32), plain.to(torch.float32)), name
        tensors[f"{name}.{resample}.{height}x{width}"] = levels.contiguous()
    save_file(tensors, FIXTURES / "preprocess-shapes.safetensors")
    total = sum(f.stat().st_size for f in SHAPES.iterdir())
    print(f"wrote {len(tensors)} cases, {len(list(SHAPES.iterdir()))} images ({total} bytes) in {SHAPES.relative_to(ROOT)}")


# --- JPEG decoded as Pillow decodes it: `--only jpeg` -------------------------------------------------

JPEGS = FIXTURES / "images" / "jpeg"


def jpeg_variants() -> list:
    """(file name, PIL image, save options) for the JPEG decoder cases: every layout libjpeg decodes
    differently (chroma subsampling 4:2:0 / 4:2:2 / 4:4:4, progressive, grey, Adobe CMYK, partial edge
    blocks, a 1-pixel strip), from scikit-image's `coffee` photo (CC0, Rachel Michetti)."""
    from skimage.data import coffee

    photo = Image.fromarray(coffee()[30:330:2, 120:520:2])  # 200 × 150
    odd = photo.resize((37, 23), Image.Resampling.BICUBIC)
    return [
        ("photo-422.jpg", photo, dict(quality=80, subsampling=1)),
        ("photo-progressive-420.jpg", photo, dict(quality=75, subsampling=2, progressive=True)),
        ("photo-q100-444.jpg", photo, dict(quality=100, subsampling=0)),
        ("photo-grey.jpg", photo.convert("L"), dict(quality=85)),
        ("photo-cmyk.jpg", photo.convert("CMYK"), dict(quality=85)),
        ("odd-37x23-420.jpg", odd, dict(quality=90, subsampling=2)),
        ("strip-1x40-420.jpg", photo.resize((1, 40), Image.Resampling.BICUBIC), dict(quality=90, subsampling=2)),
    ]


def make_preprocess_jpeg() -> None:
    """tests/fixtures/images/jpeg/* and tests/fixtures/preprocess-jpeg.safetensors: SiglipImageProcessorPil's
    pixel_values for each file opened with PIL.Image.open (keys and levels as preprocess-shapes), at a
    size that keeps the decoder's detail (64 × 64, bicubic and bilinear); plus `truncated.jpg`, the
    progressive file cut short, which Pillow refuses to load (checked here)."""
    if JPEGS.exists():
        shutil.rmtree(JPEGS)
    JPEGS.mkdir(parents=True)
    tensors = {}
    for name, image, options in jpeg_variants():
        image.save(JPEGS / name, **options)
        for resample in BOTH:
            pixels = SiglipImageProcessorPil(size={"height": 64, "width": 64}, resample=resample)(
                images=Image.open(JPEGS / name), return_tensors="pt"
            )["pixel_values"]
            tensors[f"{name}.{resample}.64x64"] = levels_of(pixels).contiguous()
    whole = (JPEGS / "photo-progressive-420.jpg").read_bytes()
    (JPEGS / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    try:
        Image.open(JPEGS / "truncated.jpg").load()
        raise AssertionError("Pillow loaded the truncated JPEG")
    except OSError as e:
        print(f"truncated.jpg: Pillow says {e}")
    save_file(tensors, FIXTURES / "preprocess-jpeg.safetensors")
    total = sum(f.stat().st_size for f in JPEGS.iterdir())
    print(f"wrote {len(tensors)} cases, {len(list(JPEGS.iterdir()))} images ({total} bytes) in {JPEGS.relative_to(ROOT)}")


# --- A real-width tower (issue 17): `--only realwidth` -----------------------------------------------

REALWIDTH = FIXTURES / "models" / "realwidth-f16"


def make_realwidth() -> None:
    """tests/fixtures/models/realwidth-f16/: google/siglip-base-patch16-224's width (768, MLP 3072, 12
    heads, 224 / 16: 196 patches) with one encoder layer and no pooling head, random weights saved in
    f16 as a bare SiglipVisionModel, and transformers' outputs (eager; f32 arithmetic on the f16 values)
    for tests/fixtures/images/large.png. It reaches what the tiny towers cannot: products 3072 deep
    (twelve 256-deep blocks), outputs wider than one column chunk, the parallel GEMM path."""
    config = SiglipVisionConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=1, num_attention_heads=12,
                                image_size=224, patch_size=16, vision_use_head=False)
    torch.manual_seed(0)
    model = SiglipVisionModel(config)
    randomize(model, seed=50)
    image = Image.open(FIXTURES / "images" / "large.png")
    save_checkpoint(model, REALWIDTH, torch.float16, processor(config, BICUBIC), image)
    pixels = SiglipImageProcessorPil(size={"height": 224, "width": 224}, resample=BICUBIC)(
        images=image, return_tensors="pt")["pixel_values"]
    from safetensors.torch import load_file

    assert torch.equal(pixels, load_file(FIXTURES / "preprocess.safetensors")["large.3.224"]), "large.3.224 moved"
    sizes = {f.name: f.stat().st_size for f in REALWIDTH.iterdir()}
    print(f"realwidth-f16: {sizes}")


# --- What the page's views show, from transformers' trace (issue 17): `--only views` ------------------

DEMO = ROOT / "www" / "models" / "demo"
VIEW_PATCHES = [0, 31, 97, 195]  # patches for similarity and position similarity, queries for attention


def pca_rgb(states: np.ndarray) -> tuple:
    """The first three principal components of the rows (n, d), fitted on these rows: scores scaled to
    [0, 1] per component, the sign fixed so the patch with the largest |score| is bright; and the
    share of the variance each explains. (What src/analysis's `pca_rgb` promises, by SVD.)"""
    centered = states - states.mean(axis=0)
    u, s, _ = np.linalg.svd(centered, full_matrices=False)
    explained = s[:3] ** 2 / np.sum(s**2)
    rgb = np.empty((states.shape[0], 3))
    for c in range(3):
        vector = u[:, c]
        sign = -1.0 if vector[np.argmax(np.abs(vector))] < 0 else 1.0
        scores = sign * vector * s[c]
        rgb[:, c] = (scores - scores.min()) / (scores.max() - scores.min())
    return rgb, explained, s[:4] ** 2


def cosine_to(rows: np.ndarray, index: int) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1)
    return rows @ rows[index] / (norms * norms[index])


FUSIONS = {"mean": lambda a: a.mean(axis=0), "max": lambda a: a.max(axis=0), "min": lambda a: a.min(axis=0)}


def rollout(attentions: list, fusion: str) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema, 2020): per layer the heads fused, + I, rows renormalised,
    multiplied from the first layer to the last (the newest applied last). (n, n)."""
    n = attentions[0].shape[-1]
    result = np.eye(n)
    for attention in attentions:  # (heads, n, n)
        a = FUSIONS[fusion](attention) + np.eye(n)
        a = a / a.sum(axis=1, keepdims=True)
        result = a @ result
    return result


def head_stats(attention: np.ndarray, grid: int, patch_size: int) -> np.ndarray:
    """Per head: mean attention distance in pixels (between patch centres, weighted by attention,
    averaged over queries) and mean row entropy in nats. (heads, n, n) → (heads, 2)."""
    y, x = np.divmod(np.arange(grid * grid), grid)
    distance = np.sqrt((y[:, None] - y[None, :]) ** 2 + (x[:, None] - x[None, :]) ** 2) * patch_size
    n = grid * grid
    p = attention
    entropy = -np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return np.stack([(p * distance).sum(axis=(1, 2)) / n, entropy.sum(axis=(1, 2)) / n], axis=1)


def colormap_table(name: str) -> np.ndarray:
    """matplotlib's 256-entry table as 8-bit RGB."""
    from matplotlib import colormaps

    return np.round(np.asarray(colormaps[name].colors)[:, :3] * 255).astype(np.uint8)


def make_views() -> None:
    """tests/fixtures/demo-views.safetensors: what each of the page's views shows for the demo checkpoint
    (www/models/demo) on tests/fixtures/images/large.png, computed in float64 with numpy from
    transformers' trace (eager) — not from ours, so a bug in the shared path (wasm's analysis, the
    worker's memo, the colour map) shows. Keys (f32 unless said; VIEW_PATCHES in the metadata):
    norms (layers + 1, n); similarity (layers + 1, patches, n); pca_rgb (layers + 1, n, 3) and
    pca_explained (layers + 1, 3) — with pca_eigenvalues (layers + 1, 4) to judge how well defined each
    component is; rollout.{mean,max,min} (patches + 1, n): the rows of the patches, then the mean over
    all queries; head_stats (layers, heads, 2): distance in pixels, entropy in nats; attention
    (layers, heads, patches, n): transformers' rows; fused.{mean,max,min} (layers, patches, n); probe
    (heads, n); probe_mean (n); position_similarity (patches, n); viridis, magma (256, 3) u8: matplotlib's
    tables."""
    from safetensors.torch import load_file

    model = SiglipModel.from_pretrained(DEMO, attn_implementation="eager")
    vision = vision_of(model)
    vision.config._attn_implementation = "eager"
    image_processor = SiglipImageProcessorPil.from_pretrained(DEMO)
    pixel_values = image_processor(images=Image.open(FIXTURES / "images" / "large.png"), return_tensors="pt")[
        "pixel_values"]
    assert torch.equal(pixel_values, load_file(FIXTURES / "preprocess.safetensors")["large.3.224"])
    out = reference(vision, pixel_values)
    demo = load_file(FIXTURES / "demo-reference.safetensors")
    for key in demo:  # the same outputs up to float rounding (thread counts differ between runs)
        scale = float(demo[key].abs().max())
        assert torch.allclose(out[key], demo[key], rtol=0, atol=1e-6 * scale), f"{key}: the demo is not the one referenced"
    config = vision.config
    grid = config.image_size // config.patch_size
    layers = config.num_hidden_layers
    states = [out[f"hidden_states.{i}"][0].double().numpy() for i in range(layers + 1)]
    attentions = [out[f"attentions.{i}"][0].double().numpy() for i in range(layers)]

    tensors = {
        "norms": np.stack([np.linalg.norm(h, axis=1) for h in states]),
        "similarity": np.stack([np.stack([cosine_to(h, p) for p in VIEW_PATCHES]) for h in states]),
        "head_stats": np.stack([head_stats(a, grid, config.patch_size) for a in attentions]),
        "attention": out_rows(out, layers),
        "probe": out["head_attention"][0].double().numpy(),
        "probe_mean": out["head_attention"][0].double().numpy().mean(axis=0),
    }
    pca = [pca_rgb(h) for h in states]
    tensors["pca_rgb"] = np.stack([p[0] for p in pca])
    tensors["pca_explained"] = np.stack([p[1] for p in pca])
    tensors["pca_eigenvalues"] = np.stack([p[2] for p in pca])
    for fusion in FUSIONS:
        matrix = rollout(attentions, fusion)
        tensors[f"rollout.{fusion}"] = np.concatenate([matrix[VIEW_PATCHES], matrix.mean(axis=0, keepdims=True)])
        tensors[f"fused.{fusion}"] = np.stack([FUSIONS[fusion](a[:, VIEW_PATCHES]) for a in attentions])
    positions = vision.embeddings.position_embedding.weight.detach().double().numpy()
    tensors["position_similarity"] = np.stack([cosine_to(positions, p) for p in VIEW_PATCHES])
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in tensors.items()}
    for name in ("viridis", "magma"):
        tensors[name] = torch.from_numpy(colormap_table(name))
    save_file(tensors, FIXTURES / "demo-views.safetensors", metadata={"patches": json.dumps(VIEW_PATCHES)})
    gaps = [float(e[2] / e[3]) for e in tensors["pca_eigenvalues"].double().numpy()]
    print(f"wrote demo-views.safetensors ({len(tensors)} tensors); PCA λ3/λ4 per layer: {gaps}")


def out_rows(out: dict, layers: int) -> np.ndarray:
    """transformers' attention rows of the VIEW_PATCHES queries: (layers, heads, patches, n)."""
    return np.stack([out[f"attentions.{i}"][0][:, VIEW_PATCHES].double().numpy() for i in range(layers)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base224", type=Path, help="write only the base-224 checkpoint and reference here")
    parser.add_argument("--so400m", type=Path, help="write only a random so400m-384 vision tower here")
    parser.add_argument("--only", choices=["tokenizer", "preprocess", "jpeg", "realwidth", "views"],
                        help="tokenizer: tests/fixtures/tokenizers; preprocess: images/shapes/ and preprocess-shapes.safetensors; "
                             "jpeg: images/jpeg/ and preprocess-jpeg.safetensors; "
                             "realwidth: models/realwidth-f16; views: demo-views.safetensors")
    args = parser.parse_args()
    if args.only == "tokenizer":
        from tokenizer_fixtures import make_tokenizers

        make_tokenizers()
        return
    torch.set_num_threads(2)
    if args.only == "preprocess":
        make_preprocess_shapes()
        return
    if args.only == "jpeg":
        make_preprocess_jpeg()
        return
    if args.only == "realwidth":
        make_realwidth()
        return
    if args.only == "views":
        make_views()
        return
    if args.base224:
        make_base224(args.base224)
        return
    if args.so400m:
        make_so400m(args.so400m)
        return
    images = write_images(FIXTURES / "images")
    write_preprocess_reference(images, FIXTURES)
    make_models(images)
    make_demo()


if __name__ == "__main__":
    main()
