"""The README's pictures, made by the product itself: the demo's expression grid, a strength sweep and the
back of the head (seams and the neck's rim).

Runs `alteredavatar demo` (strength 0.5) and the same stylization at strength 0.2 and 0.8, then writes
docs/demo_expressions.png (copied from the demo run) and docs/strength_sweep.png (style image, unstylized
portrait, then the portraits at 0.2 / 0.5 / 0.8) and docs/back_of_head.png (unstylized and demo style, from
behind and the sides, with the output lighting). Run: `python bench/readme_figures.py` (~5 min on 2 cores).
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
    if cli(["demo", "--out", str(demo), "--overwrite"]) != 0:
        raise SystemExit("demo failed")
    style = demo / "style_image.png"
    for s in STRENGTHS:
        run = OUT / f"strength-{s}"
        if (
            s != 0.5
            and cli(
                [
                    "stylize",
                    "--style.image",
                    str(style),
                    "--objective.strength",
                    str(s),
                    "--out",
                    str(run),
                    "--overwrite",
                ]
            )
            != 0
        ):
            raise SystemExit(f"stylize at strength {s} failed")
    shutil.copy(demo / "expressions.png", DOCS / "demo_expressions.png")
    row = [tile(style), tile(demo / "portrait_original.png")]
    row += [tile(OUT / f"strength-{s}" / "portrait.png") for s in STRENGTHS]
    imageio.imwrite(DOCS / "strength_sweep.png", np.concatenate(row, axis=1))
    back_of_head(demo, DOCS / "back_of_head.png")
    print(
        f"wrote {DOCS / 'demo_expressions.png'}, {DOCS / 'strength_sweep.png'} and "
        f"{DOCS / 'back_of_head.png'}"
    )


def back_of_head(style_dir: Path, path: Path) -> None:
    """Top row unstylized, bottom row the demo style: yaw 120, 180 (the back) and -120, slightly from below
    so the neck's rim shows."""
    import torch

    from alteredavatar.adapt.style_file import apply_style, load_style
    from alteredavatar.avatar.pretrained import load_avatar_with_reference
    from alteredavatar.export.media import to_uint8
    from alteredavatar.export.outputs import OutputConfig
    from alteredavatar.render.avatar import render_avatar
    from alteredavatar.render.cameras import front_views

    styled, source = load_avatar_with_reference()
    apply_style(styled.net, load_style(style_dir)[0])
    cfg = OutputConfig().render_config()
    cams = front_views((120.0, 180.0, -120.0), pitch_deg=-10.0)
    with torch.no_grad():
        rows = [render_avatar(a, torch.zeros(3, 52), cams, cfg).image for a in (source, styled)]
    images = to_uint8(torch.cat(rows))
    h, w = images.shape[1:3]
    imageio.imwrite(path, images.reshape(2, 3, h, w, 3).transpose(0, 2, 1, 3, 4).reshape(2 * h, 3 * w, 3))


if __name__ == "__main__":
    main()
