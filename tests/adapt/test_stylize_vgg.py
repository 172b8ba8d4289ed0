"""VGG-guided stylization on a tiny random avatar network: the loss falls, both parts of the style subset
learn, the whole head is styled, and strength keeps its meaning."""

import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.avatar.pretrained import load_avatar, load_avatar_net
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig

FAST = dict(steps=12, batch=2, res=48)
STYLE = procedural_style("checker", 0, 64)


def _stylizer(net_path, strength=0.3, **adapt):
    obj = ObjectiveConfig(strength=strength)
    avatar = load_avatar("builtin:ada", load_avatar_net(net_path))
    cfg = AdaptConfig(**{**FAST, **adapt})
    guide = StyleGuide(StyleSpec(guidance="vgg"), obj, image=STYLE, render_res=cfg.res)
    return Stylizer(avatar, guide, cfg, obj)


def _front(avatar, res=64):
    with torch.no_grad():
        out = render_avatar(avatar, torch.zeros(1, 52), front_views((0.0,)), RenderConfig(res=res))
    return out.image[0], out.mask[0, 0]


def _all_round(avatar, res=64):
    """Renders from the front, both sides and the back (stylization samples views all round the head)."""
    with torch.no_grad():
        return render_avatar(
            avatar, torch.zeros(4, 52), front_views((0.0, 90.0, 180.0, -90.0)), RenderConfig(res=res)
        ).image


def test_image_styles_default_to_vgg_and_text_to_clip(monkeypatch):
    assert StyleSpec(image="x.png").resolved_guidance() == "vgg"
    assert StyleSpec(text="a statue").resolved_guidance() == "clip"
    assert StyleSpec(text="a statue", image="x.png").resolved_guidance() == "clip"
    monkeypatch.setattr("alteredavatar.adapt.guide.vgg_installed", lambda: False)
    assert StyleSpec(image="x.png").resolved_guidance() == "texture"  # the weight-free fallback
    assert StyleSpec(image="x.png", guidance="vgg").resolved_guidance() == "vgg"  # asked for: its own error


def test_loss_falls_and_gradients_reach_mappers_and_detail(tiny_net_path):
    st = _stylizer(tiny_net_path, strength=0.2)
    gen = torch.Generator().manual_seed(5)
    loss, _ = st.loss(gen)
    loss.backward()
    mappers, detail = st.avatar.net.style_parameters("mappers"), st.avatar.net.style_parameters("detail")
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in detail)
    assert sum(p.grad.abs().sum() for p in mappers) > 0
    fixed = lambda: st.loss(torch.Generator().manual_seed(99))[1]["style"]  # noqa: E731  (same views, expressions)
    first = fixed()
    st.run(progress=False)
    last = fixed()
    assert last < 0.9 * first, (first, last)


def test_subset_detail_leaves_the_mappers_alone(tiny_net_path):
    st = _stylizer(tiny_net_path, subset="detail", steps=3)
    before = {k: v.clone() for k, v in st.avatar.net.style_state().items()}
    after = st.run(progress=False).state
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("mappers."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("detail."))


def test_the_style_covers_the_crown(tiny_net_path):
    """The texture guidance's central crop never saw the top of the head; masked VGG statistics do."""
    st = _stylizer(tiny_net_path, strength=0.0)
    before, mask = _front(st.avatar)
    st.run(progress=False)
    after, _ = _front(st.avatar)
    rows = torch.nonzero(mask.any(1)).squeeze(1)
    top = int(rows[0])
    height = int(rows[-1]) - top
    crown = mask.clone().bool()
    crown[top + height // 8 :] = False  # the top eighth of the head: outside the old central 60% crop
    change = (after - before).abs().sum(0)
    assert change[crown].mean() > 0.02


def test_strength_keeps_its_meaning(tiny_net_path):
    dists = []
    for strength in (0.0, 0.5, 0.95):
        st = _stylizer(tiny_net_path, strength=strength, steps=8)
        src = _all_round(st.source)
        st.run(progress=False)
        img = _all_round(st.avatar)
        dists.append(((img - src) ** 2).mean().item())
    assert dists[0] > dists[1] > dists[2], dists


def test_the_optimizer_factory_drives_the_steps(tiny_net_path):
    """A caller-supplied update rule replaces Adam: SGD at rate 0 leaves the style exactly where it
    started."""
    avatar = load_avatar("builtin:ada", load_avatar_net(tiny_net_path))
    start = {k: v.clone() for k, v in avatar.net.style_state().items()}
    obj = ObjectiveConfig()
    guide = StyleGuide(StyleSpec(guidance="vgg"), obj, image=STYLE, render_res=48)
    made = []

    def frozen_sgd(params):
        made.append(len(params))
        return torch.optim.SGD(params, lr=0.0)

    result = Stylizer(avatar, guide, AdaptConfig(**{**FAST, "steps": 2}), obj, optimizer=frozen_sgd).run(
        progress=False
    )
    assert made == [len(avatar.net.style_parameters())] and len(result.history) == 2
    assert all(torch.equal(result.state[k], v) for k, v in start.items())
