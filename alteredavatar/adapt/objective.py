"""The stylization objective: style guidance + identity preservation (weighted by strength) + regularizers.

    loss = (1 - s) * L_style + s * w_id * L_identity + w_smooth * TV(dd) + w_mag * mean(dd^2)
           + w_seam * L_seam

with s = `strength` in [0, 1]: s = 0 ignores the identity, s = 1 keeps the unstylized avatar, and renders
move monotonically closer to the unstylized ones as s grows. L_identity is a low-pass image distance
(antialiased downsampling, so it constrains colour layout, not texture) plus, with CLIP guidance,
1 - cos(CLIP(styled), CLIP(unstylized)). L_seam is the squared disagreement across UV seams of the albedo's
change (styled - unstylized): the style adds no seam, and strength 1 still keeps the avatar as it was.
dd is the change of the UV displacement map from the unstylized one.
TV is total variation (L1 per neighbour difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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
    magnitude_weight: float = 1e3  # displacement-change magnitude, on squared metres
    seam_weight: float = 10.0
    """Weight of the UV-seam agreement of the style's change to the albedo (both islands' copies of every seam
    edge; see avatar/seams.py), so a pattern does not break into lines where the atlas is cut."""
    crop_fraction: float = 0.6  # texture guidance sees the central part of the head's bounding box
    crop_size: int = 112

    def __post_init__(self) -> None:
        """Every weight finite and in range, named by its flag (0 lowpass-factor or crop-size crashed
        torch)."""
        check_range("--objective.strength", self.strength, 0, 1)
        for name in (
            "identity_weight",
            "identity_clip_weight",
            "identity_vgg_weight",
            "smooth_weight",
            "magnitude_weight",
            "seam_weight",
        ):
            check_range(f"--objective.{name.replace('_', '-')}", getattr(self, name), 0, MAX_WEIGHT)
        check_range("--objective.lowpass-factor", self.lowpass_factor, 1, 64)
        check_range("--objective.crop-fraction", self.crop_fraction, 0, 1, lo_open=True)
        check_range("--objective.crop-size", self.crop_size, 8, 1024)


def displacement_regularizer(disp: torch.Tensor, cfg: ObjectiveConfig) -> torch.Tensor:
    """Smoothness (total variation) + magnitude of a UV displacement (change) map (B, 1, R, R), metres."""
    tv = (disp[..., 1:, :] - disp[..., :-1, :]).abs().mean() + (
        disp[..., :, 1:] - disp[..., :, :-1]
    ).abs().mean()
    return cfg.smooth_weight * tv + cfg.magnitude_weight * (disp**2).mean()
