"""`export`: load a saved style (or none) onto an avatar and write it as an animatable .glb (export/glb.py).

Every input is checked before any work: the output path, the style file, that the style belongs to the
network it is applied to; the .glb appears whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

from alteredavatar.adapt.run import file_sha256
from alteredavatar.adapt.style_file import apply_style, load_style, style_paths
from alteredavatar.avatar.pretrained import DEFAULT_AVATAR, PRETRAINED_NET, load_avatar, load_avatar_net
from alteredavatar.device import resolve_device
from alteredavatar.errors import ConfigError
from alteredavatar.export.glb import GlbConfig, check_glb_path, export_glb


def check_style_net(style: Path, meta: dict, net_path: Path) -> None:
    """Refuse a style made for another avatar network (same shapes would load silently and look wrong)."""
    made_for = meta.get("avatar_net_sha256")
    if made_for and made_for != file_sha256(net_path):
        raise ConfigError(
            f"{style} was made for another avatar network ({meta.get('avatar_net', 'unknown')}) "
            f"than {net_path}; pass that one with --net"
        )


def export_avatar(
    glb: Path,
    cfg: GlbConfig | None = None,
    style: Path | None = None,
    avatar: str | None = None,
    net: Path | None = None,
    device: str = "auto",
) -> dict:
    """Write `style` (None: the plain avatar) on `avatar` (default: the style's own avatar, else the built-in
    head) to `glb`. Returns the export summary (path, bytes, counts) plus what was exported."""
    check_glb_path(glb)
    net_path = Path(net) if net else PRETRAINED_NET
    state, meta = load_style(style) if style is not None else (None, {})
    spec = avatar or meta.get("avatar") or DEFAULT_AVATAR
    if state is not None:
        check_style_net(style, meta, net_path)
    model = load_avatar(spec, load_avatar_net(net_path)).move_to(resolve_device(device))
    if state is not None:
        apply_style(model.net, state)
    # names only: the file may be shared, local folders stay private
    info = {
        "avatar": spec if spec.startswith("builtin:") else Path(spec).name,
        "style": style_paths(style)[0].parent.name if style is not None else None,
        "avatar_net": net_path.name,
        "texture": "albedo at the neutral expression (the network's albedo also varies with expression)",
        "morph_targets": "ARKit-52; each = network frame at that shape alone (weight 1) - neutral frame",
    }
    return export_glb(model, glb, cfg, info) | {
        "avatar": spec,
        "style": str(style) if style is not None else None,
    }
