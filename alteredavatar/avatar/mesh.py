"""`AvatarMesh`: the animatable head every stage reads (geometry, UVs, blendshapes, albedo)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from alteredavatar.avatar.arkit import NUM_EXPR
from alteredavatar.errors import AvatarLoadError

MAX_FACES = 200_000


@dataclass
class AvatarMesh:
    """A UV-mapped triangle mesh with ARKit-52 blendshapes and a base-colour texture.

    Vertices are split at UV seams, so every vertex has one UV; `weld` maps each vertex to its
    position-unique id so normals are smooth across seams.

    Attributes:
        verts: (V, 3) float32 neutral positions in metres, head centred near the origin, +y up, +z front.
        faces: (F, 3) int64 triangle vertex indices, counter-clockwise seen from outside.
        uvs: (V, 2) float32 texture coordinates in [0, 1], v up (glTF's flip already undone).
        blendshapes: (52, V, 3) float32 vertex offsets in ARKIT_NAMES order (zero where missing).
        albedo: (3, H, W) float32 base colour in [0, 1]; row 0 is v = 1 (top of the image).
        weld: (V,) int64 position-unique vertex id (equal ids share a position).
        name: a short identifier written into style metadata.
    """

    verts: torch.Tensor
    faces: torch.Tensor
    uvs: torch.Tensor
    blendshapes: torch.Tensor
    albedo: torch.Tensor
    weld: torch.Tensor
    name: str = "avatar"
    extras: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def num_verts(self) -> int:
        return int(self.verts.shape[0])

    def validate(self) -> None:
        """Raise `AvatarLoadError` with a clear message when the mesh is unusable."""
        v, f = self.verts, self.faces
        if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] == 0:
            raise AvatarLoadError(f"{self.name}: vertices must be (V, 3), got {tuple(v.shape)}")
        if f.ndim != 2 or f.shape[1] != 3 or f.shape[0] == 0:
            raise AvatarLoadError(f"{self.name}: the mesh has no triangles")
        if f.shape[0] > MAX_FACES:
            raise AvatarLoadError(
                f"{self.name}: {f.shape[0]} faces is more than the {MAX_FACES} we support; decimate it first"
            )
        if not torch.isfinite(v).all():
            raise AvatarLoadError(f"{self.name}: vertex positions contain NaN or infinity")
        if int(f.min()) < 0 or int(f.max()) >= v.shape[0]:
            raise AvatarLoadError(f"{self.name}: face indices out of range")
        if self.uvs.shape != (v.shape[0], 2):
            raise AvatarLoadError(f"{self.name}: the mesh has no per-vertex UVs")
        if self.blendshapes.shape != (NUM_EXPR, v.shape[0], 3):
            raise AvatarLoadError(f"{self.name}: blendshapes must be (52, V, 3)")
        if self.albedo.ndim != 3 or self.albedo.shape[0] != 3:
            raise AvatarLoadError(f"{self.name}: albedo must be (3, H, W)")

    def to(self, device: torch.device | str) -> AvatarMesh:
        """Copy of the mesh with every tensor on `device`."""
        return AvatarMesh(
            self.verts.to(device),
            self.faces.to(device),
            self.uvs.to(device),
            self.blendshapes.to(device),
            self.albedo.to(device),
            self.weld.to(device),
            self.name,
            dict(self.extras),
        )

    def posed(self, expr: torch.Tensor) -> torch.Tensor:
        """Vertices under ARKit weights.

        Args:
            expr: (B, 52) blendshape weights, typically in [0, 1].
        Returns:
            (B, V, 3) positions.
        """
        return self.verts[None] + torch.einsum("be,evc->bvc", expr, self.blendshapes)


def weld_by_position(verts: np.ndarray, decimals: int = 6) -> np.ndarray:
    """(V,) ids that are equal exactly where rounded positions coincide (undoes UV-seam splits)."""
    _, inv = np.unique(np.round(verts, decimals), axis=0, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)
