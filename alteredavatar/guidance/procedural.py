"""Procedural style images (no downloads): stripes, mosaics, marble, brush strokes, noise, palettes.

Used by the offline demo and as an unlimited, varied style bank for texture-guided meta-learning.
Every image is a pure function of (kind, seed, size).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

KINDS = ("stripes", "mosaic", "marble", "strokes", "noise", "palette", "metal", "dots")


def _palette(gen: torch.Generator, n: int) -> torch.Tensor:
    """(n, 3) colours: a random hue family with spread in value."""
    hue = torch.rand((), generator=gen) * 2 * math.pi
    spread = 0.4 + 0.8 * torch.rand((), generator=gen)
    k = torch.arange(n, dtype=torch.float32)
    h = hue + spread * (k / max(n - 1, 1) - 0.5) * math.pi
    rgb = 0.5 + 0.5 * torch.stack([torch.cos(h), torch.cos(h - 2.094), torch.cos(h + 2.094)], -1)
    value = 0.3 + 0.7 * torch.rand(n, 1, generator=gen)
    return (rgb * value).clamp(0, 1)


def _smooth_noise(gen: torch.Generator, size: int, cells: int, channels: int = 1) -> torch.Tensor:
    """(channels, size, size) smooth noise in about [-1, 1] (bicubic-upsampled random grid)."""
    small = torch.rand(1, channels, cells, cells, generator=gen) * 2 - 1
    return F.interpolate(small, size=(size, size), mode="bicubic", align_corners=False)[0]


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.linspace(0, 1, size)
    return torch.meshgrid(t, t, indexing="ij")


def procedural_style(kind: str, seed: int = 0, size: int = 256) -> torch.Tensor:
    """A (3, size, size) style image in [0, 1]."""
    if kind not in KINDS:
        raise ValueError(f"unknown procedural style {kind!r}; choose one of {', '.join(KINDS)}")
    gen = torch.Generator().manual_seed(seed * 1000 + KINDS.index(kind))
    y, x = _grid(size)
    pal = _palette(gen, 4)
    if kind == "stripes":
        angle = torch.rand((), generator=gen) * math.pi
        freq = 6 + 18 * torch.rand((), generator=gen)
        u = (x * torch.cos(angle) + y * torch.sin(angle)) * freq
        idx = (u.floor().long() % 3)
        img = pal[idx]
    elif kind == "mosaic":
        cells = int(8 + torch.randint(0, 16, (), generator=gen))
        colours = _palette(gen, 6)[torch.randint(0, 6, (cells, cells), generator=gen)]
        img = colours.repeat_interleave(math.ceil(size / cells), 0).repeat_interleave(math.ceil(size / cells), 1)
        img = img[:size, :size]
        grout = ((x * cells % 1) < 0.08) | ((y * cells % 1) < 0.08)
        img = torch.where(grout[..., None], torch.full_like(img, 0.15), img)
    elif kind == "marble":
        turb = _smooth_noise(gen, size, 6)[0] * 2 + _smooth_noise(gen, size, 24)[0] * 0.5
        veins = (torch.sin((x + y) * 12 + turb * 3) + 1) / 2
        base = torch.tensor([0.92, 0.91, 0.88])
        img = base * (0.75 + 0.25 * veins[..., None]) - 0.45 * (veins[..., None] < 0.08) * pal[0]
    elif kind == "strokes":
        img = torch.ones(size, size, 3) * pal[0]
        for _ in range(60):
            cx, cy = torch.rand(2, generator=gen)
            ang = torch.rand((), generator=gen) * math.pi
            length, width = 0.1 + 0.2 * torch.rand((), generator=gen), 0.01 + 0.02 * torch.rand((), generator=gen)
            du = (x - cx) * torch.cos(ang) + (y - cy) * torch.sin(ang)
            dv = -(x - cx) * torch.sin(ang) + (y - cy) * torch.cos(ang)
            m = (du.abs() < length / 2) & (dv.abs() < width)
            img[m] = pal[int(torch.randint(1, 4, (), generator=gen))]
    elif kind == "noise":
        n = _smooth_noise(gen, size, int(16 + torch.randint(0, 48, (), generator=gen)), 3).permute(1, 2, 0)
        img = pal[0] + 0.35 * n
    elif kind == "palette":
        n = (_smooth_noise(gen, size, 5)[0] + 1) / 2 * 3.999
        img = pal[n.long().clamp(0, 3)]
    elif kind == "metal":
        brushed = _smooth_noise(gen, size, 64)[0].mean(0, keepdim=True).expand(size, size)
        sheen = 0.6 + 0.3 * torch.cos(y * 6 + x * 2)
        tint = torch.tensor([0.8, 0.78, 0.75]) * 0.6 + 0.4 * pal[0]
        img = tint * (sheen + 0.15 * brushed)[..., None]
    else:  # dots
        freq = int(6 + torch.randint(0, 14, (), generator=gen))
        d = torch.hypot((x * freq % 1) - 0.5, (y * freq % 1) - 0.5)
        img = torch.where((d < 0.3)[..., None], pal[1], pal[0])
    return img.clamp(0, 1).permute(2, 0, 1).contiguous().float()
