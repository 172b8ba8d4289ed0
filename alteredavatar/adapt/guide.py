"""Turn a user's style request (text / image / both, guidance kind) into one loss over renders.

Everything that can fail on bad input (prompt, image, missing CLIP weights) fails here, before any work.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.checks import check_range, check_seed
from alteredavatar.errors import ConfigError, StyleInputError
from alteredavatar.guidance.clip import DEFAULT_CLIP, load_clip
from alteredavatar.guidance.clip_losses import ClipGuidance
from alteredavatar.guidance.image_ops import foreground_crops
from alteredavatar.guidance.images import image_sha256, load_style_image
from alteredavatar.guidance.perceptual import VggConfig, VggGuidance
from alteredavatar.guidance.prompts import validate_prompt
from alteredavatar.guidance.texture import TextureConfig, TextureGuidance
from alteredavatar.guidance.vgg import vgg_installed

GuidanceKind = Literal["auto", "vgg", "clip", "texture"]


@dataclass
class StyleSpec:
    """What the user asked for."""

    text: str | None = None
    """Style prompt, e.g. "a marble statue" (needs CLIP)."""
    image: Path | None = None
    """Style image (PNG/JPEG/...)."""
    mix: float = 0.5
    """With both text and image: 0 = text only, 1 = image only."""
    guidance: GuidanceKind = "auto"
    (  # tyro breaks help lines where a docstring does, so this one is split as string pieces
        "`auto` (vgg for an image alone, clip when there is text), `vgg` (image; VGG16 feature statistics),\n"
        "`clip` (text and/or image; CLIP weights download on first use) or `texture` (image; no pretrained "
        "weights)."
    )
    clip: str = DEFAULT_CLIP
    """CLIP hub id (downloaded once into the Hugging Face cache) or a local directory."""
    offline: bool = False
    """Never download CLIP weights (as HF_HUB_OFFLINE=1 does)."""
    vgg: VggConfig = field(default_factory=VggConfig)
    texture_seed: int = 0
    """Seed of the texture guidance's random filters (evaluation uses another)."""

    def check(self) -> None:
        """Numbers in range, named by flag (the VGG settings check themselves when parsed)."""
        check_range("--style.mix", self.mix, 0, 1)
        check_seed("--style.texture-seed", self.texture_seed)

    def resolved_guidance(self) -> str:
        """The guidance `auto` stands for: clip when there is a prompt, else vgg, or texture when the VGG16
        weights' package is not installed (the weight-free fallback)."""
        if self.guidance != "auto":
            return self.guidance
        if self.text is not None:
            return "clip"
        return "vgg" if vgg_installed() else "texture"


class StyleGuide:
    """The style loss over renders and the guidance model's own identity term (CLIP or VGG content)."""

    def __init__(
        self,
        spec: StyleSpec,
        obj: ObjectiveConfig,
        device: torch.device | None = None,
        image: torch.Tensor | None = None,
        render_res: int = 128,
    ):
        """`image` (3, H, W) overrides `spec.image` (used for generated styles that have no file);
        `render_res`: the side of the renders the loss will see (sets the VGG pattern scale)."""
        device = torch.device("cpu") if device is None else device
        self.spec, self.obj = spec, obj
        text = validate_prompt(spec.text) if spec.text is not None else None
        self.image_sha256 = image_sha256(spec.image) if spec.image is not None and image is None else None
        if image is None and spec.image is not None:
            image = load_style_image(spec.image)
        image = image.to(device) if image is not None else None
        self.style_image = image
        self.clip = self.vgg = None
        self.kind = kind = spec.resolved_guidance()
        self.regularizer_scale = spec.vgg.regularizer_scale if kind == "vgg" else 1.0
        if text is None and image is None:
            raise StyleInputError(
                "give a style prompt (--style.text), a style image (--style.image), or both"
            )
        if kind in ("texture", "vgg"):
            if image is None:
                raise StyleInputError(
                    f"--style.guidance {kind} needs a style image (--style.image); "
                    "a text prompt needs --style.guidance clip"
                )
            if text is not None:
                raise StyleInputError(
                    f"--style.guidance {kind} cannot use a text prompt; drop --style.text "
                    "or use --style.guidance clip"
                )
        if kind == "texture":
            self.texture = TextureGuidance(image, TextureConfig(seed=spec.texture_seed))
            self.model_id = f"texture-sw(seed={spec.texture_seed})"
        elif kind == "vgg":
            self.vgg = VggGuidance(image, render_res, spec.vgg)
            self.model_id = f"vgg16-hed({spec.vgg.statistic}: {', '.join(spec.vgg.style_layers)})"
        elif kind == "clip":
            self.clip = load_clip(spec.clip, device, offline=spec.offline or None)
            self.guidance = ClipGuidance(self.clip, text=text, image=image, mix=spec.mix)
            self.model_id = self.clip.model_id
        else:
            raise ConfigError(f"unknown --style.guidance {spec.guidance!r}; use auto, vgg, clip or texture")

    def losses(
        self, styled: torch.Tensor, source: torch.Tensor, mask: torch.Tensor, gen: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """styled/source (B, 3, H, W), mask (B, 1, H, W) -> (style loss, perceptual identity distance).

        The identity part is the model's own view of "same avatar": 1 - cos of CLIP embeddings with CLIP,
        VGG content features with VGG, zero with texture guidance (the low-pass term is added by the loop).
        """
        if self.clip is not None:
            style = self.guidance.loss(styled, source, generator=gen)
            with torch.no_grad():
                src = self.clip.encode_images(source)
            ident = (1 - F.cosine_similarity(self.clip.encode_images(styled), src, dim=-1)).mean()
            return style, self.obj.identity_clip_weight * ident
        if self.vgg is not None:
            style, content = self.vgg.losses(styled, source, mask, gen)
            return style, self.obj.identity_vgg_weight * content
        crops = foreground_crops(styled, mask, self.obj.crop_fraction, self.obj.crop_size)
        return self.texture.loss(crops, generator=gen), styled.new_zeros(())

    def describe(self) -> dict:
        return {
            "guidance": self.kind,
            "guidance_model": self.model_id,
            "text": self.spec.text,
            "image": str(self.spec.image) if self.spec.image else None,
            "image_sha256": self.image_sha256,
            "mix": self.spec.mix,
        }
