"""Flags several commands share, with their help written once (tyro reads it from the annotation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import tyro

AvatarSpec = Annotated[
    str, tyro.conf.arg(help="`builtin:<ada|bo|chen|dev|eli|fay>` or a path to a .glb/.gltf head.")
]
DeviceSpec = Annotated[
    str, tyro.conf.arg(help="`auto` (CUDA when torch sees a GPU, else CPU), `cpu`, `cuda` or `cuda:N`.")
]
NetPath = Annotated[
    Path | None, tyro.conf.arg(help="Avatar network weights (default: the built-in pretrained network).")
]
Overwrite = Annotated[
    bool,
    tyro.conf.arg(
        help="Replace a previous run's outputs in --out (without it such a folder is refused). "
        "Either way the "
        "new outputs appear together at the end of the run; an interrupted or failed run leaves --out as "
        "it was."
    ),
]
