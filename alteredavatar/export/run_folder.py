"""The output folder of one run: checked before any work, created last, filled all at once.

Outputs are written into a hidden staging folder inside `--out` and moved into place together once every
one is written, so a folder never holds half a run, or a new style beside an old run's videos. A folder
that already holds a run's outputs is refused unless `--overwrite` is given (the old outputs are then
removed as the new ones move in), and so is an `--out` that would replace a file the run reads. A disk
that fills up, or any other write error, removes what was staged and says so in one line.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alteredavatar.errors import ConfigError, OutputWriteError
from alteredavatar.io import remove_stale_temps

OUTPUT_NAMES = (
    "style.safetensors",
    "style.json",
    "metrics.json",
    "turntable.mp4",
    "turntable.gif",
    "turntable_frames",
    "expressions.png",
    "portrait.png",
    "portrait_original.png",
    "style_image.png",
)
STAGING_PREFIX = ".alteredavatar-staging."  # io.is_temp_name knows it, so a killed run's stage is cleared


@dataclass
class RunFolder:
    """`out` for one run. `reads`: files the run reads (none may be one it replaces); `read_folders`: style
    folders it reads (`out` may not be one); `estimate`: rough bytes of all outputs, for a disk-full
    message; `outputs`: the names it writes."""

    out: Path
    overwrite: bool = False
    reads: Sequence[Path] = ()
    read_folders: Sequence[Path] = ()
    estimate: int = 0
    outputs: Sequence[str] = OUTPUT_NAMES
    """The names a run of this kind writes (a stylize run's by default)."""

    def check(self) -> None:
        """Refuse an `out` this run cannot or must not write, before any work; creates nothing."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} is a file, not a folder; choose a folder")
        _check_creatable(out)
        here = out.resolve()
        for folder in self.read_folders:
            if Path(folder).resolve() == here:
                raise ConfigError(f"--out {out} is one of the input styles ({folder}); choose another folder")
        for path in self.reads:
            rel = _relative(Path(path).resolve(), here)
            if rel is not None and rel.parts[0] in self.outputs:
                raise ConfigError(f"--out {out} would overwrite the input {path}; choose another folder")
        previous = self.previous_outputs()
        if previous and not self.overwrite:
            raise ConfigError(
                f"--out {out} already holds a run's outputs ({', '.join(previous[:3])}); pass "
                "--overwrite to replace them, or choose another folder"
            )

    def previous_outputs(self) -> list[str]:
        return [n for n in self.outputs if os.path.lexists(self.out / n)]

    @contextmanager
    def writing(self) -> Iterator[Path]:
        """Yield a staging folder for every output; afterwards move them into `out` (replacing a previous
        run's outputs). On an error or an interrupt remove them and any folder made here, and re-raise
        (an `OSError` as a one-line `OutputWriteError`)."""
        created: list[Path] = []
        stage = None
        try:
            created = _make_dirs(self.out)
            remove_stale_temps(self.out)
            stage = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out))
            yield stage
            self._commit(stage)
        except BaseException as exc:
            written = _size(stage) if stage is not None else 0
            if stage is not None:
                shutil.rmtree(stage, ignore_errors=True)
            for folder in reversed(created):
                try:
                    folder.rmdir()
                except OSError:
                    break
            if isinstance(exc, OSError):
                raise self.write_error(exc, written, stage) from None
            if isinstance(exc, KeyboardInterrupt):
                exc.add_note(f"nothing new was written to {self.out}")
            raise

    def _commit(self, stage: Path) -> None:
        """Remove the previous run's outputs, then move the staged ones into place."""
        for name in self.previous_outputs():
            _remove(self.out / name)
        for entry in sorted(stage.iterdir()):
            os.replace(entry, self.out / entry.name)
        stage.rmdir()

    def write_error(self, exc: OSError, written: int, stage: Path | None = None) -> OutputWriteError:
        """One line: a full disk with the space needed and free, else the system's reason (naming the
        output as it would have been called, not its removed staging path)."""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            free = _free_bytes(self.out)
            return OutputWriteError(
                f"the disk is full: the outputs for {self.out} need about {_mb(max(self.estimate, written))} "
                f"and {_mb(free)} are free; nothing was written (free some space or choose another --out)"
            )
        name = Path(exc.filename) if exc.filename else None
        if name is not None and stage is not None and name.is_relative_to(stage):
            name = self.out / name.relative_to(stage)
        where = f" ({name})" if name is not None else ""
        return OutputWriteError(
            f"cannot write the outputs to {self.out}: {exc.strerror or exc}{where}; nothing was written"
        )


def _check_creatable(out: Path) -> None:
    """The nearest existing folder at or above `out` must be a writable folder."""
    parent = out
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"cannot create output folder {out}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot create output folder {out}: {parent} is not writable")


def _make_dirs(out: Path) -> list[Path]:
    """Create `out` and missing parents; returns the folders created, outermost first."""
    missing = []
    folder = out
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    out.mkdir(parents=True, exist_ok=True)
    return missing[::-1]


def _relative(path: Path, folder: Path) -> Path | None:
    try:
        rel = path.relative_to(folder)
    except ValueError:
        return None
    return rel if rel.parts else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else 0


def _free_bytes(path: Path) -> int:
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"
