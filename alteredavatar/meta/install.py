"""Install a meta-training result as the package's default initialization for its guidance."""

from __future__ import annotations

from pathlib import Path

from alteredavatar.adapt.run import meta_init_path
from alteredavatar.adapt.style_file import load_style, save_style
from alteredavatar.errors import AlteredAvatarError


def install_init(run_dir: str | Path) -> Path:
    """Copy `<run_dir>/init.*` to assets/meta_init_<guidance>.* (atomically); returns the new path."""
    state, meta = load_style(Path(run_dir) / "init.safetensors")
    if meta.get("kind") != "meta-init" or "guidance" not in meta:
        raise AlteredAvatarError(f"{run_dir}/init.json is missing or not from meta-train")
    dest = meta_init_path(meta["guidance"])
    save_style(dest, state, meta)
    return dest
