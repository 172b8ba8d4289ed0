"""Stylization benchmark: which guidance and which style parameters make a style's pattern appear.

On held-out style images (procedural kinds never looked at while choosing the defaults), 60 steps of the
product loop from the unstylized start at strength 0.5 on identity `ada`, for
  - guidance texture (weight-free) vs vgg (VGG16), with the bias mappers + UV detail pyramid (both), the
    pyramid alone (vgg), or the mappers alone (the paper's subset; three styles);
  - the VGG statistic: nnfm+gram (default: nearest-neighbour features plus a 0.3-weighted Gram term) vs
    nnfm alone vs gram alone, and the default without the UV-seam term, on three styles;
  - strength 0.2 / 0.5 / 0.8 with the defaults, on two styles.
Judges other than the loss, on 5 views x 6 expressions at 160 px: the weight-free texture evaluator with its
own seed, and VGG Gram distance at relu{1..4}_2 (layers no loss uses) on colour and on the luminance
pattern (palette removed, so a tint does not score). Identity: dlib face-recognition distance between
frontal portraits (the `[eval]` extra); expression preservation with MediaPipe (the `[expressions]` extra,
when installed). Timing, measured alone after the runs: a whole default stylization, and one VGG guidance step
(on a batch of real renders of the head, as the loop gives it) against one CLIP ViT-B/32 step. Seams: the
render-space seam ratio of `eval/seams.py` (7 views all round the head).

Writes bench/results/stylize.{json,md} and docs/stylize_sheet.png. Resumable: finished runs are kept in
bench/results/stylize_runs.json and skipped. Run: `python bench/stylize.py` (about 50 min on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
from pathlib import Path

import imageio.v3 as imageio
import torch
import torch.nn.functional as F

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.avatar.pretrained import load_avatar_with_reference
from alteredavatar.eval.expression import expression_preservation, landmark_model_available
from alteredavatar.eval.face_id import face_distance, face_model_available
from alteredavatar.eval.metrics import EvalConfig, eval_renders, texture_metric, vgg_style_metrics
from alteredavatar.eval.seams import seam_visibility
from alteredavatar.eval.timing import clip_vision_tower, timeit
from alteredavatar.export.media import grid, to_uint8, write_png
from alteredavatar.guidance.perceptual import VggConfig, VggGuidance
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.render.avatar import render_avatar
from alteredavatar.render.cameras import ViewSamplerConfig, front_views, sample_views
from alteredavatar.render.renderer import RenderConfig

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
STYLES = [
    ("scales", 101),
    ("wood", 102),
    ("cracks", 103),
    ("weave", 104),
    ("hatching", 105),
    ("checker", 106),
]
STEPS, STRENGTH = 60, 0.5
MAIN = [("texture", "both"), ("vgg", "detail"), ("vgg", "both")]  # on every style
MAPPERS = [("texture", "mappers"), ("vgg", "mappers")]  # the paper's subset alone, on three styles
DEFAULT_STAT = "nnfm+gram"
STATISTICS = ("nnfm", "gram")  # against the default, on three styles
STAT_CONFIGS = {"nnfm+gram": {}, "nnfm": {"gram_weight": 0.0}, "gram": {"statistic": "gram"}, "-": {}}
NO_SEAM = "nnfm+gram, no seam term"  # the default without the UV-seam agreement term, on three styles
STRENGTHS = (0.2, 0.8)  # next to 0.5, on two styles
PORTRAIT = 256  # dlib's detector wants faces of ~80 px or more
PORTRAITS = ROOT / ".cache" / "bench_stylize"  # per-run portraits for the look sheet (not in git)


def stat(guidance: str) -> str:
    """The statistic key of a main-matrix run: the VGG default, or "-" (texture guidance has none)."""
    return DEFAULT_STAT if guidance == "vgg" else "-"


def run_key(kind: str, seed: int, guidance: str, subset: str, statistic: str, strength: float) -> str:
    return f"{kind}-{seed}|{guidance}|{subset}|{statistic}|{strength}"


def stylize(style: torch.Tensor, guidance: str, subset: str, statistic: str, strength: float):
    """One product stylization from the unstylized start -> (styled avatar, source avatar, seconds per
    step)."""
    avatar, source = load_avatar_with_reference()
    obj = ObjectiveConfig(strength=strength, **({"seam_weight": 0.0} if statistic == NO_SEAM else {}))
    cfg = AdaptConfig(steps=STEPS, subset=subset)
    spec = StyleSpec(guidance=guidance, vgg=VggConfig(**STAT_CONFIGS.get(statistic, {})))
    result = Stylizer(
        avatar, StyleGuide(spec, obj, image=style, render_res=cfg.res), cfg, obj, source=source
    ).run(progress=False)
    avatar.requires_grad_(False)
    return avatar, source, result.seconds / len(result.history)


@torch.no_grad()
def judge(avatar, source, style: torch.Tensor) -> dict:
    """Every judge's score of one stylized avatar (and of its unstylized source, for reference)."""
    cfg = EvalConfig()
    n_views = len(cfg.yaws)
    img, mask = eval_renders(avatar, cfg)
    src, src_mask = eval_renders(source, cfg)
    vgg = vgg_style_metrics(img, mask, src, src_mask, style, n_views)
    gram, pattern = vgg["style_vgg_gram_distance"], vgg["style_vgg_pattern_distance"]
    out = {
        "styled": {
            "texture": float(texture_metric(img, mask, style, cfg.texture_seed).mean()),
            "vgg_gram": gram["value"],
            "vgg_pattern": pattern["value"],
            "view_std_vgg_pattern": vgg["view_consistency_vgg_pattern_std"]["value"],
        },
        "unstylized": {
            "texture": float(texture_metric(src, src_mask, style, cfg.texture_seed).mean()),
            "vgg_gram": gram["unstylized"],
            "vgg_pattern": pattern["unstylized"],
        },
    }
    out["seams"] = {"styled": seam_visibility(avatar), "unstylized": seam_visibility(source)}
    cams, neutral = front_views((0.0,)), torch.zeros(1, 52)
    src, sty = (
        render_avatar(a, neutral, cams, RenderConfig(res=PORTRAIT, ssaa=2)).image[0] for a in (source, avatar)
    )
    out["portrait"] = sty
    back = front_views((180.0,))
    out["portrait_back"] = render_avatar(avatar, neutral, back, RenderConfig(res=PORTRAIT, ssaa=2)).image[0]
    if face_model_available():
        out["face"] = face_distance(src, sty)
    if landmark_model_available():
        out["expression"] = expression_preservation(source, avatar)
    return out


def portrait_path(key: str, side: str = "front") -> Path:
    return PORTRAITS / (key.replace("|", "_").replace(", ", "_").replace(" ", "-") + f"_{side}.png")


def measure(
    runs: dict, key: str, style: torch.Tensor, guidance: str, subset: str, statistic: str, strength: float
) -> None:
    if key in runs and portrait_path(key).exists() and portrait_path(key, "back").exists():
        return
    avatar, source, sps = stylize(style, guidance, subset, statistic, strength)
    scores = judge(avatar, source, style)
    write_png(to_uint8(scores.pop("portrait")[None])[0], portrait_path(key))
    write_png(to_uint8(scores.pop("portrait_back")[None])[0], portrait_path(key, "back"))
    runs[key] = {
        "guidance": guidance,
        "subset": subset,
        "statistic": statistic,
        "strength": strength,
        "seconds_per_step": sps,
        **scores,
    }
    print(
        key,
        json.dumps({k: v for k, v in runs[key].items() if k in ("styled", "face", "seconds_per_step")}),
        flush=True,
    )


def timing(repeat: int = 5) -> dict:
    """Measured alone, side by side: one VGG guidance step (fwd+bwd, batch 4, 128 px) against one CLIP
    ViT-B/32 step (batch 4, 224 px, random weights), and the wall time of a whole default stylization."""
    guide = VggGuidance(procedural_style("scales", 101), render_res=128)
    gen = torch.Generator().manual_seed(0)
    _, source = load_avatar_with_reference()
    with torch.no_grad():
        out = render_avatar(
            source, torch.zeros(4, 52), sample_views(4, gen, ViewSamplerConfig()), RenderConfig(res=128)
        )
    images, mask = out.image, out.mask

    def vgg_step():
        x = images.clone().requires_grad_(True)
        style, content = guide.losses(x, images, mask, gen)
        (style + content).backward()

    tower = clip_vision_tower()
    pixels = torch.rand(4, 3, 224, 224)

    def clip_step():
        x = pixels.clone().requires_grad_(True)
        tower(pixel_values=x).image_embeds.sum().backward()

    vgg, clip = timeit(vgg_step, repeat), timeit(clip_step, repeat)
    _, _, sps = stylize(procedural_style("bricks", 7), "vgg", "both", DEFAULT_STAT, STRENGTH)
    return {
        "vgg_step_s": vgg["median_s"],
        "clip_step_s": clip["median_s"],
        "ratio": vgg["median_s"] / clip["median_s"],
        "default_seconds_per_step": sps,
        "default_stylize_s": sps * STEPS,
    }


def plan_runs(styles: list) -> list[tuple]:
    """(kind, seed, guidance, subset, statistic, strength) of every run, main matrix first."""
    plan = [(k, s, g, sub, stat(g), STRENGTH) for k, s in styles for g, sub in MAIN]
    plan += [(k, s, g, sub, stat(g), STRENGTH) for k, s in styles[:3] for g, sub in MAPPERS]
    plan += [(k, s, "vgg", "both", stat, STRENGTH) for k, s in styles[:3] for stat in (*STATISTICS, NO_SEAM)]
    return plan + [(k, s, "vgg", "both", DEFAULT_STAT, st) for k, s in styles[:2] for st in STRENGTHS]


def summarize(runs: dict, measured: dict) -> tuple[list[dict], str]:
    """Rows (median over styles per configuration) and the markdown report."""
    groups: dict[tuple, list[dict]] = {}
    for r in runs.values():
        groups.setdefault((r["guidance"], r["subset"], r["statistic"], r["strength"]), []).append(r)

    def med(rs, f):
        vals = [f(r) for r in rs if f(r) is not None]
        return statistics.median(vals) if vals else None

    rows = []
    for (g, sub, stat, s), rs in sorted(groups.items()):
        rows.append(
            {
                "guidance": g,
                "subset": sub,
                "statistic": stat,
                "strength": s,
                "styles": len(rs),
                "texture_ratio": med(rs, lambda r: r["styled"]["texture"] / r["unstylized"]["texture"]),
                "vgg_gram_ratio": med(rs, lambda r: r["styled"]["vgg_gram"] / r["unstylized"]["vgg_gram"]),
                "vgg_pattern_ratio": med(
                    rs, lambda r: r["styled"]["vgg_pattern"] / r["unstylized"]["vgg_pattern"]
                ),
                "view_std_pattern": med(rs, lambda r: r["styled"]["view_std_vgg_pattern"]),
                "face_distance": med(rs, lambda r: (r.get("face") or {}).get("value")),
                "faces_found": sum(1 for r in rs if (r.get("face") or {}).get("value") is not None),
                "expression_error": med(rs, lambda r: (r.get("expression") or {}).get("value")),
                "seam_ratio": med(rs, lambda r: r["seams"]["styled"]["ratio"]),
                "seam_ratio_unstylized": med(rs, lambda r: r["seams"]["unstylized"]["ratio"]),
                "seconds_per_step": med(rs, lambda r: r["seconds_per_step"]),
            }
        )

    def f(v, d=3):
        return "n/a" if v is None else f"{v:.{d}f}"

    lines = [
        f"Stylization: {STEPS} steps from the unstylized start, identity ada, held-out styles "
        f"{', '.join(f'{k}-{s}' for k, s in STYLES)}; medians over styles. Distances are the stylized "
        "avatar's divided by the unstylized one's (lower = closer to the style; 1 = unchanged). "
        f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}, {platform.machine()}.",
        "",
        "| guidance | style params | statistic | strength | styles | texture judge | VGG Gram (colour) | "
        "VGG Gram (pattern) | view std (pattern) | dlib distance | faces found | expression error | "
        "seam ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['guidance']} | {r['subset']} | {r['statistic']} | {r['strength']} | {r['styles']} | "
            f"{f(r['texture_ratio'])} | {f(r['vgg_gram_ratio'])} | {f(r['vgg_pattern_ratio'])} | "
            f"{f(r['view_std_pattern'], 4)} | {f(r['face_distance'])} | {r['faces_found']}/{r['styles']} | "
            f"{f(r['expression_error'], 4)} | {f(r['seam_ratio'], 2)} |"
        )
    lines += [
        "",
        f"Timing, measured alone after the runs: a default stylization (60 steps, VGG, both) takes "
        f"{measured['default_stylize_s']:.1f} s ({measured['default_seconds_per_step']:.2f} s/step; "
        "goal 45 s). "
        "One VGG guidance step (fwd+bwd, batch 4, 128 px renders of the head): "
        f"{measured['vgg_step_s']:.3f} s; one CLIP "
        f"ViT-B/32 step (batch 4, 224 px): {measured['clip_step_s']:.3f} s; ratio {measured['ratio']:.2f} "
        "(goal <= 0.5). Per-run seconds per step are in the JSON (measured while other jobs shared the "
        "machine, so only roughly comparable).",
        "",
        "dlib distance: face-recognition distance between the frontal neutral portraits (stylized vs "
        "unstylized; same person below 0.6). Expression error: MediaPipe landmark-motion difference "
        "(n/a when the `[expressions]` extra is not installed in the benchmark's environment). Seam ratio: "
        "mean colour jump between neighbouring pixels across UV seams over that across ordinary mesh edges, "
        "7 views all round the head at 256 px (1 = invisible; `eval/seams.py`); the unstylized avatar "
        f"scores {rows[0]['seam_ratio_unstylized']:.2f}.",
    ]
    return rows, "\n".join(lines) + "\n"


def look_sheet(styles: list, path: Path) -> None:
    """Rows: held-out styles; columns: style image, unstylized, each main configuration's portrait, and the
    back of the head with the defaults (the style must go all the way round)."""
    cols = [(g, s, "front") for g, s in MAIN] + [("vgg", "both", "back")]
    size = 160
    cells = []
    _, source = load_avatar_with_reference()
    with torch.no_grad():
        src = render_avatar(
            source, torch.zeros(1, 52), front_views((0.0,)), RenderConfig(res=size, ssaa=2)
        ).image[0]
    for kind, seed in styles:
        img = F.interpolate(
            procedural_style(kind, seed)[None], size=(size, size), antialias=True, mode="bilinear"
        )[0]
        row = [img, src]
        for g, s, side in cols:
            key = run_key(kind, seed, g, s, stat(g), STRENGTH)
            p = (
                torch.from_numpy(imageio.imread(portrait_path(key, side))).permute(2, 0, 1)[None, :3].float()
                / 255
            )
            row.append(F.interpolate(p, size=(size, size), antialias=True, mode="bilinear")[0])
        cells.append(torch.stack(row))
    images = to_uint8(torch.stack(cells).flatten(0, 1)).reshape(len(cells), len(cols) + 2, size, size, 3)
    labels = ["style", "unstylized"] + [
        f"{g} / {s}" + (" (back)" if side == "back" else "") for g, s, side in cols
    ]
    write_png(grid(images, labels, [f"{k}-{s}" for k, s in styles]), path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--styles", type=int, default=len(STYLES), help="use only the first N styles (quick check)"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    store = RESULTS / "stylize_runs.json"
    runs = json.loads(store.read_text()) if store.exists() else {}
    styles = STYLES[: args.styles]
    PORTRAITS.mkdir(parents=True, exist_ok=True)
    plan = plan_runs(styles)
    for kind, seed, g, sub, stat, st in plan:
        key = run_key(kind, seed, g, sub, stat, st)
        measure(runs, key, procedural_style(kind, seed), g, sub, stat, st)
        store.write_text(json.dumps(runs, indent=1) + "\n")
    measured = timing()
    rows, md = summarize({run_key(*p): runs[run_key(*p)] for p in plan}, measured)
    (RESULTS / "stylize.json").write_text(
        json.dumps({"rows": rows, "timing": measured, "runs": runs}, indent=1) + "\n"
    )
    (RESULTS / "stylize.md").write_text(md)
    look_sheet(styles, ROOT / "docs" / "stylize_sheet.png")
    print(md)


if __name__ == "__main__":
    main()
