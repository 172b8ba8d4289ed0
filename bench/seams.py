"""Seam benchmark (issue 23): how visible the UV atlas cuts are on renders, before and after seam stitching.

For every built-in identity unstylized, and for three styles at the product's defaults (VGG guidance,
strength 0.5, 60 steps on `ada`: the demo's bricks and two held-out patterns), the render-space seam ratio of
`eval/seams.py` (mean colour jump across UV seams over that across ordinary edges, 7 views all round the
head; 1 = a seam looks like any other edge) with the stitch off (`SeamStitch.empty`: what the renderer read
before) and on (the product). Also the stitch's cost: its precomputation per avatar and one forward pass of
the avatar with and without it. Writes bench/results/seams.{json,md}. Run: `python bench/seams.py`
(about 5 min on 2 CPU cores).
"""

from __future__ import annotations

import json
import platform
import time
from datetime import date
from pathlib import Path

import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.avatar.identities import IDENTITY_NAMES
from alteredavatar.avatar.pretrained import load_avatar, load_avatar_with_reference
from alteredavatar.avatar.seams import SeamStitch
from alteredavatar.eval.seams import seam_visibility
from alteredavatar.eval.timing import timeit
from alteredavatar.guidance.procedural import procedural_style

RESULTS = Path(__file__).resolve().parent / "results"
STYLES = (("bricks", 3), ("tiles", 1000), ("wood", 1000))  # the demo's style, then two held-out patterns


def ratios(avatar) -> dict:
    """Seam ratio with the stitch off and on (the avatar keeps its stitch)."""
    stitch = avatar.stitch
    on = seam_visibility(avatar)
    avatar.stitch = SeamStitch.empty(avatar.mesh.uvs)
    off = seam_visibility(avatar)
    avatar.stitch = stitch
    return {"off": round(off["ratio"], 3), "on": round(on["ratio"], 3), "seam_pixels": on["seam_pixels"]}


def main() -> None:
    torch.manual_seed(0)
    out: dict = {"date": str(date.today()), "machine": platform.processor() or platform.machine()}
    out["unstylized"] = {name: ratios(load_avatar(f"builtin:{name}")) for name in IDENTITY_NAMES}
    out["stylized"] = {}
    for kind, seed in STYLES:
        avatar, source = load_avatar_with_reference("builtin:ada")
        obj = ObjectiveConfig(strength=0.5)
        guide = StyleGuide(StyleSpec(guidance="vgg"), obj, image=procedural_style(kind, seed, 256))
        Stylizer(avatar, guide, AdaptConfig(), obj, source=source).run(progress=False)
        avatar.requires_grad_(False)
        out["stylized"][f"{kind}-{seed}"] = ratios(avatar)
        print(kind, out["stylized"][f"{kind}-{seed}"])

    avatar = load_avatar("builtin:ada")
    m = avatar.mesh
    t0 = time.perf_counter()
    SeamStitch.from_mesh(m.faces, m.uvs, m.weld, avatar.net.cfg.uv_res)
    setup = time.perf_counter() - t0
    expr = torch.zeros(4, 52)
    with torch.no_grad():
        on = timeit(lambda: avatar(expr), repeat=20)["median_s"]
        stitch, avatar.stitch = avatar.stitch, SeamStitch.empty(m.uvs)
        off = timeit(lambda: avatar(expr), repeat=20)["median_s"]
        avatar.stitch = stitch
    out["cost"] = {
        "setup_s": round(setup, 3),
        "band_texels": len(stitch),
        "forward_ms_on": round(on * 1e3, 2),
        "forward_ms_off": round(off * 1e3, 2),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "seams.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "seams.md").write_text(table(out))
    print(table(out))


def table(r: dict) -> str:
    lines = [
        f"# Seams ({r['date']}, {r['machine']}; `python bench/seams.py`)",
        "",
        "Render-space seam ratio: mean colour jump across UV seams / across ordinary edges, 7 views all "
        "round "
        "the head at 256 px (1 = the seams look like any other edge). Off = before seam stitching; "
        "on = the product.",
        "",
        "| avatar | style | seam ratio, stitch off | seam ratio, stitch on |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | unstylized | {v['off']:.2f} | {v['on']:.2f} |" for n, v in r["unstylized"].items()]
    lines += [
        f"| ada | {s} (VGG, strength 0.5, 60 steps) | {v['off']:.2f} | {v['on']:.2f} |"
        for s, v in r["stylized"].items()
    ]
    c = r["cost"]
    lines += [
        "",
        f"Cost: {c['band_texels']} texels in the seam bands, {c['setup_s']:.2f} s to precompute per avatar; "
        f"one avatar forward pass (4 expressions) {c['forward_ms_on']:.1f} ms with the stitch vs "
        f"{c['forward_ms_off']:.1f} ms without.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
