"""Seam visibility on renders: the colour jump between neighbouring pixels across UV seams vs other edges.

Two neighbouring pixels drawn by two different faces that share a surface edge straddle that edge. Across an
ordinary edge the colour changes only as much as the texture and shading do; across a UV seam it also
jumps by whatever the two islands disagree on. The ratio of the mean jumps (seam / ordinary) is 1 for an
invisible seam and grows as a seam shows.
"""

from __future__ import annotations

import numpy as np
import torch

from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.seams import face_adjacency
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig

SEAM_VIEWS_DEG = (-150.0, -90.0, -30.0, 30.0, 90.0, 150.0, 180.0)  # every side, the back included


def seam_jumps(
    image: torch.Tensor, tri_id: torch.Tensor, pairs: np.ndarray, seam: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour jumps of horizontally and vertically neighbouring pixels that straddle a shared edge.

    Args:
        image: (B, 3, H, W); tri_id: (B, H, W) face per pixel (-1 = background), at the image's size.
        pairs, seam: `face_adjacency` output.
    Returns:
        (seam jumps (Ns,), ordinary jumps (No,)): mean absolute RGB difference per pixel pair.
    """
    n_faces = int(pairs.max()) + 1 if len(pairs) else 1
    keys = torch.from_numpy(pairs[:, 0] * n_faces + pairs[:, 1])
    order = torch.argsort(keys)
    keys, is_seam = keys[order], torch.from_numpy(seam)[order]
    seams, ordinary = [], []
    for dim in (1, 2):  # rows, then columns
        a, b = tri_id.narrow(dim, 0, tri_id.shape[dim] - 1), tri_id.narrow(dim, 1, tri_id.shape[dim] - 1)
        ca, cb = (
            image.narrow(dim + 1, 0, image.shape[dim + 1] - 1),
            image.narrow(dim + 1, 1, image.shape[dim + 1] - 1),
        )
        jump = (ca - cb).abs().mean(1)  # (B, H', W')
        valid = (a >= 0) & (b >= 0) & (a != b)
        lo, hi = torch.minimum(a, b)[valid].cpu(), torch.maximum(a, b)[valid].cpu()
        k = lo * n_faces + hi
        pos = torch.searchsorted(keys, k).clamp_max(len(keys) - 1)
        shared = keys[pos] == k
        j = jump[valid].cpu()
        seams.append(j[shared & is_seam[pos]])
        ordinary.append(j[shared & ~is_seam[pos]])
    return torch.cat(seams), torch.cat(ordinary)


@torch.no_grad()
def seam_visibility(
    avatar: AnimatableAvatar, res: int = 256, yaws: tuple[float, ...] = SEAM_VIEWS_DEG
) -> dict:
    """Seam / ordinary mean colour jump over renders of `avatar` (neutral expression) from every side."""
    m = avatar.mesh
    pairs, seam = face_adjacency(m.faces.cpu().numpy(), m.uvs.cpu().numpy(), m.weld.cpu().numpy())
    out = render_avatar(avatar, torch.zeros(len(yaws), 52), front_views(yaws), RenderConfig(res=res))
    s, o = seam_jumps(out.image, out.tri_id, pairs, seam)
    return {
        "seam_jump": float(s.mean()),
        "ordinary_jump": float(o.mean()),
        "ratio": float(s.mean() / o.mean()),
        "seam_pixels": int(s.numel()),
    }
