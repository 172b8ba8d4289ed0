import torch

from alteredavatar.avatar.expressions import preset, presets, sample_expressions
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.network import AvatarNet
from alteredavatar.raster import vertex_normals
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import Cameras, ViewSamplerConfig, orbit, sample_views
from alteredavatar.render.renderer import RenderConfig, render_mesh


def test_gradients_reach_texture_and_displacement(ada):
    texture = ada.albedo[None].clone().requires_grad_(True)
    disp = torch.zeros(1, ada.num_verts, 1, requires_grad=True)
    normals = vertex_normals(ada.verts[None], ada.faces, ada.weld)
    verts = ada.verts[None] + disp * normals
    out = render_mesh(verts, ada.faces, ada.uvs, texture, orbit(20.0, 5.0), RenderConfig(res=64), ada.weld)
    (out.image * torch.linspace(0, 1, 64)).sum().backward()
    assert texture.grad.abs().sum() > 0
    assert disp.grad.abs().sum() > 0
    assert torch.isfinite(disp.grad).all()


def test_network_outputs_get_gradients_through_render(ada):
    net = AvatarNet()
    avatar = AnimatableAvatar(ada, net)
    out = render_avatar(avatar, preset("smile")[None], orbit(0.0, 0.0), RenderConfig(res=48))
    out.image.mean().backward()
    head = net.decoder.head.weight.grad
    assert head[:3].abs().sum() > 0, "albedo channels get gradients"
    assert head[3].abs().sum() > 0, "displacement channel gets gradients (through shading normals)"
    assert all(p.grad is not None for p in net.style_parameters())


def test_batch_of_views_and_expressions_equals_single_renders(ada):
    gen = torch.Generator().manual_seed(3)
    cams = sample_views(3, gen)
    expr = sample_expressions(3, gen)
    verts = ada.posed(expr)
    cfg = RenderConfig(res=40)
    batch = render_mesh(verts, ada.faces, ada.uvs, ada.albedo[None], cams, cfg, ada.weld).image
    for i in range(3):
        cam = Cameras(cams.eye[i : i + 1], cams.target[i : i + 1], cams.fov_deg[i : i + 1])
        one = render_mesh(verts[i : i + 1], ada.faces, ada.uvs, ada.albedo[None], cam, cfg, ada.weld).image
        assert torch.allclose(batch[i], one[0], atol=1e-5)
    assert not torch.allclose(batch[0], batch[1])


def _yaw_pitch(cams):
    offset = cams.eye - cams.target
    yaw = torch.rad2deg(torch.atan2(offset[:, 0], offset[:, 2]))
    return yaw, torch.rad2deg(torch.asin(offset[:, 1] / offset.norm(dim=1)))


def test_view_sampler_ranges_and_determinism():
    a = sample_views(64, torch.Generator().manual_seed(1), ViewSamplerConfig(yaw_range=60.0))
    b = sample_views(64, torch.Generator().manual_seed(1), ViewSamplerConfig(yaw_range=60.0))
    assert torch.equal(a.eye, b.eye)
    yaw, pitch = _yaw_pitch(a)
    assert yaw.abs().max() <= 60.01 and pitch.abs().max() <= 20.01
    assert yaw.abs().max() > 40, "covers the range"


def test_default_views_go_all_round_the_head_with_more_at_the_front():
    """The back must be seen (or it keeps its unstylized colours), the face most often."""
    yaw, _ = _yaw_pitch(sample_views(2000, torch.Generator().manual_seed(0)))
    front, back = (yaw.abs() < 60).float().mean(), (yaw.abs() > 120).float().mean()
    assert 0.4 < front < 0.56 and 0.18 < back < 0.3, (front, back)


def test_named_presets_are_distinct_and_jaw_open_opens_the_mouth(ada):
    table = presets()
    assert table.shape == (6, 52) and table[0].abs().sum() == 0
    assert torch.cdist(table, table).fill_diagonal_(1).min() > 0.1
    cfg = RenderConfig(res=64, background=(0.0, 0.0, 0.0))
    cams = orbit(torch.zeros(2), torch.zeros(2))
    img = render_mesh(
        ada.posed(torch.stack([preset("neutral"), preset("jaw_open")])),
        ada.faces,
        ada.uvs,
        ada.albedo[None],
        cams,
        cfg,
        ada.weld,
    ).image
    assert (img[0] - img[1]).abs().mean() > 0.002
