"""Load a glTF 2.0 head (.glb or .gltf) into an `AvatarMesh`: triangles, TEXCOORD_0, base colour, ARKit
morphs.

All meshes the default scene instances are concatenated in world space (node transforms applied; skinned
meshes are posed by their skin at the file's stored pose). Primitives with different materials share one
texture atlas. Morph targets are matched to ARKit-52 by name; unknown names are reported, missing ones are
zero.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import torch
from PIL import Image
from pygltflib import GLTF2

from alteredavatar.avatar.arkit import ARKIT_NAMES, NUM_EXPR
from alteredavatar.avatar.mesh import MAX_FACES, AvatarMesh, weld_by_position
from alteredavatar.errors import AvatarLoadError

__all__ = ["external_files", "load_gltf"]

DEFAULT_GREY = (0.8, 0.8, 0.8)  # sRGB base colour for primitives without a material
MAX_LISTED_NAMES = 10  # unknown morph names listed in a warning before "and N more"

_COMPONENT_DTYPES = {
    5120: np.int8,
    5121: np.uint8,
    5122: np.int16,
    5123: np.uint16,
    5125: np.uint32,
    5126: np.float32,
}
_TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}
_MODE_NAMES = {0: "points", 1: "lines", 2: "line loop", 3: "line strip"}
_MODE_TRIANGLES, _MODE_STRIP, _MODE_FAN = 4, 5, 6
_UNSUPPORTED_EXTENSIONS = {
    "KHR_draco_mesh_compression": "Draco mesh compression",
    "EXT_meshopt_compression": "meshopt compression",
}
_GLB_MAGIC, _GLB_JSON, _GLB_BIN = b"glTF", b"JSON", b"BIN\x00"
_OTHER_FORMATS = {  # leading bytes -> what the file really is
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"Kaydara FBX": "an FBX file",
    b"PK\x03\x04": "a zip archive",
}


def _arkit_key(name: str) -> str:
    """Normalised morph name: namespace dropped, lower-case, no separators, trailing Left/Right -> l/r."""
    key = name.rsplit(".", 1)[-1].lower()
    for sep in ("_", "-", " "):
        key = key.replace(sep, "")
    if key.endswith("left"):
        key = key[: -len("left")] + "l"
    elif key.endswith("right"):
        key = key[: -len("right")] + "r"
    return key


_ARKIT_KEYS = {_arkit_key(n): i for i, n in enumerate(ARKIT_NAMES)}
assert len(_ARKIT_KEYS) == NUM_EXPR, "ARKit name normalisation must stay one-to-one"


def arkit_index(name: str) -> int | None:
    """ARKit-52 index of a morph-target name (`jawOpen`, `JawOpen`, `eyeBlink_L`, `mesh.eyeBlinkLeft`), or
    None."""
    return _ARKIT_KEYS.get(_arkit_key(name))


@dataclass
class _Part:
    """One triangle primitive in world space.

    verts: (V, 3) positions; faces: (F, 3) local indices; uvs: (V, 2) v-up; targets: (T, V, 3) world-space
    deltas.
    """

    verts: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    targets: np.ndarray
    target_names: list[str]
    material: int | None


def load_gltf(path: str | Path, name: str | None = None, texture_size: int = 512) -> AvatarMesh:
    """Load a glTF 2.0 / GLB avatar head.

    Args:
        path: a .glb or .gltf file (external .bin/.png files are read relative to it).
        name: identifier stored in the mesh (default: the file stem).
        texture_size: side of the square albedo the base-colour texture(s) are resized to.
    Returns:
        `AvatarMesh` with verts (V, 3) in the file's units (metres), faces (F, 3), uvs (V, 2) with v up,
        blendshapes (52, V, 3) in ARKit order, albedo (3, texture_size, texture_size) with row 0 = top.
        `extras` holds "source", "matched_targets" (ARKit names), "target_names" (ARKit name -> the file's own
        morph name, for the matched ones; exporters write these back) and "unknown_targets" (not ARKit-52).
    Raises:
        AvatarLoadError: one line naming the file, for a missing/non-glTF file or an unusable mesh.
    """
    path = Path(path)
    if not path.is_file():
        what = "a directory, not a .glb/.gltf file" if path.is_dir() else "no such file"
        raise AvatarLoadError(f"{path}: {what}; check the avatar path")
    gltf = _parse(path)
    reader = _Reader(gltf, path)
    try:
        parts = _read_parts(reader)
        albedo, uvs = _albedo_and_uvs(reader, parts, texture_size)
    except AvatarLoadError:
        raise
    except Exception as exc:  # a malformed file must not surface as a deep pygltflib/numpy traceback
        raise AvatarLoadError(
            f"{path}: could not read the mesh data ({_one_line(exc)}); the file may be damaged, re-export it"
        ) from exc
    return _assemble(path, name or path.stem, parts, uvs, albedo)


def external_files(path: str | Path) -> list[Path]:
    """The files a .gltf references by relative URI (best effort, for output-folder checks; [] for a .glb
    or an unreadable file). Nothing is read beyond the JSON."""
    path = Path(path)
    if path.suffix.lower() != ".gltf":
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        uris = [item.get("uri") for key in ("buffers", "images") for item in doc.get(key) or []]
    except (OSError, ValueError, AttributeError, TypeError):
        return []
    return [path.parent / unquote(u) for u in uris if isinstance(u, str) and u and not urlsplit(u).scheme]


# ---------------------------------------------------------------- container parsing


def _one_line(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse(path: Path) -> GLTF2:
    """Read the container and the JSON, check it is glTF 2.0 we can decode, and build the pygltflib object."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AvatarLoadError(f"{path}: cannot read the file ({_one_line(exc)})") from exc
    blob = None
    if data[:4] == _GLB_MAGIC:
        text, blob = _split_glb(path, data)
    else:
        for magic, what in _OTHER_FORMATS.items():
            if data.startswith(magic):
                raise AvatarLoadError(f"{path}: this is {what}, not a glTF model; export the head as .glb")
        text = data.decode("utf-8-sig", errors="replace")
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise AvatarLoadError(
            f"{path}: not a glTF file (expected a binary .glb or a JSON .gltf); export the head as .glb"
        ) from exc
    _check_header(path, obj)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gltf = GLTF2.from_json(text, infer_missing=True)
    except Exception as exc:
        raise AvatarLoadError(f"{path}: malformed glTF JSON ({_one_line(exc)})") from exc
    if blob is not None:
        gltf.set_binary_blob(blob)
    return gltf


def _split_glb(path: Path, data: bytes) -> tuple[str, bytes | None]:
    """(JSON text, BIN chunk or None) of a GLB container."""
    try:
        version, length = struct.unpack_from("<II", data, 4)
        if version != 2:
            raise AvatarLoadError(f"{path}: GLB version {version}; only glTF 2.0 is supported, re-export it")
        if len(data) < length:
            raise AvatarLoadError(
                f"{path}: the GLB is truncated ({len(data)} of {length} bytes); re-export it"
            )
        chunks, offset = {}, 12
        while offset + 8 <= min(length, len(data)):
            size, kind = struct.unpack_from("<I4s", data, offset)
            chunks.setdefault(kind, data[offset + 8 : offset + 8 + size])
            offset += 8 + size
        text = chunks[_GLB_JSON].decode("utf-8")
    except AvatarLoadError:
        raise
    except (struct.error, KeyError, UnicodeDecodeError) as exc:
        raise AvatarLoadError(
            f"{path}: damaged GLB container (no readable JSON chunk); re-export it"
        ) from exc
    return text, chunks.get(_GLB_BIN)


def _check_header(path: Path, obj: object) -> None:
    if not isinstance(obj, dict) or not isinstance(obj.get("asset"), dict):
        raise AvatarLoadError(f'{path}: JSON but not glTF (no "asset" block); export the head as glTF 2.0')
    version = str(obj["asset"].get("version", ""))
    if not version.startswith("2"):
        raise AvatarLoadError(f"{path}: glTF version {version!r}; only glTF 2.0 is supported, convert it")
    for ext in obj.get("extensionsRequired") or []:
        if ext in _UNSUPPORTED_EXTENSIONS:
            raise AvatarLoadError(
                f"{path}: uses {_UNSUPPORTED_EXTENSIONS[ext]} ({ext}), which we cannot decode; "
                "re-export without compression"
            )
    if not obj.get("meshes"):
        raise AvatarLoadError(f"{path}: the file contains no mesh; export the head geometry with it")


# ---------------------------------------------------------------- buffers, accessors, images


class _Reader:
    """Decodes buffers, accessors and images of one glTF file; errors name the file."""

    def __init__(self, gltf: GLTF2, path: Path) -> None:
        self.gltf, self.path = gltf, path
        self._buffers: dict[int, bytes] = {}

    def fail(self, message: str) -> AvatarLoadError:
        return AvatarLoadError(f"{self.path}: {message}")

    def _external(self, uri: str) -> bytes:
        if uri.startswith("data:"):
            try:
                return base64.b64decode(uri.split(",", 1)[1])
            except (IndexError, binascii.Error) as exc:
                raise self.fail("a data: URI is not valid base64; re-export the file") from exc
        scheme = urlsplit(uri).scheme
        if scheme and len(scheme) > 1:  # http:, file:, ... (a one-letter scheme is a Windows drive)
            raise self.fail(
                f"references {uri!r}, which is not a file next to the model; only relative paths "
                "inside the model's folder and data: URIs are read (export a .glb to embed it)"
            )
        folder = self.path.parent.resolve()
        named = folder / unquote(uri)
        file = named.resolve()
        if not file.is_relative_to(folder):
            how = "links to a file" if os.path.normpath(named).startswith(str(folder) + os.sep) else "lies"
            raise self.fail(
                f"references {uri!r}, which {how} outside the model's folder; only files inside "
                f"{folder} are read (export a .glb to embed it)"
            )
        if not file.is_file():
            raise self.fail(
                f"references {file.name}, which is missing; keep it next to the .gltf or export a .glb"
            )
        return file.read_bytes()

    def buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            uri = self.gltf.buffers[index].uri
            data = self.gltf.binary_blob() if uri is None else self._external(uri)
            if data is None:
                raise self.fail(f"buffer {index} has no data (no GLB binary chunk and no uri)")
            self._buffers[index] = data
        return self._buffers[index]

    def _view(self, view_index: int, offset: int, dtype: np.dtype, count: int, ncomp: int) -> np.ndarray:
        """(count, ncomp) elements of `dtype` from a bufferView, honouring byteOffset and byteStride."""
        bv = self.gltf.bufferViews[view_index]
        data = self.buffer(bv.buffer)
        start = (bv.byteOffset or 0) + offset
        elem = dtype.itemsize * ncomp
        stride = bv.byteStride or elem
        end = start + (count - 1) * stride + elem if count else start
        if end > min(len(data), (bv.byteOffset or 0) + bv.byteLength):
            raise self.fail(
                f"bufferView {view_index} is shorter than the data it should hold; the file is truncated"
            )
        arr = np.ndarray((count, ncomp), dtype, buffer=data, offset=start, strides=(stride, dtype.itemsize))
        return arr.copy()

    def accessor(self, index: int) -> np.ndarray:
        """(count, ncomp) accessor data: float64 for floats and normalized ints, int64 otherwise."""
        acc = self.gltf.accessors[index]
        dtype = np.dtype(_COMPONENT_DTYPES[acc.componentType]).newbyteorder("<")
        ncomp = _TYPE_SIZES[acc.type]
        if acc.bufferView is None:
            out = np.zeros((acc.count, ncomp), dtype)
        else:
            out = self._view(acc.bufferView, acc.byteOffset or 0, dtype, acc.count, ncomp)
        sparse = acc.sparse
        if sparse is not None and sparse.count:
            idx_dtype = np.dtype(_COMPONENT_DTYPES[sparse.indices.componentType]).newbyteorder("<")
            idx = self._view(
                sparse.indices.bufferView, sparse.indices.byteOffset or 0, idx_dtype, sparse.count, 1
            )
            out[idx[:, 0].astype(np.int64)] = self._view(
                sparse.values.bufferView, sparse.values.byteOffset or 0, dtype, sparse.count, ncomp
            )
        if dtype.kind == "f":
            return out.astype(np.float64)
        if acc.normalized:
            info = np.iinfo(dtype)
            return np.maximum(out.astype(np.float64) / info.max, -1.0)
        return out.astype(np.int64)

    def image(self, texture_index: int) -> Image.Image | None:
        """Decoded base-colour image of a texture, or None (with a warning) when it cannot be read."""
        tex = self.gltf.textures[texture_index]
        source = tex.source
        if source is None:
            source = (tex.extensions or {}).get("EXT_texture_webp", {}).get("source")
        if source is None:
            warnings.warn(
                f"{self.path}: texture {texture_index} has no image we can read; using a flat colour",
                stacklevel=2,
            )
            return None
        img = self.gltf.images[source]
        if img.bufferView is not None:
            bv = self.gltf.bufferViews[img.bufferView]
            off = bv.byteOffset or 0
            data = self.buffer(bv.buffer)[off : off + bv.byteLength]
        elif img.uri:
            data = self._external(img.uri)
        else:
            warnings.warn(
                f"{self.path}: image {source} has neither a uri nor a bufferView; using a flat colour",
                stacklevel=2,
            )
            return None
        try:
            pil = Image.open(io.BytesIO(data))
            pil.load()
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            warnings.warn(
                f"{self.path}: cannot decode image {source} ({_one_line(exc)}); using a flat colour",
                stacklevel=2,
            )
            return None
        return pil


# ---------------------------------------------------------------- scene graph and primitives


def _quat_matrix(q: list[float]) -> np.ndarray:
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def _local_matrix(node) -> np.ndarray:
    """(4, 4) node transform (glTF stores `matrix` column-major; otherwise T * R * S)."""
    if node.matrix:
        return np.asarray(node.matrix, np.float64).reshape(4, 4).T
    m = np.eye(4)
    m[:3, :3] = _quat_matrix(node.rotation or [0, 0, 0, 1]) * np.asarray(node.scale or [1, 1, 1], np.float64)
    m[:3, 3] = node.translation or [0, 0, 0]
    return m


def _world_matrices(gltf: GLTF2) -> tuple[dict[int, np.ndarray], list[int]]:
    """World transform of every node reachable from the default scene, and those nodes in visit order."""
    if gltf.scenes:
        roots = gltf.scenes[gltf.scene or 0].nodes or []
    else:
        children = {c for n in gltf.nodes for c in (n.children or [])}
        roots = [i for i in range(len(gltf.nodes)) if i not in children]
    world: dict[int, np.ndarray] = {}
    stack = [(r, np.eye(4)) for r in reversed(roots)]
    order = []
    while stack:
        i, parent = stack.pop()
        if i in world:  # a cycle or a shared child: invalid glTF, keep the first visit
            continue
        world[i] = parent @ _local_matrix(gltf.nodes[i])
        order.append(i)
        stack.extend((c, world[i]) for c in reversed(gltf.nodes[i].children or []))
    return world, order


def _target_names(mesh, prim, count: int) -> list[str]:
    names = (mesh.extras or {}).get("targetNames") or (prim.extras or {}).get("targetNames") or []
    names = [str(n) for n in names][:count]
    return names + [f"target_{i}" for i in range(len(names), count)]


def _triangles(idx: np.ndarray, mode: int) -> np.ndarray:
    """(F, 3) triangles from a flat index list in TRIANGLES, TRIANGLE_STRIP or TRIANGLE_FAN order."""
    if mode == _MODE_TRIANGLES:
        return idx[: len(idx) // 3 * 3].reshape(-1, 3)
    n = max(len(idx) - 2, 0)
    i = np.arange(n)
    if mode == _MODE_STRIP:
        odd = (i % 2).astype(bool)
        tri = np.stack([np.where(odd, idx[i + 1], idx[i]), np.where(odd, idx[i], idx[i + 1]), idx[i + 2]], 1)
    else:
        tri = np.stack([np.full(n, idx[0] if len(idx) else 0), idx[i + 1], idx[i + 2]], 1)
    keep = (tri[:, 0] != tri[:, 1]) & (tri[:, 1] != tri[:, 2]) & (tri[:, 0] != tri[:, 2])
    return tri[keep]


def _skin_matrices(
    reader: _Reader, attrs, skin_index: int, world: dict[int, np.ndarray]
) -> np.ndarray | None:
    """(V, 4, 4) linear-blend-skinning matrices at the stored pose, or None without JOINTS_0/WEIGHTS_0."""
    skin = reader.gltf.skins[skin_index]
    if getattr(attrs, "JOINTS_0", None) is None or getattr(attrs, "WEIGHTS_0", None) is None:
        return None
    n = len(skin.joints)
    ibm = np.tile(np.eye(4), (n, 1, 1))
    if skin.inverseBindMatrices is not None:
        ibm = reader.accessor(skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)[:n]
    joint_mats = np.stack([world.get(j, np.eye(4)) for j in skin.joints]) @ ibm  # (J, 4, 4)
    mats, total, k = 0.0, 0.0, 0
    while (
        getattr(attrs, f"JOINTS_{k}", None) is not None and getattr(attrs, f"WEIGHTS_{k}", None) is not None
    ):
        joints = np.clip(reader.accessor(getattr(attrs, f"JOINTS_{k}")), 0, n - 1)
        weights = reader.accessor(getattr(attrs, f"WEIGHTS_{k}"))
        mats = mats + np.einsum("vk,vkij->vij", weights, joint_mats[joints])
        total = total + weights.sum(1)
        k += 1
    total = np.asarray(total)[:, None, None]
    return np.where(total > 1e-8, mats / np.maximum(total, 1e-8), np.eye(4))


def _read_primitive(reader: _Reader, mesh, prim, transform: np.ndarray) -> _Part:
    """One triangle primitive; `transform` is (4, 4) or per-vertex (V, 4, 4)."""
    attrs = prim.attributes
    pos = reader.accessor(attrs.POSITION)[:, :3]
    uv = reader.accessor(attrs.TEXCOORD_0)[:, :2]
    if len(uv) != len(pos):
        raise reader.fail(f"mesh {mesh.name or ''!r}: TEXCOORD_0 and POSITION have different lengths")
    idx = reader.accessor(prim.indices)[:, 0] if prim.indices is not None else np.arange(len(pos))
    faces = _triangles(idx.astype(np.int64), prim.mode if prim.mode is not None else _MODE_TRIANGLES)
    if faces.size and (faces.min() < 0 or faces.max() >= len(pos)):
        raise reader.fail(f"mesh {mesh.name or ''!r}: triangle indices point past its {len(pos)} vertices")
    deltas = []
    for target in prim.targets or []:
        acc = target.get("POSITION") if isinstance(target, dict) else getattr(target, "POSITION", None)
        deltas.append(np.zeros_like(pos) if acc is None else reader.accessor(acc)[:, :3])
    targets = np.stack(deltas) if deltas else np.zeros((0, len(pos), 3))
    lin = transform[..., :3, :3]
    if lin.ndim == 2 and np.linalg.det(lin) < 0:  # a mirroring node transform flips the winding back
        faces = faces[:, ::-1].copy()
    verts = np.einsum("...ij,...j->...i", lin, pos) + transform[..., :3, 3]
    targets = np.einsum("...ij,t...j->t...i", lin, targets)
    uvs = np.stack([uv[:, 0], 1.0 - uv[:, 1]], 1)
    return _Part(verts, faces, uvs, targets, _target_names(mesh, prim, len(deltas)), prim.material)


def _instances(reader: _Reader) -> list[tuple[int, np.ndarray, int | None, dict[int, np.ndarray]]]:
    """(mesh index, (4, 4) world transform, skin index, node world matrices) for each mesh instance."""
    gltf = reader.gltf
    world, order = _world_matrices(gltf)
    nodes = [gltf.nodes[i] for i in order]
    inst = [(n.mesh, world[i], n.skin, world) for i, n in zip(order, nodes) if n.mesh is not None]
    return inst or [(m, np.eye(4), None, world) for m in range(len(gltf.meshes))]


def _read_parts(reader: _Reader) -> list[_Part]:
    """Every usable triangle primitive of the scene in world space; warns about skipped primitives."""
    parts, skipped, no_uv = [], [], []
    for mesh_index, matrix, skin, world in _instances(reader):
        mesh = reader.gltf.meshes[mesh_index]
        for prim in mesh.primitives:
            mode = prim.mode if prim.mode is not None else _MODE_TRIANGLES
            label = mesh.name or f"mesh {mesh_index}"
            if mode not in (_MODE_TRIANGLES, _MODE_STRIP, _MODE_FAN):
                skipped.append(f"{label} ({_MODE_NAMES.get(mode, f'mode {mode}')})")
            elif prim.attributes.POSITION is None:
                skipped.append(f"{label} (no POSITION)")
            elif prim.attributes.TEXCOORD_0 is None:
                no_uv.append(label)
            else:
                skinned = _skin_matrices(reader, prim.attributes, skin, world) if skin is not None else None
                parts.append(_read_primitive(reader, mesh, prim, matrix if skinned is None else skinned))
    if not parts and no_uv:
        raise reader.fail(
            "the mesh has no texture coordinates (TEXCOORD_0); UV-unwrap it (e.g. Blender Smart UV Project) "
            "and re-export"
        )
    if not parts or not any(len(p.faces) for p in parts):
        raise reader.fail(
            "the file has no triangles (only points/lines or empty primitives); export a surface mesh"
        )
    if skipped or no_uv:
        warnings.warn(
            f"{reader.path}: skipped primitives without triangles or UVs: {', '.join(skipped + no_uv)}",
            stacklevel=2,
        )
    return parts


# ---------------------------------------------------------------- base colour


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def _material_rgb(reader: _Reader, material: int | None, width: int, height: int) -> np.ndarray:
    """(height, width, 3) sRGB base colour of a material: texture x baseColorFactor, else the factor, else
    grey."""
    pbr = reader.gltf.materials[material].pbrMetallicRoughness if material is not None else None
    factor = np.asarray((pbr.baseColorFactor if pbr else None) or [1.0, 1.0, 1.0, 1.0], np.float64)[:3]
    pil = reader.image(pbr.baseColorTexture.index) if pbr and pbr.baseColorTexture is not None else None
    if pil is not None:
        rgb = pil.convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
        out = np.asarray(rgb, np.float64) / 255.0
        if not np.allclose(factor, 1.0):
            out = _linear_to_srgb(_srgb_to_linear(out) * factor)
        return np.clip(out, 0.0, 1.0)
    colour = _linear_to_srgb(factor) if pbr is not None else np.asarray(DEFAULT_GREY)
    return np.broadcast_to(colour, (height, width, 3)).copy()


def _albedo_and_uvs(reader: _Reader, parts: list[_Part], size: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """(size, size, 3) albedo and each part's UVs; several materials are packed into a grid atlas."""
    materials = list(dict.fromkeys(p.material for p in parts))
    if len(materials) == 1:
        return _material_rgb(reader, materials[0], size, size), [p.uvs for p in parts]
    grid = math.ceil(math.sqrt(len(materials)))
    edges = [round(i * size / grid) for i in range(grid + 1)]
    albedo = np.zeros((size, size, 3))
    cells = {}
    for k, mat in enumerate(materials):
        row, col = divmod(k, grid)
        x0, x1, y0, y1 = edges[col], edges[col + 1], edges[row], edges[row + 1]
        albedo[y0:y1, x0:x1] = _material_rgb(reader, mat, x1 - x0, y1 - y0)
        cells[mat] = (x0, x1, y0, y1)
    if any(((p.uvs < -1e-3) | (p.uvs > 1 + 1e-3)).any() for p in parts):
        warnings.warn(
            f"{reader.path}: UVs outside [0, 1] were clamped while packing materials into one texture",
            stacklevel=2,
        )
    uvs = []
    for p in parts:  # half-texel inset so bilinear lookups stay inside the cell
        x0, x1, y0, y1 = cells[p.material]
        uv = np.clip(p.uvs, 0.0, 1.0)
        u = (x0 + 0.5 + uv[:, 0] * (x1 - x0 - 1)) / size
        v = 1.0 - (y1 - 0.5 - uv[:, 1] * (y1 - y0 - 1)) / size
        uvs.append(np.stack([u, v], 1))
    return albedo, uvs


# ---------------------------------------------------------------- assembly


def _map_targets(
    path: Path, parts: list[_Part], num_verts: int
) -> tuple[np.ndarray, dict[str, str], list[str]]:
    """(52, V, 3) ARKit blendshapes, {matched ARKit name: the file's name} in ARKit order, unknown morph
    names."""
    shapes = np.zeros((NUM_EXPR, num_verts, 3))
    matched: dict[int, str] = {}
    unknown: list[str] = []
    start = 0
    for p in parts:
        seen: set[int] = set()
        for name, delta in zip(p.target_names, p.targets):
            k = arkit_index(name)
            if k is None:
                unknown.append(name)
            elif k not in seen:  # the first of two names mapping to one ARKit shape wins
                seen.add(k)
                matched.setdefault(k, name)
                shapes[k, start : start + len(p.verts)] = delta
        start += len(p.verts)
    unknown = list(dict.fromkeys(unknown))
    listed = ", ".join(unknown[:MAX_LISTED_NAMES])
    listed += f" and {len(unknown) - MAX_LISTED_NAMES} more" if len(unknown) > MAX_LISTED_NAMES else ""
    if not matched:  # it loads and renders, but every expression would look the same: say so once
        what = (
            f"none of its morph targets ({listed}) is an ARKit-52 name"
            if unknown
            else "it has no morph targets"
        )
        warnings.warn(
            f"{path}: {what}, so the avatar keeps one expression; name morph targets after ARKit "
            "blendshapes (jawOpen, eyeBlinkLeft, ...) to animate it",
            stacklevel=2,
        )
    elif unknown:
        warnings.warn(
            f"{path}: morph targets that are not ARKit-52 names were ignored: {listed}", stacklevel=2
        )
    return shapes, {ARKIT_NAMES[k]: matched[k] for k in sorted(matched)}, unknown


def _check_size(path: Path, verts: np.ndarray, faces: np.ndarray) -> None:
    """Refuse a mesh that would render blank: all vertices at one point, no height, or no triangle area."""
    extent = verts.max(0) - verts.min(0)
    if not (extent > 0).any():
        raise AvatarLoadError(
            f"{path}: the mesh has zero size (all {len(verts)} vertices are at one point); "
            "export the head geometry"
        )
    if extent[1] <= 0:
        raise AvatarLoadError(
            f"{path}: the mesh has no height (every vertex at y = {verts[0, 1]:g}); export "
            "the head standing along +Y (glTF's up axis)"
        )
    a, b, c = (verts[faces[:, i]] for i in range(3))
    area = 0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum()
    if area <= 1e-12 * float(extent @ extent):
        raise AvatarLoadError(
            f"{path}: every triangle of the mesh has zero area, so it would render blank; "
            "export a surface mesh"
        )


def _assemble(
    path: Path, name: str, parts: list[_Part], uvs: list[np.ndarray], albedo: np.ndarray
) -> AvatarMesh:
    offsets = np.cumsum([0] + [len(p.verts) for p in parts])
    faces = np.concatenate([p.faces + o for p, o in zip(parts, offsets)])
    verts = np.concatenate([p.verts for p in parts])
    if len(faces) > MAX_FACES:
        raise AvatarLoadError(
            f"{path}: {len(faces)} faces is more than the {MAX_FACES} we support; decimate it first"
        )
    if not np.isfinite(verts).all():
        raise AvatarLoadError(f"{path}: vertex positions contain NaN or infinity; fix or re-export the mesh")
    _check_size(path, verts, faces)
    shapes, matched, unknown = _map_targets(path, parts, len(verts))
    if not np.isfinite(shapes).all():
        raise AvatarLoadError(
            f"{path}: morph target offsets contain NaN or infinity; fix or re-export the mesh"
        )
    extras = {
        "source": str(path),
        "matched_targets": list(matched),
        "target_names": matched,
        "unknown_targets": unknown,
    }
    try:
        return AvatarMesh(
            verts=torch.from_numpy(verts.astype(np.float32)),
            faces=torch.from_numpy(faces.astype(np.int64)),
            uvs=torch.from_numpy(np.concatenate(uvs).astype(np.float32)),
            blendshapes=torch.from_numpy(shapes.astype(np.float32)),
            albedo=torch.from_numpy(np.ascontiguousarray(albedo.transpose(2, 0, 1), np.float32)),
            weld=torch.from_numpy(weld_by_position(verts.astype(np.float32))),
            name=name,
            extras=extras,
        )
    except AvatarLoadError as exc:
        raise AvatarLoadError(f"{path}: {exc}") from exc
