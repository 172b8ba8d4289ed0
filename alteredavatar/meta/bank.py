"""Style task banks: text prompts, style images, folders of images, procedural styles.

A bank has a `train` split and a `held_out` split that meta-training never sees; `StyleBankConfig` describes
it (the `styles:` part of a meta-train config, e.g. in YAML):

    styles:
      train:
        procedural: {kinds: [stripes, mosaic, marble], seeds: 0-11}
        images: [styles/brick.png]
        folders: [styles/paintings]
        texts: ["a bronze statue"]
      held_out:
        procedural: {seeds: 100-100}

`seeds` is an inclusive range "a-b" or a comma list "1,5,9". Images are loaded lazily, through the same
checks as `stylize --style.image`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

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


@dataclass
class ProceduralStyles:
    """Procedural styles: every kind x every seed."""

    kinds: tuple[str, ...] = KINDS
    seeds: str = ""
    """An inclusive range "a-b" or a comma list "1,5,9" (empty: no procedural styles)."""


@dataclass
class StyleSplit:
    """One split of the style bank; paths are relative to the bank's `root`."""

    procedural: ProceduralStyles = field(default_factory=ProceduralStyles)
    images: tuple[str, ...] = ()
    folders: tuple[str, ...] = ()
    """Folders of style images (png, jpg, webp, bmp)."""
    texts: tuple[str, ...] = ()
    """Text prompts (CLIP guidance)."""


@dataclass
class StyleBankConfig:
    """Styles to meta-train on, and held-out ones (never trained on) for the evaluation."""

    train: StyleSplit = field(default_factory=StyleSplit)
    held_out: StyleSplit = field(default_factory=StyleSplit)
    root: str = "."
    """Folder the splits' paths are relative to (a YAML config's own folder when read from one)."""


def parse_seeds(spec: str) -> list[int]:
    """ "a-b" (inclusive) or "1,5,9" -> seeds."""
    try:
        if "-" in spec.strip().lstrip("-"):
            a, b = (int(x) for x in spec.split("-", 1))
            return list(range(a, b + 1))
        return [int(x) for x in spec.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f'procedural seeds must be a range "a-b" or a list "1,5,9", got {spec!r}') from None


def parse_split(split: StyleSplit, root: Path) -> list[StyleEntry]:
    """Entries of one split."""
    out: list[StyleEntry] = []
    kinds = split.procedural.kinds
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ConfigError(f"unknown procedural kinds {bad}; choose from {', '.join(KINDS)}")
    out += [
        StyleEntry(f"{k}-{s}", "procedural", k, s) for s in parse_seeds(split.procedural.seeds) for k in kinds
    ]
    for img in split.images:
        path = (root / img).resolve()
        out.append(StyleEntry(path.stem, "image", str(path)))
    for folder in split.folders:
        path = (root / folder).resolve()
        if not path.is_dir():
            raise ConfigError(f"style folder {path} does not exist")
        out += [
            StyleEntry(p.stem, "image", str(p))
            for p in sorted(path.iterdir())
            if p.suffix.lower() in IMAGE_SUFFIXES
        ]
    out += [StyleEntry(t, "text", t) for t in split.texts]
    return out


@dataclass
class StyleBank:
    train: list[StyleEntry]
    held_out: list[StyleEntry]

    @classmethod
    def from_config(cls, cfg: StyleBankConfig) -> StyleBank:
        root = Path(cfg.root)
        bank = cls(parse_split(cfg.train, root), parse_split(cfg.held_out, root))
        if not bank.train:
            raise ConfigError("the style bank's train split is empty; name styles under styles.train")
        overlap = {e.name for e in bank.train} & {e.name for e in bank.held_out}
        if overlap:
            raise ConfigError(f"held-out styles also appear in train: {sorted(overlap)[:5]}")
        return bank
