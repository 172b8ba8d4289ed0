"""`avatar-from-photo` end to end with the landmark worker replaced by known landmarks."""

import json

import numpy as np
import pytest
from PIL import Image

from alteredavatar import cli
from alteredavatar.avatar.arkit import ARKIT_NAMES
from alteredavatar.avatar.pretrained import load_mesh
from alteredavatar.photo import build
from alteredavatar.photo.build import avatar_from_photo
from alteredavatar.photo.landmarks import Faces


@pytest.fixture(scope="module")
def made(tmp_path_factory, bo_photo):
    folder = tmp_path_factory.mktemp("photo")
    photo = folder / "bo.png"
    Image.fromarray(bo_photo.image).save(photo)
    out = folder / "me"
    summary = avatar_from_photo(photo, out, detector=bo_photo.detector)
    return photo, out, summary


def test_writes_a_glb_that_loads_as_an_avatar(made):
    _, out, summary = made
    assert sorted(p.name for p in out.iterdir()) == ["avatar.glb", "fit.json", "preview.png"]
    mesh = load_mesh(str(out / "avatar.glb"))
    assert mesh.extras["matched_targets"] == list(ARKIT_NAMES)
    assert mesh.faces.shape[0] == 9620
    assert json.loads((out / "fit.json").read_text())["landmark_error_px"] == summary["landmark_error_px"]
    assert summary["landmark_error_px"] < 1.5
    preview = np.asarray(Image.open(out / "preview.png"))
    assert preview.shape[0] > 600 and preview.std() > 20


def test_an_existing_folder_needs_overwrite(made, bo_photo):
    photo, out, _ = made
    with pytest.raises(Exception, match="--overwrite"):
        avatar_from_photo(photo, out, detector=bo_photo.detector)


def no_face(images):
    return [Faces(np.zeros((0, 478, 2)), img.shape[1], img.shape[0]) for img in images]


def two_faces(photo):
    def detect(images):
        small = photo.landmarks * 0.3 + 10
        return [Faces(np.stack([photo.landmarks, small]), img.shape[1], img.shape[0]) for img in images]

    return detect


def run_cli(monkeypatch, capsys, detector, *args):
    monkeypatch.setattr(build, "detect_faces", detector)
    monkeypatch.setattr(build.avatar_from_photo, "__defaults__", (None, False, detector, lambda _: None))
    code = cli.main(["avatar-from-photo", *map(str, args)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "what, expected",
    [
        ("text", "not an image file"),
        ("no-face", "no face found"),
        ("tiny", "at least 64 px"),
    ],
)
def test_bad_photos_print_one_line_and_write_nothing(tmp_path, monkeypatch, capsys, bo_photo, what, expected):
    photo = tmp_path / "me.jpg"
    detector = bo_photo.detector
    if what == "text":
        photo.write_text("not a photo")
    else:
        Image.fromarray(bo_photo.image).save(photo)
    if what == "no-face":
        detector = no_face
    if what == "tiny":
        detector = lambda images: [Faces(bo_photo.landmarks[None] * 0.1, 384, 384) for _ in images]  # noqa: E731
    out = tmp_path / "out"
    code, err = run_cli(monkeypatch, capsys, detector, photo, "--out", out)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and expected in lines[0], err
    assert not out.exists()


def test_several_faces_use_the_largest_and_say_so(tmp_path, monkeypatch, capsys, bo_photo):
    photo = tmp_path / "group.png"
    Image.fromarray(bo_photo.image).save(photo)
    code, err = run_cli(monkeypatch, capsys, two_faces(bo_photo), photo, "--out", tmp_path / "out")
    assert code == 0, err
    assert "found 2 faces" in err and "using the largest" in err
    summary = json.loads((tmp_path / "out" / "fit.json").read_text())
    assert summary["landmark_error_px"] < 1.5  # fitted to the large face, not the small one


@pytest.mark.parametrize(
    "flag, value",
    [("--min-face-px", "0"), ("--max-side", "10"), ("--texture-res", "8"), ("--preview-px", "1")],
)
def test_numeric_flags_are_checked_before_anything(tmp_path, monkeypatch, capsys, bo_photo, flag, value):
    photo = tmp_path / "me.png"
    Image.fromarray(bo_photo.image).save(photo)
    code, err = run_cli(monkeypatch, capsys, bo_photo.detector, photo, "--out", tmp_path / "out", flag, value)
    assert code == 2 and f"error: {flag} must be" in err
    assert not (tmp_path / "out").exists()
