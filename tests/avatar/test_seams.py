"""UV seams: found on the mesh, both islands' copies compared, islands dilated, stitched, and kept equal by
stylization."""

import numpy as np
import pytest
import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.avatar.pretrained import load_avatar, load_avatar_net
from alteredavatar.avatar.seams import (
    SeamSamples,
    SeamStitch,
    face_adjacency,
    fill_islands,
    island_fill_index,
    sample_uv,
    seam_loss,
)
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.raster import rasterize_uv

# Two triangles sharing the edge (1, 2). Vertices 3 and 4 are UV copies of 1 and 2 (same weld ids), so the
# second face reads the shared edge from another island.
FACES = np.array([[0, 1, 2], [4, 3, 5]])
WELD = np.array([0, 1, 2, 1, 2, 3])
UVS = np.array([[0.1, 0.1], [0.4, 0.1], [0.1, 0.4], [0.6, 0.6], [0.9, 0.6], [0.9, 0.9]])


def test_a_shared_edge_with_two_uv_copies_is_a_seam():
    pairs, seam = face_adjacency(FACES, UVS, WELD)
    assert pairs.tolist() == [[0, 1]] and seam.tolist() == [True]
    same = UVS.copy()
    same[3], same[4] = UVS[1], UVS[2]
    assert face_adjacency(FACES, same, WELD)[1].tolist() == [False]


def test_seam_samples_lie_on_the_edge_in_both_islands():
    s = SeamSamples.from_mesh(
        torch.from_numpy(FACES), torch.from_numpy(UVS).float(), torch.from_numpy(WELD), per_edge=4
    )
    assert len(s) == 4
    t = torch.tensor([0.125, 0.375, 0.625, 0.875])[:, None]
    # weld 1 -> 2 is uv (0.4, 0.1) -> (0.1, 0.4) in face 0 and (0.6, 0.6) -> (0.9, 0.6) in face 1
    assert torch.allclose(s.uv_a, torch.tensor([0.4, 0.1]) + t * torch.tensor([-0.3, 0.3]), atol=1e-6)
    assert torch.allclose(s.uv_b, torch.tensor([0.6, 0.6]) + t * torch.tensor([0.3, 0.0]), atol=1e-6)


def test_seam_loss_is_zero_only_when_both_copies_agree_and_has_gradients():
    s = SeamSamples(torch.tensor([[0.25, 0.25]]), torch.tensor([[0.75, 0.75]]))
    flat = torch.full((1, 3, 16, 16), 0.3, requires_grad=True)
    assert seam_loss(flat, s).item() == 0
    split = flat.detach().clone()
    split[..., :8, :] = 0.8  # rows 0-7 are v > 0.5: the (0.75, 0.75) copy differs
    assert abs(seam_loss(split, s).item() - 0.25) < 1e-6
    loss = seam_loss(split.requires_grad_(True), s)
    loss.backward()
    assert split.grad.abs().sum() > 0


def test_island_dilation_copies_the_nearest_island_texel():
    cover = torch.zeros(8, 8)
    cover[2:5, 2:5] = 1
    maps = torch.arange(64.0).view(1, 1, 8, 8)
    filled = fill_islands(maps, island_fill_index(cover))
    assert torch.equal(filled[0, 0, 2:5, 2:5], maps[0, 0, 2:5, 2:5])  # the island is untouched
    assert filled[0, 0, 0, 0] == maps[0, 0, 2, 2] and filled[0, 0, 7, 3] == maps[0, 0, 4, 3]
    assert filled[0, 0, 3, 7] == maps[0, 0, 3, 4]


def _gap(maps: torch.Tensor, s: SeamSamples) -> float:
    """Mean absolute difference of `maps` between the two copies of every seam point."""
    return (sample_uv(maps, s.uv_a) - sample_uv(maps, s.uv_b)).abs().mean().item()


def test_stylization_keeps_the_seams_closed(tiny_net_path):
    """After a VGG stylization, the style's change to the albedo agrees across every seam of the built-in
    head, far more closely than without the seam term."""
    gaps, shown = {}, {}
    for weight in (0.0, 10.0):
        obj = ObjectiveConfig(strength=0.2, seam_weight=weight)
        avatar = load_avatar("builtin:ada", load_avatar_net(tiny_net_path))
        cfg = AdaptConfig(steps=30, batch=2, res=48)
        guide = StyleGuide(
            StyleSpec(guidance="vgg"), obj, image=procedural_style("checker", 0, 64), render_res=48
        )
        st = Stylizer(avatar, guide, cfg, obj)
        st.run(progress=False)
        with torch.no_grad():
            styled, source = avatar(torch.zeros(1, 52)), st.source(torch.zeros(1, 52))
        s = avatar.seams
        gaps[weight] = _gap(styled.raw_albedo - source.raw_albedo, s)  # the style's own change, unstitched
        shown[weight] = (
            _gap(styled.raw_albedo, s),
            _gap(styled.albedo, s),
        )  # the albedo, unstitched and read
    assert gaps[10.0] < 0.03 and gaps[10.0] < 0.25 * gaps[0.0], gaps
    assert all(read < 0.3 * raw for raw, read in shown.values()), shown


def test_stitch_makes_both_copies_agree_and_leaves_the_rest_alone():
    faces, uvs, weld = torch.from_numpy(FACES), torch.from_numpy(UVS).float(), torch.from_numpy(WELD)
    stitch = SeamStitch.from_mesh(faces, uvs, weld, res=32, band=4.0)
    maps = torch.full((1, 3, 32, 32), 0.2)
    maps[..., :16, 16:] = 0.8  # the second island (u, v > 0.5) is brighter
    maps.requires_grad_(True)
    _, cover = rasterize_uv(uvs, faces, uvs, 32)
    index = island_fill_index(cover[0])
    out = fill_islands(stitch(fill_islands(maps, index)), index)  # as AnimatableAvatar reads its albedo
    s = SeamSamples.from_mesh(faces, uvs, weld, per_edge=8)
    before = (sample_uv(maps, s.uv_a) - sample_uv(maps, s.uv_b)).abs().mean().item()
    after = (sample_uv(out, s.uv_a) - sample_uv(out, s.uv_b)).abs().mean().item()
    assert before > 0.5 and after < 0.1 * before, (before, after)
    changed = ((out != maps).any(1)[0] & (cover[0] > 0)).float()
    rows, cols = torch.meshgrid(torch.arange(32), torch.arange(32), indexing="ij")
    # only texels within the band of the edge moved: face 0's hypotenuse u + v = 0.5 and face 1's v = 0.6
    uv_u, uv_v = (cols + 0.5) / 32, 1 - (rows + 0.5) / 32
    near = ((uv_u + uv_v - 0.5).abs() / 2**0.5 < 4.5 / 32) | ((uv_v - 0.6).abs() < 4.5 / 32)
    assert changed.sum() > 10 and near[changed.bool()].all()
    out.sum().backward()
    assert maps.grad is not None and (maps.grad != 1).any(), "the stitch passes gradients through its blend"


def test_the_unstylized_head_shows_no_seams():
    """The render-space seam ratio of the pretrained head with the stitch, against the same head without it
    (which shows its neck and back-of-head lines)."""
    from alteredavatar.eval.seams import seam_visibility

    avatar = load_avatar("builtin:ada")
    stitched = seam_visibility(avatar, res=160)["ratio"]
    avatar.stitch = SeamStitch.empty(avatar.mesh.uvs)
    raw = seam_visibility(avatar, res=160)["ratio"]
    assert stitched < 1.0 < raw, (stitched, raw)


def test_render_seam_metric_separates_seam_edges_from_ordinary_ones():
    from alteredavatar.eval.seams import seam_jumps

    tri_id = torch.tensor([[[0, 0, 1, 1], [2, 2, 1, 1]]])  # face 0 | 1 side by side, face 2 below 0
    image = torch.zeros(1, 3, 2, 4)
    image[..., 2:] = 0.6  # face 1 is brighter: a jump of 0.6 across the 0-1 edge
    image[:, :, 1, :2] = 0.1  # face 2: a jump of 0.1 across the 0-2 edge
    pairs, seam = np.array([[0, 1], [0, 2], [1, 2]]), np.array([True, False, False])
    s, o = seam_jumps(image, tri_id, pairs, seam)
    assert torch.allclose(s, torch.full((1,), 0.6)) and s.numel() == 1
    assert sorted(o.tolist()) == pytest.approx([0.1, 0.1, 0.5]), "0-2 twice (vertical), 2-1 once"
