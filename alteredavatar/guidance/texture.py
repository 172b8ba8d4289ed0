"""Weight-free texture guidance: sliced-Wasserstein distance between random-network feature distributions.

A fixed-seed random CNN (zero-mean filters, an image pyramid, two conv layers per level) turns an image into
sets of feature vectors; the loss compares their distributions with the style image's along random 1-D
projections (re-drawn every call), plus the same comparison on RGB pixels for colour. No pretrained weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from alteredavatar.errors import ConfigError, StyleInputError


@dataclass
class TextureConfig:
    """Texture guidance settings (defaults: see bench / report for timing).

    Attributes:
        seed: seeds the random filters (an evaluator should use another seed).
        channels: feature channels per conv layer.
        levels: image-pyramid levels (each halves the resolution).
        kernel_size: conv filter size (odd).
        n_projections: random 1-D projections per feature layer and call.
        max_samples: `loss` compares at most this many randomly chosen feature vectors per layer and
            call (fresh each call; sorting dominates the cost). `distance` uses all of them.
        resolution: inputs are downsampled (antialiased) so their shorter side is at most this.
        color_weight: weight of the RGB-pixel sliced-Wasserstein term next to the mean texture term.
            Kept small: a strong per-pixel colour pull binarizes pixels into noise before the texture
            terms can arrange them (stripes test: 1.0 gives noise, 0.1 gives visible stripes).
        negative_slope: leaky-ReLU slope between conv layers.
    """

    seed: int = 0
    channels: int = 32
    levels: int = 3
    kernel_size: int = 5
    n_projections: int = 32
    max_samples: int = 4096
    resolution: int = 128
    color_weight: float = 0.1
    negative_slope: float = 0.2

    def __post_init__(self) -> None:
        if min(self.channels, self.levels, self.n_projections, self.max_samples) < 1 or self.resolution < 8:
            raise ConfigError(
                "texture channels, levels, n_projections, max_samples must be >= 1 and resolution >= 8"
            )
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ConfigError(f"texture kernel_size must be odd, got {self.kernel_size}")


def _zero_mean_filters(c_out: int, c_in: int, k: int, gen: torch.Generator) -> torch.Tensor:
    """Random He-scaled filters with zero mean per output channel. -> (c_out, c_in, k, k)"""
    w = torch.randn(c_out, c_in, k, k, generator=gen)
    w = w - w.mean(dim=(1, 2, 3), keepdim=True)
    return w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * (2.0**0.5)


def _downsample(images: torch.Tensor, max_side: int) -> torch.Tensor:
    """Antialiased resize so the shorter side is at most `max_side`. (B, C, H, W) -> (B, C, h, w)"""
    h, w = images.shape[-2:]
    if min(h, w) <= max_side:
        return images
    f = max_side / min(h, w)
    return F.interpolate(
        images,
        size=(max(1, round(h * f)), max(1, round(w * f))),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )


def _resample_sorted(sorted_vals: torch.Tensor, n: int) -> torch.Tensor:
    """Linear-interpolate sorted samples (..., M) to n quantiles (..., n)."""
    m = sorted_vals.shape[-1]
    if m == n:
        return sorted_vals
    pos = (torch.arange(n, device=sorted_vals.device, dtype=sorted_vals.dtype) + 0.5) * (m / n) - 0.5
    pos = pos.clamp(0, m - 1)
    lo = pos.floor().long()
    hi = (lo + 1).clamp(max=m - 1)
    t = pos - lo
    return sorted_vals[..., lo] * (1 - t) + sorted_vals[..., hi] * t


def subsample(samples: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """Random subset of n columns (same for every row / batch item). (..., N) -> (..., min(n, N))"""
    total = samples.shape[-1]
    if total <= n:
        return samples
    idx = torch.randperm(total, generator=gen)[:n].to(samples.device)
    return samples[..., idx]


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, proj: torch.Tensor) -> torch.Tensor:
    """Squared sliced-Wasserstein distance per batch item.

    Args:
        x: (B, C, N) samples (differentiable).
        y: (C, M) reference samples.
        proj: (C, P) unit projection directions.
    Returns:
        (B,) mean over projections and quantiles of the squared sorted differences.
    """
    px = torch.einsum("bcn,cp->bpn", x, proj).sort(dim=-1).values  # (B, P, N)
    py = (proj.t() @ y).sort(dim=-1).values  # (P, M)
    py = _resample_sorted(py, px.shape[-1])
    return (px - py).pow(2).mean(dim=(1, 2))


class RandomFeatures(nn.Module):
    """Fixed random CNN over an image pyramid: per level, conv -> leaky ReLU -> conv -> leaky ReLU.

    forward: images (B, 3, H, W) in [0, 1] -> list of 2 * levels feature maps flattened to (B, C, N_l).
    """

    def __init__(self, cfg: TextureConfig):
        super().__init__()
        self.cfg = cfg
        gen = torch.Generator().manual_seed(cfg.seed)
        c, k = cfg.channels, cfg.kernel_size
        for level in range(cfg.levels):
            self.register_buffer(f"w1_{level}", _zero_mean_filters(c, 3, k, gen))
            self.register_buffer(f"w2_{level}", _zero_mean_filters(c, c, k, gen))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        cfg, pad = self.cfg, self.cfg.kernel_size // 2
        feats, x = [], images
        for level in range(cfg.levels):
            if level:
                x = F.avg_pool2d(x, 2)
            h1 = F.leaky_relu(F.conv2d(x, getattr(self, f"w1_{level}"), padding=pad), cfg.negative_slope)
            h2 = F.leaky_relu(F.conv2d(h1, getattr(self, f"w2_{level}"), padding=pad), cfg.negative_slope)
            feats += [h1.flatten(2), h2.flatten(2)]
            if min(x.shape[-2:]) < 2:
                break
        return feats


class TextureGuidance:
    """Texture + colour statistics of a style image, matched by sliced Wasserstein distances.

    loss(images) uses fresh random projections each call (from the passed generator or the instance's
    own); distance(images) is the deterministic per-image version for evaluation - build the evaluator
    with a different `seed` than the guidance it judges.
    """

    def __init__(self, style_image: torch.Tensor, cfg: TextureConfig | None = None):
        """style_image: (3, H, W) float in [0, 1]."""
        self.cfg = cfg or TextureConfig()
        self.net = RandomFeatures(self.cfg).to(style_image.device)
        self._generator = torch.Generator().manual_seed(self.cfg.seed + 1)
        self.style_feats = self._style_features(style_image)

    def _style_features(self, style: torch.Tensor) -> list[torch.Tensor]:
        """(3, H, W) -> [RGB pixels (3, M)] + feature layers [(C, M_l)], computed without grad."""
        if style.dim() != 3 or style.shape[0] != 3 or min(style.shape[-2:]) < 8:
            raise StyleInputError(
                f"style image must be a (3, H, W) RGB tensor with H, W >= 8; got {tuple(style.shape)}"
            )
        with torch.no_grad():
            x = _downsample(style[None].float(), self.cfg.resolution)
            return [x.flatten(2)[0]] + [f[0] for f in self.net(x)]

    def _projections(self, dims: list[int], gen: torch.Generator, device: torch.device) -> list[torch.Tensor]:
        """One (C, P) set of unit directions per feature layer."""
        p = self.cfg.n_projections
        return [F.normalize(torch.randn(c, p, generator=gen), dim=0).to(device) for c in dims]

    def _distances(
        self,
        images: torch.Tensor,
        style_feats: list[torch.Tensor],
        gen: torch.Generator,
        max_samples: int | None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """images (B, 3, H, W), mask (B, 1, H, W) or None -> (B,) colour + texture distances."""
        x = _downsample(images.float(), self.cfg.resolution)
        feats = [x.flatten(2)] + self.net.to(x.device)(x)
        projs = self._projections([f.shape[0] for f in style_feats], gen, x.device)
        masks = self._mask_pyramid(mask, x.shape[-2:], len(feats)) if mask is not None else None
        per_layer = []
        for i, (f, s, p) in enumerate(zip(feats, style_feats, projs)):
            s = s.to(x.device)
            if masks is None:
                items = [f]
            else:  # foreground positions differ per image: one (1, C, n_b) item each
                items = [f[b : b + 1, :, masks[i][b]] for b in range(f.shape[0])]
            if max_samples is not None:
                items, s = [subsample(t, max_samples, gen) for t in items], subsample(s, max_samples, gen)
            per_layer.append(torch.cat([sliced_wasserstein(t, s, p) for t in items]))
        texture = torch.stack(per_layer[1:]).mean(0)
        return texture + self.cfg.color_weight * per_layer[0]

    def _mask_pyramid(self, mask: torch.Tensor, size: tuple[int, int], n_layers: int) -> list[torch.Tensor]:
        """mask (B, 1, H, W) -> per layer (colour, then 2 per level) a (B, N_l) bool foreground mask."""
        m = F.interpolate(
            mask.float(), size=tuple(size), mode="bilinear", align_corners=False, antialias=True
        )
        out = [m]
        while len(out) < n_layers:
            out += [m, m]
            m = F.avg_pool2d(m, 2)
        masks = [(t > 0.5).flatten(1) for t in out[:n_layers]]
        if not masks[-1].any(dim=1).all():
            raise ValueError("texture mask: an image has no foreground at the coarsest pyramid level")
        return masks

    def loss(
        self, images: torch.Tensor, generator: torch.Generator | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Differentiable mean distance to the style.

        Args:
            images: (B, 3, H, W) in [0, 1].
            generator: draws the projections and sample subsets; defaults to the instance's own.
            mask: optional (B, 1, H, W) foreground (> 0.5) whose statistics are compared, e.g. the
                head's coverage so the fixed background does not count.
        Returns:
            scalar.
        """
        gen = generator if generator is not None else self._generator
        return self._distances(images, self.style_feats, gen, self.cfg.max_samples, mask).mean()

    @torch.no_grad()
    def distance(
        self, images: torch.Tensor, style: torch.Tensor | None = None, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Evaluation: images (B, 3, H, W) -> (B,) distances to `style` (3, H, W) or the instance's style.

        Deterministic (projections from a generator seeded with `cfg.seed` on every call), uses every
        feature vector; `mask` as in `loss`.
        """
        feats = self.style_feats if style is None else self._style_features(style)
        return self._distances(images, feats, torch.Generator().manual_seed(self.cfg.seed), None, mask)
