"""Optional CUDA backend: nvdiffrast's rasterizer behind the CPU rasterizer's interface.

Used by `render.renderer.render_mesh` only when the tensors are on CUDA and `nvdiffrast` is installed. It
returns the
same (triangle id, perspective-correct barycentrics) pair as `rasterize` + `barycentrics`, so the rest
of the renderer is shared. The PyTorch rasterizer is the reference: tests/raster/test_nvdiff.py compares
the two on CUDA (skipped without a GPU, as in CI).
"""

from __future__ import annotations

import torch

_NEAR, _FAR = 0.01, 100.0
_CTX = {}


def nvdiffrast_available() -> bool:
    """Whether the optional `nvdiffrast` package imports (it needs CUDA to be used)."""
    try:
        import nvdiffrast.torch  # noqa: F401
    except ImportError:
        return False
    return True


def rasterize_cuda(screen: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, height: int, width: int):
    """screen (B, V, 2) pixels, depth (B, V) -> tri_id (B, H, W) int64 and bary (B, H, W, 3)."""
    import nvdiffrast.torch as dr

    dev = screen.device
    if dev not in _CTX:
        _CTX[dev] = dr.RasterizeCudaContext(device=dev)
    w = depth.clamp(min=1e-6)
    x_ndc = 2 * screen[..., 0] / width - 1
    y_ndc = 1 - 2 * screen[..., 1] / height
    z_clip = ((_FAR + _NEAR) * w - 2 * _FAR * _NEAR) / (_FAR - _NEAR)
    clip = torch.stack([x_ndc * w, y_ndc * w, z_clip, w], -1).contiguous()
    rast, _ = dr.rasterize(_CTX[dev], clip, faces.int().contiguous(), resolution=[height, width])
    rast = rast.flip(1)  # nvdiffrast's row 0 is the bottom of the image; ours is the top
    tri_id = rast[..., 3].long() - 1
    u, v = rast[..., 0], rast[..., 1]
    bary = torch.stack([u, v, 1 - u - v], -1) * (tri_id >= 0).unsqueeze(
        -1
    )  # nvdiffrast: b0=u, b1=v, b2=1-u-v
    return tri_id, bary
