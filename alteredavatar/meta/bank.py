"""Style task banks from YAML: text prompts, style images, folders of images, procedural styles.

A bank has a `train` split and a `held_out` split that meta-training never sees. Example:

    train:
      procedural: {kinds: [stripes, mosaic, marble, strokes, noise, palette, metal, dots], seeds: 0-11}
      images: [styles/brick.png]
      folders: [styles/paintings]
      texts: ["a bronze statue"]
    held_out:
      procedural: {kinds: [stripes, mosaic, marble, strokes, noise, palette, metal, dots], seeds: 100-100}

`seeds` is a list or an inclusive range "a-b". Images are loaded lazily, through the same checks as
`stylize --style.image`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from alteredavatar.errors import ConfigError
from alteredavatar.guidance.images import load_style_image
from alteredavatar.guidance.procedural import KINDS, procedural_style

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


@dataclass(frozen=True)
class StyleEntry:
    """One style: a procedural (kind, seed), an image path, or a text prompt."""

    name: str
    kind: str  # "procedural" | "image" | "text"
    value: str
    seed: int = 0

    def image(self, size: int = 256) -> torch.Tensor | None:
        """(3, size, size) style image, or None for a text style."""
        if self.kind == "procedural":
            return procedural_style(self.value, self.seed, size)
        if self.kind == "image":
            return load_style_image(self.value, size)
        return None

    @property
    def text(self) -> str | None:
        return self.value if self.kind == "text" else None


def _seeds(spec) -> list[int]:
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, str) and "-" in spec:
        a, b = (int(x) for x in spec.split("-", 1))
        return list(range(a, b + 1))
    return [int(s) for s in spec]


def parse_split(spec: dict | None, root: Path) -> list[StyleEntry]:
    """Entries of one split (see module docstring)."""
    spec = spec or {}
    unknown = set(spec) - {"procedural", "images", "folders", "texts"}
    if unknown:
        raise ConfigError(f"unknown style bank keys {sorted(unknown)}; use procedural, images, folders, texts")
    out: list[StyleEntry] = []
    proc = spec.get("procedural")
    if proc:
        kinds = proc.get("kinds", list(KINDS))
        bad = [k for k in kinds if k not in KINDS]
        if bad:
            raise ConfigError(f"unknown procedural kinds {bad}; choose from {', '.join(KINDS)}")
        out += [StyleEntry(f"{k}-{s}", "procedural", k, s) for s in _seeds(proc.get("seeds", [0])) for k in kinds]
    for img in spec.get("images", []):
        path = (root / img).resolve()
        out.append(StyleEntry(path.stem, "image", str(path)))
    for folder in spec.get("folders", []):
        path = (root / folder).resolve()
        if not path.is_dir():
            raise ConfigError(f"style folder {path} does not exist")
        out += [StyleEntry(p.stem, "image", str(p)) for p in sorted(path.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    out += [StyleEntry(t, "text", t) for t in spec.get("texts", [])]
    return out


@dataclass
class StyleBank:
    train: list[StyleEntry]
    held_out: list[StyleEntry]

    @classmethod
    def from_dict(cls, spec: dict, root: Path = Path(".")) -> "StyleBank":
        bank = cls(parse_split(spec.get("train"), root), parse_split(spec.get("held_out"), root))
        if not bank.train:
            raise ConfigError("the style bank's train split is empty")
        overlap = {e.name for e in bank.train} & {e.name for e in bank.held_out}
        if overlap:
            raise ConfigError(f"held-out styles also appear in train: {sorted(overlap)[:5]}")
        return bank

    @classmethod
    def from_yaml(cls, path: str | Path) -> "StyleBank":
        path = Path(path)
        try:
            spec = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read style bank {path}: {exc}") from None
        return cls.from_dict(spec.get("styles", spec), path.parent)
