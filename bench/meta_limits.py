"""What limits the meta init's first 10 steps on held-out styles? One change at a time, side by side.

bench/meta.py finds the shipped init about 4x faster than plain optimisation to the unstylized start's
100-step score, short of the 10x target. This reruns the shipped init's first 10 steps on the same held-out
styles, adaptation seeds and evaluator, each row changing one thing:

- 4x the views per step: less gradient noise from random views, expressions and crops (4x the cost);
- half or double the Adam rate: step size;
- another init, the 100-step plain solution of a sibling style (same generator and kind, next seed): is
  an init closer to each style to be had at all, or are the styles of one kind far apart?

A row that brings many styles under their targets within 10 steps names the bottleneck; if none does, the
remaining gap is the number of optimisation steps the loss itself needs. Targets come from
bench/results/meta.json (run bench/meta.py first). Writes bench/results/meta_limits.{json,md}.
Run: `python bench/meta_limits.py --init runs/meta_texture_k10_wide`.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from meta import EVAL_SEED, RESULTS, curve, mean_points, steps_to_reach

from alteredavatar.adapt.style_file import load_style
from alteredavatar.meta.bank import StyleBank, StyleEntry
from alteredavatar.meta.run import load_run_config

STEPS = 10
VARIANTS = {  # name -> (what changes, AdaptConfig overrides); "sibling init" is built per style
    "shipped init": ("nothing (the product loop: Adam 0.02, 4 views)", {}),
    "4x views per step": ("batch 16 instead of 4", {"batch": 16}),
    "half rate": ("Adam lr 0.01", {"lr": 0.01}),
    "double rate": ("Adam lr 0.04", {"lr": 0.04}),
    "sibling init": ("init = plain 100-step solution of the same kind's next seed", {}),
}


def sibling(entry: StyleEntry) -> StyleEntry | None:
    """The same procedural generator at the next seed (None for image or text styles)."""
    if entry.kind != "procedural":
        return None
    return StyleEntry(f"{entry.value}-{entry.seed + 1}", "procedural", entry.value, entry.seed + 1)


def summarize(rows: list[dict]) -> dict:
    """rows: per style {"target", "points"} -> counts and median ratio of the 10-step score to the target."""
    ratios = [next(p["style"] for p in r["points"] if p["step"] == STEPS) / r["target"] for r in rows]
    reached = [steps_to_reach(r["points"], r["target"])[0] for r in rows]
    at10 = [r["points"][-1] for r in rows]
    return {"within_10": f"{sum(s is not None for s in reached)}/{len(rows)}",
            "median_ratio_at_10": statistics.median(ratios), "max_ratio_at_10": max(ratios),
            "seconds_per_step": statistics.median(p["seconds"] / STEPS for p in at10)}


def write_markdown(report: dict) -> None:
    lines = [f"Limits of the meta init's first {STEPS} steps: {len(report['styles'])} held-out styles x "
             f"{report['seeds']} adaptation seeds (curves averaged), evaluator {report['evaluator']}, "
             f"{report['threads']} thread(s). Target per style: the unstylized start's score after 100 steps "
             "(bench/results/meta.json). \"Within 10 steps\" counts a score at or under the target at any checkpoint "
             f"0-{STEPS} (step 0 included); ratio < 1 means the target is met at step {STEPS} itself.", "",
             "| variant | changes | styles at target within 10 steps | median style@10 / target | worst | s / step |",
             "|---|---|---|---|---|---|"]
    for name, s in report["summary"].items():
        lines.append(f"| {name} | {VARIANTS[name][0]} | {s['within_10']} | {s['median_ratio_at_10']:.2f} | "
                     f"{s['max_ratio_at_10']:.2f} | {s['seconds_per_step']:.2f} |")
    names = list(report["curves"])
    lines += ["", "Style distance at steps 0 / 5 / 10 (mean over seeds) against the target:", "",
              "| style | target | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for i, style in enumerate(report["styles"]):
        cells = []
        for name in names:
            pts = {p["step"]: p["style"] for p in report["curves"][name][i]["points"]}
            cells.append(f"{pts[0]:.4f} / {pts[5]:.4f} / {pts[STEPS]:.4f}")
        lines.append(f"| {style} | {report['curves'][names[0]][i]['target']:.4f} | " + " | ".join(cells) + " |")
    (RESULTS / "meta_limits.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", type=Path, required=True, help="meta-train run folder of the shipped init")
    ap.add_argument("--config", default="configs/meta_texture.yaml")
    ap.add_argument("--styles", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    meta_json = RESULTS / "meta.json"
    if not meta_json.exists():
        raise SystemExit(f"{meta_json} is missing: run bench/meta.py first (its 100-step scores are the targets)")
    base = {r["style"]: r for r in json.loads(meta_json.read_text())["styles"]["curves"]["unstylized"]}
    init, _ = load_style(args.init / "init.safetensors")
    bank = StyleBank.from_dict(load_run_config(args.config)["styles"], Path(args.config).parent)
    held = bank.held_out[: args.styles]
    if any(e.name not in base for e in held):
        raise SystemExit(f"{meta_json} was made for other held-out styles; rerun bench/meta.py")
    curves: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    for i, e in enumerate(held):
        target = next(p["style"] for p in base[e.name]["points"] if p["step"] == 100)
        sib = sibling(e)
        sib_state = curve(None, "ada", sib, 100, seed=i, keep_state=True)["state"] if sib else None
        for name, (_, overrides) in VARIANTS.items():
            start = sib_state if name == "sibling init" else init
            if start is None:
                continue
            seed_points = [curve(start, "ada", e, STEPS, seed=i + 1000 * s, **overrides)["points"]
                           for s in range(args.seeds)]
            curves[name].append({"style": e.name, "target": target, "seed_points": seed_points,
                                 "points": mean_points(seed_points)})
        print(f"{e.name} done", flush=True)
    report = {"styles": [e.name for e in held], "evaluator": f"texture-sw(seed={EVAL_SEED})", "seeds": args.seeds,
              "threads": args.threads, "init": str(args.init), "steps": STEPS,
              "summary": {name: summarize(rows) for name, rows in curves.items() if rows}, "curves": curves}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "meta_limits.json").write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(report)


if __name__ == "__main__":
    main()
