"""Export stage: the pictures users keep (turntable MP4/GIF/PNG frames, expression grid, portraits),
written atomically."""

from alteredavatar.export.media import write_gif, write_mp4, write_png
from alteredavatar.export.outputs import OutputConfig, render_outputs, render_portraits

__all__ = ["OutputConfig", "render_outputs", "render_portraits", "write_gif", "write_mp4", "write_png"]
