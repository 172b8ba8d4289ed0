"""Shared fixtures: small, deterministic, CPU-only."""

import os

import pytest
import torch

torch.set_num_threads(1)  # pytest-xdist runs one worker per core


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Converted weights (VGG16) go to a per-session folder, never the user's ~/.cache."""
    os.environ["ALTEREDAVATAR_CACHE"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="session")
def vgg():
    from alteredavatar.guidance.vgg import load_vgg16

    return load_vgg16()


@pytest.fixture(scope="session")
def ada():
    from alteredavatar.avatar.identities import builtin_avatar

    return builtin_avatar("ada")


@pytest.fixture(scope="session")
def pretrained_net():
    from alteredavatar.avatar.pretrained import load_avatar_net

    return load_avatar_net()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_net_path(tmp_path_factory):
    """A small random avatar network saved like the pretrained one (fast adaptation tests)."""
    from alteredavatar.avatar.fit import save_avatar_net
    from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig

    torch.manual_seed(0)
    cfg = AvatarNetConfig(
        uv_res=64, base_res=8, enc_channels=(8, 8, 8, 8), dec_channels=(8, 8, 8, 8), mapper_hidden=8
    )
    path = tmp_path_factory.mktemp("net") / "tiny_net.safetensors"
    save_avatar_net(AvatarNet(cfg), path, {"note": "random tiny test network"})
    return path


@pytest.fixture(scope="session")
def tiny_clip_path(tmp_path_factory) -> str:
    from alteredavatar.guidance.tiny_clip import make_tiny_clip

    return make_tiny_clip(tmp_path_factory.mktemp("tiny_clip_shared"), seed=0, image_size=32, patch_size=8)
