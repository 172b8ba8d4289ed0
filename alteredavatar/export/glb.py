"""Write a baked avatar as one glTF 2.0 binary (.glb) that three.js, Blender, Unity/Unreal and ARKit rigs
read.

Contents: one node, one mesh, one primitive (the head with its eyes, teeth and tongue: they share the UV
atlas and move with the shapes that move them, e.g. jawOpen carries the lower teeth and tongue), POSITION,
NORMAL, TEXCOORD_0, uint16/uint32 indices, a PNG base-colour texture (the neutral stylized albedo), 52 morph
targets (POSITION + NORMAL deltas, ARKit order) named in `mesh.extras.targetNames`, and optionally an
animation of the morph weights cycling the named expression presets. Buffers are packed with numpy, the
document by pygltflib; the file is written atomically.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pygltflib import (
    ANIM_LINEAR,
    ARRAY_BUFFER,
    ELEMENT_ARRAY_BUFFER,
    FLOAT,
    GLTF2,
    LINEAR,
    UNSIGNED_INT,
    UNSIGNED_SHORT,
    Accessor,
    Animation,
    AnimationChannel,
    AnimationChannelTarget,
    AnimationSampler,
    Asset,
    Attributes,
    Buffer,
    BufferView,
    Material,
    Mesh,
    Node,
    PbrMetallicRoughness,
    Primitive,
    Sampler,
    Scene,
    Texture,
    TextureInfo,
)
from pygltflib import Image as GltfImage

import alteredavatar
from alteredavatar.avatar.expressions import PRESET_NAMES, presets
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.errors import ConfigError
from alteredavatar.export.bake import BakedAvatar, bake_avatar
from alteredavatar.io import atomic_path

LINEAR_MIPMAP_LINEAR, CLAMP_TO_EDGE = 9987, 33071
SECONDS_PER_EXPRESSION = 1.0  # animation: each preset is reached after this long, then blends to the next
MAX_TEXTURE_RES = 8192


@dataclass
class GlbConfig:
    """What goes into the .glb besides the mesh and its 52 morph targets."""

    texture_res: int = 1024
    """Side of the square PNG base-colour texture (the network's UV albedo, resized)."""
    animation: bool = False
    """Embed an animation cycling the named expressions (neutral, smile, jaw open, ...) so viewers play it."""

    def __post_init__(self) -> None:
        if not 16 <= self.texture_res <= MAX_TEXTURE_RES:
            raise ConfigError(f"--texture-res must be in [16, {MAX_TEXTURE_RES}], got {self.texture_res}")


def check_glb_path(path: Path) -> None:
    """Refuse, before any work, an output that is a folder, lies in a missing folder, or is not a .glb."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"--glb {path} is a directory; give a file name like {path / 'avatar.glb'}")
    if path.suffix.lower() != ".glb":
        raise ConfigError(f"--glb {path} must end in .glb (a binary glTF file)")
    if not path.parent.is_dir():
        raise ConfigError(f"--glb {path}: the folder {path.parent} does not exist; create it first")
    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"--glb {path}: the folder {path.parent} is not writable")


class _Packer:
    """Appends numpy arrays to one binary buffer (4-byte aligned) and describes them as accessors."""

    def __init__(self, gltf: GLTF2) -> None:
        self.gltf, self.blob = gltf, bytearray()

    def view(self, data: bytes, target: int | None = None) -> int:
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        self.gltf.bufferViews.append(
            BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), target=target)
        )
        self.blob.extend(data)
        return len(self.gltf.bufferViews) - 1

    def accessor(
        self, array: np.ndarray, kind: str, target: int | None = ARRAY_BUFFER, bounds: bool = False
    ) -> int:
        """(N, C) float32 or (N,) uint16/uint32 array -> accessor index; `bounds` adds min/max."""
        ctype = {np.float32: FLOAT, np.uint16: UNSIGNED_SHORT, np.uint32: UNSIGNED_INT}[array.dtype.type]
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
        acc = Accessor(bufferView=self.view(data, target), componentType=ctype, count=len(array), type=kind)
        if bounds:
            acc.min, acc.max = array.min(0).reshape(-1).tolist(), array.max(0).reshape(-1).tolist()
        self.gltf.accessors.append(acc)
        return len(self.gltf.accessors) - 1


def png_bytes(texture: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(texture).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _add_animation(gltf: GLTF2, pack: _Packer) -> None:
    """Morph-weight keyframes: the named presets in turn, then neutral again so the loop closes."""
    weights = presets(PRESET_NAMES + PRESET_NAMES[:1]).numpy().astype(np.float32)  # (K, 52)
    times = (np.arange(len(weights), dtype=np.float32) * SECONDS_PER_EXPRESSION)[:, None]
    sampler = AnimationSampler(
        input=pack.accessor(times, "SCALAR", None, bounds=True),
        output=pack.accessor(weights.reshape(-1, 1), "SCALAR", None),
        interpolation=ANIM_LINEAR,
    )
    channel = AnimationChannel(sampler=0, target=AnimationChannelTarget(node=0, path="weights"))
    gltf.animations.append(Animation(name="expressions", samplers=[sampler], channels=[channel]))


def build_gltf(baked: BakedAvatar, animation: bool = False, info: dict | None = None) -> GLTF2:
    """The glTF document + binary blob of `baked` (see the module docstring for what is inside)."""
    gltf = GLTF2(
        asset=Asset(
            generator=f"alteredavatar {alteredavatar.__version__}",
            extras={"alteredavatar": info} if info else {},
        )
    )
    pack = _Packer(gltf)
    index_type = np.uint16 if baked.positions.shape[0] < 0xFFFF else np.uint32  # 0xFFFF is the restart value
    attributes = Attributes(
        POSITION=pack.accessor(baked.positions, "VEC3", bounds=True),
        NORMAL=pack.accessor(baked.normals, "VEC3"),
        TEXCOORD_0=pack.accessor(baked.uvs, "VEC2"),
    )
    indices = pack.accessor(baked.faces.reshape(-1).astype(index_type), "SCALAR", ELEMENT_ARRAY_BUFFER)
    targets = [
        Attributes(POSITION=pack.accessor(dp, "VEC3", bounds=True), NORMAL=pack.accessor(dn, "VEC3"))
        for dp, dn in zip(baked.position_deltas, baked.normal_deltas)
    ]
    gltf.images.append(GltfImage(bufferView=pack.view(png_bytes(baked.texture)), mimeType="image/png"))
    gltf.samplers.append(
        Sampler(magFilter=LINEAR, minFilter=LINEAR_MIPMAP_LINEAR, wrapS=CLAMP_TO_EDGE, wrapT=CLAMP_TO_EDGE)
    )
    gltf.textures.append(Texture(sampler=0, source=0))
    gltf.materials.append(
        Material(
            name=f"{baked.name}_albedo",
            pbrMetallicRoughness=PbrMetallicRoughness(
                baseColorTexture=TextureInfo(index=0), metallicFactor=0.0, roughnessFactor=0.6
            ),
        )
    )
    names = list(baked.target_names)
    gltf.meshes.append(
        Mesh(
            name=baked.name,
            weights=[0.0] * len(names),
            extras={"targetNames": names},
            primitives=[Primitive(attributes=attributes, indices=indices, material=0, targets=targets)],
        )
    )
    gltf.nodes.append(Node(name=baked.name, mesh=0))
    gltf.scenes.append(Scene(nodes=[0]))
    gltf.scene = 0
    if animation:
        _add_animation(gltf, pack)
    pack.blob.extend(b"\0" * (-len(pack.blob) % 4))
    gltf.buffers.append(Buffer(byteLength=len(pack.blob)))
    gltf.set_binary_blob(bytes(pack.blob))
    return gltf


def write_glb(
    baked: BakedAvatar, path: str | Path, animation: bool = False, info: dict | None = None
) -> Path:
    """Write `baked` to `path` atomically (a temp file beside it, renamed when complete)."""
    gltf = build_gltf(baked, animation, info)
    with atomic_path(path, suffix=".glb") as tmp:
        gltf.save_binary(str(tmp))
    return Path(path)


def export_glb(
    avatar: AnimatableAvatar, path: str | Path, cfg: GlbConfig | None = None, info: dict | None = None
) -> dict:
    """Bake `avatar` (style already applied to its network) and write it as a .glb; returns a summary."""
    cfg = cfg or GlbConfig()
    check_glb_path(Path(path))
    baked = bake_avatar(avatar, cfg.texture_res)
    write_glb(baked, path, cfg.animation, info)
    return {
        "glb": str(path),
        "bytes": Path(path).stat().st_size,
        "vertices": int(baked.positions.shape[0]),
        "triangles": int(baked.faces.shape[0]),
        "morph_targets": len(baked.target_names),
        "texture_res": cfg.texture_res,
        "animation": cfg.animation,
    }
