"""The displacement regularizer: Charbonnier TV (L1 for large steps, quadratic for texel-level ripples)."""

import pytest
import torch

from alteredavatar.adapt.objective import ObjectiveConfig, charbonnier, displacement_regularizer
from alteredavatar.errors import ConfigError


def test_charbonnier_is_l1_far_from_zero_and_quadratic_near_it():
    eps = 1e-4
    big = torch.tensor([-1e-2, 5e-3])
    assert torch.allclose(charbonnier(big, eps), big.abs() - eps, rtol=1e-3)
    small = torch.tensor([1e-6, -3e-6])
    assert torch.allclose(charbonnier(small, eps), small**2 / (2 * eps), rtol=1e-3)
    assert torch.equal(charbonnier(big, 0.0), big.abs())


def ripple_grad(amplitude: float, eps: float) -> float:
    """Gradient norm of the TV term for a checkerboard displacement ripple of the given amplitude (m)."""
    sign = (torch.arange(16)[:, None] + torch.arange(16)[None]) % 2 * 2 - 1.0
    disp = (amplitude * sign)[None, None].requires_grad_(True)
    cfg = ObjectiveConfig(magnitude_weight=0.0, smooth_eps=eps)
    displacement_regularizer(disp, cfg).backward()
    return disp.grad.norm().item()


def test_tiny_ripples_get_proportionally_small_gradients_unlike_l1():
    # L1's gradient has the same size whatever the ripple's amplitude: a tug of war with Adam's first steps.
    assert ripple_grad(1e-7, 0.0) == pytest.approx(ripple_grad(1e-5, 0.0), rel=1e-5)
    assert ripple_grad(1e-7, 1e-4) == pytest.approx(ripple_grad(1e-6, 1e-4) / 10, rel=1e-2)
    # steps well above eps still get (almost) L1's gradient, so blotches stay penalized
    assert ripple_grad(1e-2, 1e-4) == pytest.approx(ripple_grad(1e-2, 0.0), rel=1e-3)


def test_negative_eps_is_a_config_error():
    with pytest.raises(ConfigError, match="smooth_eps"):
        ObjectiveConfig(smooth_eps=-1.0)
