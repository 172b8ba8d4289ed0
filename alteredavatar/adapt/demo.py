"""The demo job: "a marble statue" with CLIP when its weights are available, else texture guidance
with a procedural marble style image the project generates (written next to the outputs)."""

from __future__ import annotations

from pathlib import Path

from alteredavatar.adapt.guide import StyleSpec
from alteredavatar.adapt.loop import AdaptConfig
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.run import StylizeJob
from alteredavatar.errors import AssetMissingError
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.guidance.clip import load_clip
from alteredavatar.guidance.procedural import procedural_style

DEMO_PROMPT = "a marble statue"
DEMO_STYLE = ("marble", 0)  # procedural kind and seed of the offline demo's style image
DEMO_STRENGTH = 0.3  # a clearly visible style that keeps the person recognisable


def demo_job(out: Path, clip: str, steps: int) -> tuple[StylizeJob, str]:
    """The job to run and a sentence saying which guidance was chosen and why."""
    try:
        load_clip(clip)
    except AssetMissingError:
        style_path = out / "style_image.png"
        write_png(to_uint8(procedural_style(*DEMO_STYLE, size=256)[None])[0], style_path)
        spec = StyleSpec(image=style_path, guidance="texture")
        reason = (f"no CLIP weights for {clip} on this machine, so texture guidance with the generated style "
                  f"image {style_path} (pass --clip DIR to use CLIP and the prompt '{DEMO_PROMPT}')")
    else:
        spec = StyleSpec(text=DEMO_PROMPT, guidance="clip", clip=clip)
        reason = f"CLIP {clip} found: text prompt '{DEMO_PROMPT}'"
    return StylizeJob(style=spec, out=out, adapt=AdaptConfig(steps=steps),
                      objective=ObjectiveConfig(strength=DEMO_STRENGTH)), reason
