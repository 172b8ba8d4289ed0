"""Image helpers shared by the guidance, the objective and the metrics: low-pass images, foreground crops."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def lowpass(images: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 3, H/factor, W/factor) antialiased (smooth, no block artefacts)."""
    h, w = images.shape[-2:]
    return F.interpolate(
        images,
        size=(max(1, h // factor), max(1, w // factor)),
        mode="bilinear",
        antialias=True,
        align_corners=False,
    )


def lowpass_distance(a: torch.Tensor, b: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """(B,) mean squared difference of the low-passed images."""
    return ((lowpass(a, factor) - lowpass(b, factor)) ** 2).flatten(1).mean(1)


def foreground_crops(images: torch.Tensor, masks: torch.Tensor, fraction: float, size: int) -> torch.Tensor:
    """Crop each image to the central `fraction` of its foreground bounding box, resized to `size`.

    Keeps the background out of texture statistics. images (B, 3, H, W), masks (B, 1, H, W) -> (B, 3, size,
    size).
    """
    b, _, h, w = images.shape
    boxes = []
    for m in masks[:, 0] > 0.5:
        rows, cols = torch.nonzero(m.any(1)).squeeze(1), torch.nonzero(m.any(0)).squeeze(1)
        if len(rows) == 0:
            boxes.append(torch.tensor([0.0, 0.0, 1.0, 1.0]))
            continue
        cy, cx = (rows[0] + rows[-1] + 1) / 2 / h, (cols[0] + cols[-1] + 1) / 2 / w
        hh, hw = (rows[-1] - rows[0] + 1) / h * fraction / 2, (cols[-1] - cols[0] + 1) / w * fraction / 2
        boxes.append(torch.stack([cx - hw, cy - hh, cx + hw, cy + hh]).float())
    box = torch.stack(boxes).to(images)  # (B, 4) in [0, 1]
    t = torch.linspace(0, 1, size, device=images.device, dtype=images.dtype)
    xs = box[:, 0:1] + (box[:, 2:3] - box[:, 0:1]) * t  # (B, size)
    ys = box[:, 1:2] + (box[:, 3:4] - box[:, 1:2]) * t
    grid = (
        torch.stack([xs[:, None, :].expand(b, size, size), ys[:, :, None].expand(b, size, size)], -1) * 2 - 1
    )
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
