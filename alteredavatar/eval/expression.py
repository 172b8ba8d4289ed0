"""Optional expression-preservation metric: MediaPipe FaceMesh landmarks (package extra `[expressions]`).

MediaPipe ships its Apache-2.0 FaceMesh model inside the wheel (no download). For every named
expression preset we render frontal views of the unstylized and stylized avatar, detect 478 landmarks,
and compare how the landmarks *move* from neutral: a stylization that keeps the expressions intact has
the same displacement field as its source. When mediapipe is missing this returns None (and the
metrics JSON simply has no such entry).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from alteredavatar.avatar.expressions import PRESET_NAMES, presets
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig

NUM_LANDMARKS = 478  # 468 face + 10 iris landmarks (refine_landmarks=True)
EYE_OUTER = (33, 263)  # outer eye corners (subject's right, left): the inter-ocular distance


@lru_cache(maxsize=1)
def _face_mesh():
    """The cached FaceMesh solution and mediapipe's version, or None when mediapipe is not importable."""
    try:
        import mediapipe as mp
    except ImportError:
        return None
    mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True, max_num_faces=1)
    return mesh, getattr(mp, "__version__", "?")


def landmark_model_available() -> bool:
    """Whether mediapipe (and its bundled FaceMesh model) can be used."""
    return _face_mesh() is not None


def _model_label() -> str:
    return f"mediapipe FaceMesh {_face_mesh()[1]} ({NUM_LANDMARKS} landmarks)"


def landmarks(image: torch.Tensor) -> np.ndarray | None:
    """(3, H, W) RGB in [0, 1] -> (478, 2) landmark (x / W, y / H), or None if no face (or no mediapipe)."""
    fm = _face_mesh()
    if fm is None:
        return None
    arr = np.ascontiguousarray(
        (image.detach().float().cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    )
    result = fm[0].process(arr)
    if not result.multi_face_landmarks:
        return None
    return np.array([(p.x, p.y) for p in result.multi_face_landmarks[0].landmark], dtype=np.float64)


@torch.no_grad()
def _preset_renders(avatar, names: tuple[str, ...], res: int) -> torch.Tensor:
    """(N, 3, res, res) frontal renders of `avatar` under each named preset."""
    cams = front_views((0.0,) * len(names))
    return render_avatar(avatar, presets(names), cams, RenderConfig(res=res)).image


def expression_preservation(
    source_avatar, styled_avatar, res: int = 256, expressions: tuple[str, ...] = PRESET_NAMES
) -> dict | None:
    """How well `styled_avatar` keeps the expressions of `source_avatar` (lower = better, 0 = identical).

    For each non-neutral preset e: d_src = L_src(e) - L_src(neutral), d_sty = L_sty(e) - L_sty(neutral),
    each (478, 2) in pixels of frontal `res` x `res` renders; the score is mean_i ||d_sty_i - d_src_i||_2
    divided by the inter-ocular distance (outer eye corners) of the source neutral render. `value` is the
    mean over presets; `source_motion` (mean ||d_src||, same units) gives the scale of the expressions.
    Returns None when mediapipe is not installed.
    """
    if not landmark_model_available():
        return None
    names = ("neutral",) + tuple(n for n in expressions if n != "neutral")
    size = np.array([res, res], dtype=np.float64)
    lms = {}
    for key, avatar in (("source", source_avatar), ("styled", styled_avatar)):
        imgs = _preset_renders(avatar, names, res)
        lms[key] = [None if (lm := landmarks(img)) is None else lm * size for img in imgs]
    out: dict = {
        "value": None,
        "per_expression": {},
        "source_motion": {},
        "model": _model_label(),
        "faces_detected": {k: sum(lm is not None for lm in v) for k, v in lms.items()},
        "renders": {"source": len(names), "styled": len(names)},
        "res": res,
    }
    missing = [f"{k}:{n}" for k, v in lms.items() for n, lm in zip(names, v) if lm is None]
    if missing:
        out["note"] = f"no face detected in render(s) {', '.join(missing)}; those expressions are skipped"
    src0, sty0 = lms["source"][0], lms["styled"][0]
    if src0 is None or sty0 is None:
        out["note"] = out.get("note", "") + "; neutral render undetected, no displacement can be measured"
        out["per_expression"] = {n: None for n in names[1:]}
        return out
    iod = float(np.linalg.norm(src0[EYE_OUTER[0]] - src0[EYE_OUTER[1]]))
    out["inter_ocular_px"] = iod
    scores = []
    for i, name in enumerate(names[1:], start=1):
        src, sty = lms["source"][i], lms["styled"][i]
        if src is None or sty is None:
            out["per_expression"][name] = out["source_motion"][name] = None
            continue
        d_src, d_sty = src - src0, sty - sty0
        score = float(np.linalg.norm(d_sty - d_src, axis=1).mean() / iod)
        out["per_expression"][name] = score
        out["source_motion"][name] = float(np.linalg.norm(d_src, axis=1).mean() / iod)
        scores.append(score)
    out["value"] = float(np.mean(scores)) if scores else None
    return out
