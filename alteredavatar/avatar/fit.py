"""Fit the avatar network so each unstylized identity reproduces its own albedo with ~zero displacement.

The fitted weights are the built-in pretrained avatar network (`alteredavatar fit-avatar` regenerates
them). The held-out identity is never seen here; `evaluate` reports how well it encodes anyway.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from alteredavatar.avatar.expressions import ExpressionSamplerConfig, sample_expressions
from alteredavatar.avatar.identities import TRAIN_IDENTITIES, builtin_avatar
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig
from alteredavatar.io import save_safetensors_atomic


@dataclass
class FitConfig:
    """Training of the unstylized avatar network."""

    steps: int = 600
    lr: float = 2e-3
    identities_per_step: int = 2
    expressions_per_identity: int = 2
    displacement_weight: float = 1e5  # on mean squared metres: 1 mm RMS costs 0.1, far above the colour MSE
    seed: int = 0
    identities: tuple[str, ...] = TRAIN_IDENTITIES
    net: AvatarNetConfig = field(default_factory=AvatarNetConfig)


def masked_psnr(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR in dB over masked texels; pred/target (B, 3, R, R), mask (1 or B, 1, R, R)."""
    err = ((pred - target) ** 2 * mask).sum() / (mask.expand_as(pred).sum().clamp(min=1))
    return float(10 * torch.log10(1.0 / err.clamp(min=1e-12)))


def fit_loss(avatar: AnimatableAvatar, expr: torch.Tensor, cfg: FitConfig) -> torch.Tensor:
    """Masked albedo MSE (+ a little off-mask, so seams bleed sensibly) + displacement magnitude."""
    frame = avatar(expr)
    w = avatar.uv_mask + 0.05
    colour = ((frame.raw_albedo - avatar.albedo_target) ** 2 * w).mean()
    return colour + cfg.displacement_weight * (frame.displacement**2).mean()


def fit_avatar_net(cfg: FitConfig | None = None, progress: bool = True) -> tuple[AvatarNet, dict]:
    """Train all network parameters on `cfg.identities`; returns the net and a metrics dict."""
    cfg = FitConfig() if cfg is None else cfg
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    net = AvatarNet(cfg.net)
    avatars = [AnimatableAvatar(builtin_avatar(name), net) for name in cfg.identities]
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / cfg.steps)))
    exp_cfg = ExpressionSamplerConfig(closed_eyes_prob=0.0)  # as the shipped network was fitted
    cols = [
        TextColumn("fit avatar"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} loss {task.fields[loss]:.5f}"),
        TimeRemainingColumn(),
    ]
    with Progress(*cols, disable=not progress) as bar:
        task = bar.add_task("fit", total=cfg.steps, loss=float("nan"))
        for _ in range(cfg.steps):
            opt.zero_grad(set_to_none=True)
            total = 0.0
            pick = torch.randperm(len(avatars), generator=gen)[: cfg.identities_per_step]
            for i in pick.tolist():
                loss = fit_loss(
                    avatars[i], sample_expressions(cfg.expressions_per_identity, gen, exp_cfg), cfg
                )
                loss.backward()
                total += loss.item()
            opt.step()
            sched.step()
            bar.update(task, advance=1, loss=total / len(pick))
    return net, evaluate(net)


@torch.no_grad()
def evaluate(net: AvatarNet, names: tuple[str, ...] | None = None, n_expr: int = 6, seed: int = 123) -> dict:
    """Per-identity UV albedo PSNR (dB) and max |displacement| (mm) over random expressions."""
    from alteredavatar.avatar.identities import IDENTITY_NAMES

    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name in names or IDENTITY_NAMES:
        av = AnimatableAvatar(builtin_avatar(name), net)
        frame = av(sample_expressions(n_expr, gen))
        out[name] = {
            "albedo_psnr_db": round(masked_psnr(frame.raw_albedo, av.albedo_target, av.uv_mask), 2),
            "max_abs_displacement_mm": round(float(frame.displacement.abs().max()) * 1000, 3),
        }
    return out


def save_avatar_net(net: AvatarNet, path: Path, meta: dict) -> None:
    """safetensors weights + the config and metrics as JSON metadata, written atomically."""
    meta = {"config": json.dumps(asdict(net.cfg)), **{k: json.dumps(v) for k, v in meta.items()}}
    save_safetensors_atomic({k: v.contiguous() for k, v in net.state_dict().items()}, path, meta)
