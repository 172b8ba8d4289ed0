"""Raster stage (the bottom of the package; imports nothing else from it): the differentiable triangle
rasterizer in PyTorch (the reference), its optional nvdiffrast backend for CUDA, vertex normals and texture
lookup. `avatar/` bakes UV maps with it and `render/` draws views with it."""

from alteredavatar.raster.nvdiff import nvdiffrast_available
from alteredavatar.raster.rasterize import (
    Fragments,
    barycentrics,
    fragment_barycentrics,
    fragment_interpolate,
    interpolate,
    rasterize,
    rasterize_uv,
)
from alteredavatar.raster.surface import sample_texture, vertex_normals

__all__ = [
    "Fragments",
    "barycentrics",
    "fragment_barycentrics",
    "fragment_interpolate",
    "interpolate",
    "nvdiffrast_available",
    "rasterize",
    "rasterize_uv",
    "sample_texture",
    "vertex_normals",
]
