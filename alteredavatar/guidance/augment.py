"""Random resized crops + perspective warps (Text2Mesh / NADA style) as one differentiable resampling."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from alteredavatar.errors import ConfigError


@dataclass
class AugmentConfig:
    """Augmentation of rendered images before CLIP.

    Attributes:
        n_crops: crops per input image.
        scale: (min, max) crop area as a fraction of the image area.
        perspective: distortion scale in [0, 1): each crop corner moves inward by up to this fraction
            of the crop's half-size (torchvision's `RandomPerspective` convention).
        perspective_p: probability that a crop gets a perspective warp.
        size: output side S in pixels.
    """

    n_crops: int = 4
    scale: tuple[float, float] = (0.6, 1.0)
    perspective: float = 0.2
    perspective_p: float = 0.8
    size: int = 224

    def __post_init__(self) -> None:
        lo, hi = self.scale
        if self.n_crops < 1 or self.size < 1:
            raise ConfigError(f"augment n_crops and size must be >= 1, got {self.n_crops}, {self.size}")
        if not 0.0 < lo <= hi <= 1.0:
            raise ConfigError(f"augment scale must satisfy 0 < min <= max <= 1, got {self.scale}")
        if not 0.0 <= self.perspective < 1.0 or not 0.0 <= self.perspective_p <= 1.0:
            raise ConfigError("augment perspective must be in [0, 1) and perspective_p in [0, 1]")


_UNIT_CORNERS = ((-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0))  # x, y in grid_sample convention


def homography_from_corners(dst: torch.Tensor) -> torch.Tensor:
    """Homographies mapping the corners of [-1, 1]^2 (TL, TR, BR, BL) onto `dst`.

    Args:
        dst: (N, 4, 2) target corners (x, y).
    Returns:
        (N, 3, 3) matrices H with H @ (x, y, 1) ~ dst for each unit corner.
    """
    n = dst.shape[0]
    src = torch.tensor(_UNIT_CORNERS, dtype=dst.dtype, device=dst.device).expand(n, 4, 2)
    x, y = src[..., 0], src[..., 1]
    u, v = dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], dim=-1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], dim=-1)
    a = torch.cat([rows_u, rows_v], dim=1)  # (N, 8, 8)
    b = torch.cat([u, v], dim=1)  # (N, 8)
    h = torch.linalg.solve(a, b)
    return torch.cat([h, torch.ones_like(h[:, :1])], dim=1).view(n, 3, 3)


class Augment(nn.Module):
    """Random resized crops with optional perspective warp, resampled to S x S in one `grid_sample`.

    forward: images (B, 3, H, W) -> (B * n_crops, 3, S, S); row b * n_crops + k is crop k of image b.
    Gradients flow to `images`; the random parameters come from the passed `torch.Generator`.
    For paired losses call `sample_grid` once and `apply` it to both batches.
    """

    def __init__(self, cfg: AugmentConfig | None = None):
        super().__init__()
        self.cfg = cfg or AugmentConfig()

    def sample_corners(self, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample crop quads. -> (batch * n_crops, 4, 2) corners in normalized input coords [-1, 1]."""
        cfg = self.cfg
        n = batch * cfg.n_crops
        rand = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
        lo, hi = cfg.scale
        side = (lo + (hi - lo) * rand(n)).sqrt()  # crop side fraction, same in x and y
        centre = (1.0 - side)[:, None] * (2.0 * rand(n, 2) - 1.0)  # keeps the crop inside the image
        unit = torch.tensor(_UNIT_CORNERS)
        corners = centre[:, None, :] + side[:, None, None] * unit  # (n, 4, 2)
        inward = cfg.perspective * rand(n, 4, 2) * side[:, None, None]  # fraction of the half-size
        warp = (rand(n) < cfg.perspective_p).to(corners.dtype)[:, None, None]
        return corners - unit * inward * warp

    def grid_from_corners(self, corners: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
        """Sampling grid for `apply`. corners: (N, 4, 2) -> (N, S, S, 2)."""
        s = self.cfg.size
        corners = corners.to(device=device, dtype=torch.float32)
        hom = homography_from_corners(corners.double()).float()
        t = (torch.arange(s, device=corners.device, dtype=torch.float32) + 0.5) / s * 2.0 - 1.0
        gy, gx = torch.meshgrid(t, t, indexing="ij")
        pts = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1).view(1, -1, 3)  # (1, S*S, 3)
        mapped = pts @ hom.transpose(1, 2)  # (N, S*S, 3)
        return (mapped[..., :2] / mapped[..., 2:]).view(-1, s, s, 2)

    def sample_grid(
        self, batch: int, generator: torch.Generator | None = None, device: torch.device | None = None
    ) -> torch.Tensor:
        """Random sampling grid for `batch` images. -> (batch * n_crops, S, S, 2)."""
        return self.grid_from_corners(self.sample_corners(batch, generator), device)

    def apply(self, images: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
        """Resample. images: (B, 3, H, W), grid: (B * n_crops, S, S, 2) -> (B * n_crops, 3, S, S).

        Inputs much larger than the crops' output resolution are first downsampled with antialiasing
        so the bilinear resampling does not alias.
        """
        h, w = images.shape[-2:]
        limit = math.ceil(self.cfg.size / math.sqrt(self.cfg.scale[0]))
        if min(h, w) > limit:
            f = limit / min(h, w)
            images = F.interpolate(
                images,
                size=(round(h * f), round(w * f)),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
        images = images.repeat_interleave(self.cfg.n_crops, dim=0)
        return F.grid_sample(
            images, grid.to(images.dtype), mode="bilinear", padding_mode="border", align_corners=False
        )

    def forward(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """images: (B, 3, H, W) -> (B * n_crops, 3, S, S) random crops."""
        return self.apply(images, self.sample_grid(images.shape[0], generator, images.device))
