"""Atomic file writes (temp file in the same folder, then rename) and safetensors helpers.

Every output the project writes goes through here, so an interrupted run never leaves a half-written file;
a killed one (SIGKILL, power loss) can leave a hidden temp file, which `remove_stale_temps` clears at the
start of the next run in that folder.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from alteredavatar.errors import AlteredAvatarError


@contextmanager
def atomic_path(path: str | Path, suffix: str | None = None):
    """Yield a temp path beside `path`; on success rename it to `path`, on error delete it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# `.<name>.<8 random chars><name's suffix>` files from atomic_path, `.<folder>.<8 random chars>` folders from
# mkdtemp beside a folder being written (turntable frames, a run's staging folder)
_TEMP_FILE = re.compile(r"\.(?P<name>.+(?P<suffix>\.[A-Za-z0-9]+))\.[a-z0-9_]{8}(?P=suffix)")
_TEMP_DIRS = ("turntable_frames", "alteredavatar-staging")


def is_temp_name(name: str) -> bool:
    """Whether `name` is one of our hidden temp files or folders (never a user's file)."""
    return bool(_TEMP_FILE.fullmatch(name)) or any(
        re.fullmatch(rf"\.{d}\.[a-z0-9_]{{8}}", name) for d in _TEMP_DIRS
    )


def remove_stale_temps(folder: str | Path) -> list[str]:
    """Remove the temp files and folders an earlier, killed run left in `folder`; returns their names."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for entry in folder.iterdir():
        if is_temp_name(entry.name):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json_atomic(obj, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_safetensors_atomic(
    tensors: dict[str, torch.Tensor], path: str | Path, meta: dict[str, str] | None = None
) -> None:
    with atomic_path(path) as tmp:
        try:
            save_file(
                {k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=meta or {}
            )
        except OSError:
            raise
        except Exception as exc:  # safetensors reports I/O failures as its own error type
            if "os error 28" in str(exc) or "No space left" in str(exc):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path)) from exc
            raise


def load_safetensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and string metadata of a safetensors file, with a clear error for bad files."""
    path = Path(path)
    if not path.is_file():
        raise AlteredAvatarError(f"{path}: no such file")
    try:
        with safe_open(str(path), framework="pt") as fh:
            meta = fh.metadata() or {}
            return {k: fh.get_tensor(k) for k in fh.keys()}, meta  # noqa: SIM118 (safe_open is not iterable)
    except Exception as exc:  # safetensors raises several types for corrupt headers
        raise AlteredAvatarError(f"{path}: not a readable safetensors file ({exc})") from None
