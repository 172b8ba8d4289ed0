import pytest
import torch

from alteredavatar.errors import ConfigError
from alteredavatar.guidance.augment import Augment, AugmentConfig, homography_from_corners


def test_shape_and_gradient():
    aug = Augment(AugmentConfig(n_crops=3, size=24))
    images = torch.rand(2, 3, 40, 56, requires_grad=True)
    out = aug(images, torch.Generator().manual_seed(0))
    assert out.shape == (6, 3, 24, 24)
    out.sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_same_seed_same_crops_different_seed_different():
    aug = Augment(AugmentConfig(n_crops=4, size=16))
    images = torch.rand(2, 3, 32, 32)
    a = aug(images, torch.Generator().manual_seed(7))
    b = aug(images, torch.Generator().manual_seed(7))
    c = aug(images, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_full_crop_without_warp_is_identity():
    aug = Augment(AugmentConfig(n_crops=2, scale=(1.0, 1.0), perspective=0.0, size=16))
    images = torch.rand(1, 3, 16, 16)
    out = aug(images, torch.Generator().manual_seed(0))
    assert torch.allclose(out, images.expand(2, -1, -1, -1), atol=1e-5)


def test_homography_maps_corners():
    dst = torch.tensor([[[-0.9, -0.8], [0.7, -0.95], [0.8, 0.9], [-0.6, 0.7]]], dtype=torch.float64)
    h = homography_from_corners(dst)
    src = torch.tensor([[-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]], dtype=torch.float64)
    mapped = src @ h[0].T
    assert torch.allclose(mapped[:, :2] / mapped[:, 2:], dst[0], atol=1e-9)


def test_crops_stay_inside_image():
    aug = Augment(AugmentConfig(n_crops=64, scale=(0.3, 1.0), perspective=0.5, size=8))
    grid = aug.sample_grid(2, torch.Generator().manual_seed(1))
    assert grid.abs().max() <= 1.0 + 1e-5


def test_gradcheck():
    aug = Augment(AugmentConfig(n_crops=2, size=5))
    grid = aug.sample_grid(1, torch.Generator().manual_seed(3)).double()
    images = torch.rand(1, 3, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: aug.apply(x, grid), (images,))


@pytest.mark.parametrize(
    "kw", [dict(n_crops=0), dict(scale=(0.0, 1.0)), dict(scale=(0.9, 0.5)), dict(perspective=1.0)]
)
def test_bad_config(kw):
    with pytest.raises(ConfigError):
        AugmentConfig(**kw)
