import pytest
import torch

from alteredavatar.errors import ConfigError, StyleInputError
from alteredavatar.guidance.texture import TextureConfig, TextureGuidance, sliced_wasserstein

from .conftest import stripes


def _style() -> torch.Tensor:
    return stripes(64, 8) * 0.7 + 0.15  # colours inside (0, 1) so a sigmoid image can reach them


def test_optimizing_toward_stripes_lowers_other_seed_distance():
    style = _style()
    guidance = TextureGuidance(style, TextureConfig(seed=0, channels=16, n_projections=16))
    evaluator = TextureGuidance(style, TextureConfig(seed=1))
    torch.manual_seed(0)
    logits = torch.logit(torch.rand(1, 3, 64, 64) * 0.02 + 0.49).requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.05)
    start = evaluator.distance(torch.sigmoid(logits)).item()
    gen = torch.Generator().manual_seed(5)
    for _ in range(40):
        opt.zero_grad()
        guidance.loss(torch.sigmoid(logits), gen).backward()
        opt.step()
    end = evaluator.distance(torch.sigmoid(logits)).item()
    assert end < 0.5 * start, (start, end)


def test_distance_is_deterministic_small_for_style_and_batched():
    style = _style()
    ev = TextureGuidance(style, TextureConfig(seed=3))
    images = torch.stack([style, style.roll(2, dims=2), torch.rand(3, 64, 64)])
    d = ev.distance(images)
    assert d.shape == (3,)
    assert torch.equal(d, ev.distance(images))
    assert d[0] < 1e-6 and d[1] < d[2]


def test_distance_to_another_style_and_any_size():
    ev = TextureGuidance(_style(), TextureConfig(seed=1))
    other = torch.rand(3, 40, 40)
    assert ev.distance(torch.rand(2, 3, 48, 80), style=other).shape == (2,)
    assert ev.distance(other[None], style=other)[0] < 1e-6


def test_loss_gradient_and_fresh_projections():
    guidance = TextureGuidance(_style(), TextureConfig(resolution=32))
    images = torch.rand(2, 3, 96, 96, requires_grad=True)
    a = guidance.loss(images)
    a.backward()
    assert images.grad is not None and images.grad.abs().sum() > 0
    assert guidance.loss(images).item() != a.item()  # projections re-drawn each call
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    assert guidance.loss(images, g1).item() == guidance.loss(images, g2).item()


def test_sliced_wasserstein_zero_for_permuted_samples():
    x = torch.randn(1, 4, 50)
    proj = torch.nn.functional.normalize(torch.randn(4, 8), dim=0)
    assert sliced_wasserstein(x, x[0][:, torch.randperm(50)], proj).item() < 1e-10
    assert sliced_wasserstein(x, x[0] + 1.0, proj).item() > 0.01


def test_bad_inputs():
    with pytest.raises(StyleInputError):
        TextureGuidance(torch.rand(3, 4, 4))
    with pytest.raises(ConfigError):
        TextureConfig(kernel_size=4)
    with pytest.raises(ConfigError):
        TextureConfig(channels=0)


def test_mask_ignores_background():
    style = _style()
    ev = TextureGuidance(style, TextureConfig(seed=2))
    image = torch.rand(1, 3, 64, 64)
    image[..., 16:48, 16:48] = style[:, 16:48, 16:48]
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 16:48, 16:48] = 1.0
    masked, unmasked = ev.distance(image, mask=mask), ev.distance(image)
    assert masked.shape == (1,) and masked < 0.5 * unmasked
    image.requires_grad_(True)
    TextureGuidance(style, TextureConfig(seed=0)).loss(image, mask=mask.expand(1, 1, 64, 64)).backward()
    outside, inside = image.grad[..., :8, :8].abs().mean(), image.grad[..., 24:40, 24:40].abs().mean()
    assert outside < 0.05 * inside  # only receptive fields of foreground features reach the corner


def test_sliced_wasserstein_gradcheck():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    y = torch.randn(3, 11, generator=gen, dtype=torch.float64)  # other count: quantiles resampled
    proj = torch.nn.functional.normalize(torch.randn(3, 4, generator=gen, dtype=torch.float64), dim=0)
    assert torch.autograd.gradcheck(lambda t: sliced_wasserstein(t, y, proj), (x,))
