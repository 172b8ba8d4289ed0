"""Write renders as an MP4 (imageio-ffmpeg), a GIF, PNGs (RGB or transparent RGBA) or a labelled PNG grid,
always atomically (a folder of frames appears whole or not at all)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from alteredavatar.io import atomic_path


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) floats in [0, 1] -> (B, H, W, C) uint8 (C = 3, or 4 with alpha)."""
    return (images.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy() * 255 + 0.5).astype(np.uint8)


def write_mp4(frames: np.ndarray, path: str | Path, fps: int = 24) -> None:
    """frames: (N, H, W, 3) uint8; H and W should be even (yuv420p)."""
    with atomic_path(path, suffix=".mp4") as tmp:
        iio.imwrite(tmp, frames, extension=".mp4", fps=fps, codec="libx264", macro_block_size=1)


def write_gif(frames: np.ndarray, path: str | Path, fps: int = 24) -> None:
    """frames: (N, H, W, 3) uint8 -> a looping GIF (Pillow; 256 colours per frame)."""
    images = [Image.fromarray(f) for f in frames]
    with atomic_path(path, suffix=".gif") as tmp:
        images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:], duration=round(1000 / fps), loop=0
        )


def write_png(image: np.ndarray, path: str | Path) -> None:
    """image: (H, W, 3) or (H, W, 4) (RGBA) uint8."""
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(image).save(tmp, format="PNG")


def write_png_frames(frames: np.ndarray, folder: str | Path) -> None:
    """frames: (N, H, W, C) uint8 -> folder/frame_0000.png ...; written beside it, then renamed into place
    (an existing folder of frames is replaced)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for i, frame in enumerate(frames):
            Image.fromarray(frame).save(tmp / f"frame_{i:04d}.png", format="PNG")
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def grid(
    images: np.ndarray,
    col_labels: list[str] | None = None,
    row_labels: list[str] | None = None,
    label_px: int | None = None,
) -> np.ndarray:
    """Tile (R, C, H, W, 3) uint8 images into one (H', W', 3) image with optional text labels.

    Labels are set in Pillow's bundled font at `label_px` (default: scaled to the cell, at least 18 px), so
    they stay legible on large cells."""
    rows, cols, h, w, _ = images.shape
    label_px = label_px or max(18, h // 16)
    font = ImageFont.load_default(size=round(label_px * 0.75))
    top = label_px if col_labels else 0
    left = 5 * label_px if row_labels else 0
    canvas = Image.new("RGB", (left + cols * w, top + rows * h), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    for r in range(rows):
        for c in range(cols):
            canvas.paste(Image.fromarray(images[r, c]), (left + c * w, top + r * h))
    for c, text in enumerate(col_labels or []):
        draw.text((left + c * w + 4, 2), text, fill=(0, 0, 0), font=font)
    for r, text in enumerate(row_labels or []):
        draw.text((2, top + r * h + h // 2), text, fill=(0, 0, 0), font=font)
    return np.asarray(canvas)
