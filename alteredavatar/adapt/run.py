"""`stylize` end to end: check inputs, pick the initialization, adapt, write every output atomically.

Outputs in the run folder: style.safetensors + style.json, metrics.json, and the pictures of
`export/outputs.py`: turntable.mp4, expressions.png (unstylized row on top of views x named expressions),
portrait.png + portrait_original.png (front, neutral, 512 px).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

import alteredavatar
from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, AdaptResult, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.style_file import apply_style, load_style, save_style
from alteredavatar.avatar.pretrained import ASSETS, PRETRAINED_NET, load_avatar_with_reference
from alteredavatar.device import resolve_device
from alteredavatar.errors import ConfigError
from alteredavatar.eval.metrics import stylization_metrics
from alteredavatar.export.outputs import OutputConfig, render_outputs
from alteredavatar.guidance.clip import load_clip
from alteredavatar.io import write_json_atomic


@dataclass
class StylizeJob:
    """A whole stylization run."""

    style: StyleSpec = field(default_factory=StyleSpec)
    avatar: str = "builtin:ada"
    """`builtin:<ada|bo|chen|dev|eli|fay>` or a path to a .glb/.gltf head."""
    out: Path = Path("out/stylize")
    """Output folder: style.safetensors/.json, metrics.json, turntable.mp4, expressions.png."""
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    net: Path | None = None
    """Avatar network weights (default: the built-in pretrained network)."""
    init: str = "auto"
    """`auto` (meta-learned init when one exists for this network + guidance), `unstylized`, or a style folder."""
    eval_clip: str | None = None
    """A second CLIP (hub id or folder) for the metrics, so they are not judged by the training model."""
    device: str = "auto"
    """`auto` (CUDA when torch sees a GPU, else CPU), `cpu`, `cuda` or `cuda:N`."""


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def meta_init_path(guidance: str) -> Path:
    """Where the shipped meta-learned initialization for `guidance` lives."""
    return ASSETS / f"meta_init_{guidance}.safetensors"


def choose_init(job: StylizeJob, net_path: Path) -> tuple[dict[str, torch.Tensor] | None, str, str | None]:
    """(style state to start from or None, a label for the metadata, why `auto` fell back to the unstylized
    start, or None)."""
    if job.init == "unstylized":
        return None, "unstylized", None
    if job.init != "auto":
        state, _ = load_style(job.init)
        return state, f"style:{job.init}", None
    guidance = job.style.resolved_guidance()
    path = meta_init_path(guidance)
    make_one = (f"make one with `alteredavatar meta-train CONFIG --out RUN --net {net_path} --install` "
                f"(tasks: {{guidance: {guidance}}})")
    if not path.exists():
        why = f"no meta-learned init for {guidance} guidance is installed"
        return None, "unstylized", f"{why}; {make_one}"
    state, meta = load_style(path)
    if meta.get("avatar_net_sha256") not in (None, file_sha256(net_path)):
        why = f"the installed meta-learned init ({path.name}) was made for another avatar network"
        return None, "unstylized", f"{why}; {make_one}"
    return state, f"meta:{path.name}", None


def check_output_dir(out: Path) -> None:
    """Fail before any work when the output folder cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output folder {out}: {exc.strerror}") from None
    if not os.access(out, os.W_OK):
        raise ConfigError(f"output folder {out} is not writable")


def run_stylize(job: StylizeJob, progress: bool = True) -> dict:
    """Run `job`; returns the metadata written to style.json."""
    check_output_dir(job.out)
    job.adapt.check()
    device = resolve_device(job.device)
    guide = StyleGuide(job.style, job.objective, device, render_res=job.adapt.res)  # validates prompt / image / CLIP before any work
    judge = load_clip(job.eval_clip, device, offline=job.style.offline or None) if job.eval_clip else guide.clip
    net_path = job.net or PRETRAINED_NET
    avatar, source = load_avatar_with_reference(job.avatar, net_path, device)
    init, init_label, init_note = choose_init(job, net_path)
    if init is not None:
        apply_style(avatar.net, init)
    result: AdaptResult = Stylizer(avatar, guide, job.adapt, job.objective, source=source).run(progress)
    avatar.requires_grad_(False)
    metrics = stylization_metrics(avatar, source, guide.style_image, judge, job.style.text,
                                  same_clip_as_training=judge is not None and judge is guide.clip)
    metrics["history"] = result.history
    meta = {
        **guide.describe(), "strength": job.objective.strength, "steps": len(result.history),
        "steps_requested": job.adapt.steps, "interrupted": result.interrupted, "seconds": round(result.seconds, 2),
        "avatar": job.avatar, "avatar_net": str(net_path), "avatar_net_sha256": file_sha256(net_path),
        "init": init_label, **({"init_note": init_note} if init_note else {}),
        "lr": job.adapt.lr, "device": str(device),
        "adapt": asdict(job.adapt), "objective": asdict(job.objective),
        "versions": {"alteredavatar": alteredavatar.__version__, "torch": torch.__version__},
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
    }
    save_style(job.out, result.state, meta)
    write_json_atomic(metrics, job.out / "metrics.json")
    meta["outputs"] = render_outputs(avatar, source, job.out, job.output)
    return meta


def apply_saved_style(style: str | Path, avatar_spec: str, out: Path, cfg: OutputConfig,
                      net_path: Path | None = None, device: str = "auto") -> dict[str, str]:
    """Render a saved style on `avatar_spec` (turntable + grid with the unstylized row on top)."""
    state, _ = load_style(style)
    check_output_dir(out)
    net_path = net_path or PRETRAINED_NET
    avatar, source = load_avatar_with_reference(avatar_spec, net_path, resolve_device(device))
    apply_style(avatar.net, state)
    return render_outputs(avatar, source, out, cfg)
