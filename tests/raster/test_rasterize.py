import numpy as np
import pytest
import torch

from alteredavatar.raster.rasterize import barycentrics, interpolate, rasterize
from alteredavatar.render.cameras import orbit


def _quad_scene(dtype=torch.float64):
    """Two overlapping triangles in screen space; triangle 1 is nearer."""
    screen = torch.tensor(
        [[[2.0, 2.0], [14.0, 3.0], [3.0, 13.0], [4.0, 4.0], [15.0, 6.0], [6.0, 15.0]]], dtype=dtype
    )
    depth = torch.tensor([[2.0, 2.5, 3.0, 1.0, 1.2, 1.4]], dtype=dtype)
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    return screen, depth, faces


def test_zbuffer_keeps_nearest_and_background_is_minus_one():
    screen, depth, faces = _quad_scene()
    tri = rasterize(screen, depth, faces, 16, 16)
    assert tri[0, 6, 6] == 1  # covered by both, triangle 1 is nearer
    assert tri[0, 2, 2] == 0  # only triangle 0
    assert tri[0, 0, 15] == -1
    tri_far = rasterize(screen, torch.tensor([[1.0, 1, 1, 5, 5, 5]], dtype=torch.float64), faces, 16, 16)
    assert tri_far[0, 6, 6] == 0


def test_barycentrics_sum_to_one_and_reproduce_pixel_centres():
    screen, depth, faces = _quad_scene()
    tri = rasterize(screen, torch.ones_like(depth), faces, 16, 16)
    bary = barycentrics(screen, torch.ones_like(depth), faces, tri)
    covered = tri >= 0
    assert torch.allclose(bary.sum(-1)[covered], torch.ones(()).double())
    pos = interpolate(screen[0], faces, tri, bary)
    rows, cols = torch.nonzero(covered[0], as_tuple=True)
    centres = torch.stack([cols + 0.5, rows + 0.5], -1).double()
    assert torch.allclose(pos[0][covered[0]], centres, atol=1e-9)


def test_gradcheck_interpolate():
    screen, depth, faces = _quad_scene()
    tri = rasterize(screen, depth, faces, 16, 16)
    bary = barycentrics(screen, depth, faces, tri).detach().requires_grad_(True)
    attr = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: interpolate(a, faces, tri, b), (attr, bary))


def test_gradcheck_barycentrics_wrt_vertices():
    screen, depth, faces = _quad_scene()
    tri = rasterize(screen, depth, faces, 16, 16)
    screen = screen.clone().requires_grad_(True)
    depth = depth.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s, d: barycentrics(s, d, faces, tri), (screen, depth))


def _raycast_silhouette(mesh, cams, res):
    """Independent reference: trimesh ray casting through every pixel centre."""
    import trimesh

    tm = trimesh.Trimesh(mesh.verts.numpy().astype(np.float64), mesh.faces.numpy(), process=False)
    rt = cams.world_to_view()[0].double().numpy()
    focal = 0.5 * res / np.tan(np.deg2rad(float(cams.fov_deg[0])) / 2)
    j, i = np.meshgrid(np.arange(res) + 0.5, np.arange(res) + 0.5)
    d_cam = np.stack([(j - res / 2) / focal, -(i - res / 2) / focal, -np.ones_like(i)], -1).reshape(-1, 3)
    d_world = d_cam @ rt[:, :3]  # R^T applied to row vectors
    origins = np.broadcast_to(cams.eye[0].double().numpy(), d_world.shape)
    return tm.ray.intersects_any(origins, d_world).reshape(res, res)


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (50.0, 10.0), (-120.0, -15.0)])
def test_silhouette_matches_raycasting(ada, yaw, pitch):
    res = 96
    cams = orbit(yaw, pitch)
    screen, depth = cams.project(ada.verts[None], res, res)
    ours = (rasterize(screen, depth, ada.faces, res, res)[0] >= 0).numpy()
    ref = _raycast_silhouette(ada, cams, res)
    iou = (ours & ref).sum() / (ours | ref).sum()
    assert iou >= 0.99, iou


def test_mis_shaped_input_is_refused_at_the_entry_points():
    from alteredavatar.raster import rasterize_uv, sample_texture, vertex_normals

    screen, depth = torch.zeros(1, 3, 2), torch.ones(1, 3)
    tri = torch.tensor([[0, 1, 2]])
    with pytest.raises(ValueError, match=r"screen: expected \(B, V, 2\)"):
        rasterize(torch.zeros(1, 3, 3), depth, tri, 4, 4)
    with pytest.raises(ValueError, match=r"faces index vertices outside 0..2"):
        rasterize(screen, depth, torch.tensor([[0, 1, 3]]), 4, 4)
    with pytest.raises(ValueError, match="integer indices"):
        rasterize(screen, depth, tri.float(), 4, 4)
    with pytest.raises(ValueError, match="depth: expected"):
        rasterize(screen, torch.ones(1, 4), tri, 4, 4)
    with pytest.raises(ValueError, match="attr: expected"):
        rasterize_uv(torch.rand(3, 2), tri, torch.rand(4, 3), 8)
    with pytest.raises(ValueError, match="vertices"):
        vertex_normals(torch.rand(1, 3, 2), tri)
    with pytest.raises(ValueError, match="sample_texture"):
        sample_texture(torch.rand(1, 3, 4, 4), torch.rand(1, 4, 2))
