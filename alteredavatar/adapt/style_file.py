"""Style files: only the style parameters (safetensors) + a JSON sidecar with everything else.

A style lives in a folder: `style.safetensors` (the bias-mapper tensors, and the UV detail pyramid stored
as fp16 to keep the file under 1 MB) and `style.json` (prompt, image hash, mix, strength, steps, guidance
model, avatar, versions, metrics). Never pickled. Files of format version 1 (made before the detail pyramid
existed) hold only the mappers; they load with a zero pyramid, which is exactly what they meant.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from alteredavatar.avatar.network import AvatarNet
from alteredavatar.errors import AlteredAvatarError, ConfigError
from alteredavatar.io import load_safetensors, save_safetensors_atomic, write_json_atomic

STYLE_FORMAT_VERSION = "2"
DETAIL_PREFIX = "detail."


def style_paths(path: str | Path, stem: str = "style") -> tuple[Path, Path]:
    """Accept a style folder (holding `<stem>.safetensors`) or the .safetensors/.json file itself."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        return path.with_suffix(".safetensors"), path.with_suffix(".json")
    return path / f"{stem}.safetensors", path / f"{stem}.json"


def save_style(folder: str | Path, state: dict[str, torch.Tensor], meta: dict, stem: str = "style") -> None:
    """Write the style tensors and metadata atomically (tensors first, JSON last = complete)."""
    tensors, sidecar = style_paths(folder, stem)
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise AlteredAvatarError(
            f"refusing to write a style with non-finite values (in {', '.join(bad[:3])})"
        )
    stored = {k: v.half() if k.startswith(DETAIL_PREFIX) else v for k, v in state.items()}
    save_safetensors_atomic(
        stored, tensors, {"format": "alteredavatar-style", "version": STYLE_FORMAT_VERSION}
    )
    write_json_atomic(meta, sidecar)


def load_style(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(state, metadata) of a saved style; a clear error for missing or foreign files."""
    tensors, sidecar = style_paths(path)
    state, header = load_safetensors(tensors)
    if header.get("format") != "alteredavatar-style":
        raise AlteredAvatarError(f"{tensors}: not an alteredavatar style file")
    if header.get("version", "1") not in ("1", STYLE_FORMAT_VERSION):
        raise AlteredAvatarError(
            f"{tensors}: style format version {header.get('version')} was made by a newer "
            "alteredavatar; upgrade to use it"
        )
    state = {k: v.float() for k, v in state.items()}
    bad = [k for k, v in state.items() if not torch.isfinite(v).all()]
    if bad:
        raise AlteredAvatarError(
            f"{tensors}: the style holds non-finite values (in {', '.join(bad[:3])}); it cannot be used"
        )
    try:
        meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    except (OSError, json.JSONDecodeError) as exc:
        raise AlteredAvatarError(f"{sidecar}: unreadable style metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise AlteredAvatarError(f"{sidecar}: style metadata must be a JSON object")
    return state, meta


def with_detail(state: dict[str, torch.Tensor], like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` with the detail-pyramid tensors of `like` added as zeros when it has none (a version-1
    style)."""
    if any(k.startswith(DETAIL_PREFIX) for k in state):
        return state
    return state | {k: torch.zeros_like(v) for k, v in like.items() if k.startswith(DETAIL_PREFIX)}


def apply_style(net: AvatarNet, state: dict[str, torch.Tensor]) -> None:
    """Load style tensors into `net`'s style subset (shapes must match this network)."""
    own = net.style_state()
    state = with_detail(state, own)
    if set(state) != set(own):
        raise AlteredAvatarError(
            "this style was made for a different avatar network (parameter names differ)"
        )
    for name, value in state.items():
        if value.shape != own[name].shape:
            raise AlteredAvatarError(
                f"style tensor {name} has shape {tuple(value.shape)}, expected {tuple(own[name].shape)}"
            )
    with torch.no_grad():
        for name, value in state.items():
            own[name].copy_(value)


def mix_styles(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], t: float) -> dict[str, torch.Tensor]:
    """(1 - t) * a + t * b, parameter by parameter; t = 0 gives a, t = 1 gives b exactly."""
    if not 0.0 <= t <= 1.0:
        raise ConfigError(f"--t must be in [0, 1], got {t}")
    a, b = with_detail(a, b), with_detail(b, a)
    if set(a) != set(b) or any(a[k].shape != b[k].shape for k in a):
        raise AlteredAvatarError("the two styles belong to different avatar networks")
    if t == 0.0:
        return {k: v.clone() for k, v in a.items()}
    if t == 1.0:
        return {k: v.clone() for k, v in b.items()}
    return {k: torch.lerp(a[k], b[k], t) for k in a}


def mix_style_files(path_a: str | Path, path_b: str | Path, t: float) -> tuple[dict[str, torch.Tensor], dict]:
    """(state, metadata) of the style (1 - t) * A + t * B; both must come from the same avatar network.
    The metadata records the inputs, `t`, and A's avatar and network (what the mix renders on)."""
    (a, meta_a), (b, meta_b) = load_style(path_a), load_style(path_b)
    sha_a, sha_b = meta_a.get("avatar_net_sha256"), meta_b.get("avatar_net_sha256")
    if sha_a and sha_b and sha_a != sha_b:
        raise AlteredAvatarError(
            "the two styles were made for different avatar networks; they cannot be mixed"
        )
    meta = {
        "mix_of": [str(path_a), str(path_b)],
        "t": t,
        "avatar": meta_a.get("avatar") or "builtin:ada",
        "avatar_net": meta_a.get("avatar_net"),
        "avatar_net_sha256": sha_a,
    }
    return mix_styles(a, b, t), meta
