"""Shared fixtures: one tiny random CLIP on disk per test session."""

import pytest
import torch

from alteredavatar.guidance.tiny_clip import make_tiny_clip


@pytest.fixture(scope="session")
def tiny_clip_dir(tmp_path_factory) -> str:
    return make_tiny_clip(tmp_path_factory.mktemp("tiny_clip"), seed=0, image_size=32, patch_size=8)


@pytest.fixture(scope="session")
def backend(tiny_clip_dir):
    from alteredavatar.guidance.clip import load_clip

    return load_clip(tiny_clip_dir)


def stripes(size: int = 64, period: int = 8) -> torch.Tensor:
    """(3, size, size) vertical red/blue stripes."""
    x = torch.arange(size)
    on = ((x // (period // 2)) % 2 == 0).float().expand(size, size)
    return torch.stack([on, 0.1 * torch.ones_like(on), 1.0 - on])


@pytest.fixture(autouse=True)
def one_thread():
    """These tests run tiny tensors; one intra-op thread avoids OpenMP spin-waits on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
