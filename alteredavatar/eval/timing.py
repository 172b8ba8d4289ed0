"""Timing helpers the benchmarks share: a median-of-runs timer and CLIP's ViT-B/32 as the cost yardstick."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timeit(fn: Callable[[], object], repeat: int, warmup: int = 2) -> dict:
    """Median / min / max seconds of `fn()` over `repeat` calls after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeat": repeat}


def clip_vision_tower():
    """A ViT-B/32 vision tower with CLIP's shapes (random weights; timing does not depend on them)."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    cfg = CLIPVisionConfig(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        image_size=224,
        patch_size=32,
        projection_dim=512,
    )
    return CLIPVisionModelWithProjection(cfg).eval().requires_grad_(False)
