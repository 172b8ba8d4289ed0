"""Stylization defaults benchmark: learning rate and render size vs quality and time per step.

From the unstylized parameters (no meta-init), 40 steps of the product loop on two held-out styles, for a
few learning rates and render sizes; reports the other-seed style distance and the identity distance after
40 steps and the seconds per step. Justifies the `stylize` defaults (lr 0.02, 128 px, batch 4).

Writes bench/results/stylize.{json,md}.  Run: `python bench/stylize.py`.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import torch

from meta import RESULTS, curve  # bench/meta.py: the same measured loop and metrics
from alteredavatar.meta.bank import StyleBank
from alteredavatar.meta.run import load_run_config

GRID = [{"lr": 0.01, "res": 128}, {"lr": 0.02, "res": 128}, {"lr": 0.04, "res": 128}, {"lr": 0.02, "res": 96}]
STEPS = 40


def main() -> None:
    torch.set_num_threads(2)
    bank = StyleBank.from_dict(load_run_config("configs/meta_texture.yaml")["styles"], Path("configs"))
    styles = [e for e in bank.held_out if e.value in ("stripes", "noise")]
    rows = []
    for cfg in GRID:
        runs = [curve(None, "ada", e, STEPS, seed=i, **cfg) for i, e in enumerate(styles)]
        end = [r["points"][-1] for r in runs]
        rows.append({**cfg, "style_at_40": statistics.mean(p["style"] for p in end),
                     "identity_at_40": statistics.mean(p["identity"] for p in end),
                     "seconds_per_step": statistics.mean(p["seconds"] for p in end) / STEPS,
                     "styles": [e.name for e in styles]})
        print(rows[-1], flush=True)
    (RESULTS / "stylize.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [f"Stylize defaults: {STEPS} steps from the unstylized init, styles {', '.join(rows[0]['styles'])}, "
             "strength 0.5, batch 4, 2 CPU threads.", "",
             "| lr | res | style distance @40 (lower = more stylized) | identity distance @40 | s/step |", "|---|---|---|---|---|"]
    lines += [f"| {r['lr']} | {r['res']} | {r['style_at_40']:.4f} | {r['identity_at_40']:.4f} | {r['seconds_per_step']:.2f} |"
              for r in rows]
    (RESULTS / "stylize.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
