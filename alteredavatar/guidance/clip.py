"""CLIP backend: load a transformers `CLIPModel` (hub id or local dir) and embed images and text.

A hub id downloads on first use into the Hugging Face cache, as every Hugging Face tool does, unless offline
(`load_clip(..., offline=True)` or `HF_HUB_OFFLINE=1`); a local directory never downloads.
"""

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
            x = F.interpolate(
                x,
                size=(self.image_size, self.image_size),
                mode="bilinear",
                align_corners=False,
                antialias=True,
            )
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
            tokens = self.tokenizer(
                missing, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="pt"
            ).to(self.device)
            emb = F.normalize(_features(self.model.get_text_features(**tokens)), dim=-1)
            self._text_cache.update(zip(missing, emb))
        return torch.stack([self._text_cache[p] for p in prompts])


_TRUE = frozenset({"1", "true", "yes", "on"})
_FETCH_ERROR_MODULES = frozenset({"huggingface_hub", "httpx", "httpx2", "httpcore", "requests", "urllib3"})


def _env_offline() -> str | None:
    """The env var that puts the Hugging Face hub offline right now (as `NAME=value`), or None.

    Read at call time: `huggingface_hub.constants.HF_HUB_OFFLINE` is frozen when the hub is first imported.
    Like the hub, `TRANSFORMERS_OFFLINE` counts when `HF_HUB_OFFLINE` is unset.
    """
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        value = os.environ.get(name)
        if value:
            return f"{name}={value}" if value.strip().lower() in _TRUE else None
    return None


def _is_local_path(model: str) -> bool:
    """`model` names a directory (existing, absolute or ./relative), not a hub id such as `org/name`."""
    return os.path.isdir(model) or os.path.isabs(model) or model.startswith(".")


def _is_fetch_error(err: BaseException) -> bool:
    """Missing files, uncached ids and network failures: transformers reports most as OSError; the hub's
    HTTP client may leak its own exception types."""
    return isinstance(err, OSError) or type(err).__module__.split(".")[0] in _FETCH_ERROR_MODULES


def _how_to_get(model: str, offline_reason: str | None = None) -> str:
    """What to do when `model` cannot be loaded; `offline_reason`: what forbade downloading, if anything."""
    from huggingface_hub import constants

    hub_id = DEFAULT_CLIP if _is_local_path(model) else model
    lines = []
    if offline_reason:
        lines.append(
            f"Downloading was not allowed: offline mode is on ({offline_reason}). "
            "Unset HF_HUB_OFFLINE / drop --style.offline to let the weights download."
        )
    lines += [
        "To get CLIP weights, either:",
        f"  - run once with internet access (not offline): '{hub_id}' downloads automatically into the "
        f"Hugging Face cache ({constants.HF_HUB_CACHE}; ~/.cache/huggingface unless HF_HOME is set), "
        "and later runs, offline included, load it from there; or",
        "  - pass a local directory holding a saved CLIP model and tokenizer with --style.clip DIR. "
        "To make one on a machine with internet:",
        f'      python -c "from transformers import CLIPModel, CLIPTokenizer; '
        f"CLIPModel.from_pretrained('{hub_id}').save_pretrained('DIR'); "
        f"CLIPTokenizer.from_pretrained('{hub_id}').save_pretrained('DIR')\"",
    ]
    return "\n".join(lines)


class _FetchFailed(Exception):
    """`from_pretrained` could not get the files; `load_clip` turns this into an `AssetMissingError`."""


@functools.lru_cache(maxsize=4)
def _load_cached(model: str, device: str, offline: bool) -> ClipBackend:
    if _is_local_path(model) and not os.path.isdir(model):
        raise AssetMissingError(f"CLIP directory {model} does not exist.\n" + _how_to_get(model))
    local_only = offline or os.path.isdir(model)  # a local directory never downloads
    try:
        clip = CLIPModel.from_pretrained(model, local_files_only=local_only)
        tokenizer = CLIPTokenizer.from_pretrained(model, local_files_only=local_only)
    except Exception as err:
        if _is_fetch_error(err):
            raise _FetchFailed(str(err)) from err
        raise
    return ClipBackend(clip, tokenizer, model, torch.device(device))


def load_clip(
    model: str = DEFAULT_CLIP, device: str | torch.device = "cpu", offline: bool | None = None
) -> ClipBackend:
    """Load CLIP from a Hugging Face hub id or a local directory; cached per process.

    A hub id loads from the Hugging Face cache and, on first use, downloads there through transformers'
    `from_pretrained` (its progress bar, its cache: `$HF_HOME`, default ~/.cache/huggingface), unless offline.
    A local directory never downloads.

    Args:
        model: hub id (e.g. `openai/clip-vit-base-patch32`) or a directory saved with `save_pretrained`.
        device: where the model lives.
        offline: True forbids downloading. Downloading is also forbidden when the environment variable
            `HF_HUB_OFFLINE` is true ("1", "true", "yes", "on"; read at call time), whatever this says.
    Returns:
        The same `ClipBackend` object for the same `(model, device, offline)`; a local directory ignores
        `offline`, so it always returns the same object.
    Raises:
        AssetMissingError: the weights cannot be had (offline and not cached, download failed, missing or
            unusable directory); the message says how to get them.
    """
    model = str(model)
    local = os.path.isdir(model)
    if local:
        model = os.path.abspath(model)
    env = _env_offline()
    reasons = (["--style.offline (offline=True) was given"] if offline else []) + (
        [f"{env} is set"] if env else []
    )
    offline = local or bool(reasons)  # a local directory never downloads: one cache entry whatever the flag
    try:
        return _load_cached(model, str(torch.device(device)), offline)
    except _FetchFailed as fail:
        if local:
            what = f"CLIP directory {model} does not hold a loadable CLIP model and tokenizer."
        elif reasons:
            what = f"CLIP weights '{model}' are not in the Hugging Face cache; offline mode forbids download."
        else:
            what = f"CLIP weights '{model}' are not cached and could not be downloaded (no network?)."
        how = _how_to_get(model, None if local else " and ".join(reasons) or None)
        raise AssetMissingError(f"{what}\n{how}\n(loader said: {fail})") from fail.__cause__
