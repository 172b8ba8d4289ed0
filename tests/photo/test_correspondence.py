import json

import torch

from alteredavatar.avatar.anny_head import CONVERSION_VERSION, load_head_arrays
from alteredavatar.avatar.identities import builtin_avatar
from alteredavatar.photo.correspondence import ASSET, SIDECAR, load_correspondence
from alteredavatar.photo.landmarks import NUM_LANDMARKS

NOSE_TIP, RIGHT_EYE_OUTER, LEFT_EYE_OUTER, CHIN = 1, 33, 263, 152
IRIS_CENTRES = (468, 473)


def test_shipped_map_is_complete_and_says_how_it_was_made():
    corr = load_correspondence()
    assert corr.tri.shape == (NUM_LANDMARKS,) and corr.bary.shape == (NUM_LANDMARKS, 3)
    assert torch.allclose(corr.bary.sum(1), torch.ones(NUM_LANDMARKS), atol=1e-4)
    assert (corr.bary >= -1e-4).all() and torch.isfinite(corr.spread).all()
    info = json.loads(SIDECAR.read_text())
    assert info["head_conversion_version"] == CONVERSION_VERSION
    assert info["made_by"] == "alteredavatar build-landmark-map" and "mediapipe" in info["model"]
    assert ASSET.exists()


def test_landmarks_land_on_the_right_parts_of_the_head():
    """Semantics, not just shapes: FaceMesh's nose tip is the most forward point, its subject's-right eye
    corner is on -x, its chin is the lowest landmark and the iris centres are on the eyeballs."""
    mesh = builtin_avatar("ada")
    corr = load_correspondence()
    pts = corr.points(mesh.verts, mesh.faces)
    assert pts[NOSE_TIP, 2] >= pts[:468, 2].max() - 0.003
    assert pts[RIGHT_EYE_OUTER, 0] < -0.02 < 0.02 < pts[LEFT_EYE_OUTER, 0]
    assert pts[CHIN, 1] <= pts[:468, 1].min() + 0.003
    head = load_head_arrays()
    names = list(head["group_names"])
    groups = {names[g] for g in head["face_group"][corr.tri[list(IRIS_CENTRES)].numpy()]}
    assert groups == {"helper-l-eye", "helper-r-eye"}
