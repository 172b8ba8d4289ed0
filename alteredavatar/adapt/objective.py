"""The stylization objective: style guidance + identity preservation (weighted by strength) + regularizers.

    loss = (1 - s) * L_style + s * w_id * L_identity + w_smooth * TV_eps(dd) + w_mag * mean(dd^2) + w_seam * L_seam

with s = `strength` in [0, 1]: s = 0 ignores the identity, s = 1 keeps the unstylized avatar, and renders
move monotonically closer to the unstylized ones as s grows. L_identity is a low-pass image distance
(antialiased downsampling, so it constrains colour layout, not texture) plus, with CLIP guidance,
1 - cos(CLIP(styled), CLIP(unstylized)). L_seam is the squared disagreement across UV seams of the albedo's
change (styled - unstylized): the style adds no seam, and strength 1 still keeps the avatar as it was.
dd is the change of the UV displacement map from the unstylized one.
TV_eps is total variation, L1 per neighbour difference by default; with eps > 0 the Charbonnier penalty
sqrt(d^2 + eps^2) - eps (L1 for steps larger than eps, quadratic below), which does not fight Adam's first
steps over texel-level ripples. Plain stylization then ends with a lower texture distance, but colour
drifts where the texture loss does not look and the meta-learned start gains nothing, so it is not the
default (bench/results/rejected/README.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from alteredavatar.checks import check_range

MAX_WEIGHT = 1e7  # loss weights above this swamp every other term (and overflow float32 gradients)


@dataclass
class ObjectiveConfig:
    """Weights of the stylization loss terms (see module docstring)."""

    strength: float = 0.5
    """Identity knob in [0, 1]: 0 = style only, 1 = keep the avatar (see module docstring)."""
    identity_weight: float = 1.0  # low-pass MSE weight; balances texture styles at strength 0.5 (see README)
    identity_clip_weight: float = 1.0
    identity_vgg_weight: float = 0.3
    """Weight of the VGG content-feature distance (VGG guidance only) inside the identity term."""
    lowpass_factor: int = 8
    smooth_weight: float = 1e3  # displacement-change TV, on metres
    smooth_eps: float = 0.0
    """Charbonnier width of that TV (metres): quadratic below it, L1 above; 0 = plain L1 (the default)."""
    magnitude_weight: float = 1e3  # displacement-change magnitude, on squared metres
    seam_weight: float = 10.0
    """Weight of the UV-seam agreement of the style's change to the albedo (both islands' copies of every seam
    edge; see avatar/seams.py), so a pattern does not break into lines where the atlas is cut."""
    crop_fraction: float = 0.6  # texture guidance sees the central part of the head's bounding box
    crop_size: int = 112

    def __post_init__(self) -> None:
        """Every weight finite and in range, named by its flag (0 lowpass-factor or crop-size crashed torch)."""
        check_range("--objective.strength", self.strength, 0, 1)
        for name in ("identity_weight", "identity_clip_weight", "identity_vgg_weight", "smooth_weight",
                     "magnitude_weight", "seam_weight"):
            check_range(f"--objective.{name.replace('_', '-')}", getattr(self, name), 0, MAX_WEIGHT)
        check_range("--objective.lowpass-factor", self.lowpass_factor, 1, 64)
        check_range("--objective.smooth-eps", self.smooth_eps, 0, 1)
        check_range("--objective.crop-fraction", self.crop_fraction, 0, 1, lo_open=True)
        check_range("--objective.crop-size", self.crop_size, 8, 1024)


def lowpass(images: torch.Tensor, factor: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 3, H/factor, W/factor) antialiased (smooth, no block artefacts)."""
    h, w = images.shape[-2:]
    return F.interpolate(images, size=(max(1, h // factor), max(1, w // factor)), mode="bilinear",
                         antialias=True, align_corners=False)


def lowpass_distance(a: torch.Tensor, b: torch.Tensor, factor: int = 8) -> torch.Tensor:
    """(B,) mean squared difference of the low-passed images."""
    return ((lowpass(a, factor) - lowpass(b, factor)) ** 2).flatten(1).mean(1)


def foreground_crops(images: torch.Tensor, masks: torch.Tensor, fraction: float, size: int) -> torch.Tensor:
    """Crop each image to the central `fraction` of its foreground bounding box, resized to `size`.

    Keeps the background out of texture statistics. images (B, 3, H, W), masks (B, 1, H, W) -> (B, 3, size, size).
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
    grid = torch.stack([xs[:, None, :].expand(b, size, size), ys[:, :, None].expand(b, size, size)], -1) * 2 - 1
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def charbonnier(d: torch.Tensor, eps: float) -> torch.Tensor:
    """Elementwise sqrt(d^2 + eps^2) - eps: |d| - eps for |d| >> eps, d^2 / (2 eps) near 0; |d| at eps = 0."""
    return d.abs() if eps == 0 else torch.sqrt(d * d + eps * eps) - eps


def displacement_regularizer(disp: torch.Tensor, cfg: ObjectiveConfig) -> torch.Tensor:
    """Smoothness (total variation, Charbonnier if cfg.smooth_eps > 0) + magnitude of a UV displacement
    (change) map (B, 1, R, R), metres."""
    tv = (charbonnier(disp[..., 1:, :] - disp[..., :-1, :], cfg.smooth_eps).mean()
          + charbonnier(disp[..., :, 1:] - disp[..., :, :-1], cfg.smooth_eps).mean())
    return cfg.smooth_weight * tv + cfg.magnitude_weight * (disp**2).mean()
