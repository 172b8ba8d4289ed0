"""Procedural style images (no downloads), one per (kind, seed, size), from pure torch code.

Tone/colour kinds: stripes, mosaic, marble, brush strokes, noise, palette, brushed metal, dots.
Structured kinds (a visible repeating pattern that a Gram/sliced-Wasserstein style loss can transfer):
bricks (running bond), tiles (square or hexagonal, dark grout), scales (overlapping fish scales),
wood (distorted growth rings), cracks (Voronoi crackle), weave (basket weave), checker (rotated
checkerboard) and hatching (pen-and-ink cross-hatching).

Used by the offline demo and as an unlimited, varied style bank for texture-guided meta-learning.
Every image is a pure function of (kind, seed, size); new kinds are appended to KINDS so that the
seed of every older kind (``seed * 1000 + KINDS.index(kind)``) and hence its image never change.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

KINDS = (
    "stripes",
    "mosaic",
    "marble",
    "strokes",
    "noise",
    "palette",
    "metal",
    "dots",
    "bricks",
    "tiles",
    "scales",
    "wood",
    "cracks",
    "weave",
    "checker",
    "hatching",
)
# The kinds whose images carry a clear geometric pattern (not only colour and tone).
PATTERN_KINDS = KINDS[8:] + ("stripes", "mosaic", "dots")


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


def _smoothstep(e0: float, e1: float, t: torch.Tensor) -> torch.Tensor:
    t = ((t - e0) / (e1 - e0)).clamp(0, 1)
    return t * t * (3 - 2 * t)


def _cell_values(gen: torch.Generator, ix: torch.Tensor, iy: torch.Tensor, k: int = 1) -> torch.Tensor:
    """(k, *ix.shape) uniform values in [0, 1), one set per integer cell (ix, iy); a 97-cell period."""
    table = torch.rand(k, 97, 97, generator=gen)
    return table[:, ix % 97, iy % 97]


def _pick(gen: torch.Generator, options: tuple) -> object:
    return options[int(torch.randint(0, len(options), (), generator=gen))]


def _bricks(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Running-bond brick courses (every other row shifted half a brick) in light grey mortar."""
    across = int(6 + torch.randint(0, 8, (), generator=gen))  # 6..13 bricks per row
    aspect = 0.38 + 0.17 * torch.rand((), generator=gen)  # brick height / width
    base = _pick(gen, ((0.62, 0.24, 0.16), (0.55, 0.32, 0.2), (0.72, 0.5, 0.32), (0.45, 0.42, 0.4), None))
    base = pal[0] * 0.8 if base is None else torch.tensor(base)
    # 3 related colours: the base with a little hue and value drift each.
    colours = base * (0.75 + 0.45 * torch.rand(3, 1, generator=gen)) + 0.06 * torch.randn(3, 3, generator=gen)
    mortar = torch.tensor([0.8, 0.79, 0.76]) * (0.9 + 0.1 * torch.rand((), generator=gen))
    u = x * across
    v = y * across / aspect
    row = v.floor().long()
    u = u + 0.5 * (row % 2)
    col = u.floor().long()
    fu, fv = u - u.floor(), v - v.floor()
    cell = _cell_values(gen, col, row, 2)
    img = colours[(cell[0] * 3).long().clamp(max=2)] * (0.82 + 0.3 * cell[1])[..., None]
    grain = 0.08 * _smooth_noise(gen, x.shape[0], 48)[0] + 0.06 * (torch.rand(x.shape, generator=gen) - 0.5)
    img = img * (1 + grain)[..., None]
    bevel = _smoothstep(0.0, 0.12, 1 - fv) * 0.2 + 0.8  # a darker lower edge on each brick
    img = img * bevel[..., None]
    mu, mv = 0.06, 0.06 / aspect  # the same thickness in pixels both ways
    is_mortar = (fu < mu) | (fu > 1 - mu) | (fv < mv) | (fv > 1 - mv)
    speckle = 1 + 0.1 * (torch.rand(x.shape, generator=gen) - 0.5)
    return torch.where(is_mortar[..., None], mortar * speckle[..., None], img)


def _tiles(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Square or hexagonal tiles, one palette colour each, bevelled, in dark grout."""
    hexagonal = bool(torch.rand((), generator=gen) < 0.6)
    across = 5 + 9 * torch.rand((), generator=gen)  # 5..14 tiles across
    colours = 0.3 + 0.7 * _palette(gen, 5)  # kept well above the dark grout
    grout = 0.06 + 0.1 * torch.rand((), generator=gen)
    px, py = x * across, y * across
    if hexagonal:
        s3 = math.sqrt(3)
        ax, ay = (px % 1) - 0.5, (py % s3) - s3 / 2
        bx, by = ((px - 0.5) % 1) - 0.5, ((py - s3 / 2) % s3) - s3 / 2
        use_a = ax * ax + ay * ay < bx * bx + by * by
        gx, gy = torch.where(use_a, ax, bx), torch.where(use_a, ay, by)
        ix, iy = (2 * (px - gx)).round().long(), (2 * (py - gy) / s3).round().long()
        edge = 0.5 - torch.maximum(gx.abs(), 0.5 * gx.abs() + 0.5 * s3 * gy.abs())
    else:
        ix, iy = px.floor().long(), py.floor().long()
        fx, fy = px - px.floor(), py - py.floor()
        edge = torch.minimum(torch.minimum(fx, 1 - fx), torch.minimum(fy, 1 - fy))
    cell = _cell_values(gen, ix, iy, 2)
    img = colours[(cell[0] * 5).long().clamp(max=4)] * (0.85 + 0.25 * cell[1])[..., None]
    img = img * (0.8 + 0.2 * _smoothstep(0.03, 0.14, edge))[..., None]  # bevelled rims
    return torch.where((edge < 0.05)[..., None], torch.full_like(img, float(grout)), img)


def _scales(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Overlapping fish scales: rows of discs offset by half, each with a shaded rim."""
    across = 5 + 6 * torch.rand((), generator=gen)  # 5..11 scales per row
    colours = _palette(gen, 2)
    colours = 0.2 + 0.8 * colours / colours.amax(-1, keepdim=True).clamp_min(1e-3)
    h = 0.36 + 0.08 * torch.rand((), generator=gen)  # row spacing in scale widths (< 0.5: rows overlap)
    px, py = x * across, y * across
    j0 = (py / h).floor().long()
    best_d = torch.full_like(px, 9.0)
    best_i = torch.zeros_like(j0)
    best_j = torch.zeros_like(j0)
    # The upper row lies on top (it is drawn last), so each scale shows its round lower rim.
    for dj in range(3, -3, -1):
        j = j0 + dj
        shift = 0.5 * (j % 2)
        i = (px - shift).round()
        dy = py - j * h
        d = torch.hypot(px - (i + shift), dy) * 2  # 1 on the rim of a circle one scale wide
        hit = d < 1
        best_d = torch.where(hit, d, best_d)
        best_i = torch.where(hit, i.long(), best_i)
        best_j = torch.where(hit, j, best_j)
    cell = _cell_values(gen, best_i, best_j, 2)
    mix = (cell[0] * 0.6 + 0.4 * (best_j % 2)).clamp(0, 1)[..., None]  # two colours, loosely in rows
    img = (colours[0] * (1 - mix) + colours[1] * mix) * (0.85 + 0.2 * cell[1])[..., None]
    shade = 1.05 - 0.6 * best_d**2  # a lit centre falling off to the rim
    rim = _smoothstep(0.84, 0.96, best_d)
    return img * (shade * (1 - 0.8 * rim))[..., None]


def _wood(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Wood grain: noise-distorted, stretched growth rings with fine fibres along them."""
    size = x.shape[0]
    angle = torch.rand((), generator=gen) * math.pi
    stretch = 0.25 + 0.45 * torch.rand((), generator=gen)  # < 1: rings drawn out along the grain
    cx, cy = torch.rand(2, generator=gen) * 1.6 - 0.3
    rings = 8 + 10 * torch.rand((), generator=gen)  # 8..18 rings over the image
    u = (x - cx) * torch.cos(angle) + (y - cy) * torch.sin(angle)
    v = (-(x - cx) * torch.sin(angle) + (y - cy) * torch.cos(angle)) / stretch
    d = torch.hypot(u, v)
    d = (d - d.min()) / (d.max() - d.min()).clamp_min(1e-6)
    warp = 0.04 * _smooth_noise(gen, size, 4)[0] + 0.008 * _smooth_noise(gen, size, 12)[0]
    t = (d + warp) * rings
    t = t - t.floor()
    # Early wood is light and darkens through the year; the late wood ends the ring in a thin dark band.
    tone = 0.35 * t**2 + 0.65 * _smoothstep(0.8, 0.9, t) * (1 - _smoothstep(0.96, 1.0, t))
    hue = torch.rand((), generator=gen) * 0.7 - 0.35
    light = torch.tensor([0.82, 0.62, 0.4]) + hue * torch.tensor([0.1, 0.02, -0.12])
    dark = torch.tensor([0.38, 0.22, 0.1]) + hue * torch.tensor([0.12, 0.0, -0.1])
    light = 0.85 * light + 0.15 * pal[0]
    # Fine fibres run parallel to the rings: 1-d noise of the ring coordinate, about 7 streaks per ring.
    streaks = torch.rand(512, generator=gen) - 0.5
    s = (d + warp) * rings * 7
    i0 = s.floor().long()
    frac = s - s.floor()
    fibre = streaks[i0 % 512] * (1 - frac) + streaks[(i0 + 1) % 512] * frac
    img = light + (dark - light) * tone[..., None]
    return img * (1 + 0.15 * fibre)[..., None]


def _cracks(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Dried mud / crackle glaze: Voronoi cells parted by thin dark cracks."""
    n = int(5 + torch.randint(0, 7, (), generator=gen))  # 5..11 cells across
    # One jittered seed point per grid cell (kept off the cell borders, so a pixel's two nearest seeds
    # lie in the 3x3 cells around it).
    jitter = 0.15 + 0.7 * torch.rand(n + 3, n + 3, 2, generator=gen)
    tone_table = torch.rand(n + 3, n + 3, generator=gen)
    px, py = x * n, y * n
    off = torch.tensor([-1, 0, 1])
    # Table indices (cell + 1) of the 3x3 neighbouring cells: 0..n+2 for pixels in [0, n].
    ix = (px.floor().long() + 1 + off[None, :, None, None]).expand(3, 3, *px.shape).reshape(9, *px.shape)
    iy = (py.floor().long() + 1 + off[:, None, None, None]).expand(3, 3, *px.shape).reshape(9, *px.shape)
    qx, qy = ix - 1 + jitter[iy, ix, 0], iy - 1 + jitter[iy, ix, 1]
    d = (px - qx) ** 2 + (py - qy) ** 2
    d1, i1 = d.min(0, keepdim=True)
    d2, i2 = d.scatter(0, i1, float("inf")).min(0, keepdim=True)
    p1x, p1y, p2x, p2y = (q.gather(0, i).squeeze(0) for q, i in ((qx, i1), (qy, i1), (qx, i2), (qy, i2)))
    d1, d2 = d1.squeeze(0), d2.squeeze(0)
    tone = tone_table[iy.gather(0, i1).squeeze(0), ix.gather(0, i1).squeeze(0)]
    sep = torch.hypot(p1x - p2x, p1y - p2y).clamp_min(1e-6)
    edge = (d2 - d1) / (2 * sep)  # distance to the cell wall, in cell widths
    base = _pick(gen, ((0.66, 0.52, 0.38), (0.85, 0.82, 0.74), (0.55, 0.5, 0.44), None))
    base = 0.35 + 0.6 * pal[1] if base is None else torch.tensor(base)
    img = base * (0.8 + 0.3 * tone)[..., None] * (1 + 0.08 * _smooth_noise(gen, x.shape[0], 32)[0])[..., None]
    img = img * (0.75 + 0.25 * _smoothstep(0.02, 0.12, edge))[..., None]  # cells darken towards the cracks
    width = 0.025 * (1 + 0.6 * _smooth_noise(gen, x.shape[0], 8)[0])
    crack = 1 - _smoothstep(0.0, 1.0, (edge - width) / 0.012 + 0.5)
    return img * (1 - 0.88 * crack)[..., None]


def _weave(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Basket weave: cells of 2-3 strands, horizontal and vertical in turn, shaded round."""
    cells = int(6 + torch.randint(0, 6, (), generator=gen))  # 6..11 basket cells (3..5.5 weave repeats)
    strands = int(2 + torch.randint(0, 2, (), generator=gen))
    colours = _palette(gen, 2)
    colours = 0.3 + 0.6 * colours / colours.amax(-1, keepdim=True).clamp_min(1e-3)
    u, v = x * cells, y * cells
    iu, iv = u.floor().long(), v.floor().long()
    fu, fv = u - u.floor(), v - v.floor()
    horizontal = (iu + iv) % 2 == 0
    across = torch.where(horizontal, fv, fu) * strands
    across = across - across.floor()
    along = torch.where(horizontal, fu, fv)
    profile = torch.sin(math.pi * across).clamp_min(0) ** 0.6  # a round strand
    ends = 0.55 + 0.45 * torch.sin(math.pi * along).clamp_min(0) ** 0.5  # it dips under at the cell ends
    colour = torch.where(horizontal[..., None], colours[0], colours[1])
    img = colour * (0.25 + 0.85 * profile * ends)[..., None]
    return img * (1 + 0.06 * _smooth_noise(gen, x.shape[0], 64)[0])[..., None]


def _checker(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A rotated checkerboard in a light and a dark palette colour."""
    angle = torch.rand((), generator=gen) * math.pi / 2
    across = 7 + 11 * torch.rand((), generator=gen)  # 7..18 squares across
    colours = _palette(gen, 2)
    light, dark = 0.55 + 0.45 * colours[0], 0.4 * colours[1]
    u = (x * torch.cos(angle) + y * torch.sin(angle)) * across
    v = (-x * torch.sin(angle) + y * torch.cos(angle)) * across
    odd = (u.floor() + v.floor()).long() % 2 == 1
    return torch.where(odd[..., None], light, dark)


def _hatching(gen: torch.Generator, pal: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pen-and-ink cross-hatching on paper: up to three stroke layers where the tone is dark."""
    size = x.shape[0]
    paper = torch.tensor([0.95, 0.92, 0.84]) + 0.04 * (torch.rand(3, generator=gen) - 0.5)
    ink = _pick(gen, ((0.08, 0.08, 0.12), (0.25, 0.15, 0.08), (0.05, 0.1, 0.25)))
    ink = torch.tensor(ink)
    spacing = 1 / (18 + 14 * torch.rand((), generator=gen))  # 18..32 lines across
    angle0 = torch.rand((), generator=gen) * math.pi
    tone = (_smooth_noise(gen, size, 7)[0] + 1) / 2  # where the drawing is darker, more layers of hatching
    coverage = torch.zeros_like(x)
    for layer, step in enumerate((0.0, math.pi / 2, math.pi / 4)):
        a = angle0 + step
        wobble = 0.004 * _smooth_noise(gen, size, 12)[0]
        u = (x * torch.cos(a) + y * torch.sin(a) + wobble) / spacing
        t = (-x * torch.sin(a) + y * torch.cos(a)) / spacing
        line = u.floor().long()
        r = _cell_values(gen, line, torch.zeros_like(line), 2)
        dashes = (t / (6 + 10 * r[0]) + r[1]) % 1 < 0.88  # broken, pen-lifted strokes
        fu = u - u.floor()
        width = 0.12 + 0.1 * r[1]
        stroke = (1 - _smoothstep(width, width + 0.14, (fu - 0.5).abs() * 2)) * dashes
        shaded = tone > 0.3 + 0.18 * layer + 0.1 * (r[0] - 0.5)  # each stroke stops at its own place
        coverage = torch.maximum(coverage, stroke * shaded)
    return paper + (ink - paper) * coverage[..., None]


_STRUCTURED = {
    "bricks": _bricks,
    "tiles": _tiles,
    "scales": _scales,
    "wood": _wood,
    "cracks": _cracks,
    "weave": _weave,
    "checker": _checker,
    "hatching": _hatching,
}


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
        idx = u.floor().long() % 3
        img = pal[idx]
    elif kind == "mosaic":
        cells = int(8 + torch.randint(0, 16, (), generator=gen))
        colours = _palette(gen, 6)[torch.randint(0, 6, (cells, cells), generator=gen)]
        img = colours.repeat_interleave(math.ceil(size / cells), 0).repeat_interleave(
            math.ceil(size / cells), 1
        )
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
            length, width = (
                0.1 + 0.2 * torch.rand((), generator=gen),
                0.01 + 0.02 * torch.rand((), generator=gen),
            )
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
    elif kind == "dots":
        freq = int(6 + torch.randint(0, 14, (), generator=gen))
        d = torch.hypot((x * freq % 1) - 0.5, (y * freq % 1) - 0.5)
        img = torch.where((d < 0.3)[..., None], pal[1], pal[0])
    else:
        img = _STRUCTURED[kind](gen, pal, x, y)
    return img.clamp(0, 1).permute(2, 0, 1).contiguous().float()
