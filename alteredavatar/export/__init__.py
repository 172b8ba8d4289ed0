"""Export stage: the pictures users keep (turntable MP4/GIF/PNG frames, expression grid, portraits) and the
avatar itself as an animatable .glb (52 ARKit morph targets, baked texture), all written atomically."""

from alteredavatar.export.glb import GlbConfig, export_glb
from alteredavatar.export.media import write_gif, write_mp4, write_png
from alteredavatar.export.outputs import OutputConfig, render_outputs, render_portraits

__all__ = [
    "GlbConfig",
    "OutputConfig",
    "export_glb",
    "render_outputs",
    "render_portraits",
    "write_gif",
    "write_mp4",
    "write_png",
]
