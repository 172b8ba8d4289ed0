import pytest
import torch

from alteredavatar.adapt.style_file import apply_style, load_style, mix_styles, save_style
from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig
from alteredavatar.errors import AlteredAvatarError, ConfigError

CFG = AvatarNetConfig(
    uv_res=32, base_res=4, enc_channels=(8, 8, 8, 8), dec_channels=(8, 8, 8, 8), mapper_hidden=4
)


def _state(seed):
    torch.manual_seed(seed)
    return AvatarNet(CFG).style_state()


def _trained_state(seed):
    state = _state(seed)
    return state | {k: torch.randn_like(v) for k, v in state.items() if k.startswith("detail.")}


def test_round_trip_mappers_exact_detail_in_fp16(tmp_path):
    state = _trained_state(1)
    save_style(tmp_path, state, {"text": "a marble statue", "strength": 0.5})
    loaded, meta = load_style(tmp_path)
    assert set(loaded) == set(state) and all(loaded[k].dtype == torch.float32 for k in loaded)
    for k in state:
        if k.startswith("mappers."):
            assert torch.equal(loaded[k], state[k])
        else:
            torch.testing.assert_close(loaded[k], state[k], rtol=1e-3, atol=1e-3)
    assert meta["text"] == "a marble statue"
    assert not list(tmp_path.glob(".*")), "no temp files left"


def test_default_network_style_file_is_under_one_megabyte(tmp_path):
    save_style(tmp_path, AvatarNet().style_state(), {})
    assert (tmp_path / "style.safetensors").stat().st_size <= 1_000_000


def test_version_1_style_without_detail_loads_with_a_zero_pyramid(tmp_path):
    from alteredavatar.io import save_safetensors_atomic

    mappers = {k: v for k, v in _state(3).items() if k.startswith("mappers.")}
    save_safetensors_atomic(
        mappers, tmp_path / "style.safetensors", {"format": "alteredavatar-style", "version": "1"}
    )
    loaded, _ = load_style(tmp_path)
    net = AvatarNet(CFG)
    with torch.no_grad():
        net.detail.levels[0].fill_(1.0)
    apply_style(net, loaded)
    assert all(torch.equal(net.style_state()[k], v) for k, v in mappers.items())
    assert all(p.abs().sum() == 0 for p in net.detail.parameters())
    mixed = mix_styles(loaded, _trained_state(4), 0.5)  # an old and a new style mix
    assert set(mixed) == set(net.style_state())


def test_newer_versions_and_non_finite_styles_are_refused(tmp_path):
    from alteredavatar.io import save_safetensors_atomic

    state = _state(1)
    save_safetensors_atomic(
        state, tmp_path / "a" / "style.safetensors", {"format": "alteredavatar-style", "version": "9"}
    )
    with pytest.raises(AlteredAvatarError, match="newer"):
        load_style(tmp_path / "a")
    bad = dict(state)
    k = next(iter(bad))
    bad[k] = bad[k].clone().fill_(float("nan"))
    with pytest.raises(AlteredAvatarError, match="non-finite"):
        save_style(tmp_path / "b", bad, {})
    assert not (tmp_path / "b" / "style.safetensors").exists()
    save_safetensors_atomic(
        bad, tmp_path / "c" / "style.safetensors", {"format": "alteredavatar-style", "version": "2"}
    )
    with pytest.raises(AlteredAvatarError, match="non-finite"):
        load_style(tmp_path / "c")


def test_apply_loads_only_the_style_subset():
    net = AvatarNet(CFG)
    other = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith(("mappers.", "detail."))}
    state = _trained_state(2)
    apply_style(net, state)
    assert all(torch.equal(net.style_state()[k], state[k]) for k in state)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in other.items())


def test_mix_endpoints_reproduce_inputs_and_midpoint_interpolates():
    a, b = _state(1), _state(2)
    assert all(torch.equal(mix_styles(a, b, 0.0)[k], a[k]) for k in a)
    assert all(torch.equal(mix_styles(a, b, 1.0)[k], b[k]) for k in a)
    mid = mix_styles(a, b, 0.3)
    k = next(iter(a))
    assert torch.allclose(mid[k], 0.7 * a[k] + 0.3 * b[k], atol=1e-6)
    with pytest.raises(ConfigError):
        mix_styles(a, b, 1.5)


def test_foreign_or_corrupt_files_get_clear_errors(tmp_path):
    (tmp_path / "style.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(AlteredAvatarError, match="not a readable safetensors"):
        load_style(tmp_path)
    with pytest.raises(AlteredAvatarError, match="no such file"):
        load_style(tmp_path / "missing")
    net = AvatarNet(
        AvatarNetConfig(uv_res=32, base_res=4, enc_channels=(8,) * 4, dec_channels=(8,) * 4, mapper_hidden=6)
    )
    with pytest.raises(AlteredAvatarError, match="shape"):
        apply_style(net, _state(1))
