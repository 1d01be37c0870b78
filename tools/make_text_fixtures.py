#!/usr/bin/env python3
"""Writes the image–text fixtures: tiny two-tower SiglipModel checkpoints with a SentencePiece
tokenizer, and transformers' outputs for a few labels against one image.

    tools/.venv/bin/python tools/make_text_fixtures.py            # tests/fixtures/models/siglip-text{,-f16}
    tools/.venv/bin/python tools/make_text_fixtures.py --base224 tools/out/base224   # adds reference-text.safetensors there

Seeded: rerunning rewrites the same files. CI never runs this script.

Each folder holds what `save_pretrained` writes for the model and for `SiglipProcessor` (config.json,
model.safetensors, preprocessor_config.json, spiece.model, tokenizer_config.json, …) and
`reference.safetensors`, computed with `attn_implementation="eager"` from

    inputs = processor(text=LABELS, images=image, padding="max_length", truncation=True, return_tensors="pt")
    outputs = model(**inputs, output_hidden_states=True, output_attentions=True)

siglip-text has SiglipTokenizer's defaults (the processor returns an attention_mask, so the padding is
masked); siglip-text-f16 is laid out as the hub's repos are (`model_input_names: ["input_ids"]`: no
mask, the padding is attended to, as SigLIP was trained). Names as `siglip-lens score` writes them:
`input_ids` (i64), `attention_mask` (i64; all ones where the processor returned none), `pixel_values`,
`text_embeds`, `image_embeds` (L2-normalised), `logits_per_image`, `logits_per_text`,
`text_pooler_output` (before normalisation), `text_last_hidden_state`, `text_hidden_states.{i}`,
`text_attentions.{i}`, `image_pooler_output`; and the same scores computed without the attention mask
(`model(input_ids=…, pixel_values=…)`): `logits_per_image_unmasked`, `text_embeds_unmasked`. The
labels themselves are in the file's metadata (`labels`, JSON).
"""

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import save_file
from transformers import (
    AutoProcessor,
    SiglipConfig,
    SiglipModel,
    SiglipProcessor,
    SiglipTextConfig,
    SiglipTokenizer,
    SiglipVisionConfig,
)
from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import FIXTURES, TINY_VISION, randomize, round_to  # noqa: E402

MAX_LENGTH = 16

# Captions for the tokenizer's training corpus, and the labels scored (short ones padded, one cut).
CORPUS = [
    "a photo of a cat", "a photo of a dog", "a red circle", "two blue squares", "a green triangle",
    "a house next to a tree", "the sun above the sea", "a small yellow star", "three black cars",
    "a picture of people on a beach", "an orange and a banana", "snow on the mountains at night",
    "a bird sitting on a branch", "the quick brown fox jumps over the lazy dog",
]
LABELS = [
    "a photo of a cat",
    "A Photo of a DOG!",
    "two blue squares",
    "",
    "the quick brown fox jumps over the lazy dog and runs into the forest near the old house",
]


def train_spiece(directory: Path, vocab_size: int = 64) -> Path:
    """A SentencePiece unigram model laid out as google/siglip's spiece.model (pad 0, eos 1, unk 2)."""
    import sentencepiece as spm

    directory.mkdir(parents=True, exist_ok=True)
    corpus = directory / "corpus.txt"
    corpus.write_text("\n".join(CORPUS * 20) + "\n")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(directory / "spiece"), vocab_size=vocab_size, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        character_coverage=1.0, seed_sentencepiece_size=1000, num_threads=1, minloglevel=2,
    )
    corpus.unlink()
    (directory / "spiece.vocab").unlink()
    return directory / "spiece.model"


def eager(model: SiglipModel) -> None:
    for config in (model.config, model.config.text_config, model.config.vision_config):
        config._attn_implementation = "eager"


@torch.no_grad()
def text_reference(model: SiglipModel, processor, image: Image.Image, labels: list) -> dict:
    model.eval()
    eager(model)
    inputs = processor(text=labels, images=image, padding="max_length", truncation=True, return_tensors="pt")
    out = model(**inputs, output_hidden_states=True, output_attentions=True)
    if "attention_mask" not in inputs:  # a hub-layout tokenizer: what the model used was "attend to all"
        inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])
    text = out.text_model_output
    tensors = {
        "input_ids": inputs["input_ids"],
        "attention_mask": inputs["attention_mask"],
        "pixel_values": inputs["pixel_values"],
        "text_embeds": out.text_embeds,
        "image_embeds": out.image_embeds,
        "logits_per_image": out.logits_per_image,
        "logits_per_text": out.logits_per_text.clone(),
        "text_pooler_output": text.pooler_output,
        "text_last_hidden_state": text.last_hidden_state,
        "image_pooler_output": out.vision_model_output.pooler_output,
    }
    tensors.update({f"text_hidden_states.{i}": t for i, t in enumerate(text.hidden_states)})
    tensors.update({f"text_attentions.{i}": t for i, t in enumerate(text.attentions)})
    unmasked = model(input_ids=inputs["input_ids"], pixel_values=inputs["pixel_values"])  # no mask at all
    tensors["logits_per_image_unmasked"] = unmasked.logits_per_image
    tensors["text_embeds_unmasked"] = unmasked.text_embeds
    tensors["value_path"] = value_path(model, out.vision_model_output.last_hidden_state, out.text_embeds)
    for window in (1, 3):
        tensors[f"occlusion_{window}"] = occlusion(model, processor, inputs["pixel_values"], out, window)
    return {
        k: (v.detach().contiguous() if v.dtype == torch.int64 else v.detach().to(torch.float32).contiguous())
        for k, v in tensors.items()
    }


def value_path(model: SiglipModel, last_hidden_state: torch.Tensor, text_embeds: torch.Tensor) -> torch.Tensor:
    """MaskCLIP's dense embeddings from transformers' own modules: each patch's value vector
    (`in_proj` rows 2d..3d of the pooling head's nn.MultiheadAttention) through `out_proj`, then the
    head's LayerNorm + MLP residual; cosine with each label's embedding. (T, N)."""
    head = model.vision_model.head
    d = last_hidden_state.shape[-1]
    attention = head.attention
    values = torch.nn.functional.linear(
        last_hidden_state[0], attention.in_proj_weight[2 * d:], attention.in_proj_bias[2 * d:]
    )
    hidden = attention.out_proj(values)
    hidden = hidden + head.mlp(head.layernorm(hidden))
    patches = hidden / hidden.norm(p=2, dim=-1, keepdim=True)
    return text_embeds @ patches.T


def occlusion(model: SiglipModel, processor, pixel_values: torch.Tensor, out, window: int) -> torch.Tensor:
    """The drop in each label's logit when a window × window block of patches, centred on each patch
    (one further right/down when even, clipped at the edges), is painted with the image's mean colour
    (rounded half up to 8 bits) and the image is run again. (T, N)."""
    config = model.config.vision_config
    grid, p = config.image_size // config.patch_size, config.patch_size
    # The 8-bit image the model saw, recovered exactly from pixel_values (mean = std = 0.5).
    seen = torch.round((pixel_values[0].double() * 0.5 + 0.5) * 255).to(torch.uint8).permute(1, 2, 0).numpy()
    count = seen.shape[0] * seen.shape[1]
    sums = seen.reshape(-1, 3).astype("uint64").sum(axis=0)
    colour = [(2 * int(s) + count) // (2 * count) for s in sums]
    no_resize = SiglipImageProcessorPil(do_resize=False)
    images = []
    for patch in range(grid * grid):
        row, col = divmod(patch, grid)
        r0, c0 = row - (window - 1) // 2, col - (window - 1) // 2
        r1, c1 = min(r0 + window, grid), min(c0 + window, grid)
        r0, c0 = max(r0, 0), max(c0, 0)
        occluded = seen.copy()
        occluded[r0 * p:r1 * p, c0 * p:c1 * p] = colour
        images.append(Image.fromarray(occluded))
    pixels = no_resize(images=images, return_tensors="pt")["pixel_values"]
    pooled = model.get_image_features(pixel_values=pixels).pooler_output
    embeds = pooled / pooled.norm(p=2, dim=-1, keepdim=True)
    logits = out.text_embeds @ embeds.T * model.logit_scale.exp() + model.logit_bias  # (T, N)
    return out.logits_per_text - logits


def make_tiny(directory: Path, dtype: torch.dtype, seed: int, hub_layout: bool) -> None:
    """`hub_layout`: the tokenizer as google's conversion script saves it, with
    `model_input_names=["input_ids"]`, so the processor returns no attention_mask and `model(**inputs)`
    attends to the padding (as SigLIP was trained); otherwise SiglipTokenizer's defaults (a mask)."""
    if directory.exists():
        shutil.rmtree(directory)
    spiece = train_spiece(directory)
    extra = {"model_input_names": ["input_ids"]} if hub_layout else {}
    tokenizer = SiglipTokenizer(str(spiece), model_max_length=MAX_LENGTH, **extra)
    text = SiglipTextConfig(
        vocab_size=tokenizer.vocab_size, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, max_position_embeddings=MAX_LENGTH,
    )
    config = SiglipConfig(text_config=text.to_dict(), vision_config=TINY_VISION)
    torch.manual_seed(0)
    model = SiglipModel(config)
    randomize(model, seed=seed)
    with torch.no_grad():  # a temperature and bias of SigLIP's order (base: t = 4.77, b = -12.9)
        model.logit_scale.fill_(2.3)
        model.logit_bias.fill_(-4.0)
    round_to(model, dtype)
    image_processor = SiglipImageProcessorPil(size={"height": 32, "width": 32}, resample=3)
    processor = SiglipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    model.to(dtype).save_pretrained(directory, safe_serialization=True)
    processor.save_pretrained(directory)
    image_processor.save_pretrained(directory)  # preprocessor_config.json, as the hub's repos have it
    (directory / "generation_config.json").unlink(missing_ok=True)
    # What a user does: load it all back with the Auto classes, then score.
    processor = AutoProcessor.from_pretrained(directory)
    model = SiglipModel.from_pretrained(directory, dtype=torch.float32)
    image = Image.open(FIXTURES / "images" / "photo.png")
    tensors = text_reference(model, processor, image, LABELS)
    save_file(tensors, directory / "reference.safetensors", metadata={"labels": json.dumps(LABELS)})
    print(f"wrote {directory} ({dtype}; input_ids {tuple(tensors['input_ids'].shape)})")


def add_base224(directory: Path) -> None:
    """Text-side reference for tools/out/base224 (google/siglip-base-patch16-224's shape, random weights):
    its tokenizer is a trained toy vocabulary laid out to the real vocab size by the text config."""
    model = SiglipModel.from_pretrained(directory, dtype=torch.float32)
    spiece = train_spiece(directory / "tokenizer-src")
    tokenizer = SiglipTokenizer(str(spiece), model_max_length=model.config.text_config.max_position_embeddings)
    shutil.rmtree(directory / "tokenizer-src")
    image_processor = SiglipImageProcessorPil(size={"height": 224, "width": 224}, resample=3)
    processor = SiglipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    processor.save_pretrained(directory)
    image = Image.open(FIXTURES / "images" / "large.png")
    tensors = text_reference(model, AutoProcessor.from_pretrained(directory), image, LABELS)
    save_file(tensors, directory / "reference-text.safetensors", metadata={"labels": json.dumps(LABELS)})
    print(f"wrote {directory / 'reference-text.safetensors'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base224", type=Path, help="add the text reference to this base-224 checkpoint folder")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.base224:
        add_base224(args.base224)
        return
    models = FIXTURES / "models"
    make_tiny(models / "siglip-text", torch.float32, seed=13, hub_layout=False)
    make_tiny(models / "siglip-text-f16", torch.float16, seed=14, hub_layout=True)


if __name__ == "__main__":
    main()
