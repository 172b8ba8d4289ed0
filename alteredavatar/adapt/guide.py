"""Turn a user's style request (text / image / both, guidance kind) into one loss over renders.

Everything that can fail on bad input (prompt, image, missing CLIP weights) fails here, before any work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from alteredavatar.adapt.objective import ObjectiveConfig, foreground_crops
from alteredavatar.errors import ConfigError, StyleInputError
from alteredavatar.guidance.clip import DEFAULT_CLIP, load_clip
from alteredavatar.guidance.clip_losses import ClipGuidance
from alteredavatar.guidance.images import image_sha256, load_style_image
from alteredavatar.guidance.prompts import validate_prompt
from alteredavatar.guidance.texture import TextureConfig, TextureGuidance

GuidanceKind = Literal["clip", "texture"]


@dataclass
class StyleSpec:
    """What the user asked for."""

    text: str | None = None
    """Style prompt, e.g. "a marble statue" (needs CLIP)."""
    image: Path | None = None
    """Style image (PNG/JPEG/...)."""
    mix: float = 0.5
    """With both text and image: 0 = text only, 1 = image only."""
    guidance: GuidanceKind = "clip"
    """`clip` (text and/or image; needs CLIP weights) or `texture` (image only, no pretrained weights)."""
    clip: str = DEFAULT_CLIP
    """CLIP hub id (from the local Hugging Face cache) or a local directory."""
    texture_seed: int = 0
    """Seed of the texture guidance's random filters (evaluation uses another)."""


class StyleGuide:
    """Callable style loss over renders; also the identity term's CLIP part when CLIP is on."""

    def __init__(self, spec: StyleSpec, obj: ObjectiveConfig, device: torch.device = torch.device("cpu"),
                 image: torch.Tensor | None = None):
        """`image` (3, H, W) overrides `spec.image` (used for generated styles that have no file)."""
        self.spec, self.obj = spec, obj
        text = validate_prompt(spec.text) if spec.text is not None else None
        self.image_sha256 = image_sha256(spec.image) if spec.image is not None and image is None else None
        if image is None and spec.image is not None:
            image = load_style_image(spec.image)
        image = image.to(device) if image is not None else None
        self.style_image = image
        self.clip = None
        if spec.guidance == "texture":
            if image is None:
                raise StyleInputError("--guidance texture needs a style image (--image); text needs --guidance clip")
            if text is not None:
                raise StyleInputError("--guidance texture cannot use a text prompt; drop --text or use --guidance clip")
            self.texture = TextureGuidance(image, TextureConfig(seed=spec.texture_seed))
            self.model_id = f"texture-sw(seed={spec.texture_seed})"
        elif spec.guidance == "clip":
            if text is None and image is None:
                raise StyleInputError("give a style prompt (--text), a style image (--image), or both")
            self.clip = load_clip(spec.clip, device)
            self.guidance = ClipGuidance(self.clip, text=text, image=image, mix=spec.mix)
            self.model_id = self.clip.model_id
        else:
            raise ConfigError(f"unknown guidance {spec.guidance!r}; use clip or texture")

    def style_loss(self, styled: torch.Tensor, source: torch.Tensor, mask: torch.Tensor,
                   gen: torch.Generator) -> torch.Tensor:
        """styled/source (B, 3, H, W), mask (B, 1, H, W) -> scalar."""
        if self.clip is not None:
            return self.guidance.loss(styled, source, generator=gen)
        crops = foreground_crops(styled, mask, self.obj.crop_fraction, self.obj.crop_size)
        return self.texture.loss(crops, generator=gen)

    def identity_clip(self, styled: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """1 - cos(CLIP(styled), CLIP(source)) averaged; zero without CLIP."""
        if self.clip is None:
            return styled.new_zeros(())
        with torch.no_grad():
            src = self.clip.encode_images(source)
        return (1 - F.cosine_similarity(self.clip.encode_images(styled), src, dim=-1)).mean()

    def describe(self) -> dict:
        return {"guidance": self.spec.guidance, "guidance_model": self.model_id, "text": self.spec.text,
                "image": str(self.spec.image) if self.spec.image else None, "image_sha256": self.image_sha256,
                "mix": self.spec.mix}
