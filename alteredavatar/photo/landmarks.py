"""Face landmarks for a photo: MediaPipe FaceMesh (478 points) run by `landmarks_worker` in its own
environment, because mediapipe==0.10.21 needs numpy<2 and the main environment has numpy 2.

The interpreter is, in order: $ALTEREDAVATAR_LANDMARKS_PYTHON, this one when it can import mediapipe, the
checkout's `.venv-landmarks` (`make landmarks-env`), then its `.venv-bench` (`make bench-stylize`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from alteredavatar.errors import AssetMissingError, PhotoInputError

NUM_LANDMARKS = 478
ENV_VAR = "ALTEREDAVATAR_LANDMARKS_PYTHON"
ROOT = Path(__file__).resolve().parent.parent.parent  # the checkout (editable install) holding the envs
LANDMARK_ENVS = (".venv-landmarks", ".venv-bench")
WORKER_TIMEOUT_S = 300.0
MISSING_HINT = (
    "face landmarks need MediaPipe (mediapipe==0.10.21, numpy<2) in its own environment: run "
    f"`make landmarks-env` in {ROOT}, or set {ENV_VAR} to a Python that has it"
)


@dataclass
class Faces:
    """FaceMesh's faces in one image: landmarks (N, 478, 2) pixels (x right, y down), largest face first."""

    landmarks: np.ndarray
    width: int
    height: int
    model: str = "mediapipe FaceMesh"

    @property
    def count(self) -> int:
        return int(self.landmarks.shape[0])


def _has_mediapipe(python: Path) -> bool:
    env = python.parent.parent
    return any(env.glob("lib/python*/site-packages/mediapipe"))


def landmark_python() -> Path | None:
    """The interpreter that runs the worker, or None when no environment has mediapipe."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    if importlib.util.find_spec("mediapipe") is not None:
        return Path(sys.executable)
    for name in LANDMARK_ENVS:
        python = ROOT / name / "bin" / "python"
        if python.exists() and _has_mediapipe(python):
            return python
    return None


def landmarks_available() -> bool:
    return landmark_python() is not None


def face_area(landmarks: np.ndarray) -> float:
    """Area in px² of the landmarks' bounding box; landmarks (478, 2)."""
    size = landmarks.max(0) - landmarks.min(0)
    return float(size[0] * size[1])


def detect_faces(images: list[np.ndarray], max_faces: int = 4) -> list[Faces]:
    """FaceMesh on (H, W, 3) uint8 RGB images, in the landmark environment; faces sorted largest first.

    Raises AssetMissingError (naming the make target) when no environment has mediapipe, and
    AlteredAvatarError-derived PhotoInputError when the worker fails.
    """
    python = landmark_python()
    if python is None:
        raise AssetMissingError(MISSING_HINT)
    with tempfile.TemporaryDirectory(prefix="alteredavatar-landmarks-") as tmp:
        paths = []
        for i, img in enumerate(images):
            paths.append(str(Path(tmp) / f"{i}.png"))
            Image.fromarray(np.ascontiguousarray(img)).save(paths[-1])
        request, result = Path(tmp) / "request.json", Path(tmp) / "result.json"
        request.write_text(json.dumps({"images": paths, "max_faces": max_faces}))
        env = dict(os.environ, PYTHONPATH=str(ROOT), GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="2")
        cmd = [str(python), "-m", "alteredavatar.photo.landmarks_worker", str(request), str(result)]
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise AssetMissingError(f"the landmark worker could not run ({exc}); {MISSING_HINT}") from None
        if proc.returncode != 0 or not result.exists():
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise AssetMissingError(f"the landmark worker failed ({last}); {MISSING_HINT}")
        data = json.loads(result.read_text())
    out = []
    for res in data["results"]:
        lms = np.asarray(res["faces"], np.float64).reshape(-1, NUM_LANDMARKS, 3)[..., :2]
        order = np.argsort([-face_area(f) for f in lms])
        out.append(Faces(lms[order], res["width"], res["height"], f"mediapipe FaceMesh {data['mediapipe']}"))
    return out


def largest_face(faces: Faces, source: str, min_face_px: int) -> tuple[np.ndarray, list[str]]:
    """The largest face's (478, 2) landmarks and notes for the user; one-line errors when unusable."""
    if faces.count == 0:
        raise PhotoInputError(
            f"{source}: no face found; use a photo where one face is clearly visible, roughly frontal"
        )
    notes = []
    if faces.count > 1:
        notes.append(f"found {faces.count} faces in {source}; using the largest")
    lms = faces.landmarks[0]
    height = float(lms[:, 1].max() - lms[:, 1].min())
    if height < min_face_px:
        raise PhotoInputError(
            f"{source}: the face is only {height:.0f} px tall; at least {min_face_px} px is needed "
            "(use a closer or larger photo)"
        )
    return lms, notes
