"""`AnimatableAvatar`: one identity's mesh bound to the avatar network.

forward(expr) gives the animated, displaced geometry and the UV albedo the renderer needs:
verts = template + blendshapes(expr) + displacement(uv) * neutral normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from alteredavatar.avatar.mesh import AvatarMesh
from alteredavatar.avatar.network import AvatarNet, uv_fourier_features
from alteredavatar.render.rasterize import barycentrics, interpolate, rasterize  # leaf primitive, no cycle

POSITION_SCALE = 5.0  # metres -> roughly [-1, 1] for a head-sized mesh


def neutral_normals(verts: torch.Tensor, faces: torch.Tensor, weld: torch.Tensor) -> torch.Tensor:
    """(V, 3) area-weighted unit normals of the neutral mesh, shared across welded copies."""
    v0, v1, v2 = (verts[faces[:, k]] for k in range(3))
    face_n = torch.cross(v1 - v0, v2 - v0, dim=-1)
    acc = torch.zeros(int(weld.max()) + 1, 3, dtype=verts.dtype)
    for k in range(3):
        acc.index_add_(0, weld[faces[:, k]], face_n)
    return F.normalize(acc[weld], dim=-1, eps=1e-12)


def bake_uv(mesh: AvatarMesh, attr: torch.Tensor, res: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rasterize per-vertex `attr` (V, C) into UV space.

    Returns:
        (C, res, res) map (row 0 is v = 1) and (1, res, res) coverage mask.
    """
    screen = torch.stack([mesh.uvs[:, 0] * res, (1 - mesh.uvs[:, 1]) * res], -1)[None]
    depth = torch.ones(1, mesh.num_verts)
    tri = rasterize(screen, depth, mesh.faces, res, res)
    bary = barycentrics(screen, depth, mesh.faces, tri)
    out = interpolate(attr, mesh.faces, tri, bary)[0].permute(2, 0, 1)
    return out, (tri >= 0).float()


def identity_maps(mesh: AvatarMesh, res: int, octaves: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The identity encoder's input for `mesh`.

    Returns:
        maps (1, 7 + 4 * octaves, res, res): albedo, neutral position, UV mask, UV Fourier features;
        albedo_target (1, 3, res, res): the albedo the unstylized network should reproduce.
    """
    albedo = F.interpolate(mesh.albedo[None], size=(res, res), mode="bilinear", antialias=True, align_corners=False)
    pos, mask = bake_uv(mesh, mesh.verts * POSITION_SCALE, res)
    maps = torch.cat([albedo[0], pos, mask, uv_fourier_features(res, octaves)])[None]
    return maps, albedo


@dataclass
class AvatarFrame:
    """verts (B, V, 3) posed + displaced; albedo (B, 3, R, R); displacement (B, 1, R, R) metres."""

    verts: torch.Tensor
    albedo: torch.Tensor
    displacement: torch.Tensor


class AnimatableAvatar(nn.Module):
    """A mesh identity + the avatar network; caches identity features while the encoder is frozen."""

    def __init__(self, mesh: AvatarMesh, net: AvatarNet):
        super().__init__()
        self.mesh = mesh
        self.net = net
        maps, target = identity_maps(mesh, net.cfg.uv_res, net.cfg.fourier_octaves)
        self.register_buffer("maps", maps, persistent=False)
        self.register_buffer("albedo_target", target, persistent=False)
        self.register_buffer("uv_mask", bake_uv(mesh, mesh.verts, net.cfg.uv_res)[1][None], persistent=False)
        self.register_buffer("normals", neutral_normals(mesh.verts, mesh.faces, mesh.weld), persistent=False)
        self._feats: list[torch.Tensor] | None = None

    def features(self) -> list[torch.Tensor]:
        """Identity features; computed once and reused when no encoder parameter needs a gradient."""
        if any(p.requires_grad for p in self.net.encoder.parameters()):
            self._feats = None
            return self.net.encode(self.maps)
        if self._feats is None:
            with torch.no_grad():
                self._feats = self.net.encode(self.maps)
        return self._feats

    def _weld_mean(self, values: torch.Tensor) -> torch.Tensor:
        """(B, V) -> (B, V) averaged over the copies of each welded vertex."""
        weld = self.mesh.weld
        n = int(weld.max()) + 1
        total = values.new_zeros(values.shape[0], n).index_add(1, weld, values)
        count = torch.zeros(n, dtype=values.dtype, device=values.device).index_add(0, weld, torch.ones_like(weld, dtype=values.dtype))
        return (total / count)[:, weld]

    def forward(self, expr: torch.Tensor) -> AvatarFrame:
        """expr: (B, 52) ARKit weights -> an `AvatarFrame`."""
        albedo, disp = self.net.decode(expr, self.features())
        grid = torch.stack([self.mesh.uvs[:, 0] * 2 - 1, 1 - self.mesh.uvs[:, 1] * 2], -1)[None, None]
        d = F.grid_sample(disp, grid.expand(expr.shape[0], -1, -1, -1), align_corners=False)[:, 0, 0]  # (B, V)
        d = self._weld_mean(d)  # seam copies of a vertex sample different texels; keep the surface closed
        verts = self.mesh.posed(expr) + d.unsqueeze(-1) * self.normals
        return AvatarFrame(verts=verts, albedo=albedo, displacement=disp)
