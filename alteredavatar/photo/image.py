"""Read a user's photo: any format Pillow reads, EXIF rotation applied, grey made RGB, huge ones smaller."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from alteredavatar.errors import PhotoInputError

MAX_SIDE = 1600  # longer side after downscaling: FaceMesh and the texture need no more
MAX_PIXELS = 200_000_000  # refuse beyond this (decompression bombs)


def load_photo(path: str | Path, max_side: int = MAX_SIDE) -> tuple[np.ndarray, list[str]]:
    """The photo as (H, W, 3) uint8 RGB, upright, longer side <= max_side, and notes for the user.

    Raises PhotoInputError with one line for a missing file, a folder, or a file that is not an image.
    """
    path = Path(path)
    if not path.exists():
        raise PhotoInputError(f"{path}: no such file; give the path of a photo (JPEG, PNG, ...)")
    if path.is_dir():
        raise PhotoInputError(f"{path} is a folder; give the path of a photo (JPEG, PNG, ...)")
    notes: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = MAX_PIXELS
            with Image.open(path) as img:
                original = img.size
                orientation = img.getexif().get(0x0112, 1)
                img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced size right away
                mode = img.mode
                img = ImageOps.exif_transpose(img).convert("RGB")
    except UnidentifiedImageError:
        raise PhotoInputError(
            f"{path}: not an image file (Pillow cannot read it); give a JPEG or PNG photo"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoInputError(
            f"{path}: the image has more than {MAX_PIXELS:,} pixels; resize it first"
        ) from None
    except OSError as exc:
        raise PhotoInputError(f"{path}: the image could not be read ({exc}); it may be truncated") from None
    if mode in ("L", "LA", "1", "I", "I;16", "F"):
        notes.append("the photo is grayscale, so the avatar's texture is grey too")
    if orientation not in (1, None):
        notes.append(f"turned the photo upright as its EXIF orientation ({orientation}) says")
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        img = img.resize(
            (max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.LANCZOS
        )
    if max(original) > max_side:
        notes.append(f"downscaled the photo from {original[0]}x{original[1]} to {img.width}x{img.height}")
    return np.asarray(img, np.uint8).copy(), notes
