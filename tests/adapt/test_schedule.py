"""Per-step, per-tensor learning rates: JSON round trip, clear errors, and the loop really uses them;
per-element rates in ElementwiseAdam."""

import pytest
import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.schedule import ElementwiseAdam, LrSchedule
from alteredavatar.avatar.pretrained import load_avatar, load_avatar_net
from alteredavatar.errors import AlteredAvatarError, ConfigError
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.guidance.procedural import procedural_style


def test_json_round_trip_reorders_by_name_and_rows_clamp():
    s = LrSchedule(["a", "b", "c"], torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=torch.float64))
    back = LrSchedule.from_json(s.to_json(), ["c", "a", "b"])
    assert back.names == ["c", "a", "b"] and back.row(0) == [3.0, 1.0, 2.0]
    assert back.row(1) == back.row(7) == [6.0, 4.0, 5.0]  # steps past the table reuse its last row


def test_bad_schedules_get_clear_errors():
    with pytest.raises(AlteredAvatarError, match="expected a"):
        LrSchedule(["a", "b"], torch.ones(3))
    with pytest.raises(AlteredAvatarError, match="finite and > 0"):
        LrSchedule(["a"], torch.tensor([[0.0]]))
    with pytest.raises(AlteredAvatarError, match="do not match"):
        LrSchedule.from_json({"tensors": ["a"], "lr": [[1.0]]}, ["b"])
    with pytest.raises(AlteredAvatarError, match="malformed"):
        LrSchedule.from_json({"tensors": ["a"]}, ["a"])


def _stylizer(net_path, style_png, schedule_fn=None, steps=2):
    obj = ObjectiveConfig(strength=0.3, crop_size=32)
    avatar = load_avatar("builtin:ada", load_avatar_net(net_path))
    names = list(avatar.net.style_state())
    schedule = schedule_fn(names) if schedule_fn else None
    guide = StyleGuide(StyleSpec(image=style_png, guidance="texture"), obj)
    return Stylizer(avatar, guide, AdaptConfig(steps=steps, lr=1e-2, batch=1, res=32), obj, schedule=schedule)


@pytest.fixture(scope="module")
def style_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("style") / "dots.png"
    write_png(to_uint8(procedural_style("dots", 1, 64)[None])[0], path)
    return path


def test_constant_schedule_equals_constant_lr_and_rates_act_per_tensor(tiny_net_path, style_png):
    plain = _stylizer(tiny_net_path, style_png).run(progress=False).state
    same = _stylizer(tiny_net_path, style_png,
                     lambda n: LrSchedule(n, torch.full((3, len(n)), 1e-2))).run(progress=False).state
    assert all(torch.equal(plain[k], same[k]) for k in plain)

    def frozen_first(n):  # tensor 0 gets a vanishing rate at every step, the rest the usual one
        lrs = torch.full((1, len(n)), 1e-2)
        lrs[0, 0] = 1e-12
        return LrSchedule(n, lrs)

    st = _stylizer(tiny_net_path, style_png, frozen_first)
    start = {k: v.clone() for k, v in st.avatar.net.style_state().items()}
    out = st.run(progress=False).state
    first = next(iter(start))
    torch.testing.assert_close(out[first], start[first], rtol=0, atol=1e-9)
    assert sum(not torch.equal(out[k], start[k]) for k in start) == len(start) - 1


def test_schedule_for_another_network_is_refused(tiny_net_path, style_png):
    with pytest.raises(ConfigError, match="another avatar network"):
        _stylizer(tiny_net_path, style_png, lambda n: LrSchedule(n[::-1], torch.full((1, len(n)), 1e-2)))


def test_elementwise_adam_equals_adam_at_equal_rates_and_scales_per_element():
    torch.manual_seed(0)
    a = [torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)]
    start = [t.detach().clone() for t in a]
    b = [t.detach().clone().requires_grad_() for t in a]
    c = [t.detach().clone().requires_grad_() for t in a]
    rates = [torch.full_like(t, 0.03) for t in a]
    rates_c = [r.clone() for r in rates]
    rates_c[0][0, 0], rates_c[1][2] = 0.0, 0.06  # one element frozen, one at twice the rate
    opt_a, opt_b, opt_c = torch.optim.Adam(a, lr=0.03), ElementwiseAdam(b, rates), ElementwiseAdam(c, rates_c)
    for _ in range(4):
        grads = [torch.randn_like(t) for t in a]
        for params in (a, b, c):
            for p, g in zip(params, grads):
                p.grad = g.clone()
        opt_a.step(), opt_b.step(), opt_c.step()
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-6)
    assert c[0][0, 0] == start[0][0, 0]  # rate 0: never moves
    torch.testing.assert_close(c[1][2] - start[1][2], 2 * (b[1][2] - start[1][2]), rtol=1e-5, atol=1e-7)


def test_elementwise_adam_rates_must_match_the_parameters():
    p = [torch.zeros(3, requires_grad=True)]
    with pytest.raises(AlteredAvatarError, match="element-wise rates"):
        ElementwiseAdam(p, [torch.ones(4)])
    with pytest.raises(AlteredAvatarError, match="element-wise rates"):
        ElementwiseAdam(p, [])
