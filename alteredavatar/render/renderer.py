"""Render textured, shaded avatars: rasterize -> interpolate UVs/normals -> sample texture -> Lambert.

`render_mesh` is the one entry point; it picks nvdiffrast when the inputs live on CUDA and it is
installed (same outputs), else the pure-PyTorch CPU rasterizer in `rasterize.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from alteredavatar.raster import (
    Fragments,
    fragment_barycentrics,
    fragment_interpolate,
    nvdiffrast_available,
    rasterize,
    sample_texture,
    vertex_normals,
)
from alteredavatar.raster.rasterize import check_mesh
from alteredavatar.render.cameras import Cameras


@dataclass
class RenderConfig:
    """Image size, lighting and background of a render."""

    res: int = 224
    background: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ambient: float = 0.45
    diffuse: float = 0.65
    light_dir: tuple[float, float, float] = (0.3, 0.4, 1.0)  # in camera space, towards the light
    ssaa: float = 1.0
    """Supersampling: rasterize at round(res * ssaa) and box-filter down (anti-aliasing for outputs; 1 for
    training). Need not be an integer: 1.5 costs about half of 2."""
    shading: Literal["flat", "studio"] = "flat"
    """`flat`: Lambert + ambient from one camera-fixed light (what guidance sees; cheap, even). `studio`:
    key + fill lights, a rim and a little specular (`StudioLights`), for the pictures and videos people
    keep."""


@dataclass(frozen=True)
class StudioLights:
    """Camera-fixed portrait lighting: a warm key from the upper left, a weak fill from the right, a rim that
    brightens grazing surfaces (so the silhouette separates from the background) and Blinn-Phong specular."""

    ambient: float = 0.3
    key: float = 0.72
    key_dir: tuple[float, float, float] = (-0.5, 0.55, 0.75)  # camera space, towards the light
    key_tint: tuple[float, float, float] = (1.0, 0.97, 0.92)
    fill: float = 0.28
    fill_dir: tuple[float, float, float] = (0.8, 0.0, 0.6)
    rim: float = 0.35
    rim_power: float = 3.0
    specular: float = 0.1
    shininess: float = 24.0


STUDIO = StudioLights()


@dataclass
class RenderOutput:
    """image (B, 3, H, W) in [0, 1]; mask (B, 1, H, W) coverage; tri_id (B, H', W') at render size."""

    image: torch.Tensor
    mask: torch.Tensor
    tri_id: torch.Tensor = field(repr=False)


def _to_world(direction, rt: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A camera-space direction (3,) -> (B, 3) world-space unit vectors, one per camera."""
    d = F.normalize(torch.tensor(direction, dtype=like.dtype, device=like.device), dim=0)
    return torch.einsum("bij,i->bj", rt[:, :, :3], d)


def _shade(albedo, normal, pos, batch, cams: Cameras, cfg: RenderConfig):
    """Per-fragment shading, lights fixed relative to each camera (so every view is lit).

    albedo, normal, pos (world position): (P, 3); batch: (P,) view index of each fragment.
    """
    rt = cams.world_to_view()  # (B, 3, 4)
    if cfg.shading == "flat":
        lam = (normal * _to_world(cfg.light_dir, rt, normal)[batch]).sum(-1, keepdim=True).abs()  # two-sided
        return albedo * (cfg.ambient + cfg.diffuse * lam)
    light = STUDIO
    view = F.normalize(cams.eye.to(pos)[batch] - pos, dim=-1, eps=1e-12)  # towards the camera
    facing = (normal * view).sum(-1, keepdim=True)
    n = torch.where(facing < 0, -normal, normal)  # two-sided: the inside of the neck faces the camera too
    cos_v = facing.abs().clamp(0, 1)
    key_dir, fill_dir = _to_world(light.key_dir, rt, n)[batch], _to_world(light.fill_dir, rt, n)[batch]
    key = (n * key_dir).sum(-1, keepdim=True).clamp_min(0)
    fill = (n * fill_dir).sum(-1, keepdim=True).clamp_min(0)
    tint = torch.tensor(light.key_tint, dtype=n.dtype, device=n.device)
    diffuse = light.ambient + light.key * key * tint + light.fill * fill
    half = F.normalize(key_dir + view, dim=-1, eps=1e-12)
    spec = light.specular * (n * half).sum(-1, keepdim=True).clamp_min(0) ** light.shininess * (key > 0)
    rim = light.rim * (1 - cos_v) ** light.rim_power
    return (albedo * diffuse + spec * tint + rim * (0.5 + 0.5 * albedo)).clamp(0, 1)


def _sample_fragments(texture: torch.Tensor, uv: torch.Tensor, batch: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of (P, 2) UVs in each fragment's own texture (B, C, Ht, Wt) -> (P, C)."""
    if texture.shape[0] == 1:
        return sample_texture(texture, uv[None, None])[0, 0]
    out = uv.new_zeros(uv.shape[0], texture.shape[1])
    for b in range(texture.shape[0]):
        sel = torch.nonzero(batch == b).squeeze(1)
        out = out.index_put((sel,), sample_texture(texture[b : b + 1], uv[sel][None, None])[0, 0])
    return out


def render_mesh(
    verts: torch.Tensor,
    faces: torch.Tensor,
    uvs: torch.Tensor,
    texture: torch.Tensor,
    cams: Cameras,
    cfg: RenderConfig | None = None,
    weld: torch.Tensor | None = None,
) -> RenderOutput:
    """Render a batch of textured meshes sharing topology.

    Args:
        verts: (B, V, 3) world positions (displaced, posed).
        faces: (F, 3) int64.
        uvs: (V, 2) texture coordinates.
        texture: (B, 3, Ht, Wt) or (1, 3, Ht, Wt) albedo in [0, 1].
        cams: B cameras.
        weld: (V,) ids for smooth normals across seams.
    Returns:
        RenderOutput with image (B, 3, res, res).
    """
    cfg = RenderConfig() if cfg is None else cfg
    check_mesh(verts, faces, 3)
    if verts.ndim != 3 or len(cams) != verts.shape[0]:
        raise ValueError(
            f"{len(cams)} cameras for vertices of shape {tuple(verts.shape)}; expected (B, V, 3)"
        )
    if uvs.shape != (verts.shape[1], 2) or texture.ndim != 4 or texture.shape[0] not in (1, verts.shape[0]):
        raise ValueError(
            f"uvs must be ({verts.shape[1]}, 2) and texture (B or 1, 3, H, W); got "
            f"{tuple(uvs.shape)} and {tuple(texture.shape)}"
        )
    size = max(cfg.res, round(cfg.res * cfg.ssaa))
    screen, depth = cams.project(verts, size, size)
    if verts.is_cuda and nvdiffrast_available():
        from alteredavatar.raster.nvdiff import rasterize_cuda

        tri_id, bary_img = rasterize_cuda(screen, depth, faces, size, size)
        frags = Fragments.from_tri_id(tri_id)
        bary = bary_img[frags.batch, frags.row, frags.col]
    else:
        tri_id = rasterize(screen.detach(), depth.detach(), faces, size, size)
        frags = Fragments.from_tri_id(tri_id)
        bary = fragment_barycentrics(screen, depth, faces, frags)
    normals = vertex_normals(verts, faces, weld)  # (B, V, 3)
    uv = fragment_interpolate(uvs, faces, frags, bary)
    normal = F.normalize(fragment_interpolate(normals, faces, frags, bary), dim=-1, eps=1e-12)
    pos = fragment_interpolate(verts, faces, frags, bary) if cfg.shading != "flat" else None
    colour = _shade(_sample_fragments(texture, uv, frags.batch), normal, pos, frags.batch, cams, cfg)
    mask = frags.scatter(torch.ones_like(colour[:, :1]))
    bg = torch.tensor(cfg.background, dtype=colour.dtype, device=colour.device)
    image = (frags.scatter(colour) + bg * (1 - mask)).permute(0, 3, 1, 2)
    mask = mask.permute(0, 3, 1, 2)
    if size > cfg.res:  # exact box filter, also for non-integer factors
        image = F.adaptive_avg_pool2d(image, cfg.res)
        mask = F.adaptive_avg_pool2d(mask, cfg.res)
    return RenderOutput(image=image, mask=mask, tri_id=tri_id)
