"""Render stage: cameras and samplers, the differentiable rasterizer, shading, turntables and grids."""
