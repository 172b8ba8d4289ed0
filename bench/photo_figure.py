"""docs/photo_avatar.png: a photo | the avatar fitted to it | that avatar stylized (front portraits).

alteredavatar avatar-from-photo PHOTO --out out/me
alteredavatar demo --out out/demo   # or any style image: the brick wall used here
alteredavatar stylize --style.image out/demo/style_image.png --avatar out/me/avatar.glb --out out/me_styled
python bench/photo_figure.py PHOTO out/me_styled
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from alteredavatar.export.media import grid, write_png
from alteredavatar.photo.image import load_photo
from alteredavatar.photo.landmarks import detect_faces

DOCS = Path(__file__).resolve().parent.parent / "docs"
SIZE = 384


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("styled", type=Path, help="a stylize --out folder of the fitted avatar")
    parser.add_argument("--out", type=Path, default=DOCS / "photo_avatar.png")
    args = parser.parse_args()
    photo, _ = load_photo(args.photo)
    lms = detect_faces([photo])[0].landmarks[0]
    lo, hi = lms.min(0), lms.max(0)
    c, side = (lo + hi) / 2, float((hi - lo).max() * 1.9)
    box = tuple(round(v) for v in (c[0] - side / 2, c[1] - side * 0.55, c[0] + side / 2, c[1] + side * 0.45))
    cells = [Image.fromarray(photo).crop(box)]
    cells += [Image.open(args.styled / n).convert("RGB") for n in ("portrait_original.png", "portrait.png")]
    row = np.stack([np.asarray(im.resize((SIZE, SIZE), Image.LANCZOS)) for im in cells])[None]
    labels = ["photo", "avatar-from-photo (as rendered)", "stylized (bricks, strength 0.5)"]
    write_png(grid(row, labels), args.out)
    print(args.out)


if __name__ == "__main__":
    main()
