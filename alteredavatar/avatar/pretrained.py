"""The built-in pretrained avatar network, and one resolver from an avatar spec to a ready avatar.

An avatar spec is `builtin:<identity>` (see identities.py) or a path to a .glb/.gltf file.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from alteredavatar.avatar.identities import DEFAULT_IDENTITY, builtin_avatar
from alteredavatar.avatar.mesh import AvatarMesh
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig
from alteredavatar.errors import AssetMissingError, AvatarLoadError
from alteredavatar.io import load_safetensors

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PRETRAINED_NET = ASSETS / "avatar_net.safetensors"
DEFAULT_AVATAR = f"builtin:{DEFAULT_IDENTITY}"
HEAD_HEIGHT_M = 0.28  # the built-in head + neck; user meshes are scaled to this frame


def load_avatar_net(path: str | Path | None = None) -> AvatarNet:
    """The fitted avatar network from a safetensors file (default: the one shipped in the package)."""
    path = Path(path) if path else PRETRAINED_NET
    if not path.exists():
        raise AssetMissingError(
            f"avatar network weights not found at {path}. Regenerate them with `alteredavatar fit-avatar` "
            "(or `make pretrained`)."
        )
    tensors, meta = load_safetensors(path)
    try:
        cfg_dict = json.loads(meta["config"])
        cfg = AvatarNetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg_dict.items()})
        net = AvatarNet(cfg)
        missing, unexpected = net.load_state_dict(tensors, strict=False)
        if unexpected or any(not k.startswith("detail.") for k in missing):  # the detail pyramid starts at 0
            raise RuntimeError(f"missing {missing}, unexpected {unexpected}")
    except (KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise AvatarLoadError(
            f"{path}: not an avatar-network file of this version ({type(exc).__name__}); "
            "pass the file `alteredavatar fit-avatar` wrote"
        ) from None
    return net.eval()


def to_head_frame(mesh: AvatarMesh) -> AvatarMesh:
    """Centre a user mesh and scale it to the built-in head's height, so cameras and the net fit it."""
    lo, hi = mesh.verts.min(0).values, mesh.verts.max(0).values
    height = float(hi[1] - lo[1])
    scale = HEAD_HEIGHT_M / height if height > 0 else 1.0
    centre = (lo + hi) / 2
    mesh.extras["frame"] = {"scale": scale, "centre": centre.tolist()}
    return AvatarMesh(
        (mesh.verts - centre) * scale,
        mesh.faces,
        mesh.uvs,
        mesh.blendshapes * scale,
        mesh.albedo,
        mesh.weld,
        mesh.name,
        mesh.extras,
    )


def load_mesh(spec: str) -> AvatarMesh:
    """`builtin:<name>` or a .glb/.gltf path -> AvatarMesh in the head frame."""
    if spec.startswith("builtin:"):
        return builtin_avatar(spec.split(":", 1)[1])
    path = Path(spec)
    if path.suffix.lower() not in (".glb", ".gltf"):
        raise AvatarLoadError(f"{spec}: expected builtin:<name> or a .glb/.gltf file")
    from alteredavatar.avatar.gltf import load_gltf

    return to_head_frame(load_gltf(path))


def load_avatar(spec: str = DEFAULT_AVATAR, net: AvatarNet | None = None) -> AnimatableAvatar:
    """A ready-to-render avatar: the mesh bound to the (pretrained by default) network, frozen."""
    avatar = AnimatableAvatar(load_mesh(spec), net or load_avatar_net())
    avatar.requires_grad_(False)
    return avatar


def load_avatar_with_reference(
    spec: str = DEFAULT_AVATAR, net_path: str | Path | None = None, device: torch.device | str = "cpu"
) -> tuple[AnimatableAvatar, AnimatableAvatar]:
    """(avatar to stylize, frozen unstylized reference) on two copies of the same network and mesh, on
    `device`."""
    avatar = load_avatar(spec, load_avatar_net(net_path))
    reference = AnimatableAvatar(avatar.mesh, load_avatar_net(net_path)).requires_grad_(False)
    return avatar.move_to(device), reference.move_to(device)
