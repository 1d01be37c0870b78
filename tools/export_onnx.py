#!/usr/bin/env python3
"""Exports a checkpoint's vision tower to ONNX for the onnxruntime-web side of the benchmark.

    tools/.venv/bin/python tools/make_fixtures.py --base224 tools/out/base224
    tools/.venv/bin/python tools/export_onnx.py tools/out/base224     # writes tools/out/base224/vision.onnx

The same weights as model.safetensors (f32), transformers' SiglipVisionModel with eager attention (the
same work our forward does: explicit softmax probabilities), opset 17, fixed 1×3×H×W input.
"""

import sys
from pathlib import Path

import torch
from transformers import SiglipModel


def main() -> None:
    directory = Path(sys.argv[1])
    model = SiglipModel.from_pretrained(directory, attn_implementation="eager").vision_model.eval()
    size = model.config.image_size

    class Tower(torch.nn.Module):
        def __init__(self, vision):
            super().__init__()
            self.vision = vision

        def forward(self, pixel_values):
            out = self.vision(pixel_values=pixel_values)
            return out.last_hidden_state, out.pooler_output

    example = torch.zeros(1, 3, size, size)
    torch.onnx.export(
        Tower(model), (example,), directory / "vision.onnx", opset_version=17, dynamo=False,
        input_names=["pixel_values"], output_names=["last_hidden_state", "pooler_output"],
    )
    print(f"wrote {directory / 'vision.onnx'}")


if __name__ == "__main__":
    main()
