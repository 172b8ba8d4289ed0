"""Honest metrics of a stylized avatar, each labelled with the model that produced it.

- style: texture-statistics distance to the style image from an evaluator whose random filters use a
  different seed than training; VGG16 Gram distance at layers no loss uses (relu{1..4}_2), on colour and on
  the luminance pattern (a tint does not score); CLIP text / image / directional similarity when a CLIP is
  loaded.
- identity: low-pass image distance between unstylized and stylized frontal renders; dlib face-recognition
  distance when the optional `[eval]` extra is installed.
- expression preservation: MediaPipe FaceMesh landmark motion (neutral -> each preset), unstylized vs
  stylized, when the optional `[expressions]` extra is installed.
- view consistency: the spread (std) of the style metric across views.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from alteredavatar.avatar.expressions import PRESET_NAMES, presets
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.errors import AssetMissingError
from alteredavatar.eval.expression import expression_preservation, landmark_model_available
from alteredavatar.eval.face_id import face_distance, face_model_available
from alteredavatar.guidance.image_ops import foreground_crops, lowpass_distance
from alteredavatar.guidance.perceptual import JUDGE_LAYERS, gram_distance
from alteredavatar.guidance.texture import TextureConfig, TextureGuidance
from alteredavatar.guidance.vgg import load_vgg16
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig

EVAL_TEXTURE_SEED = 1234  # differs from every training seed we use
FACE_RES = 256  # dlib's HOG detector wants faces of ~80 px or more


@dataclass
class EvalConfig:
    """Fixed views and expressions the metrics are computed on."""

    yaws: tuple[float, ...] = (-45.0, -20.0, 0.0, 20.0, 45.0)
    expressions: tuple[str, ...] = PRESET_NAMES
    res: int = 160
    texture_seed: int = EVAL_TEXTURE_SEED


@torch.no_grad()
def eval_renders(avatar: AnimatableAvatar, cfg: EvalConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(V*E, 3, H, W) images and masks: every eval view x every eval expression."""
    expr = presets(cfg.expressions)
    n_e = len(expr)
    yaws = torch.tensor(cfg.yaws).repeat_interleave(n_e)
    out = render_avatar(
        avatar, expr.repeat(len(cfg.yaws), 1), front_views(tuple(yaws.tolist())), RenderConfig(res=cfg.res)
    )
    return out.image, out.mask


@torch.no_grad()
def _face_renders(
    source: AnimatableAvatar, styled: AnimatableAvatar, res: int = FACE_RES
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frontal neutral renders at a size dlib's face detector handles, (3, res, res) each."""
    cams, expr = front_views((0.0,)), torch.zeros(1, 52)
    return (
        render_avatar(source, expr, cams, RenderConfig(res=res)).image[0],
        render_avatar(styled, expr, cams, RenderConfig(res=res)).image[0],
    )


@torch.no_grad()
def texture_metric(
    images: torch.Tensor, masks: torch.Tensor, style_image: torch.Tensor, seed: int
) -> torch.Tensor:
    """(N,) texture-statistics distance of the head's central crop to the style image (lower = closer)."""
    evaluator = TextureGuidance(style_image, TextureConfig(seed=seed))
    return evaluator.distance(foreground_crops(images, masks, 0.6, 112))


@torch.no_grad()
def vgg_style_metrics(
    img: torch.Tensor,
    mask: torch.Tensor,
    src: torch.Tensor,
    src_mask: torch.Tensor,
    style_image: torch.Tensor,
    n_views: int,
) -> dict:
    """VGG Gram distances (colour, pattern) of styled and unstylized renders; {} without the VGG weights."""
    try:
        vgg = load_vgg16(img.device)
    except AssetMissingError:
        return {}
    model = f"vgg16-hed gram ({', '.join(JUDGE_LAYERS)}; not used by the loss)"
    out = {}
    for key, pattern in (("style_vgg_gram_distance", False), ("style_vgg_pattern_distance", True)):
        d = gram_distance(img, mask, style_image, pattern=pattern, vgg=vgg)
        d0 = gram_distance(src, src_mask, style_image, pattern=pattern, vgg=vgg)
        out[key] = {"value": float(d.mean()), "unstylized": float(d0.mean()), "model": model}
        if pattern:
            out["view_consistency_vgg_pattern_std"] = {
                "value": float(d.view(n_views, -1).mean(1).std()),
                "model": model,
            }
    return out


@torch.no_grad()
def stylization_metrics(
    styled: AnimatableAvatar,
    source: AnimatableAvatar,
    style_image: torch.Tensor | None,
    clip=None,
    text: str | None = None,
    source_text: str = "a 3D render of a head",
    cfg: EvalConfig | None = None,
    same_clip_as_training: bool = True,
) -> dict:
    """All metrics for one stylized avatar against its unstylized source."""
    cfg = EvalConfig() if cfg is None else cfg
    img, mask = eval_renders(styled, cfg)
    src, src_mask = eval_renders(source, cfg)
    n_views, n_e = len(cfg.yaws), len(cfg.expressions)
    front = [i for i in range(len(img)) if cfg.yaws[i // n_e] == 0.0]
    out: dict = {"views_deg": list(cfg.yaws), "expressions": n_e}
    lp = lowpass_distance(img[front], src[front])
    out["identity_lowpass_mse"] = {"value": float(lp.mean()), "model": "antialiased 1/8 downsample"}
    fd = face_distance(*_face_renders(source, styled)) if face_model_available() else None
    if fd is not None:
        out["identity_face_distance"] = fd
    if landmark_model_available():
        out["expression_preservation"] = expression_preservation(source, styled)
    if style_image is not None:
        d = texture_metric(img, mask, style_image, cfg.texture_seed).view(n_views, n_e).mean(1)
        d0 = texture_metric(src, src_mask, style_image, cfg.texture_seed).view(n_views, n_e).mean(1)
        model = f"texture-sw(seed={cfg.texture_seed})"
        out["style_texture_distance"] = {
            "value": float(d.mean()),
            "unstylized": float(d0.mean()),
            "model": model,
        }
        out["view_consistency_texture_std"] = {"value": float(d.std()), "model": model}
        out.update(vgg_style_metrics(img, mask, src, src_mask, style_image, n_views))
    if clip is not None:
        e = clip.encode_images(img)
        e_src = clip.encode_images(src)
        label = clip.model_id + (
            " (same CLIP as training; pass --eval-clip for an independent judge)"
            if same_clip_as_training
            else " (independent of training)"
        )
        if text is not None:
            t, t0 = clip.encode_text([text, source_text])
            sim = e @ t
            per_view = sim.view(n_views, n_e).mean(1)
            out["clip_text_similarity"] = {
                "value": float(sim.mean()),
                "unstylized": float((e_src @ t).mean()),
                "model": label,
            }
            direction = F.cosine_similarity(e - e_src, (t - t0)[None], dim=-1)
            out["clip_directional_similarity"] = {"value": float(direction.mean()), "model": label}
            out["view_consistency_clip_std"] = {"value": float(per_view.std()), "model": label}
        if style_image is not None:
            s = clip.encode_images(style_image[None])[0]
            out["clip_image_similarity"] = {
                "value": float((e @ s).mean()),
                "unstylized": float((e_src @ s).mean()),
                "model": label,
            }
    return out
