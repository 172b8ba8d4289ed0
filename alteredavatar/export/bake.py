"""Bake an avatar for file export: evaluate the network once per ARKit shape and keep plain arrays.

A glTF viewer cannot run our network, so each morph target stores what the network does at that one
expression: target k's deltas = frame(expr = e_k) - frame(neutral), i.e. the blendshape plus the change of the
(stylized) displacement it causes. Mixing targets in a viewer adds these deltas linearly, which matches the
network exactly for single shapes and approximately for mixes. The albedo also depends on the expression;
the texture is the neutral one (a glTF material cannot morph).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from alteredavatar.avatar.arkit import ARKIT_NAMES, NUM_EXPR
from alteredavatar.avatar.mesh import AvatarMesh
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.export.media import to_uint8
from alteredavatar.raster import vertex_normals


@dataclass
class BakedAvatar:
    """An avatar as arrays in the file's frame (metres, +y up, +z front; a user head's own frame and scale).

    positions (V, 3) f32 neutral, displaced; normals (V, 3) f32 unit; uvs (V, 2) f32 glTF convention (v down);
    faces (F, 3) int64; position_deltas and normal_deltas (52, V, 3) f32 in ARKit order; target_names (52,)
    the avatar's own morph names where its file had them, else ARKit's; texture (T, T, 3) uint8 neutral
    albedo, row 0 = top (glTF v = 0).
    """

    positions: np.ndarray
    normals: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray
    position_deltas: np.ndarray
    normal_deltas: np.ndarray
    target_names: list[str]
    texture: np.ndarray
    name: str


def single_shape_codes() -> torch.Tensor:
    """(53, 52): the neutral code, then each ARKit shape alone at weight 1."""
    return torch.cat([torch.zeros(1, NUM_EXPR), torch.eye(NUM_EXPR)])


def target_names(extras: dict) -> list[str]:
    """The 52 morph names to write: a loaded file's own names for the shapes it matched, ARKit's for the
    rest."""
    own = extras.get("target_names") or {}
    return [own.get(n, n) for n in ARKIT_NAMES]


@torch.no_grad()
def bake_avatar(avatar: AnimatableAvatar, texture_res: int, batch: int = 8) -> BakedAvatar:
    """Evaluate `avatar` (with whatever style its network holds) at neutral and at each single ARKit shape."""
    mesh, codes = avatar.mesh, single_shape_codes().to(avatar.device)
    verts, albedo = [], None
    for chunk in codes.split(batch):
        frame = avatar(chunk)
        verts.append(frame.verts)
        albedo = frame.albedo[:1] if albedo is None else albedo
    return _baked(mesh, torch.cat(verts), albedo, texture_res)


@torch.no_grad()
def bake_mesh(mesh: AvatarMesh, texture_res: int) -> BakedAvatar:
    """A plain mesh (no network): its own albedo and blendshapes, e.g. a head fitted to a photo."""
    return _baked(mesh, mesh.posed(single_shape_codes().to(mesh.verts)), mesh.albedo[None], texture_res)


def _baked(mesh: AvatarMesh, verts: torch.Tensor, albedo: torch.Tensor, texture_res: int) -> BakedAvatar:
    """verts (53, V, 3): neutral, then each ARKit shape alone; albedo (1, 3, R, R)."""
    normals = vertex_normals(verts, mesh.faces, mesh.weld).double()
    length = normals.norm(dim=-1, keepdim=True)
    up = torch.tensor([0.0, 0.0, 1.0], dtype=normals.dtype, device=normals.device)
    normals = torch.where(length > 1e-12, normals / length.clamp_min(1e-12), up)  # unit even where no face is
    frame = mesh.extras.get("frame")  # a user head was centred and scaled on load: put it back where it was
    scale, centre = (frame["scale"], torch.tensor(frame["centre"])) if frame else (1.0, torch.zeros(3))
    verts = verts.cpu().double() / scale + centre.double()
    normals = normals.cpu()
    texture = F.interpolate(
        albedo,
        size=(texture_res, texture_res),
        mode="bilinear",
        align_corners=False,
        antialias=texture_res < albedo.shape[-1],
    )
    uvs = mesh.uvs.cpu().numpy()
    return BakedAvatar(
        positions=verts[0].float().numpy(),
        normals=normals[0].float().numpy(),
        uvs=np.stack([uvs[:, 0], 1.0 - uvs[:, 1]], 1).astype(np.float32),
        faces=mesh.faces.cpu().numpy(),
        position_deltas=(verts[1:] - verts[:1]).float().numpy(),
        normal_deltas=(normals[1:] - normals[:1]).float().numpy(),
        target_names=target_names(mesh.extras),
        texture=to_uint8(texture)[0],
        name=mesh.name,
    )
