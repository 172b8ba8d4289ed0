"""ARKit expression codes: named presets and a sampler of random sparse mixes."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from alteredavatar.avatar.arkit import ARKIT_INDEX, NUM_EXPR
from alteredavatar.errors import ConfigError

PRESETS: dict[str, dict[str, float]] = {
    "neutral": {},
    "smile": {"mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.4, "cheekSquintRight": 0.4},
    "jaw_open": {"jawOpen": 0.8},
    "blink": {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0},
    "surprise": {
        "browInnerUp": 1.0,
        "browOuterUpLeft": 0.9,
        "browOuterUpRight": 0.9,
        "eyeWideLeft": 0.8,
        "eyeWideRight": 0.8,
        "jawOpen": 0.45,
    },
    "frown": {
        "browDownLeft": 0.9,
        "browDownRight": 0.9,
        "mouthFrownLeft": 0.8,
        "mouthFrownRight": 0.8,
        "mouthPressLeft": 0.3,
        "mouthPressRight": 0.3,
    },
}
PRESET_NAMES = tuple(PRESETS)
CLOSED_EYES = torch.tensor([ARKIT_INDEX["eyeBlinkLeft"], ARKIT_INDEX["eyeBlinkRight"]])


def preset(name: str) -> torch.Tensor:
    """(52,) weights of a named expression."""
    if name not in PRESETS:
        raise ConfigError(f"unknown expression {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    code = torch.zeros(NUM_EXPR)
    for key, w in PRESETS[name].items():
        code[ARKIT_INDEX[key]] = w
    return code


def presets(names=PRESET_NAMES) -> torch.Tensor:
    """(N, 52) stacked presets."""
    return torch.stack([preset(n) for n in names])


@dataclass
class ExpressionSamplerConfig:
    """Random sparse ARKit mixes: `active` blendshapes at weights in [0, max_weight], or a preset."""

    active: int = 4
    max_weight: float = 1.0
    preset_prob: float = 0.3  # chance to draw a named preset instead (keeps the extremes covered)
    neutral_prob: float = 0.1
    closed_eyes_prob: float = 0.25
    """Chance that a non-neutral code also closes both eyes. The closed lids' skin hides inside the eye
    socket otherwise, so a style left it bare (skin-coloured patches on a blink) when blinks were rare."""


def sample_expressions(
    n: int, generator: torch.Generator, cfg: ExpressionSamplerConfig | None = None
) -> torch.Tensor:
    """(n, 52) random expression codes."""
    cfg = ExpressionSamplerConfig() if cfg is None else cfg
    codes = torch.zeros(n, NUM_EXPR)
    table = presets()
    for i in range(n):
        r = float(torch.rand((), generator=generator))
        if r < cfg.neutral_prob:
            continue
        if r < cfg.neutral_prob + cfg.preset_prob:
            codes[i] = table[int(torch.randint(len(table), (), generator=generator))]
            continue
        idx = torch.randperm(NUM_EXPR, generator=generator)[: cfg.active]
        codes[i, idx] = torch.rand(cfg.active, generator=generator) * cfg.max_weight
    if cfg.closed_eyes_prob > 0:
        close = (torch.rand(n, generator=generator) < cfg.closed_eyes_prob) & codes.any(1)
        codes[close.nonzero()[:, 0][:, None], CLOSED_EYES] = 1.0
    return codes
