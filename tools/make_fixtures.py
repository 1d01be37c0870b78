#!/usr/bin/env python3
"""Writes the reference fixtures the tests compare with, using transformers itself.

    python3 -m venv tools/.venv && tools/.venv/bin/pip install -r tools/requirements.txt
    tools/.venv/bin/python tools/make_fixtures.py            # tests/fixtures + www/models/demo
    tools/.venv/bin/python tools/make_fixtures.py --base224 tools/out/base224   # real-shape check (not committed)
    tools/.venv/bin/python tools/make_fixtures.py --so400m tools/out/so400m     # largest tower, for the page
    tools/.venv/bin/python tools/make_fixtures.py --only tokenizer   # tests/fixtures/tokenizers (tools/tokenizer_fixtures.py)

Everything is seeded: rerunning it rewrites the same files. CI never runs this script.

- tests/fixtures/models/<name>/: small random-weight checkpoints saved with `save_pretrained`, one per
  layout the hub serves (full SiglipModel, bare SiglipVisionModel, PaliGemma), in f32, bf16 and f16,
  each with `reference.safetensors`: the pixel_values fed in and transformers' outputs
  (`attn_implementation="eager"`), named as `siglip-lens encode` names them.
- tests/fixtures/images/: test images, and `preprocess.safetensors` with SiglipImageProcessorPil's
  `pixel_values` for each image, filter and size.
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
BICUBIC, BILINEAR = 3, 2

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base224", type=Path, help="write only the base-224 checkpoint and reference here")
    parser.add_argument("--so400m", type=Path, help="write only a random so400m-384 vision tower here")
    parser.add_argument("--only", choices=["tokenizer"], help="write only these fixtures (tokenizer: tests/fixtures/tokenizers)")
    args = parser.parse_args()
    if args.only == "tokenizer":
        from tokenizer_fixtures import make_tokenizers

        make_tokenizers()
        return
    torch.set_num_threads(2)
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
