"""Per-session folders and upload checks.

Each browser session gets `ROOT/sessions/<session hash>/`, removed when the session ends. An upload is
checked by size and by content with the project's own loaders (an image must decode, a .glb must be a glTF
binary our loader reads), then copied into a fresh folder of its own under a fixed name: the visitor's file
name is never used, so `../../x.glb` cannot reach outside, and a .glb may only reference files beside it
(there are none).
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from alteredavatar.avatar.gltf import load_gltf
from alteredavatar.errors import AvatarLoadError, ConfigError
from alteredavatar.guidance.images import load_style_image

GLB_MAGIC = b"glTF"
_SESSION_HASH = re.compile(r"[A-Za-z0-9_-]{1,64}")


def session_dir(root: Path, session_hash: str | None) -> Path:
    """This session's folder (created on first use); the hash comes from Gradio but is checked anyway."""
    if not session_hash or not _SESSION_HASH.fullmatch(session_hash):
        raise ConfigError("this browser session has no usable id; reload the page")
    folder = root / "sessions" / session_hash
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def end_session(root: Path, session_hash: str | None) -> None:
    """Remove everything the session wrote (its uploads and runs)."""
    if session_hash and _SESSION_HASH.fullmatch(session_hash):
        shutil.rmtree(root / "sessions" / session_hash, ignore_errors=True)


def _check_size(path: Path, what: str, limit: int) -> None:
    size = path.stat().st_size
    if size > limit:
        raise ConfigError(f"the {what} is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB")


def _fresh(folder: Path, name: str, src: Path) -> Path:
    """Copy `src` to `folder/uploads/<new id>/name`."""
    dest = folder / "uploads" / uuid.uuid4().hex / name
    dest.parent.mkdir(parents=True)
    shutil.copyfile(src, dest)
    return dest


def accept_style_image(src: str | Path, folder: Path, limit: int) -> Path:
    """A checked copy of an uploaded style image in `folder` (StyleInputError when it does not decode)."""
    src = Path(src)
    _check_size(src, "style image", limit)
    dest = _fresh(folder, "style_upload" + (src.suffix.lower() if src.suffix.isascii() else ""), src)
    load_style_image(dest)
    return dest


def accept_glb(src: str | Path, folder: Path, limit: int) -> Path:
    """A checked copy of an uploaded avatar in `folder` (AvatarLoadError when it is not a usable .glb)."""
    src = Path(src)
    _check_size(src, "avatar file", limit)
    with src.open("rb") as f:
        if f.read(4) != GLB_MAGIC:
            raise AvatarLoadError(
                "the avatar upload is not a binary glTF (.glb) file; export the head as .glb"
            )
    dest = _fresh(folder, "avatar.glb", src)
    load_gltf(dest)
    return dest


def first_line(exc: BaseException) -> str:
    """An error as the page shows it: its first line (the rest is CLI advice)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
