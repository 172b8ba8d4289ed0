"""Tests for alteredavatar/avatar/gltf.py: GLB/glTF fixtures are written byte by byte (no exporter
involved)."""

from __future__ import annotations

import base64
import io
import json
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alteredavatar.avatar.arkit import ARKIT_INDEX, NUM_EXPR
from alteredavatar.avatar.gltf import arkit_index, load_gltf
from alteredavatar.errors import AvatarLoadError

FLOAT, UBYTE, USHORT, UINT = 5126, 5121, 5123, 5125
SIZE = 16  # albedo side used in tests


# ---------------------------------------------------------------- fixture builders


def png_bytes(rgb: np.ndarray) -> bytes:
    """PNG of an (H, W, 3) uint8 array."""
    buf = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8), "RGB").save(buf, format="PNG")
    return buf.getvalue()


def solid_png(colour: tuple[int, int, int], size: int = 4) -> bytes:
    return png_bytes(np.broadcast_to(np.array(colour, np.uint8), (size, size, 3)))


class GltfBuilder:
    """Minimal glTF 2.0 writer: one binary buffer, accessors, textures, materials, meshes, nodes."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.doc: dict = {"asset": {"version": "2.0"}, "bufferViews": [], "accessors": []}

    def view(self, data: bytes, stride: int | None = None) -> int:
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        bv = {"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)}
        if stride:
            bv["byteStride"] = stride
        self.blob.extend(data)
        self.doc["bufferViews"].append(bv)
        return len(self.doc["bufferViews"]) - 1

    def accessor(self, array: np.ndarray, ctype: int = FLOAT, kind: str | None = None, **extra) -> int:
        dtype = {FLOAT: "<f4", UBYTE: "u1", USHORT: "<u2", UINT: "<u4"}[ctype]
        arr = np.ascontiguousarray(array, dtype)
        kind = kind or {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}[1 if arr.ndim == 1 else arr.shape[1]]
        acc = {
            "bufferView": self.view(arr.tobytes()),
            "componentType": ctype,
            "count": len(arr),
            "type": kind,
        }
        if kind == "VEC3" and ctype == FLOAT:
            acc["min"], acc["max"] = arr.min(0).tolist(), arr.max(0).tolist()
        acc.update(extra)
        self.doc["accessors"].append(acc)
        return len(self.doc["accessors"]) - 1

    def add(self, key: str, item: dict) -> int:
        self.doc.setdefault(key, []).append(item)
        return len(self.doc[key]) - 1

    def texture_material(self, png: bytes) -> int:
        img = self.add("images", {"bufferView": self.view(png), "mimeType": "image/png"})
        tex = self.add("textures", {"source": img})
        return self.add("materials", {"pbrMetallicRoughness": {"baseColorTexture": {"index": tex}}})

    def primitive(self, verts, faces, uvs=None, targets=(), material=None, mode=None) -> dict:
        prim: dict = {"attributes": {"POSITION": self.accessor(verts)}}
        if uvs is not None:
            prim["attributes"]["TEXCOORD_0"] = self.accessor(uvs)
        if faces is not None:
            prim["indices"] = self.accessor(np.asarray(faces).reshape(-1), UINT)
        if targets:
            prim["targets"] = [{"POSITION": self.accessor(t)} for t in targets]
        if material is not None:
            prim["material"] = material
        if mode is not None:
            prim["mode"] = mode
        return prim

    def mesh(self, primitives: list[dict], target_names=None, **node) -> int:
        mesh: dict = {"primitives": primitives}
        if target_names is not None:
            mesh["extras"] = {"targetNames": list(target_names)}
        index = self.add("meshes", mesh)
        n = self.add("nodes", {"mesh": index, **node})
        self.doc["scenes"] = [{"nodes": self.doc.get("scenes", [{"nodes": []}])[0]["nodes"] + [n]}]
        self.doc["scene"] = 0
        return n

    def write_glb(self, path: Path) -> Path:
        self.blob.extend(b"\0" * (-len(self.blob) % 4))
        doc = dict(self.doc, buffers=[{"byteLength": len(self.blob)}])
        js = json.dumps(doc).encode()
        js += b" " * (-len(js) % 4)
        body = (
            struct.pack("<I4s", len(js), b"JSON")
            + js
            + struct.pack("<I4s", len(self.blob), b"BIN\0")
            + self.blob
        )
        path.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
        return path

    def write_gltf(self, path: Path) -> Path:
        uri = "data:application/octet-stream;base64," + base64.b64encode(bytes(self.blob)).decode()
        path.write_text(json.dumps(dict(self.doc, buffers=[{"byteLength": len(self.blob), "uri": uri}])))
        return path


def uv_sphere(n_lat: int = 6, n_lon: int = 8, radius: float = 0.1):
    """Seam-split UV sphere: verts (V, 3), faces (F, 3), glTF uvs (V, 2) with v down (v = 0 at the north
    pole)."""
    i, j = np.meshgrid(np.arange(n_lat + 1), np.arange(n_lon + 1), indexing="ij")
    theta, phi = np.pi * i / n_lat, 2 * np.pi * j / n_lon
    verts = radius * np.stack([np.sin(theta) * np.sin(phi), np.cos(theta), np.sin(theta) * np.cos(phi)], -1)
    uvs = np.stack([j / n_lon, i / n_lat], -1).reshape(-1, 2)
    idx = np.arange((n_lat + 1) * (n_lon + 1)).reshape(n_lat + 1, n_lon + 1)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[1:, 1:], idx[:-1, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    return verts.reshape(-1, 3), faces, uvs


SPHERE_V, SPHERE_F, SPHERE_UV = uv_sphere()
JAW = np.stack([np.zeros(len(SPHERE_V)), -0.5 * SPHERE_V[:, 1], 0.01 * np.ones(len(SPHERE_V))], 1)
OTHER = np.full_like(SPHERE_V, 0.003)


RED_PNG = solid_png((255, 0, 0))


def sphere_builder(texture: bytes | None = RED_PNG, names=("jawOpen", "notARealShape")) -> GltfBuilder:
    g = GltfBuilder()
    material = g.texture_material(texture) if texture is not None else None
    g.mesh([g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV, [JAW, OTHER], material)], names)
    return g


def load_quiet(path: Path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_gltf(path, texture_size=SIZE, **kw)


@pytest.fixture
def sphere_glb(tmp_path: Path) -> Path:
    return sphere_builder().write_glb(tmp_path / "head.glb")


# ---------------------------------------------------------------- happy paths


def test_counts_dtypes_and_shapes(sphere_glb: Path) -> None:
    m = load_quiet(sphere_glb)
    assert m.num_verts == len(SPHERE_V) and m.faces.shape == (len(SPHERE_F), 3)
    assert m.verts.dtype == torch.float32 and m.faces.dtype == torch.int64 and m.weld.dtype == torch.int64
    assert m.blendshapes.shape == (NUM_EXPR, len(SPHERE_V), 3) and m.albedo.shape == (3, SIZE, SIZE)
    assert m.name == "head" and m.extras["source"] == str(sphere_glb)
    torch.testing.assert_close(m.verts, torch.tensor(SPHERE_V, dtype=torch.float32))
    torch.testing.assert_close(m.faces, torch.tensor(SPHERE_F, dtype=torch.int64))
    # seam column and the pole rows share positions -> fewer unique ids than vertices
    assert int(m.weld[0]) == int(m.weld[1]) and len(torch.unique(m.weld)) < m.num_verts
    assert len(torch.unique(m.weld)) == 2 + 5 * 8


def test_uv_v_flip(sphere_glb: Path) -> None:
    m = load_quiet(sphere_glb)
    assert float(m.uvs.min()) >= 0.0 and float(m.uvs.max()) <= 1.0
    # vertex 0: north pole, glTF uv (0, 0) -> top of the image -> v = 1 with v up
    torch.testing.assert_close(m.uvs[0], torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(
        m.uvs, torch.tensor(np.stack([SPHERE_UV[:, 0], 1 - SPHERE_UV[:, 1]], 1), dtype=torch.float32)
    )


def test_solid_texture_colour(sphere_glb: Path) -> None:
    m = load_quiet(sphere_glb)
    torch.testing.assert_close(m.albedo.mean((1, 2)), torch.tensor([1.0, 0.0, 0.0]), atol=1e-3, rtol=0)


def test_texture_orientation_row0_is_top(tmp_path: Path) -> None:
    img = np.zeros((8, 8, 3), np.uint8)
    img[:4] = (255, 0, 0)  # top half red
    img[4:] = (0, 0, 255)  # bottom half blue
    m = load_quiet(sphere_builder(png_bytes(img)).write_glb(tmp_path / "a.glb"))
    torch.testing.assert_close(m.albedo[:, 0, 0], torch.tensor([1.0, 0.0, 0.0]), atol=1e-3, rtol=0)
    torch.testing.assert_close(m.albedo[:, -1, 0], torch.tensor([0.0, 0.0, 1.0]), atol=1e-3, rtol=0)


def test_no_texture_uses_factor_or_grey(tmp_path: Path) -> None:
    m = load_quiet(sphere_builder(texture=None).write_glb(tmp_path / "grey.glb"))
    torch.testing.assert_close(m.albedo, torch.full((3, SIZE, SIZE), 0.8))
    g = GltfBuilder()
    mat = g.add("materials", {"pbrMetallicRoughness": {"baseColorFactor": [0.0, 1.0, 0.0, 1.0]}})
    g.mesh([g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV, material=mat)])
    m = load_quiet(g.write_glb(tmp_path / "green.glb"))
    torch.testing.assert_close(m.albedo.mean((1, 2)), torch.tensor([0.0, 1.0, 0.0]))


def test_morph_targets_map_to_arkit(sphere_glb: Path) -> None:
    with pytest.warns(UserWarning, match="notARealShape"):
        m = load_gltf(sphere_glb, texture_size=SIZE)
    k = ARKIT_INDEX["jawOpen"]
    torch.testing.assert_close(m.blendshapes[k], torch.tensor(JAW, dtype=torch.float32))
    others = torch.cat([m.blendshapes[:k], m.blendshapes[k + 1 :]])
    assert torch.count_nonzero(others) == 0
    assert m.extras["unknown_targets"] == ["notARealShape"]
    assert m.extras["matched_targets"] == ["jawOpen"]


def test_arkit_name_variants() -> None:
    assert arkit_index("jawOpen") == ARKIT_INDEX["jawOpen"]
    assert arkit_index("JawOpen") == ARKIT_INDEX["jawOpen"]
    assert arkit_index("eyeBlink_L") == ARKIT_INDEX["eyeBlinkLeft"]
    assert arkit_index("mouthSmile_R") == ARKIT_INDEX["mouthSmileRight"]
    assert arkit_index("blendShape1.browInnerUp") == ARKIT_INDEX["browInnerUp"]
    assert arkit_index("jawLeft") == ARKIT_INDEX["jawLeft"]
    assert arkit_index("mouthOpen") is None and arkit_index("viseme_aa") is None


def test_gltf_json_with_data_uris_matches_glb(tmp_path: Path, sphere_glb: Path) -> None:
    g = sphere_builder()
    img = g.doc["images"][0]
    g.doc["images"][0] = {"uri": "data:image/png;base64," + base64.b64encode(RED_PNG).decode()}
    assert img["bufferView"] is not None
    a, b = load_quiet(sphere_glb), load_quiet(g.write_gltf(tmp_path / "head.gltf"))
    for field in ("verts", "faces", "uvs", "blendshapes", "albedo", "weld"):
        torch.testing.assert_close(getattr(a, field), getattr(b, field))


def test_primitive_level_target_names_and_missing_names(tmp_path: Path) -> None:
    g = sphere_builder(names=None)
    g.doc["meshes"][0]["primitives"][0]["extras"] = {"targetNames": ["eyeBlink_L", "jawOpen"]}
    m = load_quiet(g.write_glb(tmp_path / "p.glb"))
    torch.testing.assert_close(
        m.blendshapes[ARKIT_INDEX["eyeBlinkLeft"]], torch.tensor(JAW, dtype=torch.float32)
    )
    torch.testing.assert_close(
        m.blendshapes[ARKIT_INDEX["jawOpen"]], torch.tensor(OTHER, dtype=torch.float32)
    )
    assert m.extras["target_names"] == {"eyeBlinkLeft": "eyeBlink_L", "jawOpen": "jawOpen"}, (
        "the file's own names"
    )
    g = sphere_builder(names=None)
    with pytest.warns(UserWarning, match="target_0"):
        m = load_gltf(g.write_glb(tmp_path / "unnamed.glb"), texture_size=SIZE)
    assert m.extras["unknown_targets"] == ["target_0", "target_1"] and torch.count_nonzero(m.blendshapes) == 0


def test_interleaved_normalized_uvs_and_sparse_target(tmp_path: Path) -> None:
    """POSITION + TEXCOORD_0 (normalized ushort) share one strided bufferView; the morph is a sparse
    accessor."""
    g = GltfBuilder()
    n = len(SPHERE_V)
    uv16 = np.round(SPHERE_UV * 65535).astype("<u2")
    rec = np.zeros(n, dtype=[("p", "<f4", 3), ("uv", "<u2", 2)])  # 16 bytes per vertex
    rec["p"], rec["uv"] = SPHERE_V, uv16
    view = g.view(rec.tobytes(), stride=16)
    pos = g.add(
        "accessors",
        {
            "bufferView": view,
            "componentType": FLOAT,
            "count": n,
            "type": "VEC3",
            "min": SPHERE_V.min(0).tolist(),
            "max": SPHERE_V.max(0).tolist(),
        },
    )
    uv = g.add(
        "accessors",
        {
            "bufferView": view,
            "byteOffset": 12,
            "componentType": USHORT,
            "normalized": True,
            "count": n,
            "type": "VEC2",
        },
    )
    rows = np.array([3, 10, 20], np.uint32)
    delta = np.array([[0.0, -0.01, 0.0], [0.0, -0.02, 0.0], [0.01, 0.0, 0.0]], np.float32)
    sparse = {
        "count": 3,
        "indices": {"bufferView": g.view(rows.tobytes()), "componentType": UINT},
        "values": {"bufferView": g.view(delta.tobytes())},
    }
    target = g.add("accessors", {"componentType": FLOAT, "count": n, "type": "VEC3", "sparse": sparse})
    faces = g.accessor(SPHERE_F.reshape(-1), UINT)
    prim = {
        "attributes": {"POSITION": pos, "TEXCOORD_0": uv},
        "indices": faces,
        "targets": [{"POSITION": target}],
    }
    g.mesh([prim], ["mouthClose"])
    m = load_quiet(g.write_glb(tmp_path / "packed.glb"))
    torch.testing.assert_close(m.verts, torch.tensor(SPHERE_V, dtype=torch.float32))
    expected_uv = np.stack([uv16[:, 0] / 65535, 1 - uv16[:, 1] / 65535], 1)
    torch.testing.assert_close(m.uvs, torch.tensor(expected_uv, dtype=torch.float32))
    expected = np.zeros_like(SPHERE_V)
    expected[rows] = delta
    torch.testing.assert_close(
        m.blendshapes[ARKIT_INDEX["mouthClose"]], torch.tensor(expected, dtype=torch.float32)
    )


def test_node_transform_applies_to_verts_and_morphs(tmp_path: Path) -> None:
    g = GltfBuilder()
    prim = g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV, [JAW])
    g.mesh([prim], ["jawOpen"], translation=[0.0, 1.5, 0.0], scale=[2.0, 2.0, 2.0])
    m = load_quiet(g.write_glb(tmp_path / "moved.glb"))
    torch.testing.assert_close(m.verts, torch.tensor(SPHERE_V * 2 + [0, 1.5, 0], dtype=torch.float32))
    torch.testing.assert_close(
        m.blendshapes[ARKIT_INDEX["jawOpen"]], torch.tensor(JAW * 2, dtype=torch.float32)
    )


def test_skinned_mesh_posed_by_skin_not_node(tmp_path: Path) -> None:
    g = GltfBuilder()
    n = len(SPHERE_V)
    prim = g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV)
    prim["attributes"]["JOINTS_0"] = g.accessor(np.zeros((n, 4)), UBYTE)
    prim["attributes"]["WEIGHTS_0"] = g.accessor(np.tile([1.0, 0, 0, 0], (n, 1)))
    g.mesh([prim], translation=[5.0, 0.0, 0.0], skin=0)  # node transform must be ignored (glTF spec)
    joint = g.add("nodes", {"translation": [0.0, 0.2, 0.0]})
    g.doc["scenes"][0]["nodes"].append(joint)
    g.add("skins", {"joints": [joint]})  # no inverseBindMatrices -> identity
    m = load_quiet(g.write_glb(tmp_path / "skinned.glb"))
    torch.testing.assert_close(m.verts, torch.tensor(SPHERE_V + [0, 0.2, 0], dtype=torch.float32))


def test_two_materials_share_an_atlas(tmp_path: Path) -> None:
    g = GltfBuilder()
    red = g.add("materials", {"pbrMetallicRoughness": {"baseColorFactor": [1.0, 0.0, 0.0, 1.0]}})
    blue = g.texture_material(solid_png((0, 0, 255)))
    g.mesh(
        [
            g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV, material=red),
            g.primitive(SPHERE_V + [0.3, 0, 0], SPHERE_F, SPHERE_UV, material=blue),
        ]
    )
    m = load_quiet(g.write_glb(tmp_path / "two.glb"), name="two")
    n = len(SPHERE_V)
    assert (
        m.num_verts == 2 * n and int(m.faces.max()) == 2 * n - 1 and int(m.faces[len(SPHERE_F) :].min()) == n
    )
    cols = (m.uvs[:, 0] * SIZE).long().clamp(0, SIZE - 1)
    rows = ((1 - m.uvs[:, 1]) * SIZE).long().clamp(0, SIZE - 1)
    sampled = m.albedo[:, rows, cols].T  # (V, 3)
    torch.testing.assert_close(sampled[:n], torch.tensor([[1.0, 0, 0]]).expand(n, 3))
    torch.testing.assert_close(sampled[n:], torch.tensor([[0, 0, 1.0]]).expand(n, 3), atol=1e-3, rtol=0)


def test_mirrored_node_keeps_counter_clockwise_winding(tmp_path: Path) -> None:
    g = GltfBuilder()
    g.mesh([g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV)], scale=[-1.0, 1.0, 1.0])
    m = load_quiet(g.write_glb(tmp_path / "mirror.glb"))
    assert m.faces.tolist() == SPHERE_F[:, ::-1].tolist()


def test_points_and_uvless_primitives_are_skipped_with_a_warning(tmp_path: Path) -> None:
    g = GltfBuilder()
    g.mesh(
        [
            g.primitive(SPHERE_V, None, SPHERE_UV, mode=0),
            g.primitive(SPHERE_V, SPHERE_F),
            g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV),
        ]
    )
    with pytest.warns(UserWarning, match="skipped primitives"):
        m = load_gltf(g.write_glb(tmp_path / "mixed.glb"), texture_size=SIZE)
    assert m.num_verts == len(SPHERE_V) and m.faces.shape == (len(SPHERE_F), 3)


def test_triangle_strip_is_converted(tmp_path: Path) -> None:
    g = GltfBuilder()
    verts = np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]], float)
    g.mesh([g.primitive(verts, [0, 1, 2, 3], verts[:, :2], mode=5)])
    m = load_quiet(g.write_glb(tmp_path / "strip.glb"))
    assert m.faces.tolist() == [[0, 1, 2], [2, 1, 3]]


# ---------------------------------------------------------------- errors


def assert_load_error(path: Path, match: str) -> None:
    with pytest.raises(AvatarLoadError, match=match) as info:
        load_quiet(path)
    message = str(info.value)
    assert path.name in message and "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    assert_load_error(tmp_path / "nope.glb", "no such file")


def test_png_renamed_glb(tmp_path: Path) -> None:
    path = tmp_path / "picture.glb"
    path.write_bytes(solid_png((1, 2, 3)))
    assert_load_error(path, "PNG image, not a glTF")


def test_text_renamed_glb(tmp_path: Path) -> None:
    path = tmp_path / "notes.glb"
    path.write_text("these are my notes, not a model\n")
    assert_load_error(path, "not a glTF file")


def test_json_that_is_not_gltf(tmp_path: Path) -> None:
    path = tmp_path / "config.gltf"
    path.write_text(json.dumps({"hello": "world"}))
    assert_load_error(path, "JSON but not glTF")


def test_no_mesh(tmp_path: Path) -> None:
    path = tmp_path / "empty.gltf"
    path.write_text(json.dumps({"asset": {"version": "2.0"}, "nodes": [{}]}))
    assert_load_error(path, "no mesh")


def test_no_uvs(tmp_path: Path) -> None:
    g = GltfBuilder()
    g.mesh([g.primitive(SPHERE_V, SPHERE_F)])
    assert_load_error(g.write_glb(tmp_path / "nouv.glb"), "TEXCOORD_0")


def test_no_triangles(tmp_path: Path) -> None:
    g = GltfBuilder()
    g.mesh([g.primitive(SPHERE_V, None, SPHERE_UV, mode=0)])
    assert_load_error(g.write_glb(tmp_path / "points.glb"), "no triangles")
    g = GltfBuilder()
    g.mesh([g.primitive(SPHERE_V, np.zeros(0), SPHERE_UV)])
    assert_load_error(g.write_glb(tmp_path / "noindex.glb"), "no triangles")


def test_non_finite_vertices(tmp_path: Path) -> None:
    g = GltfBuilder()
    verts = SPHERE_V.copy()
    verts[5, 1] = np.nan
    g.mesh([g.primitive(verts, SPHERE_F, SPHERE_UV)])
    assert_load_error(g.write_glb(tmp_path / "nan.glb"), "NaN or infinity")


def test_too_many_faces(tmp_path: Path) -> None:
    g = GltfBuilder()
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float)
    faces = np.tile([0, 1, 2], 200_001)
    g.mesh([g.primitive(verts, faces, verts[:, :2])])
    assert_load_error(g.write_glb(tmp_path / "huge.glb"), "more than the 200000")


def test_out_of_range_indices(tmp_path: Path) -> None:
    g = GltfBuilder()
    g.mesh([g.primitive(SPHERE_V, np.array([0, 1, 999]), SPHERE_UV)])
    assert_load_error(g.write_glb(tmp_path / "badidx.glb"), "point past")


def test_truncated_glb(tmp_path: Path, sphere_glb: Path) -> None:
    data = sphere_glb.read_bytes()
    path = tmp_path / "cut.glb"
    path.write_bytes(data[: len(data) // 2])
    assert_load_error(path, "truncated|damaged")


def test_broken_references_are_wrapped(tmp_path: Path) -> None:
    g = sphere_builder()
    g.doc["meshes"][0]["primitives"][0]["attributes"]["POSITION"] = 99  # no such accessor
    assert_load_error(g.write_glb(tmp_path / "broken.glb"), "could not read the mesh data")


def test_draco_is_refused(tmp_path: Path) -> None:
    g = sphere_builder()
    g.doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    assert_load_error(g.write_glb(tmp_path / "draco.glb"), "Draco")


def test_missing_external_buffer(tmp_path: Path) -> None:
    g = sphere_builder()
    path = tmp_path / "split.gltf"
    path.write_text(json.dumps(dict(g.doc, buffers=[{"byteLength": len(g.blob), "uri": "split.bin"}])))
    assert_load_error(path, "split.bin, which is missing")
    (tmp_path / "split.bin").write_bytes(bytes(g.blob))
    assert load_quiet(path).num_verts == len(SPHERE_V)


@pytest.mark.parametrize(
    "uri",
    [
        "../secret.bin",
        "../../secret.bin",
        "ABSOLUTE",
        "file://ABSOLUTE",
        "http://example.com/split.bin",
        "sub/../../secret.bin",
    ],
)
def test_buffer_uris_outside_the_model_folder_are_never_read(tmp_path: Path, uri: str) -> None:
    """A .gltf may only read files inside its own folder (a real glb blob sits outside, ready to be read)."""
    g = sphere_builder()
    secret = tmp_path / "secret.bin"
    secret.write_bytes(bytes(g.blob))
    model_dir = tmp_path / "a" / "model"
    model_dir.mkdir(parents=True)
    uri = uri.replace("ABSOLUTE", str(secret))
    path = model_dir / "split.gltf"
    path.write_text(json.dumps(dict(g.doc, buffers=[{"byteLength": len(g.blob), "uri": uri}])))
    assert_load_error(path, "outside the model's folder|not a file next to the model")


def test_buffer_uri_in_a_subfolder_is_read(tmp_path: Path) -> None:
    g = sphere_builder()
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "split.bin").write_bytes(bytes(g.blob))
    path = tmp_path / "split.gltf"
    path.write_text(json.dumps(dict(g.doc, buffers=[{"byteLength": len(g.blob), "uri": "bin/split.bin"}])))
    assert load_quiet(path).num_verts == len(SPHERE_V)


@pytest.mark.parametrize("kind", ["../outside.png", "ABSOLUTE", "https://example.com/t.png", "SYMLINK"])
def test_image_uris_outside_the_model_folder_are_refused(tmp_path: Path, kind: str) -> None:
    """Textures obey the same rule as buffers; a symlink inside the folder that points out is refused too."""
    outside = tmp_path / "outside.png"
    outside.write_bytes(RED_PNG)
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    uri = kind.replace("ABSOLUTE", str(outside))
    if kind == "SYMLINK":
        (model_dir / "tex.png").symlink_to(outside)
        uri = "tex.png"
    g = sphere_builder(texture=None)
    material = g.add(
        "materials",
        {
            "pbrMetallicRoughness": {
                "baseColorTexture": {"index": g.add("textures", {"source": g.add("images", {"uri": uri})})}
            }
        },
    )
    g.doc["meshes"][0]["primitives"][0]["material"] = material
    assert_load_error(
        g.write_gltf(model_dir / "head.gltf"), "outside the model's folder|not a file next to the model"
    )


def test_symlinked_buffer_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    g = sphere_builder()
    (tmp_path / "secret.bin").write_bytes(bytes(g.blob))
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "split.bin").symlink_to(tmp_path / "secret.bin")
    path = model_dir / "split.gltf"
    path.write_text(json.dumps(dict(g.doc, buffers=[{"byteLength": len(g.blob), "uri": "split.bin"}])))
    assert_load_error(path, "outside the model's folder")


@pytest.mark.parametrize(
    "verts, match",
    [
        (np.zeros_like(SPHERE_V), "zero size"),
        (SPHERE_V * [1.0, 0.0, 1.0], "no height"),
        (
            np.stack([np.zeros(len(SPHERE_V)), np.linspace(0, 1, len(SPHERE_V)), np.zeros(len(SPHERE_V))], 1),
            "zero area",
        ),
    ],
)
def test_a_mesh_that_would_render_blank_is_refused(tmp_path: Path, verts: np.ndarray, match: str) -> None:
    g = GltfBuilder()
    g.mesh([g.primitive(verts, SPHERE_F, SPHERE_UV, [JAW])], ["jawOpen"])
    assert_load_error(g.write_glb(tmp_path / "flat.glb"), match)


def test_a_mesh_without_arkit_targets_loads_with_one_warning(tmp_path: Path) -> None:
    g = GltfBuilder()
    g.mesh([g.primitive(SPHERE_V, SPHERE_F, SPHERE_UV)])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mesh = load_gltf(g.write_glb(tmp_path / "still.glb"), texture_size=SIZE)
    assert mesh.num_verts == len(SPHERE_V) and torch.count_nonzero(mesh.blendshapes) == 0
    assert (
        len(caught) == 1
        and "no morph targets" in str(caught[0].message)
        and "jawOpen" in str(caught[0].message)
    )
