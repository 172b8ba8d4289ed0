"""CLIP style targets (text: NADA directional + global; image: embedding similarity) and their mix."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from alteredavatar.errors import ConfigError, StyleInputError
from alteredavatar.guidance.augment import Augment, AugmentConfig
from alteredavatar.guidance.clip import ClipBackend
from alteredavatar.guidance.prompts import MAX_PROMPT_CHARS, validate_prompt

__all__ = [
    "MAX_PROMPT_CHARS",
    "ClipGuidance",
    "ClipGuidanceConfig",
    "ImageTarget",
    "TextTarget",
    "validate_prompt",
]


@dataclass
class ClipGuidanceConfig:
    """CLIP guidance settings.

    Attributes:
        source_text: describes the unstylized renders (the start of the NADA direction).
        global_weight: weight of the global text term next to the directional one.
        direction_eps: softens the image-direction norm, sqrt(|d|^2 + eps^2), so the directional loss
            has a finite gradient (pointing along the text direction) when styled == source.
        style_views: augmented crops of the style image averaged into its embedding.
        seed: seeds the generator used when `loss` gets none.
        augment: crop / perspective augmentation shared by styled and source renders.
    """

    source_text: str = "a 3D render of a head"
    global_weight: float = 0.5
    direction_eps: float = 1e-2
    style_views: int = 16
    seed: int = 0
    augment: AugmentConfig = field(default_factory=AugmentConfig)


def _soft_cos(a: torch.Tensor, b_unit: torch.Tensor, eps: float) -> torch.Tensor:
    """Cosine of rows of a (N, D) with unit rows b_unit (N or 1, D), |a| softened by eps. -> (N,)"""
    return (a * b_unit).sum(-1) / (a.pow(2).sum(-1) + eps**2).sqrt()


class TextTarget:
    """Text style: NADA directional loss plus a global CLIP term.

    directional = 1 - cos(E_img(styled) - E_img(source), E_txt(target) - E_txt(source_text)):
        the edit direction in image-embedding space must follow the direction in text-embedding space.
    global = 1 - cos(E_img(styled), E_txt(target)).
    loss = directional + global_weight * global (means over all crops).
    """

    def __init__(self, backend: ClipBackend, text: str, cfg: ClipGuidanceConfig):
        self.text = validate_prompt(text)
        emb = backend.encode_text([self.text, validate_prompt(cfg.source_text)])  # (2, D)
        self.target = emb[0:1]  # (1, D)
        self.direction = F.normalize(emb[0:1] - emb[1:2], dim=-1)  # (1, D)
        self.cfg = cfg

    def loss(self, styled_emb: torch.Tensor, source_emb: torch.Tensor) -> torch.Tensor:
        """styled_emb, source_emb: (N, D) paired unit embeddings -> scalar."""
        directional = 1.0 - _soft_cos(styled_emb - source_emb, self.direction, self.cfg.direction_eps)
        global_ = 1.0 - (styled_emb * self.target).sum(-1)
        return directional.mean() + self.cfg.global_weight * global_.mean()


class ImageTarget:
    """Image style: 1 - cos(E_img(styled), e_style), e_style = normalized mean of augmented style crops."""

    def __init__(
        self,
        backend: ClipBackend,
        image: torch.Tensor,
        augment: Augment,
        views: int,
        generator: torch.Generator,
    ):
        """image: (3, H, W) or (1, 3, H, W) in [0, 1]."""
        if image.dim() == 3:
            image = image[None]
        if image.dim() != 4 or image.shape[:2] != (1, 3):
            raise StyleInputError(f"style image must be a (3, H, W) RGB tensor, got {tuple(image.shape)}")
        with torch.no_grad():
            rounds = -(-views // augment.cfg.n_crops)  # ceil
            crops = torch.cat([augment(image.to(backend.device), generator) for _ in range(rounds)])
            emb = backend.encode_images(crops[:views])
        self.embedding = F.normalize(emb.mean(0, keepdim=True), dim=-1)  # (1, D)

    def loss(self, styled_emb: torch.Tensor) -> torch.Tensor:
        """styled_emb: (N, D) unit embeddings -> scalar."""
        return (1.0 - (styled_emb * self.embedding).sum(-1)).mean()


class ClipGuidance:
    """Scores styled renders against a text and/or image style with CLIP.

    `mix` weighs the targets when both are given: loss = (1 - mix) * text + mix * image
    (0 = text only, 1 = image only). With a single target, that target has weight 1.
    """

    def __init__(
        self,
        backend: ClipBackend,
        text: str | None = None,
        image: torch.Tensor | None = None,
        mix: float = 0.5,
        cfg: ClipGuidanceConfig | None = None,
    ):
        self.cfg = cfg or ClipGuidanceConfig()
        if text is None and image is None:
            raise StyleInputError(
                "give a style prompt (--style.text), a style image (--style.image), or both"
            )
        if not 0.0 <= mix <= 1.0:
            raise ConfigError(f"mix must be in [0, 1] (0 = text only, 1 = image only), got {mix}")
        self.backend = backend
        self.augment = Augment(self.cfg.augment)
        self._generator = torch.Generator().manual_seed(self.cfg.seed)
        self.text = TextTarget(backend, text, self.cfg) if text is not None else None
        self.image = (
            ImageTarget(backend, image, self.augment, self.cfg.style_views, self._generator)
            if image is not None
            else None
        )
        if self.text is None:
            mix = 1.0
        elif self.image is None:
            mix = 0.0
        self.mix = float(mix)

    def loss(
        self,
        styled: torch.Tensor,
        source: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Style loss of a batch of renders.

        Args:
            styled: (B, 3, H, W) stylized renders in [0, 1] (gradients flow back through these).
            source: (B, 3, H, W) the unstylized renders of the same views/expressions; needed for a
                text target (directional term), ignored otherwise.
            generator: drives the augmentation; defaults to the guidance's own seeded generator.
        Returns:
            scalar loss; styled and source crops share the same random augmentation.
        """
        gen = generator if generator is not None else self._generator
        grid = self.augment.sample_grid(styled.shape[0], gen, styled.device)
        styled_emb = self.backend.encode_images(self.augment.apply(styled, grid))
        total = styled_emb.new_zeros(())
        if self.text is not None and self.mix < 1.0:
            if source is None or source.shape != styled.shape:
                raise ValueError("a text target needs `source` renders with the same shape as `styled`")
            with torch.no_grad():
                source_emb = self.backend.encode_images(self.augment.apply(source.detach(), grid))
            total = total + (1.0 - self.mix) * self.text.loss(styled_emb, source_emb)
        if self.image is not None and self.mix > 0.0:
            total = total + self.mix * self.image.loss(styled_emb)
        return total
