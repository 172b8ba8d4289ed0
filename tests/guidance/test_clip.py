import os

import pytest
import torch

from alteredavatar.errors import AssetMissingError, StyleInputError
from alteredavatar.guidance.clip import ClipBackend, load_clip


@pytest.fixture(autouse=True)
def _hub_offline(monkeypatch):
    """Nothing in this module may reach the network."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_tiny_clip_loads_and_is_cached(tiny_clip_dir, backend):
    assert isinstance(backend, ClipBackend)
    assert load_clip(tiny_clip_dir) is backend
    assert load_clip(tiny_clip_dir, device="cpu") is backend
    assert backend.model_id == os.path.abspath(tiny_clip_dir)
    assert backend.embed_dim == 32 and backend.image_size == 32
    assert all(not p.requires_grad for p in backend.model.parameters())
    assert not backend.model.training


def test_missing_local_dir_raises_asset_missing(tmp_path):
    with pytest.raises(AssetMissingError, match="download"):
        load_clip(str(tmp_path / "no_such_clip"))


def test_empty_dir_raises_asset_missing(tmp_path):
    with pytest.raises(AssetMissingError, match="download"):
        load_clip(str(tmp_path))


def test_uncached_hub_id_raises_asset_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(AssetMissingError, match="download") as info:
        load_clip("nobody-here/clip-that-is-not-cached")
    assert "--style.clip DIR" in str(info.value) and " --clip" not in str(info.value)


@pytest.mark.parametrize("size", [32, 64, 50])
def test_encode_images_shape_norm_and_grad(backend, size):
    images = torch.rand(2, 3, size, size, requires_grad=True)
    emb = backend.encode_images(images)
    assert emb.shape == (2, 32)
    assert torch.allclose(emb.norm(dim=-1), torch.ones(2), atol=1e-5)
    emb[:, 0].sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_encode_images_non_square(backend):
    assert backend.encode_images(torch.rand(3, 3, 40, 64)).shape == (3, 32)


def test_encode_text_normalized_cached_and_truncated(backend):
    a = backend.encode_text(["a marble statue", "a 3D render of a head"])
    assert a.shape == (2, 32) and not a.requires_grad
    assert torch.allclose(a.norm(dim=-1), torch.ones(2), atol=1e-5)
    assert torch.equal(backend.encode_text(["a marble statue"])[0], a[0])
    long = backend.encode_text(["word " * 190])  # ~950 chars, far over 77 tokens
    assert long.shape == (1, 32) and torch.isfinite(long).all()


@pytest.mark.parametrize("bad", ["", "   \n\t", "x" * 1001])
def test_encode_text_rejects_bad_prompts(backend, bad):
    with pytest.raises(StyleInputError):
        backend.encode_text([bad])
