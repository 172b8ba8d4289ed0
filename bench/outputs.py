"""Output benchmark: the default turntable now (512 px, supersampled, studio light) against the old one
(224 px, ssaa 2, flat light), side by side in one process. Goal: within 2x the old time.

Also times the expression grid and the two portraits at the defaults. Writes bench/results/outputs.{json,md}.
Run: `python bench/outputs.py` (about 5 min on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from alteredavatar.avatar.pretrained import load_avatar_with_reference
from alteredavatar.eval.timing import timeit
from alteredavatar.export.outputs import OutputConfig
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import front_views
from alteredavatar.render.renderer import RenderConfig
from alteredavatar.render.sequences import render_expression_grid, render_turntable

RESULTS = Path(__file__).resolve().parent / "results"
OLD = RenderConfig(res=224, ssaa=2)  # the turntable and grid settings before the product-shot outputs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    avatar, _ = load_avatar_with_reference()
    cfg = OutputConfig()
    new = cfg.render_config()
    portrait = cfg.render_config(portrait=True)
    frames = cfg.frames
    runs = {
        "turntable_old": lambda: render_turntable(avatar, frames, OLD),
        "turntable_new": lambda: render_turntable(avatar, frames, new, alpha=True),
        "grid_old": lambda: render_expression_grid(avatar, cfg=OLD),
        "grid_new": lambda: render_expression_grid(avatar, cfg=new),
        "portrait_new": lambda: render_avatar(avatar, torch.zeros(1, 52), front_views((0.0,)), portrait),
    }
    with torch.no_grad():
        times = {k: timeit(fn, args.repeat, warmup=1) for k, fn in runs.items()}
    ratio = times["turntable_new"]["median_s"] / times["turntable_old"]["median_s"]
    result = {"frames": frames, "old": {"res": OLD.res, "ssaa": OLD.ssaa, "shading": OLD.shading},
              "new": {"res": new.res, "ssaa": new.ssaa, "shading": new.shading}, "times": times,
              "turntable_ratio": ratio, "threads": args.threads, "torch": torch.__version__,
              "machine": platform.machine()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "outputs.json").write_text(json.dumps(result, indent=1) + "\n")
    md = [f"Outputs: {frames}-frame turntable and the 3 x 6 expression grid, {args.threads} CPU threads, torch "
          f"{torch.__version__}; median of {args.repeat} runs, measured side by side.", "",
          f"| output | old ({OLD.res} px, ssaa {OLD.ssaa:g}, {OLD.shading}) s | new ({new.res} px, ssaa {new.ssaa:g}, "
          f"{new.shading}) s | ratio |", "|---|---|---|---|"]
    for name in ("turntable", "grid"):
        o, n = times[f"{name}_old"]["median_s"], times[f"{name}_new"]["median_s"]
        md.append(f"| {name} | {o:.1f} | {n:.1f} | {n / o:.2f} |")
    md += ["", f"Portrait ({portrait.res} px, ssaa {portrait.ssaa:g}): {times['portrait_new']['median_s']:.2f} s. "
           "Goal: the default turntable "
           f"within 2x the old time: {'met' if ratio <= 2 else 'not met'} ({ratio:.2f}x)."]
    (RESULTS / "outputs.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
