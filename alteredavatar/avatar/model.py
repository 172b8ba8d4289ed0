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
from alteredavatar.avatar.seams import SeamSamples, SeamStitch, fill_islands, island_fill_index
from alteredavatar.raster import rasterize_uv, vertex_normals

POSITION_SCALE = 5.0  # metres -> roughly [-1, 1] for a head-sized mesh
UV_MASK_CHANNEL = 6  # identity maps: albedo (0-2), position (3-5), UV mask (6), Fourier features


def identity_maps(mesh: AvatarMesh, res: int, octaves: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The identity encoder's input for `mesh`.

    Returns:
        maps (1, 7 + 4 * octaves, res, res): albedo, neutral position, UV mask, UV Fourier features;
        albedo_target (1, 3, res, res): the albedo the unstylized network should reproduce.
    """
    albedo = F.interpolate(
        mesh.albedo[None], size=(res, res), mode="bilinear", antialias=True, align_corners=False
    )
    pos, mask = rasterize_uv(mesh.uvs, mesh.faces, mesh.verts * POSITION_SCALE, res)
    maps = torch.cat([albedo[0], pos, mask, uv_fourier_features(res, octaves).to(pos)])[None]
    return maps, albedo


@dataclass
class AvatarFrame:
    """verts (B, V, 3) posed + displaced; albedo (B, 3, R, R) as rendered (seams stitched);
    displacement (B, 1, R, R) metres; raw_albedo (B, 3, R, R) the network's albedo before seam stitching."""

    verts: torch.Tensor
    albedo: torch.Tensor
    displacement: torch.Tensor
    raw_albedo: torch.Tensor


class AnimatableAvatar(nn.Module):
    """A mesh identity + the avatar network; caches identity features while the encoder is frozen."""

    def __init__(self, mesh: AvatarMesh, net: AvatarNet):
        super().__init__()
        self.mesh = mesh
        self.net = net
        maps, target = identity_maps(mesh, net.cfg.uv_res, net.cfg.fourier_octaves)
        self.register_buffer("maps", maps, persistent=False)
        self.register_buffer("albedo_target", target, persistent=False)
        self.register_buffer("uv_mask", maps[:, UV_MASK_CHANNEL : UV_MASK_CHANNEL + 1], persistent=False)
        self.register_buffer("island_index", island_fill_index(self.uv_mask[0, 0]), persistent=False)
        self.seams = SeamSamples.from_mesh(mesh.faces, mesh.uvs, mesh.weld)
        self.stitch = SeamStitch.from_mesh(mesh.faces, mesh.uvs, mesh.weld, net.cfg.uv_res)
        normals = vertex_normals(mesh.verts[None], mesh.faces, mesh.weld)[0]  # neutral, shared across seams
        self.register_buffer("normals", normals, persistent=False)
        self._feats: list[torch.Tensor] | None = None

    @property
    def device(self) -> torch.device:
        return self.maps.device

    def move_to(self, device: torch.device | str) -> AnimatableAvatar:
        """Put the mesh, the cached maps and the network on `device` (in place; returns self)."""
        self.mesh = self.mesh.to(device)
        self.seams = self.seams.to(device)
        self.stitch = self.stitch.to(device)
        self.to(device)
        self._feats = None
        return self

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
        count = torch.zeros(n, dtype=values.dtype, device=values.device).index_add(
            0, weld, torch.ones_like(weld, dtype=values.dtype)
        )
        return (total / count)[:, weld]

    def forward(self, expr: torch.Tensor) -> AvatarFrame:
        """expr: (B, 52) ARKit weights -> an `AvatarFrame`."""
        albedo, disp = self.net.decode(expr, self.features())
        # texels no face owns copy their nearest island texel, so lookups at island borders read the island
        raw, disp = fill_islands(albedo, self.island_index), fill_islands(disp, self.island_index)
        # both copies of every seam edge blend to their mean, so the atlas cuts never show as lines (the
        # displacement needs no stitch: the vertices' weld mean below already closes the surface)
        albedo = fill_islands(self.stitch(raw), self.island_index)
        grid = torch.stack([self.mesh.uvs[:, 0] * 2 - 1, 1 - self.mesh.uvs[:, 1] * 2], -1)[None, None]
        d = F.grid_sample(disp, grid.expand(expr.shape[0], -1, -1, -1), align_corners=False)[
            :, 0, 0
        ]  # (B, V)
        d = self._weld_mean(d)  # seam copies of a vertex sample different texels; keep the surface closed
        verts = self.mesh.posed(expr) + d.unsqueeze(-1) * self.normals
        return AvatarFrame(verts=verts, albedo=albedo, displacement=disp, raw_albedo=raw)
