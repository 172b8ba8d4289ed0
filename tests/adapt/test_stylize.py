"""Stylization loop on a tiny random network (and a tiny random CLIP): behaviour, not numbers."""

import pytest
import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.avatar.pretrained import load_avatar, load_avatar_net
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.guidance.image_ops import foreground_crops
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.guidance.texture import TextureConfig, TextureGuidance
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig

FAST = dict(steps=20, lr=1e-2, batch=2, res=48)


@pytest.fixture(scope="module")
def style_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("style") / "stripes.png"
    write_png(to_uint8(procedural_style("stripes", 1, 64)[None])[0], path)
    return path


def _stylizer(net_path, spec, strength=0.3, **adapt):
    obj = ObjectiveConfig(strength=strength, crop_size=32)
    avatar = load_avatar("builtin:ada", load_avatar_net(net_path))
    return Stylizer(avatar, StyleGuide(spec, obj), AdaptConfig(**{**FAST, **adapt}), obj)


def _fixed_loss(stylizer):
    return stylizer.loss(torch.Generator().manual_seed(99))[0].item()


@pytest.mark.parametrize("kind", ["text", "image", "mix"])
def test_clip_loss_falls_over_20_steps(kind, tiny_net_path, tiny_clip_path, style_png):
    spec = StyleSpec(
        text=None if kind == "image" else "a marble statue",
        image=None if kind == "text" else style_png,
        mix=0.5,
        clip=tiny_clip_path,
        guidance="clip",
    )
    st = _stylizer(tiny_net_path, spec)
    before = _fixed_loss(st)
    st.run(progress=False)
    assert _fixed_loss(st) < before


def test_only_style_parameters_change(tiny_net_path, style_png):
    st = _stylizer(tiny_net_path, StyleSpec(image=style_png, guidance="texture"), steps=3)
    frozen = {
        k: v.clone()
        for k, v in st.avatar.net.state_dict().items()
        if not k.startswith(("mappers.", "detail."))
    }
    style0 = {k: v.clone() for k, v in st.avatar.net.style_state().items()}
    result = st.run(progress=False)
    after = st.avatar.net.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in frozen.items())
    assert any(not torch.equal(v, result.state[k]) for k, v in style0.items())


def _front(avatar, res=48):
    with torch.no_grad():
        out = render_avatar(avatar, torch.zeros(3, 52), front_views(), RenderConfig(res=res))
    return out.image, out.mask


def test_texture_guidance_moves_statistics_towards_style(tiny_net_path, style_png):
    st = _stylizer(tiny_net_path, StyleSpec(image=style_png, guidance="texture"), strength=0.0, steps=25)
    evaluator = TextureGuidance(st.guide.style_image, TextureConfig(seed=777))  # not the training seed
    img, mask = _front(st.avatar)
    before = evaluator.distance(foreground_crops(img, mask, 0.6, 32)).mean()
    st.run(progress=False)
    img, mask = _front(st.avatar)
    after = evaluator.distance(foreground_crops(img, mask, 0.6, 32)).mean()
    assert after < 0.9 * before


def test_higher_strength_stays_closer_to_the_unstylized_avatar(tiny_net_path, style_png):
    dists = []
    for strength in (0.0, 0.5, 0.95):
        st = _stylizer(
            tiny_net_path, StyleSpec(image=style_png, guidance="texture"), strength=strength, steps=30
        )
        src, _ = _front(st.source)
        st.run(progress=False)
        img, _ = _front(st.avatar)
        dists.append(((img - src) ** 2).mean().item())
    assert dists[0] > dists[1] > dists[2], dists


def test_nan_loss_stops_with_clear_error(tiny_net_path, style_png, monkeypatch):
    from alteredavatar.errors import TrainingError

    st = _stylizer(tiny_net_path, StyleSpec(image=style_png, guidance="texture"), steps=3)
    nan = torch.tensor(float("nan"), requires_grad=True)
    monkeypatch.setattr(st.guide, "losses", lambda *a: (nan, nan.new_zeros(())))
    with pytest.raises(TrainingError, match="nothing was written"):
        st.run(progress=False)


def test_albedo_rate_steps_the_pyramid_albedo_faster_and_nothing_else(tiny_net_path, style_png):
    """Adam is per element, so albedo_rate 3 moves the pyramid's albedo exactly 3x as far in the first step
    (Adam's first move is +-lr per element), the displacement channel and the mappers as far as plain Adam."""
    spec = StyleSpec(image=style_png, guidance="texture")
    moves = {}
    for rate in (1.0, 3.0):
        st = _stylizer(tiny_net_path, spec, steps=1, albedo_rate=rate)
        before = {k: v.clone() for k, v in st.avatar.net.style_state().items()}
        st.run(progress=False)
        moves[rate] = {k: v - before[k] for k, v in st.avatar.net.style_state().items()}
    plain, fast = moves[1.0], moves[3.0]
    levels = [k for k in plain if k.startswith("detail.")]
    assert levels and all(plain[k][:, :3].abs().max() > 0 for k in levels)
    for k in levels:
        torch.testing.assert_close(fast[k][:, :3], 3 * plain[k][:, :3])
        torch.testing.assert_close(fast[k][:, 3:], plain[k][:, 3:])
    for k in plain.keys() - set(levels):
        torch.testing.assert_close(fast[k], plain[k])


def test_albedo_rate_out_of_range_names_the_flag(tiny_net_path, style_png):
    from alteredavatar.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--adapt\.albedo-rate"):
        _stylizer(tiny_net_path, StyleSpec(image=style_png, guidance="texture"), albedo_rate=0.5)
