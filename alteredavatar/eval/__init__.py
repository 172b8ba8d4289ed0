"""Eval stage: metrics of stylized avatars (style distances from judges other than the loss, identity,
view consistency, seams); dlib and MediaPipe judges are optional extras."""

from alteredavatar.eval.metrics import EvalConfig, stylization_metrics, vgg_style_metrics
from alteredavatar.eval.seams import seam_jumps, seam_visibility

__all__ = ["EvalConfig", "seam_jumps", "seam_visibility", "stylization_metrics", "vgg_style_metrics"]
