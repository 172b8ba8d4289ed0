"""`alteredavatar export`: the .glb read back by our loader, the Khronos glTF-Validator (node) and three.js in
headless Chromium; user heads keep their morph names and place; bad input fails cleanly, writing nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import threejs  # tests/export/threejs.py: the viewer's server and playwright driver
import torch
import torch.nn.functional as F
from PIL import Image
from pygltflib import GLTF2

from alteredavatar.adapt.run import file_sha256
from alteredavatar.adapt.style_file import apply_style, load_style, save_style
from alteredavatar.avatar.arkit import ARKIT_INDEX, ARKIT_NAMES, NUM_EXPR
from alteredavatar.avatar.gltf import load_gltf
from alteredavatar.avatar.pretrained import PRETRAINED_NET, load_avatar, load_avatar_net
from alteredavatar.cli import main
from alteredavatar.export.bake import BakedAvatar
from alteredavatar.export.glb import write_glb

HERE = Path(__file__).resolve().parent
SHOTS = HERE.parents[1] / "out" / "export_test"  # ignored by git; the screenshots stay for people to look at
RES = 256  # texture side in tests (the network's own UV resolution)


@pytest.fixture(scope="module")
def style_dir(tmp_path_factory) -> Path:
    """A style for the built-in network whose coarsest detail level paints random colour blotches."""
    state = load_avatar_net().style_state()
    noise = torch.randn(state["detail.levels.0"].shape, generator=torch.Generator().manual_seed(0))
    state = state | {"detail.levels.0": noise}
    folder = tmp_path_factory.mktemp("style")
    save_style(
        folder,
        state,
        {
            "avatar": "builtin:ada",
            "avatar_net": str(PRETRAINED_NET),
            "avatar_net_sha256": file_sha256(PRETRAINED_NET),
        },
    )
    return folder


@pytest.fixture(scope="module")
def exported(style_dir, tmp_path_factory) -> Path:
    glb = tmp_path_factory.mktemp("glb") / "styled.glb"
    assert (
        main(
            [
                "export",
                str(style_dir),
                "--glb",
                str(glb),
                "--texture-res",
                str(RES),
                "--animation",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    return glb


def test_round_trip_through_our_loader(exported, style_dir):
    avatar = load_avatar()
    plain_albedo = avatar(torch.zeros(1, NUM_EXPR)).albedo.detach()
    apply_style(avatar.net, load_style(style_dir)[0])
    jaw = torch.zeros(2, NUM_EXPR)
    jaw[1, ARKIT_INDEX["jawOpen"]] = 1.0
    with torch.no_grad():
        frames = avatar(jaw)
    mesh = load_gltf(exported, texture_size=RES)
    assert mesh.num_verts == avatar.mesh.num_verts and torch.equal(mesh.faces, avatar.mesh.faces)
    assert mesh.extras["target_names"] == {n: n for n in ARKIT_NAMES} and not mesh.extras["unknown_targets"]
    torch.testing.assert_close(mesh.verts, frames.verts[0], atol=1e-6, rtol=0)
    baked = F.interpolate(frames.albedo[:1], size=(RES, RES), mode="bilinear", align_corners=False)[0]
    assert (mesh.albedo - baked).abs().max() <= 2 / 255
    assert (baked - plain_albedo[0]).abs().mean() > 0.02, "the texture carries the style"
    delta = mesh.blendshapes[ARKIT_INDEX["jawOpen"]]
    torch.testing.assert_close(delta, frames.verts[1] - frames.verts[0], atol=1e-5, rtol=0)
    chin = mesh.verts[:, 1] < mesh.verts[:, 1].min() + 0.25 * (
        mesh.verts[:, 1].max() - mesh.verts[:, 1].min()
    )
    front_chin = chin & (mesh.verts[:, 2] > 0.06) & (mesh.verts[:, 0].abs() < 0.02)
    assert front_chin.sum() > 5 and delta[front_chin, 1].mean() < -0.01, (
        "jawOpen moves the chin down (> 1 cm)"
    )


def test_animation_cycles_the_named_expressions(exported):
    gltf = GLTF2().load(str(exported))
    (anim,) = gltf.animations
    assert anim.channels[0].target.path == "weights" and gltf.meshes[0].weights == [0.0] * NUM_EXPR
    times = gltf.accessors[anim.samplers[0].input]
    assert times.count >= 6 and times.max[0] > 0
    about = gltf.asset.extras["alteredavatar"]
    assert about["avatar"] == "builtin:ada" and "/" not in json.dumps(about), (
        "no local folders in a shareable file"
    )


def _validate(glb: Path) -> dict:
    if shutil.which("node") is None:
        pytest.skip(
            "node is not installed (`make test` installs nodejs as root; or apt-get install nodejs npm)"
        )
    if not (threejs.NODE_MODULES / "gltf-validator").is_dir():
        pytest.skip("node_modules/gltf-validator is missing (`make test` runs npm ci)")
    out = subprocess.run(
        ["node", str(HERE / "validate_gltf.mjs"), str(glb)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


def test_khronos_validator_finds_no_errors_or_warnings(exported):
    report = _validate(exported)
    issues = report["issues"]
    assert issues["numErrors"] == 0 and issues["numWarnings"] == 0, issues["messages"]
    info = report["info"]
    assert info["hasMorphTargets"] and info["animationCount"] == 1 and info["drawCallCount"] == 1


def test_threejs_renders_the_head_and_opens_the_mouth(exported):
    if why := threejs.missing():
        pytest.skip(why)
    shot = threejs.render_morph(exported, "jawOpen", (0.0, 1.0))
    assert shot["target_names"] == list(ARKIT_NAMES), "three.js read the names from mesh.extras.targetNames"
    closed, opened = shot["images"].astype(np.int16)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, image in zip(("jaw_open_0.png", "jaw_open_1.png"), shot["images"]):
        Image.fromarray(image).save(SHOTS / name)
    background = closed[0, 0]
    head = np.abs(closed - background).sum(-1) > 30
    assert 0.1 < head.mean() < 0.9 and closed[head].std() > 10, "a textured head, not a blank canvas"
    x0, y0, x1, y1 = (round(v) for v in shot["box"])
    assert 0 <= x0 < x1 <= threejs.SIZE and 0 <= y0 < y1 <= threejs.SIZE, shot["box"]
    changed = np.abs(opened - closed).sum(-1) > 30
    mouth = np.zeros_like(changed)
    mouth[max(y0 - 10, 0) : y1 + 10, max(x0 - 10, 0) : x1 + 10] = True
    assert changed[mouth].mean() > 0.1, "the mouth region changes when the jaw opens"
    assert changed[~mouth].mean() < 0.01, "nothing far from the mouth moves"


def _as_user_head(src: Path, dst: Path) -> dict[str, str]:
    """Rewrite an export as a user head in centimetres, lifted 1.5 m, with rig-style morph names."""
    gltf = GLTF2().load(str(src))
    renames = {"jawOpen": "JawOpen", "eyeBlinkLeft": "eyeBlink_L", "mouthSmileRight": "Face.mouthSmile_R"}
    gltf.meshes[0].extras["targetNames"] = [renames.get(n, n) for n in gltf.meshes[0].extras["targetNames"]]
    gltf.nodes[0].scale, gltf.nodes[0].translation = [100.0] * 3, [0.0, 150.0, 0.0]
    gltf.save_binary(str(dst))
    return renames


def test_user_head_keeps_its_morph_names_and_place(exported, tmp_path):
    renames = _as_user_head(exported, tmp_path / "user.glb")
    out = tmp_path / "user_export.glb"
    assert (
        main(
            [
                "export",
                "--unstylized",
                "--avatar",
                str(tmp_path / "user.glb"),
                "--glb",
                str(out),
                "--texture-res",
                "64",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    names = GLTF2().load(str(out)).meshes[0].extras["targetNames"]
    assert names == [renames.get(n, n) for n in ARKIT_NAMES]
    user, back = load_gltf(tmp_path / "user.glb", texture_size=64), load_gltf(out, texture_size=64)
    assert back.num_verts == user.num_verts
    lo, hi = user.verts.min(0).values, user.verts.max(0).values
    torch.testing.assert_close(back.verts.min(0).values, lo, atol=0.02 * float((hi - lo).max()), rtol=0)
    torch.testing.assert_close(back.verts.max(0).values, hi, atol=0.02 * float((hi - lo).max()), rtol=0)
    jaw = back.blendshapes[ARKIT_INDEX["jawOpen"]]
    assert jaw[:, 1].min() < -2.0, "deltas are in the user's units (centimetres)"


@pytest.mark.parametrize(
    "args,message",
    [
        (["STYLE", "--glb", "OUT"], "is a directory"),
        (["STYLE", "--glb", "OUT/missing/a.glb"], "does not exist"),
        (["STYLE", "--glb", "OUT/a.gltf"], "must end in .glb"),
        (["STYLE", "--unstylized", "--glb", "OUT/a.glb"], "exactly one"),
        (["--glb", "OUT/a.glb"], "exactly one"),
        (["OUT/no_style", "--glb", "OUT/a.glb"], "no such file"),
        (["STYLE", "--glb", "OUT/a.glb", "--texture-res", "8"], "--texture-res"),
        (["OTHER_NET_STYLE", "--glb", "OUT/a.glb"], "another avatar network"),
    ],
)
def test_bad_input_fails_cleanly_and_writes_nothing(tmp_path, style_dir, capsys, args, message):
    other = tmp_path / "other_style"
    save_style(
        other,
        load_style(style_dir)[0],
        {"avatar_net_sha256": "0" * 64, "avatar_net": "elsewhere.safetensors"},
    )
    out = tmp_path / "out"
    out.mkdir()
    subst = {"STYLE": str(style_dir), "OTHER_NET_STYLE": str(other)}
    args = [subst.get(a, a.replace("OUT", str(out))) for a in args]
    assert main(["export", *args, "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not any(out.iterdir()), "nothing written"


def test_interrupted_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    tet = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    normals = tet / np.maximum(np.linalg.norm(tet, axis=1, keepdims=True), 1e-6)
    normals[0] = [0, 0, -1]
    baked = BakedAvatar(
        tet,
        normals,
        tet[:, :2].copy(),
        np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]),
        np.zeros((NUM_EXPR, 4, 3), np.float32),
        np.zeros((NUM_EXPR, 4, 3), np.float32),
        list(ARKIT_NAMES),
        np.zeros((16, 16, 3), np.uint8),
        "tet",
    )
    path = write_glb(baked, tmp_path / "a.glb")
    before = path.read_bytes()

    def crash(self, name):
        Path(name).write_bytes(b"glTF half")
        raise KeyboardInterrupt

    monkeypatch.setattr(GLTF2, "save_binary", crash)
    with pytest.raises(KeyboardInterrupt):
        write_glb(baked, path, animation=True)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["a.glb"]
