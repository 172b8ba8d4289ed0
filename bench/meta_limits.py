"""What limits the meta init's first 10 steps on held-out styles? One change at a time, side by side.

bench/meta.py finds the shipped init about 4x faster than plain optimisation to the unstylized start's
100-step score, short of the 10x target. This reruns the shipped init's first 10 steps on the same held-out
styles, adaptation seeds and evaluator, each row changing one thing:

- 4x the views per step: less gradient noise from random views, expressions and crops (4x the cost);
- half or double the Adam rate: step size;
- another init, the 100-step plain solution of a sibling style (same generator and kind, next seed): is
  an init closer to each style to be had at all, or are the styles of one kind far apart?
- the objective without its displacement smoothness term (total variation of the displacement change),
  from the shipped init and from the unstylized start: how much of the 100 steps plain optimisation needs
  is spent fighting the displacement noise its first Adam steps stir up (geometry@10 shows the price).
- a 30x Adam rate on the finest bias mapper's output bias (one per-channel offset of the finest bias map,
  the rate Meta-SGD's learned rates raised most), from the shipped init and from the unstylized start: how
  much of the head start is a global colour shift that Adam at 0.02 per step is slow to make.

A row that brings many styles under their targets within 10 steps names the bottleneck; if none does, the
remaining gap is the number of optimisation steps the loss itself needs. Targets come from
bench/results/meta.json (run bench/meta.py first). Writes bench/results/meta_limits.{json,md}.
Run: `python bench/meta_limits.py --init runs/meta_texture_k10_wide` (`--only NAME` reruns one variant and
keeps the others from the existing meta_limits.json).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

import torch

from meta import EVAL_SEED, RESULTS, curve, mean_points, median_if_recorded, steps_to_reach

from alteredavatar.adapt.schedule import LrSchedule
from alteredavatar.adapt.style_file import load_style
from alteredavatar.meta.bank import StyleBank, StyleEntry
from alteredavatar.meta.run import load_run_config

STEPS = 10
NO_TV = {"smooth_weight": 0.0}
# name -> (what changes, start, curve() overrides); start: "init" | "sibling" (built per style) | "unstylized"
VARIANTS = {
    "shipped init": ("nothing (the product loop: Adam 0.02, 4 views)", "init", {}),
    "4x views per step": ("batch 16 instead of 4", "init", {"batch": 16}),
    "half rate": ("Adam lr 0.01", "init", {"lr": 0.01}),
    "double rate": ("Adam lr 0.04", "init", {"lr": 0.04}),
    "sibling init": ("init = plain 100-step solution of the same kind's next seed", "sibling", {}),
    "init, no displacement TV": ("objective without the displacement smoothness term", "init", {"objective": NO_TV}),
    "plain, no displacement TV": ("unstylized start, objective without the displacement smoothness term",
                                  "unstylized", {"objective": NO_TV}),
    "init, 30x output-bias rate": ("Adam 0.6 on the finest mapper's output bias, 0.02 elsewhere", "init",
                                   {"bias_rate": 30.0}),
    "plain, 30x output-bias rate": ("unstylized start, Adam 0.6 on the finest mapper's output bias, "
                                    "0.02 elsewhere", "unstylized", {"bias_rate": 30.0}),
}


def output_bias_schedule(names: list[str], factor: float, lr: float = 0.02) -> dict:
    """A one-row `lr_schedule` (JSON form): `lr` for every style tensor, `factor` x `lr` for the finest bias
    mapper's output bias (the mapper with the highest index)."""
    outputs = [n for n in names if re.fullmatch(r"mappers\.\d+\.conv2\.bias", n)]
    finest = max(outputs, key=lambda n: int(n.split(".")[1]))
    rates = torch.tensor([[lr * (factor if n == finest else 1.0) for n in names]], dtype=torch.float64)
    return LrSchedule(names, rates).to_json()


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
            "seconds_per_step": statistics.median(p["seconds"] / STEPS for p in at10),
            "median_geometry_at_10": median_if_recorded(p.get("geometry") for p in at10)}


def write_markdown(report: dict) -> None:
    lines = [f"Limits of the meta init's first {STEPS} steps: {len(report['styles'])} held-out styles x "
             f"{report['seeds']} adaptation seeds (curves averaged), evaluator {report['evaluator']}, "
             f"{report['threads']} thread(s). Target per style: the unstylized start's score after 100 steps "
             "(bench/results/meta.json). \"Within 10 steps\" counts a score at or under the target at any checkpoint "
             f"0-{STEPS} (step 0 included); ratio < 1 means the target is met at step {STEPS} itself.", "",
             "| variant | changes | styles at target within 10 steps | median style@10 / target | worst | s / step "
             "| median geometry@10 (mm) |",
             "|---|---|---|---|---|---|---|"]
    for name, s in report["summary"].items():
        geometry = "-" if s.get("median_geometry_at_10") is None else f"{s['median_geometry_at_10']:.3f}"
        lines.append(f"| {name} | {VARIANTS[name][0]} | {s['within_10']} | {s['median_ratio_at_10']:.2f} | "
                     f"{s['max_ratio_at_10']:.2f} | {s['seconds_per_step']:.2f} | {geometry} |")
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
    ap.add_argument("--only", action="append", choices=list(VARIANTS), metavar="NAME",
                    help="rerun only this variant (repeatable); the others are kept from "
                         "bench/results/meta_limits.json")
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
    run = args.only or list(VARIANTS)
    curves: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    if args.only:
        old = json.loads((RESULTS / "meta_limits.json").read_text())
        same = {"styles": [e.name for e in held], "seeds": args.seeds, "threads": args.threads}
        differ = [k for k, v in same.items() if old.get(k) != v]
        if differ:
            raise SystemExit(f"--only: meta_limits.json was made with other {', '.join(differ)}; rerun every variant")
        curves |= {name: rows for name, rows in old["curves"].items() if name not in run}
    for i, e in enumerate(held):
        target = next(p["style"] for p in base[e.name]["points"] if p["step"] == 100)
        sib = sibling(e) if "sibling init" in run else None
        sib_state = curve(None, "ada", sib, 100, seed=i, keep_state=True)["state"] if sib else None
        for name in run:
            _, kind, overrides = VARIANTS[name]
            if "bias_rate" in overrides:
                overrides = {"schedule": output_bias_schedule(list(init), overrides["bias_rate"])}
            start = {"init": init, "sibling": sib_state, "unstylized": None}[kind]
            if kind == "sibling" and start is None:
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
