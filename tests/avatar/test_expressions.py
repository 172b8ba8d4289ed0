"""The expression sampler: reproducible from a seed, and closing the eyes as often as asked."""

import torch

from alteredavatar.avatar.arkit import ARKIT_INDEX
from alteredavatar.avatar.expressions import ExpressionSamplerConfig, sample_expressions

BLINKS = [ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"]]


def test_same_seed_same_codes():
    a = sample_expressions(16, torch.Generator().manual_seed(5))
    b = sample_expressions(16, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_closed_eyes_follow_their_probability_and_spare_neutral_codes():
    gen = torch.Generator().manual_seed(0)
    always = sample_expressions(64, gen, ExpressionSamplerConfig(closed_eyes_prob=1.0))
    moving = always.any(1)
    assert moving.sum() > 40 and (~moving).sum() > 0, "some neutral codes are drawn and stay neutral"
    assert (always[moving][:, BLINKS] == 1).all()
    never = sample_expressions(400, gen, ExpressionSamplerConfig(closed_eyes_prob=0.0))
    default = sample_expressions(400, gen)
    closed = lambda codes: (codes[:, BLINKS] == 1).all(1).float().mean().item()  # noqa: E731
    assert closed(never) < 0.1 < 0.15 < closed(default) < 0.4, (closed(never), closed(default))
