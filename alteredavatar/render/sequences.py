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


@torch.no_grad()
def render_turntable(avatar: AnimatableAvatar, frames: int = 72, cfg: RenderConfig = RenderConfig(),
                     animate: bool = True, chunk: int = 8) -> torch.Tensor:
    """(frames, 3, H, W): a full turn, cycling through the named expressions when `animate`."""
    cams = turntable(frames)
    expr = expression_cycle(frames) if animate else preset("neutral").expand(frames, -1)
    out = []
    for s in range(0, frames, chunk):
        sl = slice(s, s + chunk)
        sub = type(cams)(cams.eye[sl], cams.target[sl], cams.fov_deg[sl])
        out.append(render_avatar(avatar, expr[sl], sub, cfg).image)
    return torch.cat(out)


@torch.no_grad()
def render_expression_grid(avatar: AnimatableAvatar, yaws=(-35.0, 0.0, 35.0), names=PRESET_NAMES,
                           cfg: RenderConfig = RenderConfig()) -> torch.Tensor:
    """(len(yaws), len(names), 3, H, W): every view under every named expression."""
    rows = []
    for yaw in yaws:
        cams = front_views((yaw,) * len(names))
        rows.append(render_avatar(avatar, presets(names), cams, cfg).image)
    return torch.stack(rows)
