import numpy as np
import pytest

from alteredavatar.errors import AssetMissingError, PhotoInputError
from alteredavatar.photo import landmarks
from alteredavatar.photo.landmarks import Faces, detect_faces, landmarks_available, largest_face


def face(x0, y0, size):
    rng = np.random.default_rng(0)
    return np.array([x0, y0]) + rng.random((478, 2)) * size


def test_no_face_is_a_clear_error():
    with pytest.raises(PhotoInputError, match="no face found"):
        largest_face(Faces(np.zeros((0, 478, 2)), 100, 100), "me.jpg", 64)


def test_several_faces_take_the_largest_and_say_so():
    small, big = face(0, 0, 80), face(100, 100, 200)
    lms, notes = largest_face(Faces(np.stack([big, small]), 400, 400), "me.jpg", 64)
    assert np.array_equal(lms, big)
    assert notes == ["found 2 faces in me.jpg; using the largest"]


def test_a_small_face_is_refused():
    with pytest.raises(PhotoInputError, match="only 40 px tall; at least 64 px"):
        largest_face(Faces(face(0, 0, 40)[None], 100, 100), "me.jpg", 64)


def test_a_missing_landmark_environment_names_the_make_target(monkeypatch, tmp_path):
    monkeypatch.delenv(landmarks.ENV_VAR, raising=False)
    monkeypatch.setattr(landmarks, "ROOT", tmp_path)
    monkeypatch.setattr(landmarks.importlib.util, "find_spec", lambda name: None)
    assert landmarks.landmark_python() is None
    with pytest.raises(AssetMissingError, match="make landmarks-env"):
        detect_faces([np.zeros((8, 8, 3), np.uint8)])


def test_a_broken_worker_is_reported_in_one_line(monkeypatch, tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'ImportError: no mediapipe' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv(landmarks.ENV_VAR, str(fake))
    expected = r"landmark worker failed \(ImportError: no mediapipe\)"
    with pytest.raises(AssetMissingError, match=expected) as err:
        detect_faces([np.zeros((8, 8, 3), np.uint8)])
    assert "\n" not in str(err.value)


@pytest.mark.skipif(not landmarks_available(), reason="no MediaPipe environment (`make landmarks-env`)")
def test_the_worker_finds_the_built_in_head(bo_photo):
    """The real FaceMesh in its own environment, on a render: one face, close to the mapped points."""
    found = detect_faces([bo_photo.image])[0]
    assert found.count == 1
    err = np.linalg.norm(found.landmarks[0] - bo_photo.landmarks, axis=1)
    assert np.median(err) < 6.0
