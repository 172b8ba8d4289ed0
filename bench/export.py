"""Export benchmark: time and size of `alteredavatar export` for the built-in head at texture 1024.

Times the bake (53 network evaluations + normals + texture resize) and the .glb write apart, and splits the
file size into morph targets, texture and the rest (and with the preset animation added).
Goal: the .glb stays under 10 MB. Writes bench/results/export.{json,md}.
Run: `python bench/export.py [--style STYLE_DIR] [--threads N]` (under a minute on 2 CPU cores; on a
shared, loaded machine use --threads 1: two spinning threads there took 3x longer).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

import torch

from alteredavatar.adapt.style_file import apply_style, load_style
from alteredavatar.avatar.pretrained import load_avatar
from alteredavatar.eval.timing import timeit
from alteredavatar.export.bake import bake_avatar
from alteredavatar.export.glb import GlbConfig, export_glb, png_bytes, write_glb

RESULTS = Path(__file__).resolve().parent / "results"
GOAL_MB = 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--texture-res", type=int, default=1024)
    ap.add_argument("--style", type=Path, default=None, help="a style folder (default: the unstylized head)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    avatar = load_avatar()
    if args.style:
        apply_style(avatar.net, load_style(args.style)[0])
    cfg = GlbConfig(texture_res=args.texture_res)
    with tempfile.TemporaryDirectory() as tmp:
        glb = Path(tmp) / "avatar.glb"
        baked = bake_avatar(avatar, cfg.texture_res)
        times = {
            "bake": timeit(lambda: bake_avatar(avatar, cfg.texture_res), args.repeat, warmup=1),
            "write": timeit(lambda: write_glb(baked, glb), args.repeat, warmup=1),
            "export": timeit(lambda: export_glb(avatar, glb, cfg), args.repeat, warmup=1),
        }
        summary = export_glb(avatar, glb, cfg)
        with_animation = export_glb(avatar, glb, GlbConfig(args.texture_res, animation=True))["bytes"]
    targets = baked.position_deltas.nbytes + baked.normal_deltas.nbytes
    texture = len(png_bytes(baked.texture))
    sizes = {
        "glb": summary["bytes"],
        "glb_with_animation": with_animation,
        "morph_targets": targets,
        "texture_png": texture,
        "rest": summary["bytes"] - targets - texture,
    }
    mb = summary["bytes"] / 1e6
    result = {
        "avatar": "builtin:ada",
        "style": str(args.style) if args.style else None,
        "texture_res": cfg.texture_res,
        "vertices": summary["vertices"],
        "triangles": summary["triangles"],
        "morph_targets": summary["morph_targets"],
        "times": times,
        "bytes": sizes,
        "goal_mb": GOAL_MB,
        "threads": args.threads,
        "torch": torch.__version__,
        "machine": platform.machine(),
        "load_average_1min": os.getloadavg()[0],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "export.json").write_text(json.dumps(result, indent=1) + "\n")
    md = [
        f"Export: builtin:ada{' + ' + str(args.style) if args.style else ' (unstylized)'}, "
        f"{summary['vertices']} vertices, {summary['triangles']} triangles, "
        f"{summary['morph_targets']} morph targets (POSITION + NORMAL), "
        f"texture {cfg.texture_res} px; {args.threads} CPU thread(s), torch {torch.__version__}, median of "
        f"{args.repeat} runs (machine load average {os.getloadavg()[0]:.1f} at the end).",
        "",
        "| step | median s | min s |",
        "|---|---|---|",
    ]
    md += [f"| {k} | {v['median_s']:.2f} | {v['min_s']:.2f} |" for k, v in times.items()]
    md += ["", "| part | MB |", "|---|---|"]
    md += [f"| {k.replace('_', ' ')} | {v / 1e6:.2f} |" for k, v in sizes.items()]
    md += ["", f"Goal: the .glb under {GOAL_MB:g} MB: {'met' if mb < GOAL_MB else 'not met'} ({mb:.2f} MB)."]
    (RESULTS / "export.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
