"""The pictures and videos a run leaves behind: turntable (MP4, optionally GIF and transparent PNG frames),
expression grid and portraits, rendered with studio lighting at product sizes.

Guidance renders small and flat-lit (cheap, even); these outputs are what people keep and share.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from alteredavatar.avatar.expressions import PRESET_NAMES, preset
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.checks import check_range
from alteredavatar.errors import ConfigError
from alteredavatar.export.media import grid, to_uint8, write_gif, write_mp4, write_png, write_png_frames
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig
from alteredavatar.render.sequences import render_expression_grid, render_turntable


@dataclass
class OutputConfig:
    """What to render after stylization (and for `render` / `apply`)."""

    frames: int = 48
    """Turntable frames (a full turn, cycling the named expressions)."""
    res: int = 512
    """Turntable frame and expression-grid cell size in pixels (even, for H.264)."""
    ssaa: float = 1.25
    """Supersampling of turntable and grid (rasterize at res x ssaa, box-filter down); 1.25 keeps the default
    turntable within 2x the time of the old 224 px one (bench/results/outputs.md)."""
    fps: int = 24
    portrait_res: int = 512
    """Size of portrait.png / portrait_original.png."""
    portrait_ssaa: float = 2.0
    shading: Literal["studio", "flat"] = "studio"
    """`studio` (key + fill + rim light, a little specular) or `flat` (the Lambert light guidance sees)."""
    gif: bool = False
    """Also write turntable.gif."""
    png_frames: bool = False
    """Also write the turntable as transparent RGBA PNGs in turntable_frames/."""

    def __post_init__(self) -> None:
        """Every number in range, named by its flag."""
        check_range("--output.frames", self.frames, 1, 3600)
        check_range("--output.fps", self.fps, 1, 120)
        if self.res % 2:
            raise ConfigError(f"--output.res must be an even size (H.264), got {self.res}")
        check_range("--output.res", self.res, 16, 4096)
        check_range("--output.portrait-res", self.portrait_res, 16, 4096)
        check_range("--output.ssaa", self.ssaa, 1, 4)
        check_range("--output.portrait-ssaa", self.portrait_ssaa, 1, 4)

    def estimate_bytes(self) -> int:
        """Rough size of the files `render_outputs` writes, for a disk-full message (generous guesses of the
        compressed bytes per pixel of H.264, PNG and GIF)."""
        px, grid_cells = self.res**2, 4 * len(PRESET_NAMES)
        size = self.frames * px * 0.2 + grid_cells * px * 1.5 + 2 * self.portrait_res**2 * 1.5
        size += self.frames * px * (1.0 * self.gif + 2.0 * self.png_frames)
        return int(size)

    def render_config(self, portrait: bool = False) -> RenderConfig:
        if portrait:
            return RenderConfig(res=self.portrait_res, ssaa=self.portrait_ssaa, shading=self.shading)
        return RenderConfig(res=self.res, ssaa=self.ssaa, shading=self.shading)


def render_view(
    avatar: AnimatableAvatar, cfg: OutputConfig, expression: str = "neutral", yaw_deg: float = 0.0
) -> np.ndarray:
    """One portrait-size picture of `avatar` with a named expression (avatar/expressions.py), seen from
    `yaw_deg` degrees around the head (0: front): (H, W, 3) uint8. The portraits are this at yaw 0."""
    check_range("yaw", yaw_deg, -180, 180)
    cams, expr = front_views((float(yaw_deg),)), preset(expression)[None]
    with torch.no_grad():
        return to_uint8(render_avatar(avatar, expr, cams, cfg.render_config(portrait=True)).image)[0]


def render_portraits(
    styled: AnimatableAvatar, source: AnimatableAvatar | None, out: Path, cfg: OutputConfig
) -> dict[str, str]:
    """portrait.png (front, neutral) and, given the unstylized `source`, portrait_original.png (same
    camera)."""
    paths = {"portrait": (styled, out / "portrait.png")}
    if source is not None:
        paths["portrait_original"] = (source, out / "portrait_original.png")
    for avatar, path in paths.values():
        write_png(render_view(avatar, cfg), path)
    return {k: str(p) for k, (_, p) in paths.items()}


def render_outputs(
    styled: AnimatableAvatar, source: AnimatableAvatar | None, out: Path, cfg: OutputConfig
) -> dict[str, str]:
    """turntable.mp4 (+ .gif, + turntable_frames/), expressions.png (with `source`, its front row on top of
    the views x expressions) and the portraits. Returns name -> path."""
    rcfg = cfg.render_config()
    frames = render_turntable(styled, cfg.frames, rcfg, alpha=True)  # (N, 4, H, W) straight RGBA
    bg = torch.tensor(rcfg.background).view(1, 3, 1, 1)
    video = to_uint8(frames[:, :3] * frames[:, 3:] + bg * (1 - frames[:, 3:]))
    paths = {"turntable": out / "turntable.mp4", "expressions": out / "expressions.png"}
    write_mp4(video, paths["turntable"], cfg.fps)
    if cfg.gif:
        paths["turntable_gif"] = out / "turntable.gif"
        write_gif(video, paths["turntable_gif"], cfg.fps)
    if cfg.png_frames:
        paths["turntable_frames"] = out / "turntable_frames"
        write_png_frames(to_uint8(frames), paths["turntable_frames"])
    cells = render_expression_grid(styled, cfg=rcfg)
    rows = ["left", "front", "right"]
    if source is not None:
        cells, rows = (
            torch.cat([render_expression_grid(source, yaws=(0.0,), cfg=rcfg), cells]),
            ["original", *rows],
        )
    images = to_uint8(cells.flatten(0, 1)).reshape(*cells.shape[:2], *video.shape[1:])
    write_png(grid(images, list(PRESET_NAMES), rows), paths["expressions"])
    return {k: str(v) for k, v in paths.items()} | render_portraits(styled, source, out, cfg)
