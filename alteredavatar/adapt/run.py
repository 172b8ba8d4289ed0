"""The commands' work, end to end: check every input, then compute, then write every output at once.

`stylize` (run_stylize), `apply` (apply_saved_style), `render` (run_render) and `mix` (run_mix) first
validate everything they were given (numbers, files, the output folder; see export/run_folder.py), so a
refused run writes nothing; then they work; then they write all their outputs into a staging folder that
moves into `--out` only when complete. `announce` (if given) is called once validation has passed, before
the long part, so a caller can say what is about to happen without echoing a run that will be refused.

Outputs in the run folder: style.safetensors + style.json, metrics.json, and the pictures of
`export/outputs.py`: turntable.mp4, expressions.png (unstylized row on top of views x named expressions),
portrait.png + portrait_original.png (front, neutral, 512 px).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

import alteredavatar
from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, AdaptResult, OnStep, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.style_file import apply_style, load_style, mix_style_files, save_style, style_paths
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.pretrained import ASSETS, PRETRAINED_NET, load_avatar_with_reference
from alteredavatar.checks import check_range
from alteredavatar.device import resolve_device
from alteredavatar.errors import TrainingError
from alteredavatar.eval.metrics import stylization_metrics
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.export.outputs import OutputConfig, render_outputs
from alteredavatar.export.run_folder import RunFolder
from alteredavatar.guidance.clip import load_clip
from alteredavatar.io import write_json_atomic
from alteredavatar.options import AvatarSpec, DeviceSpec, NetPath, Overwrite

STYLE_BYTES = 1_500_000  # style.safetensors + style.json + metrics.json, rounded up (disk-full estimate)
Announce = Callable[[], None] | None


@dataclass
class StylizeJob:
    """A whole stylization run."""

    style: StyleSpec = field(default_factory=StyleSpec)
    avatar: AvatarSpec = "builtin:ada"
    out: Path = Path("out/stylize")
    """Output folder: style.safetensors/.json, metrics.json, turntable.mp4, expressions.png, portraits."""
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    net: NetPath = None
    init: str = "auto"
    (  # tyro breaks help lines where a docstring does, so this one is split as string pieces
        "`auto` (meta-learned init when one exists for this network + guidance), `unstylized`, or a style "
        "folder."
    )
    metrics: bool = True
    """Judge the result into metrics.json (VGG, texture, identity, expression judges; on CPU often longer
    than a short adaptation). Off: metrics.json keeps the loss history only (the web app's default)."""
    eval_clip: str | None = None
    """A second CLIP (hub id or folder) for the metrics, so they are not judged by the training model."""
    device: DeviceSpec = "auto"
    overwrite: Overwrite = False

    def check(self, reads_style_image: bool = True) -> RunFolder:
        """Every number in range and an `--out` this run may write (created later); returns that folder.
        `reads_style_image=False` when the style image is given as a tensor and written as an output."""
        self.style.check()
        self.adapt.check()
        reads = avatar_files(self.avatar, self.net)
        reads += [self.style.image] if self.style.image is not None and reads_style_image else []
        init_folders = []
        if self.init not in ("auto", "unstylized"):
            reads += style_paths(self.init)
            init_folders.append(style_paths(self.init)[0].parent)
        folder = RunFolder(
            self.out, self.overwrite, reads, init_folders, STYLE_BYTES + self.output.estimate_bytes()
        )
        folder.check()
        return folder


def avatar_files(spec: str, net_path: Path | None = None) -> list[Path]:
    """The files an avatar spec (and a non-default network) reads: none for a built-in identity on the
    built-in network."""
    net = [Path(net_path)] if net_path else []
    if spec.startswith("builtin:"):
        return net
    from alteredavatar.avatar.gltf import external_files

    return [Path(spec), *external_files(spec), *net]


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
    make_one = (
        f"make one with `alteredavatar meta-train CONFIG --out RUN --net {net_path} --install` "
        f"(tasks: {{guidance: {guidance}}})"
    )
    if not path.exists():
        why = f"no meta-learned init for {guidance} guidance is installed"
        return None, "unstylized", f"{why}; {make_one}"
    state, meta = load_style(path)
    if meta.get("avatar_net_sha256") not in (None, file_sha256(net_path)):
        why = f"the installed meta-learned init ({path.name}) was made for another avatar network"
        return None, "unstylized", f"{why}; {make_one}"
    return state, f"meta:{path.name}", None


def check_finite_state(state: dict[str, torch.Tensor], lr: float | str) -> None:
    """Refuse to keep an adapted style with NaN or infinity (a too-high rate can get there without a
    non-finite loss), before anything is rendered or written."""
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise TrainingError(
            f"the adapted style holds non-finite values (in {', '.join(bad[:3])}) at --adapt.lr "
            f"{lr}; nothing was written. Try a lower --adapt.lr."
        )


def run_stylize(
    job: StylizeJob,
    progress: bool = True,
    style_image: torch.Tensor | None = None,
    announce: Announce = None,
    on_step: OnStep | None = None,
) -> dict:
    """Run `job`; returns the metadata written to style.json (plus "outputs": name -> path).

    `style_image` (3, H, W) in [0, 1] replaces reading `job.style.image` and is written there, in the run
    folder, with the other outputs (the demo's generated style). `on_step(done, total, losses)` is called
    after each adaptation step (the web app's progress bar)."""
    folder = job.check(reads_style_image=style_image is None)
    device = resolve_device(job.device)
    guide = StyleGuide(job.style, job.objective, device, image=style_image, render_res=job.adapt.res)
    judge = (
        load_clip(job.eval_clip, device, offline=job.style.offline or None) if job.eval_clip else guide.clip
    )
    net_path = job.net or PRETRAINED_NET
    avatar, source = load_avatar_with_reference(job.avatar, net_path, device)
    init, init_label, init_note = choose_init(job, net_path)
    if init is not None:
        apply_style(avatar.net, init)
    stylizer = Stylizer(avatar, guide, job.adapt, job.objective, source=source)
    if announce:
        announce()
    result: AdaptResult = stylizer.run(progress, on_step=on_step)
    check_finite_state(result.state, job.adapt.lr)
    avatar.requires_grad_(False)
    metrics = {}
    if job.metrics:
        metrics = stylization_metrics(
            avatar,
            source,
            guide.style_image,
            judge,
            job.style.text,
            same_clip_as_training=judge is not None and judge is guide.clip,
        )
    metrics["history"] = result.history
    meta = {
        **guide.describe(),
        "strength": job.objective.strength,
        "steps": len(result.history),
        "steps_requested": job.adapt.steps,
        "interrupted": result.interrupted,
        "seconds": round(result.seconds, 2),
        "avatar": job.avatar,
        "avatar_net": str(net_path),
        "avatar_net_sha256": file_sha256(net_path),
        "init": init_label,
        **({"init_note": init_note} if init_note else {}),
        "lr": job.adapt.lr,
        "device": str(device),
        "adapt": asdict(job.adapt),
        "objective": asdict(job.objective),
        "versions": {"alteredavatar": alteredavatar.__version__, "torch": torch.__version__},
        "metrics": {k: v for k, v in metrics.items() if k != "history"},
    }
    with folder.writing() as stage:
        save_style(stage, result.state, meta)
        write_json_atomic(metrics, stage / "metrics.json")
        outputs = render_outputs(avatar, source, stage, job.output)
        if style_image is not None:
            write_png(to_uint8(style_image[None])[0], stage / job.style.image.name)
    meta["outputs"] = _moved(outputs, stage, job.out)
    return meta


def apply_saved_style(
    style: str | Path,
    avatar_spec: str,
    out: Path,
    cfg: OutputConfig,
    net_path: Path | None = None,
    device: str = "auto",
    overwrite: bool = False,
    announce: Announce = None,
) -> dict[str, str]:
    """Render a saved style on `avatar_spec` (turntable + grid with the unstylized row on top) into `out`."""
    reads = [*style_paths(style), *avatar_files(avatar_spec, net_path)]
    folder = RunFolder(out, overwrite, reads, [style_paths(style)[0].parent], cfg.estimate_bytes())
    folder.check()
    avatar, source = load_styled_avatar(style, avatar_spec, net_path, device)
    return _render_into(folder, avatar, source, cfg, announce)


def load_styled_avatar(
    style: str | Path, avatar_spec: str, net_path: Path | None = None, device: str = "auto"
) -> tuple[AnimatableAvatar, AnimatableAvatar]:
    """(`avatar_spec` wearing the saved `style`, the same avatar unstylized), ready to render."""
    state, _ = load_style(style)
    avatar, source = load_avatar_with_reference(
        avatar_spec, net_path or PRETRAINED_NET, resolve_device(device)
    )
    apply_style(avatar.net, state)
    return avatar, source


def run_render(
    avatar_spec: str,
    out: Path,
    cfg: OutputConfig,
    net_path: Path | None = None,
    device: str = "auto",
    overwrite: bool = False,
    announce: Announce = None,
) -> dict[str, str]:
    """Render an unstylized avatar (turntable, expression grid, portrait) into `out`."""
    from alteredavatar.avatar.pretrained import load_avatar, load_avatar_net

    reads = avatar_files(avatar_spec, net_path)
    folder = RunFolder(out, overwrite, reads, estimate=cfg.estimate_bytes())
    folder.check()
    avatar = load_avatar(avatar_spec, load_avatar_net(net_path)).move_to(resolve_device(device))
    return _render_into(folder, avatar, None, cfg, announce)


def run_mix(
    style_a: Path,
    style_b: Path,
    t: float,
    out: Path,
    render: bool = True,
    overwrite: bool = False,
    announce: Announce = None,
    cfg: OutputConfig | None = None,
    device: str = "auto",
) -> dict[str, str]:
    """Write (1 - t) * A + t * B as a new style folder `out`, rendered (`cfg`, default outputs) on A's avatar
    unless `render` is off. Returns name -> path of what was written."""
    check_range("--t", t, 0, 1)
    cfg = cfg or OutputConfig()
    reads = [*style_paths(style_a), *style_paths(style_b)]
    folders = [style_paths(p)[0].parent for p in (style_a, style_b)]
    folder = RunFolder(out, overwrite, reads, folders, STYLE_BYTES + (cfg.estimate_bytes() if render else 0))
    folder.check()
    state, meta = mix_style_files(style_a, style_b, t)
    avatar = source = None
    if render:
        net = meta.get("avatar_net")
        net_path = Path(net) if net and Path(net).exists() else PRETRAINED_NET
        avatar, source = load_avatar_with_reference(meta["avatar"], net_path, resolve_device(device))
        apply_style(avatar.net, state)
    if announce:
        announce()
    with folder.writing() as stage:
        save_style(stage, state, meta)
        outputs = render_outputs(avatar, source, stage, cfg) if render else {}
    return {"style": str(out / "style.safetensors"), **_moved(outputs, stage, out)}


def _render_into(
    folder: RunFolder,
    avatar: AnimatableAvatar,
    source: AnimatableAvatar | None,
    cfg: OutputConfig,
    announce: Announce,
) -> dict[str, str]:
    if announce:
        announce()
    with folder.writing() as stage:
        outputs = render_outputs(avatar, source, stage, cfg)
    return _moved(outputs, stage, folder.out)


def _moved(outputs: dict[str, str], stage: Path, out: Path) -> dict[str, str]:
    """Output paths as they are after the staging folder was moved into `out`."""
    return {k: str(out / Path(v).relative_to(stage)) for k, v in outputs.items()}
