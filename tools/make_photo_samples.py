#!/usr/bin/env python3
"""Writes the photographs among the page's samples (www/samples/*.jpg) from scikit-image's own copies.

    tools/.venv/bin/python tools/make_photo_samples.py

scikit-image ships a few photographs inside its Python package (skimage/data/); the licence of each
is stated in the docstring of its loader in skimage/data/_fetchers.py, quoted in PHOTOS below and in
www/samples/README.md. Only public-domain and CC0 photographs are taken. Each is scaled (Lanczos) so
that its long side is at most LONG_SIDE pixels, aspect ratio kept, and saved as a baseline JPEG
without metadata; the script fails if a file would exceed MAX_BYTES. Rerunning it with the same
scikit-image and Pillow writes the same bytes.
"""

from pathlib import Path

import skimage
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "www" / "samples"
LONG_SIDE = 480
MAX_BYTES = 100_000
QUALITY = 85

# output name -> (file in skimage/data, licence as the loader's docstring states it)
PHOTOS = {
    "cat.jpg": ("chelsea.png", "No copyright restrictions. CC0 by the photographer (Stefan van der Walt)."),
    "coffee.jpg": ("coffee.png", "No copyright restrictions. CC0 by the photographer (Rachel Michetti)."),
    "astronaut.jpg": ("astronaut.png", "No known copyright restrictions, released into the public domain."),
    "rocket.jpg": ("rocket.jpg", "The image was captured by SpaceX and released in the public domain."),
}


def scaled(image: Image.Image) -> Image.Image:
    """`image` with its long side at most LONG_SIDE pixels (never enlarged), aspect ratio kept."""
    scale = min(1.0, LONG_SIDE / max(image.size))
    size = (round(image.width * scale), round(image.height * scale))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def main() -> None:
    data = Path(skimage.__file__).parent / "data"
    print(f"scikit-image {skimage.__version__}, from {data}")
    for name, (source, licence) in PHOTOS.items():
        with Image.open(data / source) as image:
            photo = scaled(image.convert("RGB"))
        out = OUT / name
        photo.save(out, "JPEG", quality=QUALITY, optimize=True)
        size = out.stat().st_size
        if size > MAX_BYTES:
            raise SystemExit(f"{out}: {size} bytes, more than {MAX_BYTES}: lower QUALITY or LONG_SIDE")
        print(f"{out.relative_to(ROOT)}: {photo.width} x {photo.height}, {size} bytes ({source}; {licence})")


if __name__ == "__main__":
    main()
