"""Guidance stage: score rendered images against a style. VGG16 feature statistics for style images
(`perceptual`), CLIP for text and images (`clip`, imported on demand: it loads transformers), weight-free
texture statistics (`texture`), procedural style images and image helpers."""

from alteredavatar.guidance.image_ops import foreground_crops, lowpass
from alteredavatar.guidance.images import load_style_image
from alteredavatar.guidance.perceptual import VggConfig, VggGuidance
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.guidance.texture import TextureConfig, TextureGuidance

__all__ = [
    "TextureConfig",
    "TextureGuidance",
    "VggConfig",
    "VggGuidance",
    "foreground_crops",
    "load_style_image",
    "lowpass",
    "procedural_style",
]
