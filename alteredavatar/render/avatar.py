"""Render an `AnimatableAvatar` under expressions and cameras (the call every later stage makes)."""

from __future__ import annotations

import torch

from alteredavatar.avatar.model import AnimatableAvatar, AvatarFrame
from alteredavatar.render.cameras import Cameras
from alteredavatar.render.renderer import RenderConfig, RenderOutput, render_mesh


def render_avatar_frame(
    avatar: AnimatableAvatar, expr: torch.Tensor, cams: Cameras, cfg: RenderConfig | None = None
) -> tuple[RenderOutput, AvatarFrame]:
    """expr: (B, 52), cams: B cameras -> the render (image (B, 3, res, res)) and the avatar frame behind it.

    Cameras and expressions are sampled on the CPU (seeded generators); they move to the avatar's device
    here."""
    cfg = RenderConfig() if cfg is None else cfg
    expr, cams = expr.to(avatar.device), cams.to(avatar.device)
    frame = avatar(expr)
    m = avatar.mesh
    return render_mesh(frame.verts, m.faces, m.uvs, frame.albedo, cams, cfg, m.weld), frame


def render_avatar(
    avatar: AnimatableAvatar, expr: torch.Tensor, cams: Cameras, cfg: RenderConfig | None = None
) -> RenderOutput:
    """Like `render_avatar_frame`, the render only."""
    cfg = RenderConfig() if cfg is None else cfg
    return render_avatar_frame(avatar, expr, cams, cfg)[0]
