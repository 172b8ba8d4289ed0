import numpy as np
import pytest

from alteredavatar.avatar.anny_head import convert_anny_head
from alteredavatar.avatar.arkit import ARKIT_INDEX, ARKIT_NAMES


@pytest.fixture(scope="module")
def head():
    return convert_anny_head()


def test_conversion_sizes_units_and_uvs(head):
    v = head["verts"]
    assert v.shape == (5117, 3) and head["faces"].shape == (9620, 3)
    assert head["faces"].max() < len(v)
    height = v[:, 1].max() - v[:, 1].min()
    assert 0.2 < height < 0.35, "head + neck should be ~0.28 m tall (decimetres converted to metres)"
    assert abs(v[:, 0].mean()) < 0.01, "centred left/right"
    assert head["uvs"].min() >= 0 and head["uvs"].max() <= 1
    # The packed atlas uses the unit square well (the raw MakeHuman layout spends most of it on the body).
    span = head["uvs"].max(0) - head["uvs"].min(0)
    assert (span > 0.95).all()


def boundary_loops(head) -> list[np.ndarray]:
    """Welded vertex ids of each closed boundary loop (every boundary vertex must have exactly 2 edges)."""
    tri = head["weld"][head["faces"]]
    edges = np.sort(np.concatenate([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [2, 0]]]), 1)
    uniq, count = np.unique(edges, axis=0, return_counts=True)
    border = uniq[count == 1]
    neighbours: dict[int, list[int]] = {}
    for a, b in border:
        neighbours.setdefault(int(a), []).append(int(b))
        neighbours.setdefault(int(b), []).append(int(a))
    assert all(len(n) == 2 for n in neighbours.values()), "the boundary branches (not a set of simple loops)"
    loops, seen = [], set()
    for start in neighbours:
        if start in seen:
            continue
        loop, prev, cur = [start], None, start
        while True:
            seen.add(cur)
            nxt = next(n for n in neighbours[cur] if n != prev)
            if nxt == start:
                break
            loop.append(nxt)
            prev, cur = cur, nxt
        loops.append(np.array(loop))
    return loops


def test_neck_ends_in_one_flat_closed_loop(head):
    """The neck's rim is one closed loop on a horizontal plane: no stair steps (the old cut kept whole face
    rows, so the rim zig-zagged over 1.5 cm)."""
    pos = np.zeros((head["weld"].max() + 1, 3))
    pos[head["weld"]] = head["verts"]
    loops = boundary_loops(head)
    lowest = min(loops, key=lambda lp: pos[lp, 1].min())
    y = pos[lowest, 1]
    assert y.max() - y.min() < 1e-6, "the neck rim is not flat"
    assert abs(y.min() - head["verts"][:, 1].min()) < 1e-6, "nothing may hang below the rim"
    assert len(lowest) > 30 and np.ptp(pos[lowest, 0]) > 0.15, "the rim goes all round the neck"
    others = [lp for lp in loops if lp is not lowest]
    assert all(pos[lp, 1].min() > y.max() + 0.05 for lp in others), (
        "only the mouth's open parts have other rims"
    )


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
