"""Render stage: cameras and view samplers, shading (flat for guidance, studio for outputs), avatar frames,
turntables and expression grids. The rasterizer itself is in `raster/`."""

from alteredavatar.render.avatar import render_avatar, render_avatar_frame
from alteredavatar.render.cameras import Cameras, ViewSamplerConfig, front_views, sample_views
from alteredavatar.render.renderer import RenderConfig, render_mesh
from alteredavatar.render.sequences import render_expression_grid, render_turntable

__all__ = [
    "Cameras",
    "RenderConfig",
    "ViewSamplerConfig",
    "front_views",
    "render_avatar",
    "render_avatar_frame",
    "render_expression_grid",
    "render_mesh",
    "render_turntable",
    "sample_views",
]
