"""The catalogue of bad inputs (issue 17): every one exits 2 with a one-line message, and writes nothing.

Each case runs `alteredavatar.cli.main` in-process on fixtures built once for the module, and checks the
return code, that stderr is one line without a traceback and holds the expected words, and that no file
under the fixture folder (which holds every `--out` and the working directory) was created, changed or
removed. Every case fails during validation, before any adaptation or rendering. Faults that need real
work (a full disk, SIGTERM, Ctrl-C while writing, stale temp files) are separate tests at the end.
"""

from __future__ import annotations

import base64
import errno
import json
import os
import signal
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from alteredavatar.cli import main

FAST = [
    "--output.frames",
    "2",
    "--output.res",
    "32",
    "--output.ssaa",
    "1",
    "--output.portrait-res",
    "32",
    "--output.portrait-ssaa",
    "1",
]


# ---------------------------------------------------------------- fixtures (built once)


def tetra_gltf(path: Path, uri: str | None = None, verts=None, texture_uri: str | None = None) -> Path:
    """A textured tetrahedron as .gltf; the buffer is a data: URI unless `uri` names where it lives."""
    verts = (
        np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], np.float32) if verts is None else verts
    )
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.uint32)
    uvs = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
    blob = verts.astype(np.float32).tobytes() + uvs.tobytes() + faces.tobytes()
    n = len(verts)
    doc = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "buffers": [
            {
                "byteLength": len(blob),
                "uri": uri or "data:application/octet-stream;base64," + base64.b64encode(blob).decode(),
            }
        ],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 12 * n},
            {"buffer": 0, "byteOffset": 12 * n, "byteLength": 8 * n},
            {"buffer": 0, "byteOffset": 20 * n, "byteLength": faces.nbytes},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": n, "type": "VEC3"},
            {"bufferView": 1, "componentType": 5126, "count": n, "type": "VEC2"},
            {"bufferView": 2, "componentType": 5125, "count": faces.size, "type": "SCALAR"},
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "indices": 2}]}],
    }
    if texture_uri:
        doc |= {
            "images": [{"uri": texture_uri}],
            "textures": [{"source": 0}],
            "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
        }
        doc["meshes"][0]["primitives"][0]["material"] = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    (path.parent / "tetra.bin").write_bytes(blob)  # what a relative `uri` would read
    return path


def write_style(folder: Path, state: dict[str, torch.Tensor], meta: dict) -> Path:
    """A style folder written without save_style's finiteness check (so NaN styles can be made)."""
    from alteredavatar.io import save_safetensors_atomic

    folder.mkdir(parents=True, exist_ok=True)
    save_safetensors_atomic(
        state, folder / "style.safetensors", {"format": "alteredavatar-style", "version": "2"}
    )
    (folder / "style.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def env(tmp_path_factory, tiny_net_path) -> dict[str, str]:
    from alteredavatar.adapt.run import file_sha256
    from alteredavatar.avatar.pretrained import load_avatar_net
    from alteredavatar.export.media import to_uint8, write_png
    from alteredavatar.guidance.procedural import procedural_style

    root = tmp_path_factory.mktemp("bad_inputs")
    f = {"ROOT": root, "NET": tiny_net_path, "OUT": root / "out", "CWD": root / "cwd"}
    f["CWD"].mkdir()
    write_png(to_uint8(procedural_style("mosaic", 0, 64)[None])[0], root / "style.png")
    f["STYLE"] = root / "style.png"
    good = f["STYLE"].read_bytes()
    (root / "text.png").write_text("hello")
    (root / "corrupt.png").write_bytes(good[: len(good) // 3])
    Image.new("RGB", (1, 1)).save(root / "pixel.png")
    Image.new("RGBA", (32, 32), (200, 10, 10, 0)).save(root / "clear.png")
    (root / "imgdir.png").mkdir()
    torch.save({"a": torch.zeros(2)}, root / "pickle.safetensors")
    state = load_avatar_net(tiny_net_path).style_state()
    meta = {
        "avatar": "builtin:ada",
        "avatar_net": str(tiny_net_path),
        "avatar_net_sha256": file_sha256(tiny_net_path),
    }
    f["SA"] = write_style(root / "style_a", state, meta)
    f["SOTHER"] = write_style(root / "style_other", state, meta | {"avatar_net_sha256": "0" * 64})
    bad = dict(state)
    bad[next(iter(bad))] = torch.full_like(bad[next(iter(bad))], float("nan"))
    f["SNAN"] = write_style(root / "style_nan", bad, meta)
    f["SJSON"] = write_style(root / "style_badjson", state, meta)
    (f["SJSON"] / "style.json").write_text("{not json")
    f["SPICKLE"] = root / "style_pickle"
    f["SPICKLE"].mkdir()
    torch.save(state, f["SPICKLE"] / "style.safetensors")
    # a previous run's folder, and files in the way of an output folder
    f["PREV"] = root / "prev"
    f["PREV"].mkdir()
    (f["PREV"] / "turntable.mp4").write_bytes(b"old video")
    (f["PREV"] / "portrait.png").write_bytes(good)
    f["AFILE"] = root / "a_file"
    f["AFILE"].write_text("")
    # avatars: secrets outside the model folder, escaping URIs, blank meshes, damaged files
    (root / "secret.bin").write_bytes(b"\0" * 64)
    models = root / "models"
    f["G_DOTDOT"] = tetra_gltf(models / "dotdot" / "head.gltf", "../../secret.bin")
    f["G_ABS"] = tetra_gltf(models / "abs" / "head.gltf", str(root / "secret.bin"))
    f["G_PASSWD"] = tetra_gltf(models / "passwd" / "head.gltf", "../../../../../../../../etc/passwd")
    f["G_ETC"] = tetra_gltf(models / "etc" / "head.gltf", "/etc/passwd")
    f["G_HTTP"] = tetra_gltf(models / "http" / "head.gltf", "http://example.com/tetra.bin")
    f["G_FILE"] = tetra_gltf(models / "file" / "head.gltf", f"file://{root / 'secret.bin'}")
    f["G_ENCODED"] = tetra_gltf(models / "enc" / "head.gltf", "..%2F..%2Fsecret.bin")
    (models / "link").mkdir()
    (models / "link" / "escape.bin").symlink_to(root / "secret.bin")
    f["G_LINK"] = tetra_gltf(models / "link" / "head.gltf", "escape.bin")
    f["G_TEX"] = tetra_gltf(models / "tex" / "head.gltf", texture_uri="../../style.png")
    f["G_POINT"] = tetra_gltf(models / "point" / "head.gltf", verts=np.zeros((4, 3), np.float32))
    f["G_FLAT"] = tetra_gltf(
        models / "flat" / "head.gltf",
        verts=np.array([[0, 0, 0], [0.1, 0, 0], [0, 0, 0.1], [0.1, 0, 0.1]], np.float32),
    )
    f["G_OWN"] = tetra_gltf(models / "own" / "head.gltf", texture_uri="expressions.png")
    (models / "own" / "expressions.png").write_bytes(good)  # its texture shares a name with an output
    glb = models / "truncated.glb"
    body = b'{"asset":{"version":"2.0"}}  '
    glb.write_bytes(
        (
            struct.pack("<4sII", b"glTF", 2, 12 + 8 + len(body) + 500)
            + struct.pack("<I4s", len(body), b"JSON")
            + body
        )[:40]
    )
    f["GLB_TRUNC"] = glb
    (models / "image.glb").write_bytes(good)
    f["GLB_PNG"] = models / "image.glb"
    (models / "head.obj").write_text("v 0 0 0\n")
    f["OBJ"] = models / "head.obj"
    # meta-train configs (class 8)
    configs = root / "configs"
    configs.mkdir()
    for name, text in META_CONFIGS.items():
        (configs / f"{name}.yaml").write_text(text)
    f["CFG"] = configs
    return {k: str(v) for k, v in f.items()}


META_CONFIGS = {  # name -> YAML text of a meta-train config that must be refused before any work
    "ten": "train: {outer_steps: ten}\n",
    "scalar": "42\n",
    "tasks-list": "tasks: [a, b]\n",
    "typo": "algoritm: fomaml\n",
    "negative": "train: {outer_steps: -5}\n",
    "bad-yaml": "train: {outer_steps: [1}\n",
    "no-styles": "train: {outer_steps: 1}\n",
    "text-with-texture": "styles: {train: {texts: [a marble statue]}}\n",
}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every path under `root` with (is_dir, size, mtime_ns)."""
    return {
        str(p.relative_to(root)): (
            p.is_dir(),
            p.lstat().st_size if not p.is_dir() else 0,
            p.lstat().st_mtime_ns,
        )
        for p in root.rglob("*")
    }


# ---------------------------------------------------------------- the catalogue

STY = [
    "stylize",
    "--net",
    "NET",
    "--out",
    "OUT",
    "--style.image",
    "STYLE",
    "--style.guidance",
    "texture",
    *FAST,
]
REN = ["render", "--net", "NET", "--out", "OUT", *FAST]

CASES = {
    # class 2: numbers, named by their flag
    "lr-nan": (STY + ["--adapt.lr", "nan"], "--adapt.lr"),
    "lr-inf": (STY + ["--adapt.lr", "inf"], "--adapt.lr"),
    "lr-1e9": (STY + ["--adapt.lr", "1e9"], "--adapt.lr"),
    "lr-negative": (STY + ["--adapt.lr", "-0.1"], "--adapt.lr"),
    "steps-0": (STY + ["--adapt.steps", "0"], "--adapt.steps"),
    "steps-huge": (STY + ["--adapt.steps", "10000000"], "--adapt.steps"),
    "batch-0": (STY + ["--adapt.batch", "0"], "--adapt.batch"),
    "adapt-res-8": (STY + ["--adapt.res", "8"], "--adapt.res"),
    "adapt-seed-negative": (STY + ["--adapt.seed", "-1"], "--adapt.seed"),
    "fov-0": (STY + ["--adapt.views.fov-deg", "0"], "--adapt.views.fov-deg"),
    "distance-nan": (STY + ["--adapt.views.distance", "nan"], "--adapt.views.distance"),
    "yaw-500": (STY + ["--adapt.views.yaw-range", "500"], "--adapt.views.yaw-range"),
    "front-bias-0": (STY + ["--adapt.views.front-bias", "0"], "--adapt.views.front-bias"),
    "active-99": (STY + ["--adapt.expressions.active", "99"], "--adapt.expressions.active"),
    "preset-prob-1.5": (STY + ["--adapt.expressions.preset-prob", "1.5"], "--adapt.expressions.preset-prob"),
    "neutral-plus-preset": (
        STY + ["--adapt.expressions.neutral-prob", "0.9"],
        "--adapt.expressions.neutral-prob",
    ),
    "strength-1.5": (STY + ["--objective.strength", "1.5"], "--objective.strength"),
    "strength-nan": (STY + ["--objective.strength", "nan"], "--objective.strength"),
    "identity-weight-negative": (STY + ["--objective.identity-weight", "-5"], "--objective.identity-weight"),
    "seam-weight-inf": (STY + ["--objective.seam-weight", "inf"], "--objective.seam-weight"),
    "lowpass-0": (STY + ["--objective.lowpass-factor", "0"], "--objective.lowpass-factor"),
    "crop-size-0": (STY + ["--objective.crop-size", "0"], "--objective.crop-size"),
    "crop-fraction-0": (STY + ["--objective.crop-fraction", "0"], "--objective.crop-fraction"),
    "magnitude-weight-negative": (
        STY + ["--objective.magnitude-weight", "-1"],
        "--objective.magnitude-weight",
    ),
    "mix-2": (STY + ["--style.mix", "2"], "--style.mix"),
    "texture-seed-negative": (STY + ["--style.texture-seed", "-1"], "--style.texture-seed"),
    "style-scale-0": (STY + ["--style.vgg.style-scale", "0"], "--style.vgg.style-scale"),
    "gram-weight-negative": (STY + ["--style.vgg.gram-weight", "-1"], "--style.vgg.gram-weight"),
    "n-projections-0": (STY + ["--style.vgg.n-projections", "0"], "--style.vgg.n-projections"),
    "output-res-odd": (STY + ["--output.res", "33"], "--output.res"),
    "output-res-8": (REN + ["--output.res", "8"], "--output.res"),
    "output-frames-0": (REN + ["--output.frames", "0"], "--output.frames"),
    "output-fps-0": (REN + ["--output.fps", "0"], "--output.fps"),
    "output-ssaa-0.5": (REN + ["--output.ssaa", "0.5"], "--output.ssaa"),
    "portrait-ssaa-nan": (REN + ["--output.portrait-ssaa", "nan"], "--output.portrait-ssaa"),
    "portrait-res-huge": (REN + ["--output.portrait-res", "99999"], "--output.portrait-res"),
    "mix-t-2": (["mix", "SA", "SA", "--t", "2", "--out", "OUT"], "--t"),
    "mix-t-nan": (["mix", "SA", "SA", "--t", "nan", "--out", "OUT"], "--t"),
    "demo-steps-0": (["demo", "--steps", "0", "--out", "OUT"], "--steps"),
    "demo-steps-negative": (["demo", "--steps", "-1", "--out", "OUT"], "--steps"),
    "fit-steps-0": (["fit-avatar", "--steps", "0", "--out", "OUT/net.safetensors"], "--steps"),
    "fit-seed-negative": (["fit-avatar", "--seed", "-1", "--out", "OUT/net.safetensors"], "--seed"),
    "fit-out-folder": (["fit-avatar", "--steps", "1", "--out", "ROOT"], "is a folder"),
    # class 4: glTF files reach only their own folder; blank meshes are refused
    "gltf-dotdot": (REN + ["--avatar", "G_DOTDOT"], "outside the model's folder"),
    "gltf-absolute": (REN + ["--avatar", "G_ABS"], "outside the model's folder"),
    "gltf-etc-passwd-relative": (REN + ["--avatar", "G_PASSWD"], "outside the model's folder"),
    "gltf-etc-passwd-absolute": (REN + ["--avatar", "G_ETC"], "outside the model's folder"),
    "gltf-http": (REN + ["--avatar", "G_HTTP"], "not a file next to the model"),
    "gltf-file-uri": (REN + ["--avatar", "G_FILE"], "not a file next to the model"),
    "gltf-percent-encoded": (REN + ["--avatar", "G_ENCODED"], "outside the model's folder"),
    "gltf-symlink-escape": (REN + ["--avatar", "G_LINK"], "links to a file outside the model's folder"),
    "gltf-texture-outside": (REN + ["--avatar", "G_TEX"], "outside the model's folder"),
    "gltf-one-point": (REN + ["--avatar", "G_POINT"], "zero size"),
    "gltf-no-height": (REN + ["--avatar", "G_FLAT"], "no height"),
    "glb-truncated": (REN + ["--avatar", "GLB_TRUNC"], "truncated"),
    "glb-is-png": (REN + ["--avatar", "GLB_PNG"], "PNG image"),
    "avatar-missing": (REN + ["--avatar", "ROOT/nope.glb"], "no such file"),
    "avatar-obj": (REN + ["--avatar", "OBJ"], ".glb/.gltf"),
    "avatar-unknown-identity": (REN + ["--avatar", "builtin:nobody"], "nobody"),
    "apply-blank-avatar": (["apply", "SA", "--avatar", "G_POINT", "--out", "OUT", *FAST], "zero size"),
    # class 5: output folders are checked first and created last; an output is never an input
    "out-empty": (STY[:3] + ["--out", ""] + STY[5:], "--out is empty"),
    "out-empty-equals": (["render", "--out="], "--out is empty"),
    "out-is-a-file": (STY[:3] + ["--out", "AFILE"] + STY[5:], "is a file"),
    "out-under-a-file": (STY[:3] + ["--out", "AFILE/out"] + STY[5:], "cannot create output folder"),
    "mix-out-is-input": (["mix", "SA", "SOTHER", "--out", "SA", "--no-render"], "one of the input styles"),
    "mix-out-is-input-overwrite": (
        ["mix", "SA", "SA", "--out", "SA", "--overwrite"],
        "one of the input styles",
    ),
    "apply-out-is-style": (["apply", "SA", "--out", "SA", "--overwrite", *FAST], "one of the input styles"),
    "init-out-is-init": (STY + ["--init", "SA", "--out", "SA", "--overwrite"], "one of the input styles"),
    "out-holds-previous-run": (STY[:3] + ["--out", "PREV"] + STY[5:], "--overwrite"),
    "render-out-holds-previous-run": (["render", "--out", "PREV", *FAST], "already holds"),
    "out-would-overwrite-style-image": (
        STY[:3] + ["--out", "PREV", "--overwrite"] + STY[5:6] + ["PREV/portrait.png"] + STY[7:],
        "overwrite the input",
    ),
    "out-would-overwrite-gltf-texture": (
        REN[:3] + ["--out", "ROOT/models/own", "--overwrite", "--avatar", "G_OWN"] + REN[5:],
        "overwrite the input",
    ),
    # style images (class 9 and what already worked)
    "image-missing": (STY[:6] + ["ROOT/missing.png"] + STY[7:], "not found"),
    "image-is-text": (STY[:6] + ["ROOT/text.png"] + STY[7:], "not an image"),
    "image-truncated": (STY[:6] + ["ROOT/corrupt.png"] + STY[7:], "corrupt"),
    "image-1x1": (STY[:6] + ["ROOT/pixel.png"] + STY[7:], "at least"),
    "image-transparent": (STY[:6] + ["ROOT/clear.png"] + STY[7:], "fully transparent"),
    "image-is-a-folder": (STY[:6] + ["ROOT/imgdir.png"] + STY[7:], "not a file"),
    "no-style": (["stylize", "--net", "NET", "--out", "OUT"], "give a style prompt"),
    "texture-needs-image": (
        ["stylize", "--net", "NET", "--out", "OUT", "--style.guidance", "texture", "--style.text", "bricks"],
        "needs a style image",
    ),
    # class 1: user text never reaches rich as markup, control characters never reach the terminal
    "prompt-escape": (["stylize", "--out", "OUT", "--style.text", "a \x1b[2J statue"], "U+001B"),
    "prompt-newline": (["stylize", "--out", "OUT", "--style.text", "two\nlines"], "U+000A"),
    "prompt-blank": (["stylize", "--out", "OUT", "--style.text", "   "], "the style prompt is empty"),
    "prompt-markup": (STY + ["--style.text", "[/x] statue"], "cannot use a text prompt"),
    "image-path-markup": (STY[:6] + ["ROOT/a[/x]b.png"] + STY[7:], "a[/x]b.png"),
    "out-path-markup": (STY[:3] + ["--out", "AFILE/[/x]"] + STY[5:], "[/x]"),
    # files that are not what they claim
    "net-pickle": (REN + ["--net", "ROOT/pickle.safetensors"], "not a readable safetensors"),
    "net-missing": (REN + ["--net", "ROOT/missing.safetensors"], "not found"),
    "net-is-a-style": (REN + ["--net", "SA/style.safetensors"], "not an avatar-network file"),
    "apply-missing-style": (["apply", "ROOT/nostyle", "--out", "OUT", *FAST], "no such file"),
    "apply-nan-style": (["apply", "SNAN", "--net", "NET", "--out", "OUT", *FAST], "non-finite"),
    "mix-nan-style": (["mix", "SA", "SNAN", "--out", "OUT", "--no-render"], "non-finite"),
    "apply-bad-json": (["apply", "SJSON", "--out", "OUT", *FAST], "unreadable style metadata"),
    "apply-pickle-style": (["apply", "SPICKLE", "--out", "OUT", *FAST], "not a readable safetensors"),
    "mix-different-nets": (["mix", "SA", "SOTHER", "--out", "OUT"], "different avatar networks"),
    "init-missing": (STY + ["--init", "ROOT/noinit"], "no such file"),
    # class 8: meta-train configs are typed; every key and flag is checked before any work
    "meta-ten": (
        ["meta-train", "CFG/ten.yaml", "--out", "OUT"],
        "`train.outer_steps` must be int, got str 'ten'",
    ),
    "meta-scalar": (["meta-train", "CFG/scalar.yaml", "--out", "OUT"], "the config must be a mapping"),
    "meta-tasks-list": (["meta-train", "CFG/tasks-list.yaml", "--out", "OUT"], "`tasks` must be a mapping"),
    "meta-unknown-key": (["meta-train", "CFG/typo.yaml", "--out", "OUT"], "unknown key `algoritm`"),
    "meta-negative": (["meta-train", "CFG/negative.yaml", "--out", "OUT"], "train.outer_steps must be >= 1"),
    "meta-bad-yaml": (["meta-train", "CFG/bad-yaml.yaml", "--out", "OUT"], "not valid YAML"),
    "meta-no-styles": (
        ["meta-train", "CFG/no-styles.yaml", "--out", "OUT", "--net", "NET"],
        "train split is empty",
    ),
    "meta-text-with-texture": (
        ["meta-train", "CFG/text-with-texture.yaml", "--out", "OUT", "--net", "NET"],
        "text styles need tasks.guidance clip",
    ),
    "meta-missing-file": (
        ["meta-train", "CFG/missing.yaml", "--out", "OUT"],
        "cannot read meta-train config",
    ),
    "meta-unknown-preset": (["meta-train", "textur", "--out", "OUT"], "neither a preset"),
    "meta-no-config": (["meta-train", "--out", "OUT"], "needs CONFIG first"),
    "meta-flag-zero-steps": (
        ["meta-train", "texture", "--out", "OUT", "--train.outer-steps", "0"],
        "train.outer_steps must be >= 1",
    ),
    "meta-flag-bad-lr": (
        ["meta-train", "texture", "--out", "OUT", "--reptile.inner-lr", "0"],
        "reptile.inner_lr and outer_lr must be > 0",
    ),
    "meta-warm-start-missing": (
        ["meta-train", "texture", "--out", "OUT", "--net", "NET"],
        "train.init: runs/texture-stage2/init.safetensors does not exist",
    ),
    # devices
    "device-tpu": (STY + ["--device", "tpu"], "unknown device"),
    "device-cuda-x": (STY + ["--device", "cuda:x"], "unknown device"),
    "device-mps": (REN + ["--device", "mps"], "not supported"),
    "device-cuda-99": (REN + ["--device", "cuda:99"], "cuda:99"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_exits_2_with_one_line_and_writes_nothing(name, env, capsys, monkeypatch):
    args, words = CASES[name]
    args = [_fill(a, env) for a in args]
    root = Path(env["ROOT"])
    monkeypatch.chdir(env["CWD"])
    before = snapshot(root)
    code = main(args)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err and lines[0].startswith("error: "), err
    assert words in err, err
    assert snapshot(root) == before, "a refused run created, changed or removed files"


def test_the_catalogue_is_large():
    assert len(CASES) >= 60


def _fill(arg: str, env: dict[str, str]) -> str:
    """`KEY` or `KEY/rest` -> the fixture path."""
    head, sep, rest = arg.partition("/")
    return env[head] + sep + rest if head in env else arg


# ---------------------------------------------------------------- faults that need real work


def _render(out: Path, *extra: str) -> int:
    return main(["render", "--out", str(out), *FAST, *extra])


def _one_error_line(err: str, words: str) -> bool:
    """The run was announced (it passed validation), then failed with one error line."""
    lines = err.strip().splitlines()
    return (
        "Traceback" not in err
        and lines[-1].startswith("error: ")
        and words in lines[-1]
        and sum(line.startswith("error") for line in lines) == 1
    )


def _state(folder: Path) -> dict[str, tuple]:
    return snapshot(folder) if folder.exists() else {}


def test_a_full_disk_is_one_line_and_leaves_no_files(tmp_path, monkeypatch, capsys):
    """ENOSPC while writing the second output: the staged outputs and temp files go, the folder made for the
    run goes, a previous run's outputs stay; the message says how much space was needed."""
    from alteredavatar.export import outputs
    from alteredavatar.io import atomic_path

    def full(image, path):
        with atomic_path(path, suffix=".png") as tmp:
            tmp.write_bytes(b"x" * 100)
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    monkeypatch.setattr(outputs, "write_png", full)
    assert _render(tmp_path / "new") == 2
    err = capsys.readouterr().err
    assert _one_error_line(err, "disk is full") and "need about" in err and "staging" not in err
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    assert _render(tmp_path / "old") == 0
    before = _state(tmp_path / "old")
    monkeypatch.setattr(outputs, "write_png", full)
    assert _render(tmp_path / "old", "--overwrite") == 2
    assert _state(tmp_path / "old") == before, "the previous run's outputs are untouched, no temp files"


def test_other_write_errors_are_one_line(tmp_path, monkeypatch, capsys):
    from alteredavatar.export import outputs

    def denied(image, path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(outputs, "write_png", denied)
    assert _render(tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert (
        _one_error_line(err, "cannot write the outputs")
        and "Permission denied" in err
        and "staging" not in err
    )
    assert not (tmp_path / "o").exists()


def test_sigterm_while_rendering_stops_like_ctrl_c_and_keeps_nothing(tmp_path, monkeypatch, capsys):
    from alteredavatar.export import outputs

    previous = signal.getsignal(signal.SIGTERM)
    real = outputs.render_expression_grid

    def killed(*args, **kw):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kw)

    monkeypatch.setattr(outputs, "render_expression_grid", killed)
    assert _render(tmp_path / "o") == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "terminated" in err and "nothing new was written" in err and len(err.strip().splitlines()) == 2
    assert not (tmp_path / "o").exists()
    assert signal.getsignal(signal.SIGTERM) == previous, "the handler is restored"


def test_ctrl_c_while_writing_keeps_the_previous_run_whole(tmp_path, monkeypatch, capsys):
    from alteredavatar.export import outputs

    assert _render(tmp_path / "o", "--output.gif") == 0
    before = _state(tmp_path / "o")

    def interrupted(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs, "write_png", interrupted)
    assert _render(tmp_path / "o", "--overwrite") == 130
    assert "nothing new was written" in capsys.readouterr().err
    assert _state(tmp_path / "o") == before


def test_overwrite_replaces_the_whole_previous_run_and_stale_temps_go(tmp_path):
    """A killed run's temp files are removed by the next run; an --overwrite run leaves only its own outputs
    (the old GIF does not stay beside the new video); files that are not outputs are left alone."""
    out = tmp_path / "o"
    assert _render(out, "--output.gif") == 0
    stale = [
        ".turntable.mp4.abcd1234.mp4",
        ".ckpt.safetensors.zz9y8x7w.safetensors",
        ".alteredavatar-staging.q1w2e3r4",
    ]
    (out / stale[0]).write_bytes(b"")
    (out / stale[1]).write_bytes(b"")
    (out / stale[2]).mkdir()
    (out / "notes.txt").write_text("mine")
    (out / ".hidden").write_text("mine too")
    assert _render(out, "--overwrite") == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"turntable.mp4", "expressions.png", "portrait.png", "notes.txt", ".hidden"}


def test_sigterm_during_adaptation_keeps_the_style_and_says_so(
    tmp_path, tiny_net_path, env, monkeypatch, capsys
):
    from alteredavatar.adapt import run as adapt_run
    from alteredavatar.adapt.guide import StyleGuide

    calls = {"n": 0}
    real = StyleGuide.losses

    def term_on_second(self, *args):
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(self, *args)

    monkeypatch.setattr(StyleGuide, "losses", term_on_second)
    monkeypatch.setattr(adapt_run, "stylization_metrics", lambda *a, **k: {})  # not the subject; loads VGG16
    out = tmp_path / "s"
    code = main(
        [
            "stylize",
            "--net",
            str(tiny_net_path),
            "--out",
            str(out),
            "--style.image",
            env["STYLE"],
            "--style.guidance",
            "texture",
            "--adapt.steps",
            "5",
            "--adapt.batch",
            "1",
            "--adapt.res",
            "32",
            *FAST,
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "kept the style learned so far" in err and "1 of 5 steps" in err
    meta = json.loads((out / "style.json").read_text())
    assert meta["interrupted"] and meta["steps"] == 1
    assert {"style.safetensors", "metrics.json", "turntable.mp4", "expressions.png"} <= {
        p.name for p in out.iterdir()
    }


def test_a_non_finite_adapted_state_is_refused_before_anything_is_written(
    tmp_path, tiny_net_path, env, monkeypatch, capsys
):
    from alteredavatar.adapt import loop

    real = loop.Stylizer.run

    def blown_up(self, *args, **kw):
        result = real(self, *args, **kw)
        result.state = {k: torch.full_like(v, float("inf")) for k, v in result.state.items()}
        return result

    monkeypatch.setattr(loop.Stylizer, "run", blown_up)
    out = tmp_path / "s"
    code = main(
        [
            "stylize",
            "--net",
            str(tiny_net_path),
            "--out",
            str(out),
            "--style.image",
            env["STYLE"],
            "--style.guidance",
            "texture",
            "--adapt.steps",
            "1",
            "--adapt.batch",
            "1",
            "--adapt.res",
            "32",
            *FAST,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "non-finite" in err and "--adapt.lr" in err and "nothing was written" in err
    assert not out.exists()
