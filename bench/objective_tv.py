"""Rejected objective change: the displacement TV as a Charbonnier penalty instead of plain L1.

The L1 TV answers every texel-level displacement ripple with a full-size gradient, and Adam's first steps
make such ripples everywhere (README, "What limits the first 10 steps"). `ObjectiveConfig.smooth_eps` > 0
replaces it with sqrt(d^2 + eps^2) - eps. This script measures what that does, on bench/meta.py's held-out
styles and evaluator (adaptation seed 0 only):
- plain optimisation (unstylized start, 100 steps) under both objectives, the L1 curves taken from
  bench/results/meta.json (same styles, seeds and evaluator);
- under the Charbonnier objective, the shipped init (meta-trained with L1) and an init meta-trained with the
  Charbonnier objective (configs/meta_texture_k10_ch*.yaml), each against the Charbonnier baseline;
- look sheets: renders after 100 plain steps under each objective, for two styles.

Writes bench/results/rejected/charbonnier_tv.{json,md} and charbonnier_tv_<style>.png.
Run: `python bench/objective_tv.py --init runs/meta_texture_k10_ch2` (after that run's meta-training).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

import meta as M  # bench/meta.py: the curves, evaluator and summaries of the main benchmark
from alteredavatar.adapt.run import meta_init_path
from alteredavatar.adapt.style_file import load_style
from alteredavatar.meta.bank import StyleBank
from alteredavatar.meta.run import load_run_config

OUT = M.RESULTS / "rejected"
LOOK_KINDS = ("mosaic", "palette")  # renders after 100 plain steps under each objective


def seed0(run: dict) -> dict:
    """A stored bench/meta.py curve reduced to its first adaptation seed (the one rerun here)."""
    return {"style": run["style"], "identity": run["identity"], "points": M.seed_runs(run)[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", type=Path, required=True,
                    help="meta-train run folder trained with the Charbonnier TV")
    ap.add_argument("--eps", type=float, default=1e-4, help="Charbonnier width (metres)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--looks-only", action="store_true", help="only render the look sheets")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    stored = json.loads((M.RESULTS / "meta.json").read_text())
    bank = StyleBank.from_dict(load_run_config("configs/meta_texture.yaml")["styles"], Path("configs"))
    held = bank.held_out[: len(stored["held_out_styles"])]
    if [e.name for e in held] != stored["held_out_styles"]:
        raise SystemExit("bench/results/meta.json holds other styles; rerun bench/meta.py first")
    shipped, _ = load_style(meta_init_path("texture"))
    trained, meta = load_style(args.init / "init.safetensors")
    if meta.get("config", {}).get("tasks", {}).get("smooth_eps") != args.eps:
        raise SystemExit(f"{args.init} was not meta-trained with tasks.smooth_eps = {args.eps}")
    obj = {"smooth_eps": args.eps}
    objectives = {"L1 TV (product)": {"objective": {"smooth_eps": 0.0}}, "Charbonnier TV": {"objective": obj}}
    for entry in (e for e in held if e.name.split("-")[0] in LOOK_KINDS):
        path = OUT / f"charbonnier_tv_{entry.name}.png"
        M.look_sheet(dict.fromkeys(objectives), entry, path, objectives, steps=100)
    if args.looks_only:
        return
    l1 = {name: [seed0(r) for r in stored["styles"]["curves"][name]] for name in ("unstylized", "reptile")}
    ch = {"unstylized": [], "reptile (L1-trained, shipped)": [], "reptile, Charbonnier-trained": []}
    for i, entry in enumerate(held):
        ch["unstylized"].append(M.curve(None, "ada", entry, 100, seed=i, objective=obj))
        ch["reptile (L1-trained, shipped)"].append(M.curve(shipped, "ada", entry, 30, seed=i, objective=obj))
        ch["reptile, Charbonnier-trained"].append(M.curve(trained, "ada", entry, 30, seed=i, objective=obj))
        print(f"{entry.name} done", flush=True)
    report = {"evaluator": stored["evaluator"], "eps": args.eps, "init": str(args.init), "budget": M.budget(meta),
              "L1": {"curves": l1, "summary": M.summarize(l1, 100, 30)},
              "charbonnier": {"curves": ch, "summary": M.summarize(ch, 100, 30)}}
    (OUT / "charbonnier_tv.json").write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(report)


def plain_at(runs: list[dict], step: int, key: str = "style") -> float:
    return statistics.median(next(p[key] for p in r["points"] if p["step"] == step) for r in runs)


def write_markdown(report: dict) -> None:
    lines = [f"Displacement TV as L1 (the product) or Charbonnier (eps {report['eps']:g} m), bench/meta.py's 8 "
             f"held-out styles, adaptation seed 0, evaluator {report['evaluator']}. Medians over styles.", "",
             "| objective | plain style @10 | @30 | @100 | plain identity @100 | plain geometry @100 (mm) |",
             "|---|---|---|---|---|---|"]
    for label, key in (("L1 TV (product)", "L1"), ("Charbonnier TV", "charbonnier")):
        base = report[key]["curves"]["unstylized"]
        lines.append(f"| {label} | {plain_at(base, 10):.4f} | {plain_at(base, 30):.4f} | {plain_at(base, 100):.4f} | "
                     f"{plain_at(base, 100, 'identity'):.4f} | {plain_at(base, 100, 'geometry'):.3f} |")
    lines += ["", "Each init against plain optimisation's 100-step score under the same objective:", "",
              "| objective | init | >= 10x (<= 10 steps) | reached within 30 | median steps | style @10 / target |",
              "|---|---|---|---|---|---|"]
    for label, key in (("L1 TV (product)", "L1"), ("Charbonnier TV", "charbonnier")):
        for name, s in report[key]["summary"].items():
            if name == "unstylized":
                continue
            steps = "> 30" if s["median_steps"] is None else f"{s['median_steps']:g}"
            lines.append(f"| {label} | {name} | {s['within_10x']} | {s['reached']} | {steps} | "
                         f"{s['median_ratio_at_10']:.2f} |")
    lines += ["", f"Charbonnier-trained init: {report['budget']}.", ""]
    (OUT / "charbonnier_tv.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
