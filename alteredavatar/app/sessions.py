"""Per-session folders and upload checks.

Each browser session gets `ROOT/sessions/<session hash>/`, removed when the session ends. An upload is
checked by size and by content with the project's own loaders (an image must decode, a .glb must be a glTF
binary our loader reads), then copied into a fresh folder of its own under a fixed name: the visitor's file
name is never used, so `../../x.glb` cannot reach outside. A .gltf comes with the files its URIs name
(buffers, images) in the same upload: each is copied to the path its URI gives inside that fresh folder (a
URI that leaves the folder is refused), so the loader's own rule, nothing outside the model's folder, holds.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

from alteredavatar.avatar.gltf import load_gltf
from alteredavatar.errors import AvatarLoadError, ConfigError
from alteredavatar.guidance.images import load_style_image

GLB_MAGIC = b"glTF"
AVATAR_TYPES = (".glb", ".gltf", ".bin", ".png", ".jpg", ".jpeg", ".webp", ".ktx2")  # a model and its files
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


def accept_avatar(files: list[str | Path], folder: Path, limit: int) -> Path:
    """A checked copy of an uploaded avatar: one .glb, or one .gltf together with the files it references
    (its URIs, relative, inside the model's folder). `limit` bounds the whole upload."""
    files = [Path(f) for f in files]
    _check_total(files, limit)
    models = [f for f in files if f.suffix.lower() in (".glb", ".gltf")]
    if len(models) != 1:
        raise ConfigError(
            "upload one .glb, or one .gltf with the files it references (buffers, textures) "
            f"in the same upload; got {len(models)} models"
        )
    if models[0].suffix.lower() == ".glb":
        if len(files) > 1:
            raise ConfigError("a .glb holds its buffers and textures; upload it alone")
        return accept_glb(models[0], folder, limit)
    return _accept_gltf(models[0], [f for f in files if f != models[0]], folder)


def _check_total(files: list[Path], limit: int) -> None:
    size = sum(f.stat().st_size for f in files)
    if size > limit:
        raise ConfigError(f"the avatar upload is {size / 1e6:.1f} MB; the limit is {limit / 1e6:.0f} MB")


def _gltf_uris(path: Path) -> list[str]:
    """The relative file URIs of a .gltf's buffers and images (AvatarLoadError when it is not glTF JSON)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
        items = [i for key in ("buffers", "images") for i in doc.get(key) or [] if isinstance(i, dict)]
    except (OSError, ValueError, AttributeError, TypeError) as exc:
        raise AvatarLoadError("the .gltf upload is not glTF JSON; export the head as .glb or .gltf") from exc
    uris = [i.get("uri") for i in items]
    return [u for u in uris if isinstance(u, str) and u and not u.startswith("data:")]


def _accept_gltf(model: Path, others: list[Path], folder: Path) -> Path:
    """Copy the .gltf as `avatar.gltf` into a fresh folder and each referenced file to its URI's place there,
    taken from the upload by file name; then load it (the loader refuses anything outside that folder)."""
    dest = _fresh(folder, "avatar.gltf", model)
    root = dest.parent.resolve()
    by_name = {f.name: f for f in others}
    for uri in _gltf_uris(dest):
        scheme = urlsplit(uri).scheme
        target = (root / unquote(uri)).resolve()
        if (scheme and len(scheme) > 1) or not target.is_relative_to(root) or target == root:
            raise AvatarLoadError(
                f"the .gltf references {uri!r}, which is not a file beside it; only relative paths inside "
                "the model's folder are read (export a .glb to embed everything)"
            )
        src = by_name.get(target.name)
        if src is None:
            raise AvatarLoadError(
                f"the .gltf references {target.name}, which is not in the upload; select it together "
                "with the .gltf (or export a .glb)"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    load_gltf(dest)
    return dest


# The page shows the library's messages with each CLI flag replaced by the field a visitor sets instead.
UI_FIELDS = {
    "--style.text": '"Style text"',
    "--style.image": '"Style image"',
    "--style.mix": '"Mix (text - image)"',
    "--style.guidance": '"Guidance"',
    "--objective.strength": '"Strength"',
    "--adapt.steps": '"Steps"',
    "--adapt.seed": '"Seed"',
    "--avatar": '"Avatar"',
    "--t": '"Mix t"',
}
_FLAG = re.compile(r"--[a-z](?:[a-z0-9.-]*[a-z0-9])?")


def first_line(exc: BaseException) -> str:
    """An error as the page shows it: its first line (the rest is CLI advice), with the CLI flags the page
    has fields for named by those fields."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return _FLAG.sub(lambda m: UI_FIELDS.get(m.group(0), m.group(0)), line)
