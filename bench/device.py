"""Device benchmark: seconds per stylization step and per meta-training outer step, CPU vs CUDA side by side.

Times the product's own loops at their shipped settings (texture guidance, 128 px, batch 4, pretrained
network, built-in identity ada): one `Stylizer` step, and one Reptile outer step (1 task x 10 inner Adam
steps, the shipped stage-2 config). Each device gets warm-up steps first; CUDA is synchronized before every
clock read. Devices that this machine lacks are skipped, not faked.

Writes bench/results/device.{json,md}.  Run: `python bench/device.py` (on a GPU machine for the CUDA rows).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.avatar.pretrained import load_avatar_net, load_avatar_with_reference
from alteredavatar.device import resolve_device
from alteredavatar.guidance.procedural import procedural_style
from alteredavatar.meta.algorithms import Reptile, ReptileConfig
from alteredavatar.meta.avatar_tasks import AvatarTaskFamily, TaskFamilyConfig
from alteredavatar.meta.bank import StyleEntry

RESULTS = Path(__file__).resolve().parent / "results"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device, warmup: int, repeats: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t)
    return out


def stylize_step_seconds(device: torch.device, warmup: int, repeats: int) -> list[float]:
    """Seconds of one stylization step (render batch 4 at 128 px, texture loss, backward, Adam)."""
    avatar, source = load_avatar_with_reference("builtin:ada", device=device)
    obj = ObjectiveConfig()
    guide = StyleGuide(StyleSpec(guidance="texture"), obj, device, image=procedural_style("mosaic", 100, 256))
    stylizer = Stylizer(avatar, guide, AdaptConfig(steps=1), obj, source=source)
    opt = stylizer.make_optimizer(stylizer.params)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss, _ = stylizer.loss(stylizer.gen)
        loss.backward()
        opt.step()

    return _timed(step, device, warmup, repeats)


def outer_step_seconds(device: torch.device, warmup: int, repeats: int) -> list[float]:
    """Seconds of one Reptile outer step: 1 task x 10 inner Adam steps + the outer update."""
    net = load_avatar_net().to(device)
    family = AvatarTaskFamily(net, TaskFamilyConfig(identities=("ada",), adapt=AdaptConfig(batch=4, res=128)))
    algo = Reptile(net.style_parameters(), ReptileConfig(inner_steps=10, inner_lr=0.02, outer_lr=0.5))
    entry = StyleEntry(name="mosaic-100", kind="procedural", value="mosaic", seed=100)
    gen = torch.Generator().manual_seed(0)
    count = [0]

    def step() -> None:
        algo.meta_step([family.task(entry, "ada", seed=count[0])], count[0], gen)
        count[0] += 1

    return _timed(step, device, warmup, repeats)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({platform.processor() or platform.machine()}), {torch.get_num_threads()} threads"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's own choice)")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--outer-repeats", type=int, default=3)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = [torch.device("cpu")] + ([resolve_device("cuda")] if torch.cuda.is_available() else [])
    rows = []
    for device in devices:
        style = _timed_summary(stylize_step_seconds(device, 3, args.repeats))
        outer = _timed_summary(outer_step_seconds(device, 1, args.outer_repeats))
        rows.append(
            {"device": str(device), "name": describe(device), "stylize_step_s": style, "outer_step_s": outer}
        )
        print(rows[-1], flush=True)
    report = {"torch": torch.__version__, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "device.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        "Seconds per step of the product's loops (texture guidance, 128 px, batch 4, identity ada), "
        f"median (min-max) over {args.repeats} stylize steps and {args.outer_repeats} outer steps "
        "after warm-up; "
        f"torch {torch.__version__}.",
        "",
        "| device | stylize step | 60-step stylize | Reptile outer step (1 task x 10 inner) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        s, o = r["stylize_step_s"], r["outer_step_s"]
        lines.append(
            f"| {r['name']} | {s['median']:.3f} s ({s['min']:.3f}-{s['max']:.3f}) | {60 * s['median']:.1f} s "
            f"| {o['median']:.2f} s ({o['min']:.2f}-{o['max']:.2f}) |"
        )
    if len(rows) == 2:
        cpu, gpu = rows
        lines += [
            "",
            "CUDA speed-up on this machine: "
            f"{cpu['stylize_step_s']['median'] / gpu['stylize_step_s']['median']:.1f}x "
            "per stylize step, "
            f"{cpu['outer_step_s']['median'] / gpu['outer_step_s']['median']:.1f}x per outer step.",
        ]
    (RESULTS / "device.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _timed_summary(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


if __name__ == "__main__":
    main()
