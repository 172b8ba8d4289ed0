"""Load a user's style image as a tensor, with errors that say what is wrong with the file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from alteredavatar.errors import StyleInputError

MIN_STYLE_SIDE = 8  # pixels; smaller images carry no usable texture or colour layout
BACKGROUND = (255, 255, 255)  # transparent pixels are composited over white


def _check_file(path: Path) -> None:
    if not path.exists():
        raise StyleInputError(f"style image not found: {path}")
    if not path.is_file():
        raise StyleInputError(f"style image path is not a file: {path}")


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def _to_rgb(img: Image.Image) -> Image.Image:
    """First frame, EXIF-rotated, alpha composited over white, high-bit-depth greys rescaled -> RGB."""
    img.seek(0)
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        img = Image.fromarray(arr.astype(np.uint8))
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        img = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        img.alpha_composite(rgba)
    return img.convert("RGB")


def load_style_image(path: str | Path, size: int = 256) -> torch.Tensor:
    """Read a style image: resized so the shorter side is `size`, centre-cropped square.

    Animated images use their first frame; transparency is composited over white.
    Returns:
        (3, size, size) float32 in [0, 1].
    Raises:
        StyleInputError: missing file, not a readable image, truncated/corrupt, fully transparent, or smaller
            than 8x8.
    """
    path = Path(path)
    _check_file(path)
    try:
        with Image.open(path) as img:
            img.load()
            rgb = _to_rgb(img)
            invisible = _has_alpha(img) and np.asarray(img.convert("RGBA"))[..., 3].max() == 0
    except UnidentifiedImageError as err:
        raise StyleInputError(f"{path} is not an image file PIL can read (PNG, JPEG, WebP, ...)") from err
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
        raise StyleInputError(
            f"cannot read style image {path}: the file is corrupt or truncated ({err})"
        ) from err
    if invisible:
        raise StyleInputError(
            f"style image {path} is fully transparent (every pixel has alpha 0), so it shows "
            "no style; export it with its colours visible"
        )
    w, h = rgb.size
    if min(w, h) < MIN_STYLE_SIDE:
        raise StyleInputError(
            f"style image {path} is {w}x{h} pixels; it must be at least {MIN_STYLE_SIDE}x{MIN_STYLE_SIDE}"
        )
    rgb = ImageOps.fit(rgb, (size, size), method=Image.Resampling.BICUBIC, centering=(0.5, 0.5))
    arr = np.asarray(rgb, dtype=np.float32) / 255.0
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).contiguous()


def image_sha256(path: str | Path) -> str:
    """Hex SHA-256 of the file's bytes (recorded in style metadata)."""
    path = Path(path)
    _check_file(path)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
