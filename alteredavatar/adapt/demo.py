"""The demo job: VGG guidance with a brick-wall style image the project generates (written next to the
outputs), so `make demo` shows a pattern, not a tint, with no download."""

from __future__ import annotations

from pathlib import Path

from alteredavatar.adapt.guide import StyleSpec
from alteredavatar.adapt.loop import AdaptConfig
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.run import StylizeJob
from alteredavatar.errors import ConfigError
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.guidance.procedural import procedural_style

DEMO_STYLE = ("bricks", 3)  # procedural kind and seed: bricks large enough to read on the face at scale 1
DEMO_STRENGTH = 0.5  # the product default: a visible pattern on a recognisable person


def demo_job(out: Path, steps: int) -> tuple[StylizeJob, str]:
    """The job to run (its style image written to `out`) and a sentence saying what it does."""
    if steps <= 0:
        raise ConfigError(f"--steps must be > 0, got {steps}")
    style_path = out / "style_image.png"
    write_png(to_uint8(procedural_style(*DEMO_STYLE, size=256)[None])[0], style_path)
    spec = StyleSpec(image=style_path, guidance="vgg")
    reason = f"VGG16 guidance toward the generated brick-wall image {style_path}"
    return StylizeJob(style=spec, out=out, adapt=AdaptConfig(steps=steps),
                      objective=ObjectiveConfig(strength=DEMO_STRENGTH)), reason
