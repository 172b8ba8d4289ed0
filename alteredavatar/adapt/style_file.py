"""Style files: only the style parameters (safetensors) + a JSON sidecar with everything else.

A style lives in a folder: `style.safetensors` (the bias-mapper tensors) and `style.json` (prompt, image
hash, mix, strength, steps, guidance model, avatar, versions, metrics). Never pickled.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from alteredavatar.avatar.network import AvatarNet
from alteredavatar.errors import AlteredAvatarError, ConfigError
from alteredavatar.io import load_safetensors, save_safetensors_atomic, write_json_atomic



def style_paths(path: str | Path, stem: str = "style") -> tuple[Path, Path]:
    """Accept a style folder (holding `<stem>.safetensors`) or the .safetensors/.json file itself."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        return path.with_suffix(".safetensors"), path.with_suffix(".json")
    return path / f"{stem}.safetensors", path / f"{stem}.json"


def save_style(folder: str | Path, state: dict[str, torch.Tensor], meta: dict, stem: str = "style") -> None:
    """Write the style tensors and metadata atomically (tensors first, JSON last = complete)."""
    tensors, sidecar = style_paths(folder, stem)
    save_safetensors_atomic(state, tensors, {"format": "alteredavatar-style", "version": "1"})
    write_json_atomic(meta, sidecar)


def load_style(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(state, metadata) of a saved style; a clear error for missing or foreign files."""
    tensors, sidecar = style_paths(path)
    state, header = load_safetensors(tensors)
    if header.get("format") != "alteredavatar-style":
        raise AlteredAvatarError(f"{tensors}: not an alteredavatar style file")
    try:
        meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise AlteredAvatarError(f"{sidecar}: unreadable style metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise AlteredAvatarError(f"{sidecar}: style metadata must be a JSON object")
    return state, meta


def apply_style(net: AvatarNet, state: dict[str, torch.Tensor]) -> None:
    """Load style tensors into `net`'s bias mappers (shapes must match this network)."""
    own = net.style_state()
    if set(state) != set(own):
        raise AlteredAvatarError("this style was made for a different avatar network (parameter names differ)")
    for name, value in state.items():
        if value.shape != own[name].shape:
            raise AlteredAvatarError(f"style tensor {name} has shape {tuple(value.shape)}, expected {tuple(own[name].shape)}")
    net.mappers.load_state_dict({k.removeprefix("mappers."): v for k, v in state.items()})


def mix_styles(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], t: float) -> dict[str, torch.Tensor]:
    """(1 - t) * a + t * b, parameter by parameter; t = 0 gives a, t = 1 gives b exactly."""
    if not 0.0 <= t <= 1.0:
        raise ConfigError(f"--t must be in [0, 1], got {t}")
    if set(a) != set(b) or any(a[k].shape != b[k].shape for k in a):
        raise AlteredAvatarError("the two styles belong to different avatar networks")
    if t == 0.0:
        return {k: v.clone() for k, v in a.items()}
    if t == 1.0:
        return {k: v.clone() for k, v in b.items()}
    return {k: torch.lerp(a[k], b[k], t) for k in a}
