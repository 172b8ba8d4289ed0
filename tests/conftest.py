"""Shared fixtures: small, deterministic, CPU-only."""

import os

import pytest
import torch

torch.set_num_threads(1)  # pytest-xdist runs one worker per core


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
