"""The demo job: VGG guidance with a brick-wall style image the project generates (written next to the
outputs), so `make demo` shows a pattern, not a tint, with no download."""

from __future__ import annotations

from pathlib import Path

import torch

from alteredavatar.adapt.guide import StyleSpec
from alteredavatar.adapt.loop import MAX_STEPS, AdaptConfig
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.run import StylizeJob
from alteredavatar.checks import check_range
from alteredavatar.guidance.procedural import procedural_style

DEMO_STYLE = ("bricks", 3)  # procedural kind and seed: bricks large enough to read on the face at scale 1
DEMO_STRENGTH = 0.5  # the product default: a visible pattern on a recognisable person


def demo_job(out: Path, steps: int, overwrite: bool = False) -> tuple[StylizeJob, torch.Tensor, str]:
    """The job to run, its style image (3, 256, 256) (written to `out` with the outputs, as `style.image`
    names it) and a sentence saying what it does. Writes nothing."""
    check_range("--steps", steps, 1, MAX_STEPS)
    image = procedural_style(*DEMO_STYLE, size=256)
    image = (image.clamp(0, 1) * 255 + 0.5).floor() / 255  # the values its PNG holds, as before
    style_path = out / "style_image.png"
    spec = StyleSpec(image=style_path, guidance="vgg")
    reason = f"VGG16 guidance toward the generated brick-wall image {style_path}"
    return (
        StylizeJob(
            style=spec,
            out=out,
            adapt=AdaptConfig(steps=steps),
            overwrite=overwrite,
            objective=ObjectiveConfig(strength=DEMO_STRENGTH),
        ),
        image,
        reason,
    )
