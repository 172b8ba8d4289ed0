"""VGG16 style guidance: match the style image's feature statistics over the head's whole foreground.

Style: at several depths, the rendered head's VGG16 feature statistics are pulled toward the style image's:
Gram matrices (Gatys et al., CVPR 2016), sliced-Wasserstein distributions (Heitz et al., CVPR 2021), or
nearest-neighbour feature matching (each rendered feature toward its cosine-nearest style feature; NNFM,
Zhang et al., "ARF", ECCV 2022).
Statistics are masked (only foreground positions count), so the whole visible head, crown, ears and neck
included, is styled and the fixed background is not. A colour term matches the RGB distribution.
Identity: VGG content features of the styled render against the unstylized one (masked, relative MSE).
Evaluation: `gram_distance` at layers the loss does not use, on colour and on the luminance pattern.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from alteredavatar.checks import check_range
from alteredavatar.errors import ConfigError, StyleInputError
from alteredavatar.guidance.texture import sliced_wasserstein, subsample
from alteredavatar.guidance.vgg import LAYERS, VGG16, load_vgg16

STYLE_LAYERS = ("relu2_1", "relu3_1")
CONTENT_LAYERS = ("relu3_1",)
JUDGE_LAYERS = ("relu1_2", "relu2_2", "relu3_2", "relu4_2")  # none of them in the loss


@dataclass
class VggConfig:
    """VGG guidance settings (defaults are the benchmarked ones: bench/results/stylize.md)."""

    statistic: Literal["gram", "sw", "nnfm"] = "nnfm"
    """`gram` (Gatys), `sw` (sliced Wasserstein, Heitz et al.) or `nnfm` (nearest neighbours, ARF)."""
    style_layers: tuple[str, ...] = STYLE_LAYERS
    content_layers: tuple[str, ...] = CONTENT_LAYERS
    style_scale: float = 1.0
    """Pattern size: the style image is resized so its shorter side is this times the render's side."""
    gram_weight: float = 0.3
    """Weight of an extra Gram-matrix term next to an nnfm/sw statistic (pattern proportions)."""
    color_weight: float = 0.5
    """Weight of the RGB-distribution (sliced Wasserstein) term next to the feature statistics."""
    n_projections: int = 32
    """Random 1-D projections per layer and step (sw statistic and the colour term)."""
    max_samples: int = 4096
    """Style feature vectors compared per layer and step (sw, nnfm and colour), drawn afresh each step."""
    regularizer_scale: float = 50.0
    """The displacement regularizer's weights are multiplied by this: VGG terms are ~50x larger than the
    texture guidance's the weights were calibrated on, and weaker smoothing lets the surface crumple."""

    def __post_init__(self) -> None:
        bad = [n for n in (*self.style_layers, *self.content_layers) if n not in LAYERS]
        if bad or not self.style_layers:
            raise ConfigError(
                f"--style.vgg.style-layers and --style.vgg.content-layers must be among "
                f"{', '.join(LAYERS)}; got {bad or 'none'}"
            )
        check_range("--style.vgg.style-scale", self.style_scale, 0.05, 8)
        for name in ("gram_weight", "color_weight", "regularizer_scale"):
            check_range(f"--style.vgg.{name.replace('_', '-')}", getattr(self, name), 0, 1e4)
        check_range("--style.vgg.n-projections", self.n_projections, 1, 4096)
        check_range("--style.vgg.max-samples", self.max_samples, 16, 1_000_000)


def mask_at(mask: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Area-resize a (B, 1, H, W) coverage mask to a feature map's (h, w) -> (B, 1, h, w) in [0, 1]."""
    return F.adaptive_avg_pool2d(mask, tuple(size))


def foreground_window(
    mask: torch.Tensor, margin: int = 8, multiple: int = 8
) -> tuple[list[slice], list[slice]]:
    """Per image, a same-sized window around its foreground (plus `margin` px of context).

    VGG never needs the empty background, which is about half of a render: cropping to the foreground
    halves the guidance's cost without changing the pattern's scale. mask (B, 1, H, W) -> (row, col) slices.
    """
    _, _, h, w = mask.shape
    boxes = []
    for m in mask[:, 0] > 0.5:
        rows, cols = torch.nonzero(m.any(1)).squeeze(1), torch.nonzero(m.any(0)).squeeze(1)
        boxes.append(None if len(rows) == 0 else (int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])))
    found = [b for b in boxes if b is not None] or [(0, h - 1, 0, w - 1)]

    def size(extent: int, full: int) -> int:
        return min(full, -(-(extent + 2 * margin) // multiple) * multiple)

    wh = size(max(b[1] - b[0] + 1 for b in found), h)
    ww = size(max(b[3] - b[2] + 1 for b in found), w)
    row_slices, col_slices = [], []
    for r0, r1, c0, c1 in (b or (0, h - 1, 0, w - 1) for b in boxes):
        top = min(max((r0 + r1 + 1) // 2 - wh // 2, 0), h - wh)
        left = min(max((c0 + c1 + 1) // 2 - ww // 2, 0), w - ww)
        row_slices.append(slice(top, top + wh))
        col_slices.append(slice(left, left + ww))
    return row_slices, col_slices


def crop(images: torch.Tensor, window: tuple[list[slice], list[slice]]) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, h, w): each image cut to its window from `foreground_window`."""
    return torch.stack([x[:, r, c] for x, r, c in zip(images, *window)])


def masked_gram(feats: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Gram matrices of feature maps over the (soft) foreground only.

    Args:
        feats: (B, C, h, w); weight: (B, 1, h, w) in [0, 1] or None (every position counts).
    Returns:
        (B, C, C) = sum_p w_p f_p f_p^T / sum_p w_p.
    """
    f = feats.flatten(2)
    if weight is None:
        return f @ f.transpose(1, 2) / f.shape[-1]
    w = weight.flatten(2)
    return (f * w) @ f.transpose(1, 2) / w.sum(-1, keepdim=True).clamp_min(1e-6)


def foreground_samples(feats: torch.Tensor, weight: torch.Tensor | None) -> list[torch.Tensor]:
    """Per image, the (C, N_b) feature vectors at foreground positions (weight > 0.5; all without a mask)."""
    f = feats.flatten(2)
    if weight is None:
        return list(f)
    keep = weight.flatten(1) > 0.5
    return [f[b][:, keep[b]] if keep[b].any() else f[b] for b in range(f.shape[0])]


def nearest_feature_distance(x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """Mean over x's columns of 1 - cos to the nearest (by cosine) column of `style`.

    x: (C, N) rendered features; style: (C, M) style features -> scalar (NNFM, ARF).
    """
    xn, sn = F.normalize(x, dim=0), F.normalize(style, dim=0)
    with torch.no_grad():
        nearest = (xn.t() @ sn).argmax(1)  # (N,)
    return 1 - (xn * sn[:, nearest]).sum(0).mean()


def luminance_pattern(images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Palette removed: grey, normalised to mean 0.5 / std 0.2 over the foreground, as 3 channels; with a
    mask the background becomes that mean (0.5).

    A judge on this sees the pattern, not the tint (a colour-sensitive statistic scores a tint as style).
    The background is neutralised because normalising a low-contrast face would otherwise amplify the
    face/background step at the silhouette (x100 and more) until it, not the pattern, drives the statistic.
    images (B, 3, H, W), mask (B, 1, H, W) or None -> (B, 3, H, W).
    """
    grey = (images * images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    w = mask if mask is not None else torch.ones_like(grey)
    n = w.sum((2, 3), keepdim=True).clamp_min(1e-6)
    mean = (grey * w).sum((2, 3), keepdim=True) / n
    std = (((grey - mean) ** 2 * w).sum((2, 3), keepdim=True) / n).sqrt().clamp_min(1e-3)
    out = (grey - mean) / std * 0.2 + 0.5
    if mask is not None:
        out = w * out + (1 - w) * 0.5
    return out.expand(-1, 3, -1, -1)


class VggGuidance:
    """Style loss (feature statistics + colour) toward one style image, and a VGG content identity term."""

    def __init__(
        self,
        style_image: torch.Tensor,
        render_res: int,
        cfg: VggConfig | None = None,
        vgg: VGG16 | None = None,
    ):
        """style_image: (3, H, W) in [0, 1]; render_res: the side of the renders it will judge."""
        if style_image.dim() != 3 or style_image.shape[0] != 3 or min(style_image.shape[-2:]) < 8:
            raise StyleInputError(
                f"style image must be (3, H, W) RGB with H, W >= 8, got {tuple(style_image.shape)}"
            )
        self.cfg = cfg or VggConfig()
        self.vgg = vgg or load_vgg16(style_image.device)
        self.style = self._resize(style_image[None].float(), render_res)
        with torch.no_grad():
            feats = self.vgg(self.style, self.cfg.style_layers)
        self.grams = {n: masked_gram(f)[0] for n, f in feats.items()}
        self.samples = {n: f.flatten(2)[0] for n, f in feats.items()}
        self.pixels = self.style.flatten(2)[0]  # (3, M)

    def _resize(self, image: torch.Tensor, render_res: int) -> torch.Tensor:
        h, w = image.shape[-2:]
        f = self.cfg.style_scale * render_res / min(h, w)
        size = (max(8, round(h * f)), max(8, round(w * f)))
        return F.interpolate(image, size=size, mode="bilinear", align_corners=False, antialias=f < 1)

    def _statistic(
        self, name: str, feats: torch.Tensor, weight: torch.Tensor, gen: torch.Generator
    ) -> torch.Tensor:
        """(B,) distance of one layer's foreground statistics to the style's, relative to the style's
        scale."""
        if self.cfg.statistic == "gram":
            return self._gram(name, feats, weight)
        if self.cfg.statistic == "nnfm":
            style = subsample(self.samples[name], self.cfg.max_samples, gen)
            return torch.stack(
                [nearest_feature_distance(x, style) for x in foreground_samples(feats, weight)]
            )
        return (
            self._sw(foreground_samples(feats, weight), self.samples[name], gen)
            / self.samples[name].var(1).sum()
        )

    def _gram(self, name: str, feats: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """(B,) relative squared distance of the masked Gram matrices to the style's."""
        gs = self.grams[name]
        return ((masked_gram(feats, weight) - gs) ** 2).flatten(1).sum(1) / (gs**2).sum()

    def _sw(self, items: list[torch.Tensor], style: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """(B,) sliced-Wasserstein distances of each image's (C, N_b) samples to the style's (C, M)."""
        proj = F.normalize(torch.randn(style.shape[0], self.cfg.n_projections, generator=gen), dim=0)
        proj = proj.to(style.device) * style.shape[0] ** 0.5  # distances on the scale of a squared norm
        n = self.cfg.max_samples
        return torch.cat(
            [sliced_wasserstein(subsample(x, n, gen)[None], subsample(style, n, gen), proj) for x in items]
        )

    def losses(
        self, styled: torch.Tensor, source: torch.Tensor, mask: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(style loss, content loss) of renders (B, 3, H, W) in [0, 1] with coverage mask (B, 1, H, W).

        One VGG pass over the styled renders serves both terms; the unstylized `source` only feeds the content
        term (masked relative MSE of its features, no gradient).
        """
        cfg = self.cfg
        window = foreground_window(mask)
        styled, source, mask = crop(styled, window), crop(source, window), crop(mask, window)
        feats = self.vgg(styled, dict.fromkeys((*cfg.style_layers, *cfg.content_layers)))
        weights = {n: mask_at(mask, feats[n].shape[-2:]) for n in cfg.style_layers}
        style = torch.stack(
            [self._statistic(n, feats[n], weights[n], generator) for n in cfg.style_layers]
        ).mean(0)
        if cfg.gram_weight and cfg.statistic != "gram":
            grams = [self._gram(n, feats[n], weights[n]) for n in cfg.style_layers]
            style = style + cfg.gram_weight * torch.stack(grams).mean(0)
        if cfg.color_weight:
            colour = self._sw(foreground_samples(styled, mask), self.pixels, generator) / 3
            style = style + cfg.color_weight * colour / self.pixels.var(1).sum().clamp_min(1e-3)
        if not cfg.content_layers:
            return style.mean(), styled.new_zeros(())
        with torch.no_grad():
            ref = self.vgg(source, cfg.content_layers)
        content = []
        for name in cfg.content_layers:
            w = mask_at(mask, ref[name].shape[-2:])
            err = ((feats[name] - ref[name]) ** 2 * w).sum() / (ref[name] ** 2 * w).sum().clamp_min(1e-6)
            content.append(err)
        return style.mean(), torch.stack(content).mean()


@torch.no_grad()
def gram_distance(
    images: torch.Tensor,
    masks: torch.Tensor,
    style_image: torch.Tensor,
    layers: Sequence[str] = JUDGE_LAYERS,
    pattern: bool = False,
    vgg: VGG16 | None = None,
) -> torch.Tensor:
    """Evaluation: (N,) relative masked-Gram distance of each render to the style image, mean over `layers`.

    With `pattern`, both sides are first reduced to their luminance pattern (`luminance_pattern`), so a
    mere tint does not score. The style image is resized to the renders' side.
    """
    vgg = vgg or load_vgg16(images.device)
    style = F.interpolate(
        style_image[None].float().to(images.device),
        size=images.shape[-2:],
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    if pattern:
        images, style = luminance_pattern(images, masks), luminance_pattern(style)
    feats, ref = vgg(images, layers), vgg(style, layers)
    per_layer = []
    for name in layers:
        gs = masked_gram(ref[name])[0]
        g = masked_gram(feats[name], mask_at(masks, feats[name].shape[-2:]))
        per_layer.append(((g - gs) ** 2).flatten(1).sum(1) / (gs**2).sum())
    return torch.stack(per_layer).mean(0)
