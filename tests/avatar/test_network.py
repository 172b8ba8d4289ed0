import pytest
import torch

from alteredavatar.avatar.fit import FitConfig, evaluate, fit_avatar_net, fit_loss, masked_psnr
from alteredavatar.avatar.identities import HELD_OUT, TRAIN_IDENTITIES
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig, widen_mappers

TINY = AvatarNetConfig(uv_res=32, base_res=4, enc_channels=(8, 8, 8, 8), dec_channels=(8, 8, 8, 8), mapper_hidden=4)


def test_style_parameters_are_exactly_the_bias_mappers():
    net = AvatarNet(TINY)
    style = {id(p) for p in net.style_parameters()}
    named = {name for name, p in net.named_parameters() if id(p) in style}
    assert named == {name for name, _ in net.named_parameters() if name.startswith("mappers.")}
    assert len(style) == 4 * len(TINY.dec_channels)  # two convs (weight, bias) per level
    assert set(net.style_state()) == {f"mappers.{k}" for k in net.mappers.state_dict()}


def test_bias_maps_change_the_output_and_encoder_features_are_cached(ada):
    net = AvatarNet(TINY)
    avatar = AnimatableAvatar(ada, net)
    net.requires_grad_(False)
    expr = torch.zeros(1, 52)
    before = avatar(expr).albedo
    assert avatar.features() is avatar.features(), "frozen encoder -> features computed once"
    with torch.no_grad():
        net.mappers[-1].conv2.bias.add_(1.0)
    assert (avatar(expr).albedo - before).abs().mean() > 1e-3


def test_fit_lowers_loss_on_a_tiny_network(ada):
    cfg = FitConfig(steps=25, lr=5e-3, identities=("ada",), identities_per_step=1, net=TINY, style_hidden=6)
    torch.manual_seed(cfg.seed)
    start = AnimatableAvatar(ada, AvatarNet(TINY))
    expr = torch.zeros(2, 52)
    loss0 = fit_loss(start, expr, cfg).item()
    net, _ = fit_avatar_net(cfg, progress=False)
    loss1 = fit_loss(AnimatableAvatar(ada, net), expr, cfg).item()
    assert loss1 < 0.5 * loss0
    assert net.cfg.mapper_hidden == 6, "fit-avatar widens the mappers for stylization after fitting"


def test_widen_mappers_keeps_the_function_and_adds_trainable_room(ada):
    torch.manual_seed(0)
    net = AvatarNet(TINY)
    wide = widen_mappers(net, 10, seed=1)
    assert wide.cfg.mapper_hidden == 10 and wide.mappers[0].conv1.weight.shape[0] == 10
    assert sum(p.numel() for p in wide.style_parameters()) > sum(p.numel() for p in net.style_parameters())
    expr = torch.randn(2, 52) * 0.3
    a, b = AnimatableAvatar(ada, net)(expr), AnimatableAvatar(ada, wide)(expr)
    torch.testing.assert_close(b.albedo, a.albedo, atol=1e-6, rtol=0)
    torch.testing.assert_close(b.displacement, a.displacement, atol=1e-9, rtol=0)
    # The new channels are live: their output weights get gradient, so stylization can use them.
    AnimatableAvatar(ada, wide)(expr).albedo.mean().backward()
    assert wide.mappers[-1].conv2.weight.grad[:, TINY.mapper_hidden:].abs().sum() > 0
    assert torch.equal(widen_mappers(net, 10, seed=1).mappers[0].conv1.weight, wide.mappers[0].conv1.weight)
    with pytest.raises(ValueError, match="widen"):
        widen_mappers(wide, 4)


def test_pretrained_network_reproduces_identities_and_a_new_one(pretrained_net):
    metrics = evaluate(pretrained_net, names=(*TRAIN_IDENTITIES[:2], HELD_OUT), n_expr=3)
    for name, m in metrics.items():
        assert m["albedo_psnr_db"] >= 35.0, (name, m)
        assert m["max_abs_displacement_mm"] < 1.0, (name, m)


def test_masked_psnr_only_counts_masked_texels():
    a = torch.zeros(1, 3, 4, 4)
    b = a.clone()
    b[..., 0, 0] = 1.0
    mask = torch.ones(1, 1, 4, 4)
    mask[..., 0, 0] = 0
    assert masked_psnr(a, b, mask) > 100
    assert masked_psnr(a, b, torch.ones(1, 1, 4, 4)) < 20
