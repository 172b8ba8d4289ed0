"""Avatar stage: template meshes, blendshapes, identities and the avatar network (identity encoder -> bias
mappers -> expression decoder -> UV albedo + displacement, plus the style's UV detail pyramid)."""

from alteredavatar.avatar.gltf import load_gltf
from alteredavatar.avatar.identities import builtin_avatar
from alteredavatar.avatar.mesh import AvatarMesh
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig
from alteredavatar.avatar.pretrained import load_avatar, load_avatar_net, load_avatar_with_reference

__all__ = [
    "AnimatableAvatar",
    "AvatarMesh",
    "AvatarNet",
    "AvatarNetConfig",
    "builtin_avatar",
    "load_avatar",
    "load_avatar_net",
    "load_avatar_with_reference",
    "load_gltf",
]
