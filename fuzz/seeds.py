#!/usr/bin/env python3
"""Writes the seed inputs of the three fuzz targets into fuzz/corpus/<target>/ (standard library only).

    python3 fuzz/seeds.py

- config: each fixture's config.json, a 0 byte, its preprocessor_config.json; plus hub-like variants.
- checkpoint: the three fixture checkpoints, and tiny towers for the fuzz target's config (hidden 8,
  intermediate 16, 1 layer, 2 heads, image 8, patch 4) in F32 / F16 / BF16, under each tower prefix,
  with and without the pooling head.
- preprocess: a few images in the layout documented in fuzz_targets/preprocess.rs.
"""

import json
import math
import struct
from pathlib import Path

FUZZ = Path(__file__).resolve().parent
MODELS = FUZZ.parent / "tests" / "fixtures" / "models"
SEEDS = FUZZ / "corpus"


def write(target, name, data):
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def config_seeds():
    for model in sorted(MODELS.iterdir()):
        config = (model / "config.json").read_bytes()
        preprocess = (model / "preprocessor_config.json").read_bytes()
        write("config", f"fixture-{model.name}", config + b"\0" + preprocess)
    variants = {
        "defaults": ({}, {}),
        "so400m": (
            {"model_type": "siglip_vision_model", "hidden_size": 1152, "intermediate_size": 4304,
             "num_hidden_layers": 27, "num_attention_heads": 16, "image_size": 384, "patch_size": 14},
            {"size": {"height": 384, "width": 384}, "resample": 3, "image_mean": 0.5, "image_std": [0.5, 0.5, 0.5]},
        ),
        "pairs": (
            {"vision_config": {"image_size": [224, 224], "patch_size": [16, 16], "hidden_act": "gelu"}},
            {"size": 224, "resample": 2, "do_resize": False, "rescale_factor": 1, "do_convert_rgb": None},
        ),
        "largest": (  # d·c·p² = 2⁶⁴: found by review, refused since (tests/fuzz_regressions.rs)
            {"hidden_size": 65536, "num_attention_heads": 16, "num_channels": 65536, "image_size": 65536,
             "patch_size": 65536},
            {"size": {"height": 16384, "width": 16384}},
        ),
        "paligemma": (
            {"model_type": "paligemma", "vision_config": {"vision_use_head": False, "layer_norm_eps": 1e-6}},
            {"image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]},
        ),
    }
    for name, (config, preprocess) in variants.items():
        write("config", name, json.dumps(config).encode() + b"\0" + json.dumps(preprocess).encode())


D, I, C, P, GRID = 8, 16, 3, 4, 2


def tower_shapes(head):
    shapes = {
        "embeddings.patch_embedding.weight": [D, C, P, P],
        "embeddings.patch_embedding.bias": [D],
        "embeddings.position_embedding.weight": [GRID * GRID, D],
        "post_layernorm.weight": [D],
        "post_layernorm.bias": [D],
    }
    layer = "encoder.layers.0."
    for norm in ("layer_norm1", "layer_norm2"):
        shapes[f"{layer}{norm}.weight"] = [D]
        shapes[f"{layer}{norm}.bias"] = [D]
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes[f"{layer}self_attn.{proj}.weight"] = [D, D]
        shapes[f"{layer}self_attn.{proj}.bias"] = [D]
    mlp = {"mlp.fc1.weight": [I, D], "mlp.fc1.bias": [I], "mlp.fc2.weight": [D, I], "mlp.fc2.bias": [D]}
    shapes.update({layer + k: v for k, v in mlp.items()})
    if head:
        shapes.update({
            "head.probe": [1, 1, D],
            "head.attention.in_proj_weight": [3 * D, D],
            "head.attention.in_proj_bias": [3 * D],
            "head.attention.out_proj.weight": [D, D],
            "head.attention.out_proj.bias": [D],
            "head.layernorm.weight": [D],
            "head.layernorm.bias": [D],
        })
        shapes.update({"head." + k: v for k, v in mlp.items()})
    return shapes


def encode(values, dtype):
    if dtype == "F32":
        return struct.pack(f"<{len(values)}f", *values)
    if dtype == "F16":
        return struct.pack(f"<{len(values)}e", *values)
    if dtype == "BF16":  # the top half of each f32
        return b"".join(struct.pack("<f", v)[2:] for v in values)
    raise ValueError(dtype)


def safetensors(shapes, dtype, prefix):
    header, data = {"__metadata__": {"format": "pt"}}, b""
    for i, (name, shape) in enumerate(sorted(shapes.items())):
        count = math.prod(shape)
        values = [0.1 * math.sin(1 + i * 7 + j) for j in range(count)]
        if name.endswith(("layernorm.weight", "layer_norm1.weight", "layer_norm2.weight")):
            values = [1.0 + v for v in values]
        blob = encode(values, dtype)
        header[prefix + name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def checkpoint_seeds():
    for model in sorted(MODELS.iterdir()):
        write("checkpoint", f"fixture-{model.name}", (model / "model.safetensors").read_bytes())
    towers = [
        ("F32", "vision_model.", True),
        ("F32", "", False),
        ("BF16", "", True),
        ("F16", "vision_tower.vision_model.", False),
        ("F16", "model.vision_tower.vision_model.", True),
    ]
    for dtype, prefix, head in towers:
        name = f"tiny-{dtype.lower()}-{prefix.rstrip('.').replace('.', '-') or 'bare'}-{'head' if head else 'nohead'}"
        write("checkpoint", name, safetensors(tower_shapes(head), dtype, prefix))


def preprocess_seeds():
    gradient = bytes((x * 37 + y * 11) % 256 for y in range(16) for x in range(16))
    seeds = {
        # flags, width-1, height-1 (u16), target height-1, width-1, pixels
        "bicubic-down": bytes([0x01]) + struct.pack("<HH", 223, 149) + bytes([31, 31]) + gradient,
        "bilinear-up": bytes([0x00]) + struct.pack("<HH", 6, 4) + bytes([63, 40]) + gradient,
        "box-transparent": bytes([0x02]) + struct.pack("<HH", 99, 99) + bytes([7, 9]) + bytes([200, 10, 30, 0, 5, 5, 5, 128]),
        "no-resize-opaque": bytes([0x88]) + struct.pack("<HH", 9, 12) + bytes([0, 0]) + gradient,
        "lanczos": bytes([0x04]) + struct.pack("<HH", 30, 30) + bytes([15, 15]) + gradient,
        "fuzzed-normalise": bytes([0x41]) + struct.pack("<HH", 20, 20) + bytes([8, 8])
        + bytes([0, 14, 14, 14, 15, 15, 15]) + gradient,
        "raw-zero": bytes([0x30]) + struct.pack("<QQ", 0, 5) + bytes([3, 3]) + gradient,
        "raw-huge": bytes([0x31]) + struct.pack("<QQ", 2**40, 2**40) + bytes([3, 3]) + gradient,
        "raw-exact": bytes([0x31]) + struct.pack("<QQ", 2, 2) + bytes([3, 3]) + gradient[:16],
    }
    for name, data in seeds.items():
        write("preprocess", name, data)


if __name__ == "__main__":
    config_seeds()
    checkpoint_seeds()
    preprocess_seeds()
    for target in sorted(SEEDS.iterdir()):
        print(target.name, len(list(target.iterdir())), "seeds")
