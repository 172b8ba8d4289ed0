"""Turntables and view x expression grids of an avatar (what videos and PNG grids are made from)."""

from __future__ import annotations

import torch

from alteredavatar.avatar.expressions import PRESET_NAMES, preset, presets
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views, turntable
from alteredavatar.render.renderer import RenderConfig


def expression_cycle(n: int, names=PRESET_NAMES) -> torch.Tensor:
    """(n, 52) codes that blend smoothly through the named presets and back to the first."""
    table = presets(names)
    t = torch.arange(n, dtype=torch.float32) * len(table) / n
    i0 = t.floor().long() % len(table)
    i1 = (i0 + 1) % len(table)
    a = (0.5 - 0.5 * torch.cos(torch.pi * (t - t.floor())))[:, None]  # ease in/out
    return table[i0] * (1 - a) + table[i1] * a


def with_alpha(image: torch.Tensor, mask: torch.Tensor, background) -> torch.Tensor:
    """(B, 3, H, W) render over `background` + (B, 1, H, W) coverage -> (B, 4, H, W) straight (not
    premultiplied) RGBA, so the head can be laid over any backdrop."""
    bg = torch.tensor(background, dtype=image.dtype, device=image.device).view(1, 3, 1, 1)
    rgb = (image - bg * (1 - mask)) / mask.clamp_min(1e-6)
    return torch.cat([torch.where(mask > 0, rgb, torch.zeros_like(rgb)).clamp(0, 1), mask], 1)


@torch.no_grad()
def render_turntable(
    avatar: AnimatableAvatar,
    frames: int = 72,
    cfg: RenderConfig | None = None,
    animate: bool = True,
    chunk: int = 8,
    alpha: bool = False,
) -> torch.Tensor:
    """(frames, 3, H, W): a full turn, cycling through the named expressions when `animate`; with `alpha`,
    (frames, 4, H, W) straight RGBA (transparent background)."""
    cfg = RenderConfig() if cfg is None else cfg
    cams = turntable(frames)
    expr = expression_cycle(frames) if animate else preset("neutral").expand(frames, -1)
    out = []
    for s in range(0, frames, chunk):
        sl = slice(s, s + chunk)
        sub = type(cams)(cams.eye[sl], cams.target[sl], cams.fov_deg[sl])
        r = render_avatar(avatar, expr[sl], sub, cfg)
        out.append(with_alpha(r.image, r.mask, cfg.background) if alpha else r.image)
    return torch.cat(out)


@torch.no_grad()
def render_expression_grid(
    avatar: AnimatableAvatar, yaws=(-35.0, 0.0, 35.0), names=PRESET_NAMES, cfg: RenderConfig | None = None
) -> torch.Tensor:
    """(len(yaws), len(names), 3, H, W): every view under every named expression."""
    cfg = RenderConfig() if cfg is None else cfg
    rows = []
    for yaw in yaws:
        cams = front_views((yaw,) * len(names))
        rows.append(render_avatar(avatar, presets(names), cams, cfg).image)
    return torch.stack(rows)
