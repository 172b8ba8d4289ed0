"""CLIP backend: load a transformers `CLIPModel` (hub id or local dir) offline and embed images and text."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from transformers import CLIPModel, CLIPTokenizer

from alteredavatar.errors import AssetMissingError
from alteredavatar.guidance.prompts import validate_prompt

DEFAULT_CLIP = "openai/clip-vit-base-patch32"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_MAX_TOKENS = 77


def _features(out: torch.Tensor | object) -> torch.Tensor:
    """The projected embedding from `get_{image,text}_features`: a tensor (transformers 4.x) or an output
    object whose `pooler_output` holds the projection (transformers 5.x)."""
    return out if isinstance(out, torch.Tensor) else out.pooler_output


class ClipBackend:
    """A frozen CLIP model + tokenizer with differentiable image embedding and cached text embedding.

    Attributes:
        model_id: the hub id or local directory it was loaded from.
        device: where the model lives.
        image_size: the vision tower's input size S (square).
        embed_dim: D, the joint embedding size (`projection_dim`).
    """

    def __init__(self, model: CLIPModel, tokenizer: CLIPTokenizer, model_id: str, device: torch.device):
        self.model = model.to(device).eval().requires_grad_(False)
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.device = device
        self.image_size = int(model.config.vision_config.image_size)
        self.embed_dim = int(model.config.projection_dim)
        self.max_tokens = min(CLIP_MAX_TOKENS, int(model.config.text_config.max_position_embeddings))
        self._mean = torch.tensor(CLIP_MEAN, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(CLIP_STD, device=device).view(1, 3, 1, 1)
        self._text_cache: dict[str, torch.Tensor] = {}

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """CLIP's input transform in torch: centre square crop, bilinear antialiased resize, normalize.

        Args:
            images: (B, 3, H, W) float in [0, 1].
        Returns:
            (B, 3, S, S) normalized pixels, S = `image_size`; differentiable wrt `images`.
        """
        h, w = images.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        x = images[..., top : top + side, left : left + side]
        if side != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear",
                              align_corners=False, antialias=True)
        return (x - self._mean) / self._std

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """Embed images. images: (B, 3, H, W) in [0, 1] -> (B, D) L2-normalized, differentiable wrt images."""
        pixels = self.preprocess(images.to(self.device, torch.float32))
        emb = _features(self.model.get_image_features(pixel_values=pixels))
        return F.normalize(emb, dim=-1)

    @torch.no_grad()
    def encode_text(self, prompts: Sequence[str]) -> torch.Tensor:
        """Embed prompts (validated, truncated to 77 tokens, cached per prompt). -> (N, D) L2-normalized."""
        if isinstance(prompts, str):
            prompts = [prompts]
        prompts = [validate_prompt(p) for p in prompts]
        missing = list(dict.fromkeys(p for p in prompts if p not in self._text_cache))
        if missing:
            tokens = self.tokenizer(missing, padding=True, truncation=True, max_length=self.max_tokens,
                                    return_tensors="pt").to(self.device)
            emb = F.normalize(_features(self.model.get_text_features(**tokens)), dim=-1)
            self._text_cache.update(zip(missing, emb))
        return torch.stack([self._text_cache[p] for p in prompts])


def _how_to_get(model: str) -> str:
    hub_id = model if not os.path.isabs(model) and not model.startswith(".") else DEFAULT_CLIP
    return (
        f"CLIP weights '{model}' are not available offline. To download them once, on a machine with "
        f"internet run:\n  python -c \"from transformers import CLIPModel, CLIPTokenizer; "
        f"CLIPModel.from_pretrained('{hub_id}').save_pretrained('DIR'); "
        f"CLIPTokenizer.from_pretrained('{hub_id}').save_pretrained('DIR')\"\n"
        "then copy DIR here and pass --clip DIR (or fill the Hugging Face cache: "
        "set HF_HOME and run the same from_pretrained calls once with internet)."
    )


@functools.lru_cache(maxsize=4)
def _load_cached(model: str, device: str) -> ClipBackend:
    if os.path.sep in model and not os.path.isdir(model) and (os.path.isabs(model) or model.startswith(".")):
        raise AssetMissingError(f"no directory {model}. " + _how_to_get(model))
    try:
        clip = CLIPModel.from_pretrained(model, local_files_only=True)
        tokenizer = CLIPTokenizer.from_pretrained(model, local_files_only=True)
    except OSError as err:  # transformers reports missing files / uncached hub ids as OSError
        raise AssetMissingError(_how_to_get(model) + f"\n(loader said: {err})") from err
    return ClipBackend(clip, tokenizer, model, torch.device(device))


def load_clip(model: str = DEFAULT_CLIP, device: str | torch.device = "cpu") -> ClipBackend:
    """Load CLIP from a hub id (already in the local cache) or a local directory; cached per process.

    Never downloads. Raises `AssetMissingError` (saying how to get the weights) when they are absent.
    The same `(model, device)` returns the same `ClipBackend` object.
    """
    model = str(model)
    if os.path.isdir(model):
        model = os.path.abspath(model)
    return _load_cached(model, str(torch.device(device)))
