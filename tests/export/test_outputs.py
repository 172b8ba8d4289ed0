"""Outputs people keep: sizes follow the flags, GIF and transparent PNG frames, studio lighting keeps
gradients."""

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from alteredavatar.cli import main
from alteredavatar.errors import ConfigError
from alteredavatar.export.outputs import OutputConfig, render_view
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig, render_mesh


def test_sizes_gif_and_transparent_frames_follow_the_flags(tmp_path):
    args = [
        "render",
        "--output.frames",
        "3",
        "--output.res",
        "40",
        "--output.ssaa",
        "1.5",
        "--output.portrait-res",
        "48",
        "--output.gif",
        "--output.png-frames",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    assert iio.imread(tmp_path / "turntable.mp4").shape == (3, 40, 40, 3)
    assert iio.imread(tmp_path / "portrait.png").shape[:2] == (48, 48)
    gif = iio.imread(tmp_path / "turntable.gif", index=None)
    assert gif.shape[0] == 3 and gif.shape[1:3] == (40, 40)
    frames = sorted((tmp_path / "turntable_frames").glob("frame_*.png"))
    assert len(frames) == 3
    rgba = iio.imread(frames[0])
    assert rgba.shape == (40, 40, 4)
    assert rgba[0, 0, 3] == 0 and rgba[20, 20, 3] == 255, "transparent background, opaque head"
    assert 0 < (rgba[..., 3] == 0).mean() < 0.9
    assert not list(tmp_path.glob(".*")), "no temp files or folders left behind"


@pytest.mark.parametrize("bad", [{"ssaa": 0.5}, {"ssaa": float("nan")}, {"res": 33}, {"portrait_ssaa": 9.0}])
def test_bad_output_settings_name_the_flag(bad):
    with pytest.raises(ConfigError, match=r"--output."):
        OutputConfig(**bad)


def _quad():
    verts = torch.tensor(
        [[[-0.1, -0.1, 0.0], [0.1, -0.1, 0.0], [0.1, 0.1, 0.02], [-0.1, 0.1, 0.0]]], dtype=torch.float64
    )
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    uvs = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    return verts, faces, uvs


def test_studio_shading_differs_from_flat_and_keeps_gradients():
    verts, faces, uvs = _quad()
    cams = front_views((20.0,), distance=0.6)
    tex = torch.full((1, 3, 4, 4), 0.5, dtype=torch.float64, requires_grad=True)
    flat = render_mesh(
        verts.float(), faces, uvs.float(), tex.detach().float(), cams, RenderConfig(res=16)
    ).image
    studio = render_mesh(
        verts.float(), faces, uvs.float(), tex.detach().float(), cams, RenderConfig(res=16, shading="studio")
    ).image
    assert (flat - studio).abs().max() > 0.02

    cams64 = type(cams)(cams.eye.double(), cams.target.double(), cams.fov_deg.double())

    def image(v, t):
        return render_mesh(v, faces, uvs, t, cams64, RenderConfig(res=8, shading="studio")).image

    v = verts.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(image, (v, tex), eps=1e-6, atol=1e-4)


def test_supersampling_need_not_be_an_integer():
    verts, faces, uvs = _quad()
    cams = front_views((0.0,), distance=0.6)
    tex = torch.rand(1, 3, 4, 4)
    out = render_mesh(verts.float(), faces, uvs.float(), tex, cams, RenderConfig(res=20, ssaa=1.5))
    assert out.image.shape == (1, 3, 20, 20) and out.tri_id.shape == (1, 30, 30)
    edge = out.mask[0, 0]
    assert ((edge > 0) & (edge < 1)).any(), "partial coverage at the silhouette (anti-aliased)"
    assert np.isclose(float(out.mask.max()), 1.0)


def test_render_view_is_the_portrait_and_follows_expression_and_yaw(tmp_path):
    from alteredavatar.avatar.pretrained import load_avatar

    cfg = OutputConfig(portrait_res=48)
    assert (
        main(
            [
                "render",
                "--output.frames",
                "1",
                "--output.res",
                "16",
                "--output.portrait-res",
                "48",
                "--out",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    avatar = load_avatar("builtin:ada")
    front = render_view(avatar, cfg)
    np.testing.assert_array_equal(front, iio.imread(tmp_path / "r" / "portrait.png"))
    assert front.shape == (48, 48, 3) and front.dtype == np.uint8
    assert np.abs(render_view(avatar, cfg, "jaw_open").astype(int) - front).max() > 50
    assert np.abs(render_view(avatar, cfg, yaw_deg=90).astype(int) - front).mean() > 5
    with pytest.raises(ConfigError, match="unknown expression"):
        render_view(avatar, cfg, "sneer")
    with pytest.raises(ConfigError, match="yaw"):
        render_view(avatar, cfg, yaw_deg=float("nan"))
