"""The CUDA backend against the PyTorch reference rasterizer (skipped without a GPU and nvdiffrast)."""

import pytest
import torch

from alteredavatar.raster import barycentrics, nvdiffrast_available, rasterize
from alteredavatar.render.cameras import front_views

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and nvdiffrast_available()),
    reason="needs CUDA and the optional nvdiffrast package",
)


def test_nvdiffrast_matches_the_reference_on_the_head(ada):
    from alteredavatar.raster.nvdiff import rasterize_cuda

    res = 128
    cams = front_views((0.0, 60.0))
    screen, depth = cams.project(ada.verts[None].expand(2, -1, -1), res, res)
    ref_id = rasterize(screen, depth, ada.faces, res, res)
    ref_bary = barycentrics(screen, depth, ada.faces, ref_id)
    dev = torch.device("cuda")
    cu_id, cu_bary = rasterize_cuda(screen.to(dev), depth.to(dev), ada.faces.to(dev), res, res)
    cu_id, cu_bary = cu_id.cpu(), cu_bary.cpu()
    assert ((cu_id >= 0) == (ref_id >= 0)).float().mean() > 0.995  # coverage: edge pixels may differ
    same = (cu_id == ref_id) & (ref_id >= 0)
    assert same.sum() > 0.98 * (ref_id >= 0).sum()
    torch.testing.assert_close(cu_bary[same], ref_bary[same], atol=2e-3, rtol=0)
