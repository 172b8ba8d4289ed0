"""Render benchmark: time per view of the CPU renderer vs one CLIP ViT-B/32 vision-tower step.

Measures, side by side in one process (machines are noisy, ratios are what we compare):
  - render fwd and fwd+bwd: rasterize + interpolate + texture + shade, batch 4 at 224 px, default head;
  - avatar+render fwd+bwd: the same plus the avatar network decode (what a stylization step pays);
  - CLIP ViT-B/32-sized vision tower fwd+bwd (random init, same batch; transformers, no download).
Goal (issue 3): render fwd+bwd <= 25% of the CLIP step.

Writes bench/results/render.json and bench/results/render.md.  Run: `python bench/render.py`.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.pretrained import load_avatar_net, load_mesh
from alteredavatar.eval.timing import clip_vision_tower, timeit
from alteredavatar.render.cameras import sample_views
from alteredavatar.render.renderer import RenderConfig, render_mesh

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--res", type=int, default=224)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    mesh = load_mesh("builtin:ada")
    avatar = AnimatableAvatar(mesh, load_avatar_net())
    avatar.net.requires_grad_(False)
    for p in avatar.net.style_parameters():
        p.requires_grad_(True)
    gen = torch.Generator().manual_seed(0)
    cams = sample_views(args.batch, gen)
    expr = torch.zeros(args.batch, 52)
    cfg = RenderConfig(res=args.res)
    verts = mesh.posed(expr)
    texture = avatar(expr).albedo.detach()

    def render_fwd():
        with torch.no_grad():
            render_mesh(verts, mesh.faces, mesh.uvs, texture, cams, cfg, mesh.weld)

    def render_fwd_bwd():
        v = verts.clone().requires_grad_(True)
        t = texture.clone().requires_grad_(True)
        render_mesh(v, mesh.faces, mesh.uvs, t, cams, cfg, mesh.weld).image.mean().backward()

    def avatar_fwd_bwd():
        frame = avatar(expr)
        render_mesh(
            frame.verts, mesh.faces, mesh.uvs, frame.albedo, cams, cfg, mesh.weld
        ).image.mean().backward()

    tower = clip_vision_tower()
    tower.requires_grad_(False)
    pixels = torch.rand(args.batch, 3, 224, 224)

    def clip_fwd_bwd():
        x = pixels.clone().requires_grad_(True)
        tower(pixel_values=x).image_embeds.sum().backward()

    rows = {
        "render_fwd": timeit(render_fwd, args.repeat),
        "render_fwd_bwd": timeit(render_fwd_bwd, args.repeat),
        "avatar_render_fwd_bwd": timeit(avatar_fwd_bwd, args.repeat),
        "clip_vitb32_fwd_bwd": timeit(clip_fwd_bwd, args.repeat),
    }
    clip = rows["clip_vitb32_fwd_bwd"]["median_s"]
    for r in rows.values():
        r["per_view_ms"] = 1000 * r["median_s"] / args.batch
        r["ratio_to_clip"] = r["median_s"] / clip
    result = {
        "batch": args.batch,
        "res": args.res,
        "threads": args.threads,
        "faces": int(mesh.faces.shape[0]),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "goal": "render_fwd_bwd ratio_to_clip <= 0.25",
        "goal_met": rows["render_fwd_bwd"]["ratio_to_clip"] <= 0.25,
        "timings": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "render.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"Render benchmark: batch {args.batch}, {args.res} px, {mesh.faces.shape[0]} faces, "
        f"{args.threads} threads, torch {torch.__version__}",
        "",
        "| measure | per view (ms) | batch median (s) | ratio to CLIP ViT-B/32 fwd+bwd |",
        "|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['per_view_ms']:.1f} | {r['median_s']:.3f} | {r['ratio_to_clip']:.3f} |")
    lines += [
        "",
        f"Goal render fwd+bwd <= 25% of the CLIP step: {'met' if result['goal_met'] else 'NOT met'}.",
    ]
    (RESULTS / "render.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
