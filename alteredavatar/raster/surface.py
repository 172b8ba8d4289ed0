"""Per-vertex normals and texture lookup: the surface primitives both the avatar and the renderer use."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from alteredavatar.raster.rasterize import check_mesh


def vertex_normals(
    verts: torch.Tensor, faces: torch.Tensor, weld: torch.Tensor | None = None
) -> torch.Tensor:
    """Area-weighted vertex normals, averaged over welded copies so UV seams do not show.

    Args:
        verts: (B, V, 3); faces: (F, 3); weld: (V,) position-unique ids or None.
    Returns:
        (B, V, 3) unit normals (differentiable in `verts`).
    """
    check_mesh(verts, faces, 3)
    v0, v1, v2 = (verts[:, faces[:, k]] for k in range(3))
    face_n = torch.cross(v1 - v0, v2 - v0, dim=-1)  # (B, F, 3), length = 2 * area
    ids = weld if weld is not None else torch.arange(verts.shape[1], device=verts.device)
    n_ids = int(ids.max()) + 1
    acc = verts.new_zeros(verts.shape[0], n_ids, 3)
    for k in range(3):
        acc = acc.index_add(1, ids[faces[:, k]], face_n)
    return F.normalize(acc[:, ids], dim=-1, eps=1e-12)


def sample_texture(texture: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear texture lookup (differentiable in both).

    Args:
        texture: (B, C, Ht, Wt), row 0 is v = 1.
        uv: (B, H, W, 2) in [0, 1].
    Returns:
        (B, H, W, C).
    """
    if texture.ndim != 4 or uv.ndim != 4 or uv.shape[-1] != 2 or uv.shape[0] != texture.shape[0]:
        raise ValueError(
            f"sample_texture: expected texture (B, C, H, W) and uv (B, H, W, 2), got "
            f"{tuple(texture.shape)} and {tuple(uv.shape)}"
        )
    grid = torch.stack([uv[..., 0] * 2 - 1, 1 - uv[..., 1] * 2], -1)
    out = F.grid_sample(texture, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out.permute(0, 2, 3, 1)
