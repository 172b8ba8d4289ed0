"""Adapt stage: test-time stylization of the style parameters (`Stylizer`), the objective, style files and
the `stylize` job end to end."""

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, AdaptResult, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.style_file import apply_style, load_style, save_style

__all__ = [
    "AdaptConfig",
    "AdaptResult",
    "ObjectiveConfig",
    "StyleGuide",
    "StyleSpec",
    "Stylizer",
    "apply_style",
    "load_style",
    "save_style",
]
