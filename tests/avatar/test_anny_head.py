import numpy as np
import pytest

from alteredavatar.avatar.anny_head import convert_anny_head
from alteredavatar.avatar.arkit import ARKIT_INDEX, ARKIT_NAMES


@pytest.fixture(scope="module")
def head():
    return convert_anny_head()


def test_conversion_sizes_units_and_uvs(head):
    v = head["verts"]
    assert v.shape == (5094, 3) and head["faces"].shape == (9572, 3)
    assert head["faces"].max() < len(v)
    height = v[:, 1].max() - v[:, 1].min()
    assert 0.2 < height < 0.35, "head + neck should be ~0.28 m tall (decimetres converted to metres)"
    assert abs(v[:, 0].mean()) < 0.01, "centred left/right"
    assert head["uvs"].min() >= 0 and head["uvs"].max() <= 1
    # The packed atlas uses the unit square well (the raw MakeHuman layout spends most of it on the body).
    span = head["uvs"].max(0) - head["uvs"].min(0)
    assert (span > 0.95).all()


def test_all_52_arkit_blendshapes_present_by_name(head):
    shapes = head["blendshapes"]
    assert shapes.shape == (52, len(head["verts"]), 3) and len(ARKIT_NAMES) == 52
    moved = np.abs(shapes).reshape(52, -1).max(1)
    assert (moved > 0).all(), [ARKIT_NAMES[i] for i in np.nonzero(moved == 0)[0]]


def test_jaw_open_moves_chin_down(head):
    v, d = head["verts"], head["blendshapes"][ARKIT_INDEX["jawOpen"]]
    chin = (v[:, 2] > 0.05) & (v[:, 1] < -0.04) & (v[:, 1] > -0.09) & (np.abs(v[:, 0]) < 0.02)
    assert chin.sum() > 5
    assert d[chin, 1].mean() < -0.003  # at least a few millimetres down
    forehead = (v[:, 1] > 0.06) & (v[:, 2] > 0.05)
    assert np.abs(d[forehead]).max() < 1e-4


def test_blinks_mirror_each_other(head):
    from scipy.spatial import cKDTree

    v = head["verts"]
    left = head["blendshapes"][ARKIT_INDEX["eyeBlinkLeft"]]
    right = head["blendshapes"][ARKIT_INDEX["eyeBlinkRight"]]
    moving = np.linalg.norm(left, axis=1) > 1e-4
    assert moving.sum() > 20
    mirrored = v[moving] * [-1, 1, 1]
    dist, idx = cKDTree(v).query(mirrored)
    assert dist.max() < 1e-4
    expect = left[moving] * [-1, 1, 1]
    assert np.allclose(right[idx], expect, atol=2e-4)
    # The subject's left is +x (the face looks down +z): most of the left blink's motion is there.
    motion = np.linalg.norm(left, axis=1)
    assert motion[v[:, 0] > 0.001].sum() > 5 * motion[v[:, 0] < -0.001].sum()
