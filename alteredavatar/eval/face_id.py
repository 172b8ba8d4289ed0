"""Optional identity metric: dlib's face-recognition distance (package extra `[eval]`).

dlib ships a real, pretrained face-recognition ResNet and landmark predictor in the
`face_recognition_models` package; when either package is missing this returns None (and the
metrics JSON simply has no such entry).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch


@lru_cache(maxsize=1)
def _models():
    if (
        importlib.util.find_spec("dlib") is None
        or importlib.util.find_spec("face_recognition_models") is None
    ):
        return None
    import dlib

    root = Path(importlib.util.find_spec("face_recognition_models").origin).parent / "models"
    return (
        dlib.get_frontal_face_detector(),
        dlib.shape_predictor(str(root / "shape_predictor_5_face_landmarks.dat")),
        dlib.face_recognition_model_v1(str(root / "dlib_face_recognition_resnet_model_v1.dat")),
    )


def face_model_available() -> bool:
    return _models() is not None


def _embed(image: torch.Tensor, models) -> np.ndarray | None:
    detector, predictor, encoder = models
    arr = (image.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    faces = detector(arr, 1)
    if not faces:
        return None
    return np.asarray(encoder.compute_face_descriptor(arr, predictor(arr, faces[0])))


def face_distance(a: torch.Tensor, b: torch.Tensor) -> dict | None:
    """dlib 128-D embedding distance between two (3, H, W) renders (< 0.6 is dlib's 'same person')."""
    models = _models()
    if models is None:
        return None
    ea, eb = _embed(a, models), _embed(b, models)
    model = "dlib_face_recognition_resnet_model_v1"
    if ea is None or eb is None:
        return {"value": None, "model": model, "note": "no face detected in one of the renders"}
    return {"value": float(np.linalg.norm(ea - eb)), "model": model}
