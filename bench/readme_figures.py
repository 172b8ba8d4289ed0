"""The README's pictures, made by the product itself: the demo's expression grid and a strength sweep.

Runs `alteredavatar demo` (strength 0.5) and the same stylization at strength 0.2 and 0.8, then writes
docs/demo_expressions.png (copied from the demo run) and docs/strength_sweep.png (style image, unstylized
portrait, then the portraits at 0.2 / 0.5 / 0.8). Run: `python bench/readme_figures.py` (~5 min on 2 cores).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import imageio.v3 as imageio
import numpy as np

from alteredavatar.cli import main as cli

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "figures"
DOCS = ROOT / "docs"
STRENGTHS = (0.2, 0.5, 0.8)
SIDE = 320


def tile(path: Path) -> np.ndarray:
    """An RGB image resized (nearest-area) to SIDE x SIDE."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((SIDE, SIDE), Image.Resampling.LANCZOS))


def main() -> None:
    demo = OUT / "strength-0.5"
    if cli(["demo", "--out", str(demo)]) != 0:
        raise SystemExit("demo failed")
    style = demo / "style_image.png"
    for s in STRENGTHS:
        run = OUT / f"strength-{s}"
        if s != 0.5 and cli(["stylize", "--style.image", str(style), "--objective.strength", str(s),
                             "--out", str(run)]) != 0:
            raise SystemExit(f"stylize at strength {s} failed")
    shutil.copy(demo / "expressions.png", DOCS / "demo_expressions.png")
    row = [tile(style), tile(demo / "portrait_original.png")]
    row += [tile(OUT / f"strength-{s}" / "portrait.png") for s in STRENGTHS]
    imageio.imwrite(DOCS / "strength_sweep.png", np.concatenate(row, axis=1))
    print(f"wrote {DOCS / 'demo_expressions.png'} and {DOCS / 'strength_sweep.png'}")


if __name__ == "__main__":
    main()
