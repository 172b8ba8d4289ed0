"""The displacement regularizer (L1 total variation + squared magnitude) and the objective's config checks."""

import pytest
import torch

from alteredavatar.adapt.objective import ObjectiveConfig, displacement_regularizer
from alteredavatar.errors import ConfigError


def test_regularizer_is_weighted_l1_tv_plus_squared_magnitude():
    disp = torch.randn(2, 1, 8, 8, dtype=torch.float64) * 1e-3
    cfg = ObjectiveConfig(smooth_weight=3.0, magnitude_weight=5.0)
    tv = (disp[..., 1:, :] - disp[..., :-1, :]).abs().mean() + (
        disp[..., :, 1:] - disp[..., :, :-1]
    ).abs().mean()
    torch.testing.assert_close(displacement_regularizer(disp, cfg), 3.0 * tv + 5.0 * (disp**2).mean())
    assert displacement_regularizer(torch.full_like(disp, 0.0), cfg) == 0


def test_flat_offsets_cost_only_magnitude_and_ripples_cost_tv():
    flat = torch.full((1, 1, 8, 8), 1e-3, requires_grad=True)
    cfg = ObjectiveConfig(magnitude_weight=0.0)
    displacement_regularizer(flat, cfg).backward()
    assert flat.grad.abs().max() == 0  # a constant offset has no variation
    sign = ((torch.arange(8)[:, None] + torch.arange(8)[None]) % 2 * 2 - 1.0)[None, None]
    assert displacement_regularizer(1e-3 * sign, cfg) > 0


@pytest.mark.parametrize(
    "field,value",
    [
        ("strength", 1.5),
        ("seam_weight", -1.0),
        ("smooth_weight", float("nan")),
        ("lowpass_factor", 0),
        ("crop_size", 0),
    ],
)
def test_bad_weights_are_config_errors_naming_the_flag(field, value):
    with pytest.raises(ConfigError, match=f"--objective.{field.replace('_', '-')}"):
        ObjectiveConfig(**{field: value})
