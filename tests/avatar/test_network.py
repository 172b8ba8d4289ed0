import torch

from alteredavatar.avatar.fit import FitConfig, evaluate, fit_avatar_net, fit_loss, masked_psnr
from alteredavatar.avatar.identities import HELD_OUT, TRAIN_IDENTITIES
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig

TINY = AvatarNetConfig(
    uv_res=32, base_res=4, enc_channels=(8, 8, 8, 8), dec_channels=(8, 8, 8, 8), mapper_hidden=4
)


def test_style_subsets_are_the_bias_mappers_and_the_detail_pyramid():
    net = AvatarNet(TINY)
    names = {id(p): name for name, p in net.named_parameters()}
    mappers = {names[id(p)] for p in net.style_parameters("mappers")}
    detail = {names[id(p)] for p in net.style_parameters("detail")}
    assert mappers == {n for n in names.values() if n.startswith("mappers.")}
    assert detail == {n for n in names.values() if n.startswith("detail.")}
    assert {names[id(p)] for p in net.style_parameters()} == mappers | detail
    assert len(mappers) == 4 * len(TINY.dec_channels)  # two convs (weight, bias) per level
    assert set(net.style_state()) == mappers | detail


def test_detail_pyramid_levels_and_effect(ada):
    assert AvatarNetConfig().detail_levels == (32, 64, 128, 256)
    assert TINY.detail_levels == (32,)
    net = AvatarNet(TINY).requires_grad_(False)
    avatar = AnimatableAvatar(ada, net)
    expr = torch.zeros(2, 52)
    before = net.decode(expr, avatar.features())  # the network's maps, before the island dilation
    with torch.no_grad():
        net.detail.levels[0][:, :3, 10:14, 10:14] = 2.0  # a patch of albedo logit
    after = net.decode(expr, avatar.features())
    changed = (after[0] - before[0]).abs().amax(1)
    assert changed[:, 10:14, 10:14].min() > 0.05 and changed[:, :5, :5].max() == 0
    assert torch.equal(after[1], before[1])
    torch.testing.assert_close(after[0][0], after[0][1])  # the same in every expression


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
    cfg = FitConfig(steps=25, lr=5e-3, identities=("ada",), identities_per_step=1, net=TINY)
    torch.manual_seed(cfg.seed)
    start = AnimatableAvatar(ada, AvatarNet(TINY))
    expr = torch.zeros(2, 52)
    loss0 = fit_loss(start, expr, cfg).item()
    net, _ = fit_avatar_net(cfg, progress=False)
    loss1 = fit_loss(AnimatableAvatar(ada, net), expr, cfg).item()
    assert loss1 < 0.5 * loss0


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
