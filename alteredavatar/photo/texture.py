"""The avatar's albedo from the photo: project the photo into UV where the fitted head is visible and faces
the camera, mirror it left/right where only one side is seen, and fill the rest (back of the head, ears,
hidden sides) with the default albedo recoloured to the photo's skin tone, blending smoothly. Eyes, teeth and
tongue keep the default albedo (they are separate mesh groups with UV islands of their own).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage
from scipy.spatial import cKDTree

from alteredavatar.avatar.seams import fill_islands, island_fill_index
from alteredavatar.photo.fit import PhotoFit
from alteredavatar.raster import Fragments, fragment_barycentrics, rasterize, rasterize_uv, vertex_normals


@dataclass
class TextureConfig:
    """How photo texels are chosen and blended (defaults are the ones in the docs' pictures)."""

    facing_lo: float = 0.25
    """cos(angle) between surface normal and view ray below which the photo is not used..."""
    facing_hi: float = 0.55
    """...and above which it is used fully (a smooth ramp between)."""
    depth_tolerance_m: float = 0.004
    """A texel is visible when its depth is within this of the photo's z-buffer."""
    feather_texels: float = 10.0
    """Gaussian blur (texels) of the blend weights, so the photo fades into the fill (4 left a visible border
    on the cheek in profile)."""
    mirror_max_m: float = 0.004
    """A texel's mirror partner (x -> -x) must lie this close to the surface."""
    skin_tolerance: float = 0.1
    """Default-albedo texels within this of its skin colour count as skin when estimating the tone."""
    neck_fade_m: tuple[float, float] = (0.005, 0.025)
    """Below the chin the photo fades out between these distances (metres), so a collar or a scarf in the
    photo does not paint the neck."""


@dataclass
class PhotoTexture:
    """albedo (3, R, R) in [0, 1]; photo_weight, mirror_weight (R, R) in [0, 1]; skin_tone (3,)."""

    albedo: torch.Tensor
    photo_weight: torch.Tensor
    mirror_weight: torch.Tensor
    skin_tone: torch.Tensor


def _zbuffer(screen: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """(h, w) depth of the nearest surface (inf where none) in the photo's camera."""
    tri = rasterize(screen[None], depth[None], faces, h, w)
    frags = Fragments.from_tri_id(tri)
    bary = fragment_barycentrics(screen[None], depth[None], faces, frags)
    z = (depth[faces[frags.tri]] * bary).sum(-1, keepdim=True)
    out = frags.scatter(z)[0, ..., 0]
    return torch.where(tri[0] >= 0, out, torch.full_like(out, float("inf")))


def _sample(image: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of (C, H, W) at (N, 2) pixel coordinates (x, y) -> (N, C)."""
    h, w = image.shape[-2:]
    grid = torch.stack([xy[:, 0] / w * 2 - 1, xy[:, 1] / h * 2 - 1], -1)[None, None]
    return F.grid_sample(image[None], grid, align_corners=False, padding_mode="border")[0, :, 0].T


def photo_texture(
    photo: torch.Tensor,
    fit: PhotoFit,
    neutral: torch.Tensor,
    posed: torch.Tensor,
    faces: torch.Tensor,
    uvs: torch.Tensor,
    skin_faces: torch.Tensor,
    default_albedo: torch.Tensor,
    default_skin: tuple[float, float, float],
    chin_y: float = float("-inf"),
    cfg: TextureConfig | None = None,
) -> PhotoTexture:
    """Build the albedo (see module docstring).

    Args:
        photo: (3, H, W) in [0, 1]; fit: its camera; neutral, posed: (V, 3) fitted vertices without and with
        the photo's expression; faces (F, 3); uvs (V, 2); skin_faces (S,) indices of the faces the photo may
        paint; default_albedo (3, R, R); default_skin: its skin colour; chin_y: height of the chin (neutral
        frame), where the neck fade starts.
    """
    cfg = cfg or TextureConfig()
    res = default_albedo.shape[-1]
    h, w = photo.shape[-2:]
    with torch.no_grad():
        screen, depth = fit.project(posed)
        zbuf = _zbuffer(screen, depth, faces, h, w)
        normals = vertex_normals(posed[None], faces)[0] @ fit.rot.T  # camera frame
        cam = fit.view_points(posed)
        facing = (normals * F.normalize(-cam, dim=-1)).sum(-1)
        attr = torch.cat([screen, depth[:, None], facing[:, None], neutral], -1).double()
        maps, mask = rasterize_uv(uvs.double(), faces[skin_faces], attr, res)
    covered = mask[0] > 0
    flat = maps.reshape(maps.shape[0], -1).T[covered.reshape(-1)].float()  # (N, 7)
    xy, z, face_cos, pos = flat[:, :2], flat[:, 2], flat[:, 3], flat[:, 4:]
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    ix, iy = xy[:, 0].long().clamp(0, w - 1), xy[:, 1].long().clamp(0, h - 1)
    visible = inside & ((z - zbuf[iy, ix]).abs() < cfg.depth_tolerance_m)
    ramp = ((face_cos - cfg.facing_lo) / (cfg.facing_hi - cfg.facing_lo)).clamp(0, 1)
    lo, hi = cfg.neck_fade_m
    neck = ((pos[:, 1] - (chin_y - hi)) / (hi - lo)).clamp(0, 1)
    weight = (ramp * ramp * (3 - 2 * ramp)) * visible * neck  # smoothstep
    colour = _sample(photo, xy)  # (N, 3)

    def to_map(values: torch.Tensor) -> np.ndarray:
        out = np.zeros((res * res,) + tuple(values.shape[1:]), np.float32)
        out[covered.reshape(-1).numpy()] = values.numpy()
        return out.reshape((res, res) + tuple(values.shape[1:]))

    hard = to_map(weight)
    soft = ndimage.gaussian_filter(hard, cfg.feather_texels) * (hard > 0)
    soft = np.minimum(soft, hard)  # feathered towards the edges of what the photo sees, never beyond it
    idx = np.flatnonzero(covered.reshape(-1).numpy())
    w_photo = soft.reshape(-1)[idx]

    # mirror: the texel at (-x, y, z) on the surface, when one is close enough
    tree = cKDTree(pos.numpy())
    dist, partner = tree.query(pos.numpy() * np.array([-1.0, 1.0, 1.0]), k=1)
    w_mirror = np.where(dist < cfg.mirror_max_m, w_photo[partner], 0.0) * (1 - w_photo)

    default_flat = default_albedo.reshape(3, -1).T[covered.reshape(-1)]
    skin_like = (default_flat - torch.tensor(default_skin)).abs().max(-1).values < cfg.skin_tolerance
    trusted = torch.from_numpy(w_photo > 0.9) & skin_like
    if int(trusted.sum()) < 16:
        trusted = torch.from_numpy(w_photo > 0.5)
    tone = colour[trusted].median(0).values if int(trusted.sum()) else torch.tensor(default_skin)
    fill = (default_albedo * (tone / torch.tensor(default_skin)).clamp(0.2, 3.0)[:, None, None]).clamp(0, 1)
    fill_flat = fill.reshape(3, -1).T[covered.reshape(-1)]

    wp, wm = torch.from_numpy(w_photo)[:, None], torch.from_numpy(w_mirror).float()[:, None]
    blended = wp * colour + wm * colour[torch.from_numpy(partner)] + (1 - wp - wm) * fill_flat
    albedo = default_albedo.reshape(3, -1).clone()
    albedo[:, covered.reshape(-1)] = blended.T.float()
    albedo = albedo.reshape(3, res, res)
    coverage = rasterize_uv(uvs, faces, torch.zeros(len(uvs), 1), res)[1]
    albedo = fill_islands(albedo[None], island_fill_index(coverage[0]))[0]
    return PhotoTexture(
        albedo=albedo.clamp(0, 1),
        photo_weight=torch.from_numpy(to_map(torch.from_numpy(w_photo))),
        mirror_weight=torch.from_numpy(to_map(torch.from_numpy(w_mirror).float())),
        skin_tone=tone,
    )
