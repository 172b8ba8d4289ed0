import pytest
import torch

from alteredavatar.adapt.style_file import apply_style, load_style, mix_styles, save_style
from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig
from alteredavatar.errors import AlteredAvatarError, ConfigError

CFG = AvatarNetConfig(uv_res=32, base_res=4, enc_channels=(8, 8, 8, 8), dec_channels=(8, 8, 8, 8), mapper_hidden=4)


def _state(seed):
    torch.manual_seed(seed)
    return AvatarNet(CFG).style_state()


def test_round_trip_is_bit_exact(tmp_path):
    state = _state(1)
    save_style(tmp_path, state, {"text": "a marble statue", "strength": 0.5})
    loaded, meta = load_style(tmp_path)
    assert set(loaded) == set(state) and all(torch.equal(loaded[k], state[k]) for k in state)
    assert meta["text"] == "a marble statue"
    assert not list(tmp_path.glob(".*")), "no temp files left"


def test_apply_loads_only_the_mappers():
    net = AvatarNet(CFG)
    other = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("mappers.")}
    state = _state(2)
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
    net = AvatarNet(AvatarNetConfig(uv_res=32, base_res=4, enc_channels=(8,) * 4, dec_channels=(8,) * 4, mapper_hidden=6))
    with pytest.raises(AlteredAvatarError, match="shape"):
        apply_style(net, _state(1))
