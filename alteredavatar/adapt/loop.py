"""Test-time stylization: a few Adam steps on the style parameters only, each on random views x expressions.

The network's other parameters are frozen (and stay bit-identical). The unstylized renders of the same
views and expressions come from a frozen copy of the starting network, for the directional CLIP loss and
the identity term. Ctrl-C (or `StopRequested` raised by an `on_step` callback: the web app's Stop button)
stops early and returns what has been learned; a non-finite loss raises.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from alteredavatar.adapt.guide import StyleGuide
from alteredavatar.adapt.objective import ObjectiveConfig, displacement_regularizer
from alteredavatar.avatar.arkit import NUM_EXPR
from alteredavatar.avatar.expressions import ExpressionSamplerConfig, sample_expressions
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.seams import seam_loss
from alteredavatar.checks import check_range, check_seed
from alteredavatar.errors import TrainingError
from alteredavatar.guidance.image_ops import lowpass_distance
from alteredavatar.render.avatar import render_avatar_frame
from alteredavatar.render.cameras import ViewSamplerConfig, sample_views
from alteredavatar.render.renderer import RenderConfig

MAX_STEPS = 100_000  # adaptation steps; more is a typo, not a plan


@dataclass
class AdaptConfig:
    """The stylization loop (defaults are the benchmarked ones; see README)."""

    steps: int = 60
    """Adam steps on the style parameters."""
    lr: float = 2e-2
    # a pattern's colour forms sooner at a faster rate; the displacement saturates (docs/experiments.md)
    albedo_rate: float = 1.0
    """The detail pyramid's albedo steps at lr x this; its displacement and the bias mappers stay at lr."""
    batch: int = 4
    """Random views x random expressions rendered per step."""
    res: int = 128
    """Render size (pixels) during adaptation."""
    seed: int = 0
    subset: Literal["both", "mappers", "detail"] = "both"
    """Style parameters to adapt: bias mappers + UV detail pyramid (`both`), or one of them."""
    views: ViewSamplerConfig = field(default_factory=ViewSamplerConfig)
    expressions: ExpressionSamplerConfig = field(default_factory=ExpressionSamplerConfig)

    def check(self) -> None:
        """Refuse values that cannot work, naming the flag (every number finite and in range)."""
        check_range("--adapt.steps", self.steps, 1, MAX_STEPS)
        check_range("--adapt.lr", self.lr, 0, 1, lo_open=True)
        check_range("--adapt.albedo-rate", self.albedo_rate, 1, 10)
        check_range("--adapt.batch", self.batch, 1, 256)
        check_range("--adapt.res", self.res, 32, 1024)
        check_seed("--adapt.seed", self.seed)
        v = self.views
        for name, lo, hi in (
            ("yaw-range", 0, 180),
            ("front-bias", 0.25, 4),
            ("pitch-range", 0, 89),
            ("distance", 0.2, 5),
            ("distance-jitter", 0, 0.19),
            ("fov-deg", 5, 120),
            ("fov-jitter", 0, 4.9),
        ):
            check_range(f"--adapt.views.{name}", getattr(v, name.replace("-", "_")), lo, hi)
        e = self.expressions
        check_range("--adapt.expressions.active", e.active, 0, NUM_EXPR)
        check_range("--adapt.expressions.max-weight", e.max_weight, 0, 2)
        check_range("--adapt.expressions.preset-prob", e.preset_prob, 0, 1)
        check_range("--adapt.expressions.neutral-prob", e.neutral_prob, 0, 1 - e.preset_prob)
        check_range("--adapt.expressions.closed-eyes-prob", e.closed_eyes_prob, 0, 1)


@dataclass
class AdaptResult:
    """The adapted style state, per-step loss history, timing, and whether Ctrl-C stopped it early."""

    state: dict[str, torch.Tensor]
    history: list[dict[str, float]]
    seconds: float
    interrupted: bool = False


OptimizerFactory = Callable[[list[torch.Tensor]], torch.optim.Optimizer]
OnStep = Callable[[int, int, dict[str, float]], None]  # (steps done, steps in all, loss parts)


def channel_rate_adam(
    params: list[torch.Tensor], detail: torch.nn.Module, lr: float, albedo_rate: float = 1.0
) -> torch.optim.Optimizer:
    """Adam over the style parameters at `lr`, except the detail pyramid's albedo channels at
    `lr * albedo_rate`.

    The pyramid's levels are (1, 4, r, r) tensors (albedo 3 + displacement 1), and Adam's rate is per tensor,
    so its levels get `lr * albedo_rate` and a post-step hook shrinks the displacement channel's move back
    to `lr`'s: Adam's update of an element depends only on that element's gradients, so this is Adam at
    `lr` there exactly. At `albedo_rate` 1 it is plain Adam.
    """
    if albedo_rate == 1:
        return torch.optim.Adam(params, lr=lr)
    ids = {id(p) for p in detail.parameters()}
    levels = [p for p in params if id(p) in ids]
    groups = [{"params": [p for p in params if id(p) not in ids]}, {"params": levels, "lr": lr * albedo_rate}]
    opt = torch.optim.Adam([g for g in groups if g["params"]], lr=lr)
    before: list[torch.Tensor] = []

    def keep(*_):
        before[:] = [p.detach()[:, 3:].clone() for p in levels]

    def shrink(*_):
        with torch.no_grad():
            for p, old in zip(levels, before):
                p[:, 3:] = old + (p[:, 3:] - old) / albedo_rate

    opt.register_step_pre_hook(keep)
    opt.register_step_post_hook(shrink)
    return opt


class StopRequested(Exception):
    """Raised by an `on_step` callback to stop the adaptation early; handled exactly like Ctrl-C (the style
    learned so far is kept and the result says `interrupted`)."""


class Stylizer:
    """Holds one stylization problem (avatar, guide, configs) and runs steps on the style parameters."""

    def __init__(
        self,
        avatar: AnimatableAvatar,
        guide: StyleGuide,
        cfg: AdaptConfig,
        obj: ObjectiveConfig,
        source: AnimatableAvatar | None = None,
        optimizer: OptimizerFactory | None = None,
    ):
        """`source` renders the unstylized reference; by default a frozen copy of `avatar` as it is now.
        `optimizer` builds the optimizer over the style parameters (default: Adam at `cfg.lr`), e.g. a
        meta-learned update rule to compare against."""
        cfg.check()
        self.avatar, self.guide, self.cfg, self.obj = avatar, guide, cfg, obj
        self.make_optimizer = optimizer or (
            lambda params: channel_rate_adam(params, avatar.net.detail, cfg.lr, cfg.albedo_rate)
        )
        self.source = source or AnimatableAvatar(avatar.mesh, copy.deepcopy(avatar.net))
        self.source.requires_grad_(False)
        avatar.net.requires_grad_(False)
        self.params = avatar.net.style_parameters(cfg.subset)
        for p in self.params:
            p.requires_grad_(True)
        self.render_cfg = RenderConfig(res=cfg.res)
        self.gen = torch.Generator().manual_seed(cfg.seed)

    def loss(self, gen: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        """One random batch of views x expressions -> total loss and its parts."""
        cams = sample_views(self.cfg.batch, gen, self.cfg.views)
        expr = sample_expressions(self.cfg.batch, gen, self.cfg.expressions)
        with torch.no_grad():
            src, src_frame = render_avatar_frame(self.source, expr, cams, self.render_cfg)
        out, frame = render_avatar_frame(self.avatar, expr, cams, self.render_cfg)
        style, ident = self.guide.losses(out.image, src.image, out.mask, gen)
        ident = (
            ident
            + self.obj.identity_weight
            * lowpass_distance(out.image, src.image, self.obj.lowpass_factor).mean()
        )
        reg = self.guide.regularizer_scale * displacement_regularizer(
            frame.displacement - src_frame.displacement, self.obj
        )
        # on the albedo before stitching: a pattern that breaks at a seam would show as a blurred band
        change = frame.raw_albedo - src_frame.raw_albedo
        reg = reg + self.obj.seam_weight * seam_loss(change, self.avatar.seams)
        s = self.obj.strength
        total = (1 - s) * style + s * ident + reg
        return total, {
            "loss": total.item(),
            "style": style.item(),
            "identity": ident.item(),
            "reg": reg.item(),
        }

    def step(self, opt: torch.optim.Optimizer, step: int) -> dict[str, float]:
        """One update of the style parameters with `opt` (built by the optimizer factory); returns the
        loss parts."""
        opt.zero_grad(set_to_none=True)
        loss, parts = self.loss(self.gen)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"the loss became {parts['loss']} at step {step}; nothing was written. "
                "Try a lower --adapt.lr."
            )
        loss.backward()
        opt.step()
        return parts

    def run(
        self, progress: bool = True, label: str = "stylize", on_step: OnStep | None = None
    ) -> AdaptResult:
        """Adapt for `cfg.steps` steps (a rich bar on the console when `progress`); `on_step` is told after
        each step (a web page's progress bar) and may raise `StopRequested` to stop there."""
        opt = self.make_optimizer(self.params)
        history: list[dict[str, float]] = []
        interrupted = False
        start = time.perf_counter()
        cols = [
            TextColumn(label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        ]
        with Progress(*cols, disable=not progress, transient=False) as bar:
            task = bar.add_task(label, total=self.cfg.steps, loss=float("nan"))
            try:
                for step in range(self.cfg.steps):
                    parts = self.step(opt, step)
                    history.append({"step": step, "seconds": time.perf_counter() - start, **parts})
                    bar.update(task, advance=1, loss=parts["loss"])
                    if on_step:
                        on_step(step + 1, self.cfg.steps, parts)
            except (KeyboardInterrupt, StopRequested):
                interrupted = True
        state = {k: v.detach().to("cpu", copy=True) for k, v in self.avatar.net.style_state().items()}
        return AdaptResult(state, history, time.perf_counter() - start, interrupted)
