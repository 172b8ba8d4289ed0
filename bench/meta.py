"""Meta-learning benchmark: how fast do unseen styles (and an unseen identity) adapt from each init?

For every held-out style of the bank (never seen in meta-training) and each initialization —
(b) the unstylized parameters (plain optimisation, what every peer does), (a) the Reptile init, and
(c) the other meta-learners' inits (`--init NAME=RUN`, each used the way `stylize` uses it) — run the
product's own stylization loop (`Stylizer`, test-time settings) and record, at fixed steps, the style
metric (texture distance from an evaluator whose random filters use a seed training never used; for text
prompts with `--guidance clip`, 1 - CLIP similarity under a judge CLIP other than the guiding one) and the
identity metrics (low-pass image distance and RMS displacement change to the unstylized avatar). Then:
steps and seconds (a) needs to reach the style score that (b) reaches after 100 steps, and their ratio
(target >= 10x fewer steps). Repeated for the held-out identity.

Writes bench/results/meta.{json,md,png} (`--stem` renames them).  Run: `python bench/meta.py --init
reptile=runs/texture ...` (`make bench` lists every run it compares). The paper's setting, prompts:
`--guidance clip --config clip --clip CLIP --judge OTHER_CLIP --init reptile=RUN`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.style_file import apply_style, load_style
from alteredavatar.avatar.identities import HELD_OUT
from alteredavatar.avatar.pretrained import load_avatar_with_reference
from alteredavatar.errors import AssetMissingError
from alteredavatar.eval.face_id import face_distance, face_model_available
from alteredavatar.eval.metrics import EvalConfig, eval_renders
from alteredavatar.guidance.clip import DEFAULT_CLIP, load_clip
from alteredavatar.guidance.perceptual import gram_distance
from alteredavatar.meta.algorithms import rated_sgd_step
from alteredavatar.meta.avatar_tasks import (
    clip_text_score,
    geometry_score,
    identity_score,
    score_views,
    style_score,
)
from alteredavatar.meta.bank import StyleBank
from alteredavatar.meta.config import load_meta_config

RESULTS = Path(__file__).resolve().parent / "results"
EVAL_SEED = 1234  # texture evaluator seed; training uses 0, meta-train's own eval 4321
CHECKPOINTS = (0, 1, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 75, 100)
INTERMEDIATE = (20, 30, 50)  # also report the steps to the baseline's score after these many steps
DLIB_END = 100  # dlib also here: the identity the baseline keeps at its target (it runs 100 steps)


@dataclass(frozen=True)
class Scoring:
    """How every curve is guided and judged: the loop's guidance, the guiding CLIP (clip guidance) and a
    second CLIP that scores prompt styles (another model, so the guide does not grade its own work)."""

    guidance: str = "texture"
    clip: str = DEFAULT_CLIP
    judge: object | None = None
    label: str = f"texture-sw(seed={EVAL_SEED})"


def curve(
    init: dict | None,
    identity: str,
    entry,
    steps: int,
    seed: int,
    scoring: Scoring = Scoring(),
    rates: dict | None = None,
    keep_state: bool = False,
    objective: dict | None = None,
    keep_steps: tuple[int, ...] = (),
    **adapt,
) -> dict:
    """Adapt one style from `init` with the product loop (AdaptConfig overrides in `adapt`); metrics at
    CHECKPOINTS (<= steps), and with `keep_state` the adapted style state (name -> tensor) as "state";
    `keep_steps`: also the states after those steps, as "states" {step: state}.
    With `rates` (Meta-SGD's learned α, named like the style state) the update is Meta-SGD's own rule
    θ ← θ − α ⊙ ∇L instead of Adam. `objective`: ObjectiveConfig overrides (default: the product's)."""
    avatar, source = load_avatar_with_reference(f"builtin:{identity}")
    if init is not None:
        apply_style(avatar.net, init)
    obj = ObjectiveConfig(**(objective or {}))
    spec = StyleSpec(text=entry.text, guidance=scoring.guidance, clip=scoring.clip)
    guide = StyleGuide(spec, obj, image=entry.image())
    names = list(avatar.net.style_state())
    factory = None if rates is None else (lambda params: MetaSGDStep(params, [rates[name] for name in names]))
    stylizer = Stylizer(
        avatar,
        guide,
        AdaptConfig(**{"steps": 1, "seed": seed, **adapt}),
        obj,
        source=source,
        optimizer=factory,
    )
    opt = stylizer.make_optimizer(stylizer.params)
    style_img = entry.image()
    points, elapsed, states = [], 0.0, {}
    for step in range(steps + 1):
        if step in keep_steps:
            states[step] = {k: v.detach().clone() for k, v in avatar.net.style_state().items()}
        if step in CHECKPOINTS:
            point = {
                "step": step,
                "seconds": round(elapsed, 3),
                "style": style_distance(avatar, entry, style_img, scoring),
                "identity": identity_score(avatar, source),
                "geometry": geometry_score(avatar, source),
            }
            if scoring.guidance == "vgg":
                point["vgg_pattern"] = vgg_pattern_distance(avatar, style_img)
            if step in (LOOK_STEPS, DLIB_END) and face_model_available():
                point["dlib"] = dlib_distance(avatar, source)
            points.append(point)
        if step == steps:
            break
        t = time.perf_counter()
        stylizer.step(opt, step)
        elapsed += time.perf_counter() - t
    out = {"style": entry.name, "identity": identity, "points": points, "states": states}
    if keep_state:
        out["state"] = {k: v.detach().clone() for k, v in avatar.net.style_state().items()}
    return out


@torch.no_grad()
def vgg_pattern_distance(avatar, style_img: torch.Tensor) -> float:
    """Second judge for image styles: VGG Gram distance of the luminance pattern at layers the loss does not
    use (relu1_2, relu2_2, relu3_2, relu4_2), same views as the texture evaluator (lower = closer to the
    style's pattern)."""
    img, mask = eval_renders(avatar, score_views())
    return float(gram_distance(img, mask, style_img, pattern=True).mean())


@torch.no_grad()
def dlib_distance(avatar, source) -> float | None:
    """dlib face-recognition distance between front neutral portraits (256 px) of the styled and unstylized
    avatar; None when no face is found in one of them."""
    cfg = EvalConfig(yaws=(0.0,), expressions=("neutral",), res=256)
    return face_distance(eval_renders(avatar, cfg)[0][0], eval_renders(source, cfg)[0][0])["value"]


def style_distance(avatar, entry, style_img: torch.Tensor | None, scoring: Scoring) -> float:
    """Lower = more stylized. An image style: the texture evaluator (EVAL_SEED, a seed no training used).
    A text prompt: 1 - mean CLIP similarity to it under the judge, a CLIP other than the one that guided."""
    if entry.text is None:
        return style_score(avatar, style_img, EVAL_SEED)
    if scoring.judge is None:
        raise SystemExit("a text style needs a judge CLIP (--judge), another model than the guiding --clip")
    return 1.0 - clip_text_score(avatar, scoring.judge, entry.text)


def make_scoring(guidance: str, clip: str, judge: str | None) -> Scoring:
    """The guidance, guiding CLIP and judge of every curve (the judge's weights are loaded here, so a missing
    model fails before any curve)."""
    if guidance in ("texture", "vgg"):
        extra = " and VGG Gram pattern at unused layers" if guidance == "vgg" else ""
        return Scoring(guidance, clip, None, f"texture-sw(seed={EVAL_SEED}){extra}")
    if judge is None or judge == clip:
        raise SystemExit(
            "--guidance clip: pass --judge, a CLIP other than --clip, so the model that guided "
            "does not grade its own work"
        )
    try:  # fail here, saying how to get the weights, rather than inside the first curve
        load_clip(clip)
        model = load_clip(judge)
    except AssetMissingError as err:
        raise SystemExit(f"error: {err}") from None
    return Scoring(guidance, clip, model, f"1 - CLIP similarity to the prompt, judge {model.model_id}")


class MetaSGDStep:
    """The optimizer-shaped test-time rule of Meta-SGD: p ← p − α ⊙ p.grad (α fixed, per element)."""

    def __init__(self, params: list[torch.Tensor], alpha: list[torch.Tensor]):
        self.params, self.alpha = params, alpha

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        rated_sgd_step(self.params, self.alpha, [p.grad for p in self.params])


def cached_points(cache: Path | None, key: dict, *args, **kwargs) -> list[dict]:
    """`curve(*args, **kwargs)`'s checkpoint list, stored in `cache` under a hash of `key` (what the curve
    depends on) and read back on a rerun: a long benchmark on 2 cores then resumes where it was stopped. The
    key holds the inputs, not the code: use a new folder after changing the loop or the renderer."""
    if cache is None:
        return curve(*args, **kwargs)["points"]
    path = cache / (hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24] + ".json")
    if path.exists():
        return json.loads(path.read_text())["points"]
    points = curve(*args, **kwargs)["points"]
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps({"key": key, "points": points}))
    tmp.replace(path)
    return points


def curve_key(init_sha: str, identity: str, style: str, steps: int, seed: int, scoring: Scoring, **adapt):
    """What a cached curve depends on (`adapt`: AdaptConfig overrides, only where not the product's)."""
    key = {
        "init": init_sha,
        "identity": identity,
        "style": style,
        "steps": steps,
        "seed": seed,
        "judges": [scoring.guidance, scoring.label, EVAL_SEED, CHECKPOINTS, DLIB_END],
    }
    return key | ({"adapt": adapt} if adapt else {})


def lr_sweep(
    lrs: list[float],
    entries: list,
    meta: tuple[str, dict, str],
    scoring: Scoring,
    cache: Path | None,
    baseline_steps: int,
    meta_steps: int,
    albedo_rates: Sequence[float] = (),
) -> dict:
    """The baseline at its own best settings: the unstylized start at each rate in `lrs` (besides the
    product's) and at the product's rate with the pyramid's albedo at each of `albedo_rates` times it, seed 0,
    on `entries`; every run is scored by the steps it takes to reach the product-rate run's score after
    `baseline_steps`, beside the meta start (`meta`: name, state, init sha) at the product's rate (and at each
    albedo rate). Curves at the product's rate share the main run's cache entries."""
    default_lr = AdaptConfig().lr
    meta_name, meta_state, meta_sha = meta
    lr_rows = [(f"lr {lr:g}", {} if lr == default_lr else {"lr": lr}) for lr in [default_lr, *lrs]]
    albedo = [(f"lr {default_lr:g}, albedo x{a:g}", {"albedo_rate": a}) for a in albedo_rates]
    # (row name, init sha, init state, steps, AdaptConfig overrides); the meta start at the product's rate
    starts = [(f"unstylized, {row}", "none", None, baseline_steps, o) for row, o in lr_rows + albedo]
    meta_rows = lr_rows[:1] + albedo
    starts += [(f"{meta_name}, {row}", meta_sha, meta_state, meta_steps, o) for row, o in meta_rows]
    runs: dict[str, list[dict]] = {}
    for name, sha, state, steps, adapt in starts:
        runs[name] = [
            {
                "style": e.name,
                "points": cached_points(
                    cache,
                    curve_key(sha, "ada", e.name, steps, i, scoring, **adapt),
                    state,
                    "ada",
                    e,
                    steps,
                    seed=i,
                    scoring=scoring,
                    **adapt,
                ),
            }
            for i, e in enumerate(entries)
        ]
        print(f"sweep: {name} done", flush=True)
    report = {"styles": [e.name for e in entries], "default_lr": default_lr, "judges": {}}
    base = runs[f"unstylized, lr {default_lr:g}"]
    for judge in judges(runs):
        rows = {}
        for run_name, rs in runs.items():
            steps = []
            for r, b in zip(rs, base):
                target = next(p[judge] for p in b["points"] if p["step"] == baseline_steps)
                steps.append(steps_to_reach(r["points"], target, judge)[0])
            inf = float("inf")
            med = statistics.median(x if x is not None else inf for x in steps)
            rows[run_name] = {"steps": steps, "median_steps": None if med == inf else med}
        report["judges"][judge] = rows
    return report


def write_sweep_markdown(report: dict, path: Path, meta_steps: int) -> None:
    """The sweep as one table per judge, with the meta start's step ratio against every baseline rate."""
    lines = [
        "Baseline sweep: the unstylized start at several Adam rates, held-out styles "
        f"{', '.join(report['styles'])}"
        f" (identity ada, seed 0); steps = the first checkpoint at or under the product rate's "
        f"({report['default_lr']:g}) score after 100 steps ('-': not within the run); 'albedo xN': the "
        "detail pyramid's albedo at N times the rate (--adapt.albedo-rate N). The meta start runs "
        f"{meta_steps} steps. The ratio in a baseline row is the meta start's speed-up (at the product's "
        "settings) against that baseline.",
        "",
    ]
    for judge, rows in report["judges"].items():
        meta_name = next(n for n in rows if not n.startswith("unstylized"))
        m = rows[meta_name]["median_steps"]
        lines += [
            f"**{JUDGE_LABELS.get(judge, judge)}**",
            "",
            "| start, rate | per style | median steps | meta start's step ratio |",
            "|---|---|---|---|",
        ]
        for run_name, row in rows.items():
            per = " / ".join("-" if x is None else str(x) for x in row["steps"])
            med = row["median_steps"]
            cell = "> run" if med is None else f"{med:g}"
            if not run_name.startswith("unstylized"):
                ratio = ""
            elif m is None:
                ratio = "meta start misses"
            elif med is None:
                ratio = "baseline misses"
            else:
                ratio = f"{med / m:.1f}x"
            lines.append(f"| {run_name} | {per} | {cell} | {ratio} |")
        lines.append("")
    path.write_text("\n".join(lines))


def seed_runs(run: dict) -> list[list[dict]]:
    """The per-seed point lists of a stored curve (older reports stored one seed as `points` only)."""
    return [list(p) for p in run.get("seed_points", [run["points"]])]


def mean_points(seed_points: list[list[dict]]) -> list[dict]:
    """Checkpoint-wise mean over seeds of every number recorded there (a dlib distance only over the seeds
    whose renders had a face; None when none had)."""
    out = []
    for pts in zip(*seed_points):
        point = {"step": pts[0]["step"]}
        for k in ("seconds", "style", "vgg_pattern", "identity", "geometry", "dlib"):
            values = [p[k] for p in pts if p.get(k) is not None]
            if k in pts[0]:
                point[k] = statistics.mean(values) if values else None
        out.append(point)
    return out


def steps_to_reach(
    points: list[dict], target: float, judge: str = "style"
) -> tuple[int | None, float | None]:
    for p in points:
        if p[judge] <= target:
            return p["step"], p["seconds"]
    return None, None


def median_if_recorded(values) -> float | None:
    """Median, or None when any value is missing (rows measured before a metric existed)."""
    values = list(values)
    return None if any(v is None for v in values) else statistics.median(values)


NO_FACE = "no face"


def dlib_at(points: list[dict], step: int) -> float | str | None:
    """The dlib distance at `step`: a number, NO_FACE (measured, but dlib found no face in the stylized
    portrait), or None (not measured there: the run stopped earlier, or predates the metric)."""
    point = next((p for p in points if p["step"] == step), None)
    if point is None or "dlib" not in point:
        return None
    return NO_FACE if point["dlib"] is None else point["dlib"]


def dlib_summary(at: str, values: list) -> dict:
    """Median dlib distance over the styles whose stylized face dlib still finds, and how many it found
    (a lost face is worse than any distance, so it is counted, not averaged); None where not measured."""
    if not values or any(v is None for v in values):
        return {f"median_dlib_at_{at}": None, f"dlib_found_at_{at}": None}
    found = [v for v in values if v != NO_FACE]
    return {
        f"median_dlib_at_{at}": statistics.median(found) if found else None,
        f"dlib_found_at_{at}": f"{len(found)}/{len(values)}",
    }


def steps_to_stay(points: list[dict], target: float, judge: str = "style") -> int | None:
    """First checkpoint from which every later one (to the end of the run) is at or under `target`.

    Stricter than `steps_to_reach` where a curve jumps (large Adam steps): a lucky early dip does not
    count."""
    for i, p in enumerate(points):
        if all(q[judge] <= target for q in points[i:]):
            return p["step"]
    return None


def summarize(
    runs: dict[str, list[dict]], baseline_steps: int, meta_steps: int, judge: str = "style"
) -> dict:
    """Per init and style: steps/seconds to reach the unstylized start's score after `baseline_steps`.

    Medians run over *all* styles, a style that never gets there within its run counting as slower than
    any that does (so the median is "> meta_steps" when half of them miss); the ratio is baseline_steps
    over that median. `within_10x`: styles reached in <= baseline_steps / 10 steps. The `stay` fields use
    `steps_to_stay` instead; `median_ratio_at_10` is the median of style@10 / target. `judge`: the point
    key that scores the style ("style": the texture evaluator, or "vgg_pattern").
    """
    base = {r["style"]: r for r in runs["unstylized"]}
    out = {}
    for name, rs in runs.items():
        rows = []
        for r in rs:
            b = base[r["style"]]
            b_end = next(p for p in b["points"] if p["step"] == baseline_steps)
            step, sec = steps_to_reach(r["points"], b_end[judge], judge)
            rows.append(
                {
                    "style": r["style"],
                    "target": b_end[judge],
                    "steps": step,
                    "seconds": sec,
                    "stay_steps": steps_to_stay(r["points"], b_end[judge], judge),
                    "style_at_10": next(p[judge] for p in r["points"] if p["step"] == 10),
                    "baseline_seconds": b_end["seconds"],
                    "style_at_5": next(p[judge] for p in r["points"] if p["step"] == 5),
                    "dlib_at_10": dlib_at(r["points"], 10),
                    "dlib_at_end": dlib_at(r["points"], DLIB_END),
                    "identity_at_10": next((p["identity"] for p in r["points"] if p["step"] == 10), None),
                    "geometry_at_10": next((p.get("geometry") for p in r["points"] if p["step"] == 10), None),
                }
            )
        inf = float("inf")
        med = statistics.median(x["steps"] if x["steps"] is not None else inf for x in rows)
        med_stay = statistics.median(x["stay_steps"] if x["stay_steps"] is not None else inf for x in rows)
        med_s = statistics.median(x["seconds"] if x["seconds"] is not None else inf for x in rows)
        base_s = statistics.median(x["baseline_seconds"] for x in rows)
        finite = lambda v, inf=inf: v if v != inf else None  # noqa: E731
        within = sum(x["steps"] is not None and x["steps"] <= baseline_steps / 10 for x in rows)
        stay_within = sum(
            x["stay_steps"] is not None and x["stay_steps"] <= baseline_steps / 10 for x in rows
        )
        out[name] = {
            "per_style": rows,
            "reached": f"{sum(x['steps'] is not None for x in rows)}/{len(rows)}",
            "within_10x": f"{within}/{len(rows)}",
            "median_steps": finite(med),
            "step_ratio": baseline_steps / med if med not in (0, inf) else None,
            "median_seconds": finite(med_s),
            "stay_within_10x": f"{stay_within}/{len(rows)}",
            "median_stay_steps": finite(med_stay),
            "median_ratio_at_10": statistics.median(x["style_at_10"] / x["target"] for x in rows),
            "seconds_ratio": base_s / med_s if med_s not in (0, inf) else None,
            "median_style_at_5": statistics.median(x["style_at_5"] for x in rows),
            "median_style_at_10": statistics.median(x["style_at_10"] for x in rows),
            "median_identity_at_10": statistics.median(x["identity_at_10"] for x in rows),
            "median_geometry_at_10": median_if_recorded(x["geometry_at_10"] for x in rows),
            **dlib_summary("10", [x["dlib_at_10"] for x in rows]),
            **dlib_summary("end", [x["dlib_at_end"] for x in rows]),
            "meta_steps": baseline_steps if name == "unstylized" else meta_steps,
            "steps_to_baseline_at": steps_to_baseline_at(rs, base, baseline_steps, judge),
        }
    return out


def steps_to_baseline_at(
    rs: list[dict], base: dict[str, dict], baseline_steps: int, judge: str = "style"
) -> dict[int, float | None]:
    """Median steps (misses slowest; None if the median misses) to reach the unstylized start's score after
    N steps, for N in INTERMEDIATE and `baseline_steps`: where along the baseline the speed-up holds."""
    out = {}
    for n in (*(n for n in INTERMEDIATE if n < baseline_steps), baseline_steps):
        steps = []
        for r in rs:
            target = next(p[judge] for p in base[r["style"]]["points"] if p["step"] == n)
            step, _ = steps_to_reach(r["points"], target, judge)
            steps.append(float("inf") if step is None else step)
        med = statistics.median(steps)
        out[n] = None if med == float("inf") else med
    return out


LOOK_STEPS = 10  # the look sheet shows each init before adaptation and after this many steps


PROGRESS = {"unstylized": (5, 10, 100), "meta": (5, 10)}  # the steps the progress sheet shows per start


def progress_sheet(
    inits: dict[str, dict | None],
    entries: list,
    path: Path,
    scoring: Scoring,
    meta_name: str,
    size: int = 128,
) -> None:
    """One row per held-out style: the style image, the unstylized start after 5, 10 and 100 product steps,
    then the meta-learned start `meta_name` after 5 and 10 (front view, neutral; seed 0): whether a few
    steps from the meta start look like many from scratch."""
    import torch.nn.functional as F
    from PIL import Image, ImageDraw

    cfg = EvalConfig(yaws=(0.0,), expressions=("neutral",), res=size)
    avatar, _ = load_avatar_with_reference("builtin:ada")
    rows = []
    for entry in entries:
        cells = [F.interpolate(entry.image()[None], size=(size, size), mode="bilinear", antialias=True)[0]]
        for name, steps in (("unstylized", PROGRESS["unstylized"]), (meta_name, PROGRESS["meta"])):
            run = curve(inits[name], "ada", entry, max(steps), seed=0, scoring=scoring, keep_steps=steps)
            for step in steps:
                apply_style(avatar.net, run["states"][step])
                cells.append(eval_renders(avatar, cfg)[0][0])
        rows.append(torch.cat(cells, dim=-1))
        print(f"progress sheet: {entry.name} done", flush=True)
    sheet = (torch.cat(rows, dim=-2).clamp(0, 1).permute(1, 2, 0) * 255).round().byte().numpy()
    labelled = Image.new("RGB", (sheet.shape[1], sheet.shape[0] + 16), "white")
    labelled.paste(Image.fromarray(sheet), (0, 16))
    draw = ImageDraw.Draw(labelled)
    heads = (
        ["style"]
        + [f"scratch @{n}" for n in PROGRESS["unstylized"]]
        + [f"meta @{n}" for n in PROGRESS["meta"]]
    )
    for i, text in enumerate(heads):
        draw.text((i * size + 4, 2), text, fill="black")
    labelled.save(path)


def look_sheet(
    inits: dict[str, dict | None],
    entry,
    path: Path,
    scoring: Scoring,
    extra: dict[str, dict] | None = None,
    steps: int = LOOK_STEPS,
) -> None:
    """One row per init: the style image, then front/neutral and 45°/smile renders at step 0 and after
    `steps` product steps on `entry` (seed 0). Numbers can be gamed by a pattern no one would call the
    style (docs/experiments.md, wider mappers); this sheet is the check a person makes. `extra`: curve()
    keyword arguments per init (its learned rates, or an objective)."""
    import torch.nn.functional as F
    from PIL import Image, ImageDraw  # Pillow comes with matplotlib (the bench extra)

    from alteredavatar.eval.metrics import EvalConfig, eval_renders

    cfg = EvalConfig(yaws=(0.0, 45.0), expressions=("neutral", "smile"), res=128)
    image = entry.image()
    style = (
        torch.ones(3, cfg.res, cfg.res)
        if image is None  # a text style: its prompt is in the header
        else F.interpolate(image[None], size=(cfg.res, cfg.res), mode="bilinear", antialias=True)[0]
    )
    avatar, _ = load_avatar_with_reference("builtin:ada")
    unstylized = {k: v.clone() for k, v in avatar.net.style_state().items()}
    rows = []
    for name, init in inits.items():
        run = curve(
            init, "ada", entry, steps, seed=0, scoring=scoring, keep_state=True, **(extra or {}).get(name, {})
        )
        cells = [style]
        for state in (init or unstylized, run["state"]):
            apply_style(avatar.net, state)
            img, _ = eval_renders(avatar, cfg)  # (views x expressions, 3, H, W), view-major
            cells += [img[0], img[3]]  # front neutral, 45° smile
        rows.append(torch.cat(cells, dim=-1))
        print(f"look sheet: {name} done", flush=True)
    sheet = (torch.cat(rows, dim=-2).clamp(0, 1).permute(1, 2, 0) * 255).round().byte().numpy()
    labelled = Image.new("RGB", (sheet.shape[1] + 150, sheet.shape[0] + 16), "white")
    labelled.paste(Image.fromarray(sheet), (150, 16))
    draw = ImageDraw.Draw(labelled)
    for x, text in (
        (150, "style" if image is not None else f"'{entry.text}'"),
        (150 + cfg.res, "step 0: front, 45 deg smile"),
        (150 + 3 * cfg.res, f"after {steps} steps ({entry.name})"),
    ):
        draw.text((x + 4, 2), text, fill="black")
    for i, name in enumerate(inits):
        draw.text((4, 16 + i * cfg.res + cfg.res // 2 - 6), name, fill="black")
    labelled.save(path)


def plot(runs: dict[str, list[dict]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, rs in runs.items():
        steps = [p["step"] for p in rs[0]["points"]]
        for ax, key in zip(axes, ("style", "identity")):
            mean = [statistics.mean(r["points"][i][key] for r in rs) for i in range(len(steps))]
            ax.plot(steps, mean, marker="o", ms=3, label=name)
    axes[0].set(
        title=f"{title}: style distance (other-seed evaluator)",
        xlabel="adaptation steps",
        ylabel="lower = more stylized",
    )
    axes[1].set(
        title="identity: low-pass distance to original",
        xlabel="adaptation steps",
        ylabel="lower = more recognisable",
    )
    for ax in axes:
        ax.set_xscale("symlog", linthresh=5)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


JUDGE_LABELS = {
    "style": "texture evaluator (other seed)",
    "vgg_pattern": "VGG Gram luminance pattern at relu1_2/2_2/3_2/4_2 (layers the loss does not use)",
}


def judges(curves: dict[str, list[dict]]) -> list[str]:
    """The style judges recorded in every point of these curves ("style" always; "vgg_pattern" with VGG)."""
    points = [p for rs in curves.values() for r in rs for p in r["points"]]
    return [j for j in JUDGE_LABELS if all(j in p for p in points)]


def summaries(curves: dict[str, list[dict]], baseline_steps: int, meta_steps: int) -> dict[str, dict]:
    return {j: summarize(curves, baseline_steps, meta_steps, j) for j in judges(curves)}


def dlib_cell(summary: dict, at: str) -> str:
    """'0.461', '0.469 (7/12 faces found)' where dlib lost some faces, or '-' where not measured."""
    found = summary.get(f"dlib_found_at_{at}")
    if found is None:
        return "-"
    median = summary[f"median_dlib_at_{at}"]
    value = "no face" if median is None else f"{median:.3f}"
    n, total = found.split("/")
    return value if n == total else f"{value} ({found} faces found)"


def write_markdown(report: dict, n_styles: int, baseline_steps: int, stem: str = "meta") -> None:
    """bench/results/<stem>.md from the report (also printed)."""
    seeds = report.get("seeds", 1)
    lines = [
        f"Meta-learning benchmark: {n_styles} held-out styles"
        + (f" x {seeds} adaptation seeds (curves averaged over seeds)" if seeds > 1 else "")
        + f", {report.get('guidance', 'texture')} guidance, evaluator {report['evaluator']}, "
        f"target = the unstylized start's score after {baseline_steps} steps (same loop: Adam, lr 0.02, "
        "batch 4, 128 px, strength 0.5). Medians over all styles; a style that misses counts as slowest. "
        '"Reached" counts the first checkpoint at or under the target; "stays under" the first checkpoint '
        "from which every later one in the run is at or under it (stricter where curves jump). dlib @10: "
        "face-recognition distance of the front portrait to the unstylized one after 10 steps (< 0.6 = same "
        f"person; the median over the faces dlib still finds, with how many it found where it lost some); "
        f"dlib @{DLIB_END}: the same where a run goes that far (the identity the target keeps).",
        "",
    ]
    for key in ("styles", "identity"):
        for judge, summary in report[key].get("summaries", {"style": report[key]["summary"]}).items():
            lines += [
                f"**{report[key]['label']}, judged by the {JUDGE_LABELS[judge]}**",
                "",
                "| init | meta-training | reached (within run) | >= 10x (<= 10 steps) | "
                "median steps | step ratio | "
                "median seconds | seconds ratio | stays under from <= 10 steps | median steps to stay | "
                "style @10 / target | style @5 | style @10 | identity @10 | geometry @10 (mm) | dlib @10 | "
                f"dlib @{DLIB_END} |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            ]
            for name, s in summary.items():
                miss = f"> {s['meta_steps']}"
                fmt = lambda v, f="{:.1f}", m=miss: m if v is None else f.format(v)  # noqa: E731
                below = "< " + str(round(baseline_steps / s["meta_steps"], 1)) + "x"
                lines.append(
                    f"| {name} | {report['budgets'].get(name, '-')} | {s['reached']} | {s['within_10x']} | "
                    f"{fmt(s['median_steps'], '{:g}')} | {fmt(s['step_ratio'], '{:.1f}x', below)} | "
                    f"{fmt(s['median_seconds'], '{:.1f}', '-')} | "
                    f"{fmt(s['seconds_ratio'], '{:.1f}x', '-')} | "
                    f"{s.get('stay_within_10x', '-')} | {fmt(s.get('median_stay_steps'), '{:g}')} | "
                    f"{s.get('median_ratio_at_10', float('nan')):.2f} | "
                    f"{s['median_style_at_5']:.4f} | {s['median_style_at_10']:.4f} | "
                    f"{s['median_identity_at_10']:.4f} | "
                    f"{fmt(s.get('median_geometry_at_10'), '{:.3f}', '-')} | "
                    f"{dlib_cell(s, '10')} | {dlib_cell(s, 'end')} |"
                )
            lines.append("")
            at = list(next(iter(summary.values()))["steps_to_baseline_at"])
            lines += [
                "Median steps to reach the unstylized start's score after N steps (ratio N / steps):",
                "",
                "| init | " + " | ".join(f"N = {n}" for n in at) + " |",
                "|---|" + "---|" * len(at),
            ]
            for name, s in summary.items():
                cells = []
                for n, v in s["steps_to_baseline_at"].items():
                    cells.append(
                        f"> {s['meta_steps']}" if v is None else f"{v:g} ({n / v:.1f}x)" if v else "0"
                    )
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    print("\n".join(lines))


def resummarize(path: Path) -> None:
    """Rewrite a stored report's summaries and markdown from its curves (after a change to the summaries)."""
    report = json.loads(path.read_text())
    for key in ("styles", "identity"):
        report[key]["summaries"] = summaries(
            report[key]["curves"], report["baseline_steps"], report["meta_steps"]
        )
        report[key]["summary"] = report[key]["summaries"]["style"]
    path.write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(report, len(report["held_out_styles"]), report["baseline_steps"], path.stem)


def budget(meta: dict) -> str:
    """A one-line meta-training budget from an init's metadata (stages of a warm start joined by '+')."""
    cfg = meta.get("config", {})
    algo = cfg.get("algorithm", "?")
    train, tasks, inner = cfg.get("train", {}), cfg.get("tasks", {}), cfg.get(algo, {})
    adapt = tasks.get("adapt", tasks)  # typed configs nest batch/res under tasks.adapt; older inits did not
    text = (
        f"{algo}: {train.get('outer_steps', '?')} outer x {train.get('tasks_per_step', '?')} tasks x "
        f"{inner.get('inner_steps', '?')} inner, {adapt.get('batch', '?')} views @ {adapt.get('res', '?')} px"
    )
    if "warm_start" in meta:
        text = budget(meta["warm_start"]) + "; then " + text
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--config",
        help="meta-train preset or YAML whose held-out styles to use (default: the "
        "guidance's own preset: texture, vgg or clip)",
    )
    ap.add_argument(
        "--init",
        action="append",
        default=[],
        metavar="NAME=RUN",
        help="an initialization to compare: a meta-train run folder (init.safetensors; Meta-SGD's "
        "init_alpha.* with its own update rule). Repeatable; the first one is also run on the "
        "held-out identity.",
    )
    ap.add_argument("--baseline-steps", type=int, default=100)
    ap.add_argument("--meta-steps", type=int, default=30)
    ap.add_argument("--styles", type=int, default=8)
    ap.add_argument("--identity-styles", type=int, default=4)
    ap.add_argument(
        "--identity-seeds", type=int, help="adaptation seeds on the held-out identity (default: --seeds)"
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="adaptation seeds per style (random views/expressions); curves are averaged over them",
    )
    ap.add_argument(
        "--cache",
        type=Path,
        help="folder to keep every finished curve in, keyed by its inputs (init file, style, seed, steps, "
        "judges); a rerun with the same folder skips them. Not keyed by the code: a new one after a change",
    )
    ap.add_argument("--reuse", type=Path, help="an earlier meta.json (same styles, steps and evaluator) ...")
    ap.add_argument(
        "--reuse-curves",
        action="append",
        metavar="NAME",
        help="... whose curves for this init are taken instead of recomputed (repeatable; default: "
        "every init in that report)",
    )
    ap.add_argument(
        "--looks-only",
        action="store_true",
        help="only render bench/results/meta_looks.png for the unstylized start and the --init runs",
    )
    ap.add_argument(
        "--progress-only",
        action="store_true",
        help="only render <stem>_progress.png: 4 held-out styles, scratch @5/10/100, the first --init @5/10",
    )
    ap.add_argument(
        "--guidance",
        choices=("texture", "vgg", "clip"),
        default="texture",
        help="vgg: image styles under VGG16 guidance, also judged by VGG Gram at unused layers; "
        "clip: the bank's text prompts, guided by --clip and scored by --judge",
    )
    ap.add_argument(
        "--clip", default=DEFAULT_CLIP, help="the guiding CLIP (hub id in the local cache, or folder)"
    )
    ap.add_argument("--judge", help="the scoring CLIP for prompts: another model than --clip")
    ap.add_argument("--stem", help="output file stem in bench/results/ (default: meta; meta_clip with clip)")
    ap.add_argument(
        "--summarize-only",
        action="store_true",
        help="recompute the summaries and tables of bench/results/meta.json from its curves, run nothing",
    )
    ap.add_argument(
        "--sweep-lrs",
        type=float,
        nargs="*",
        default=[],
        metavar="LR",
        help="also run the unstylized start at these Adam rates (the baseline's own best settings) on "
        "--sweep-styles styles, seed 0, beside the first --init: <stem>_sweep.{json,md}",
    )
    ap.add_argument(
        "--sweep-albedo-rates",
        type=float,
        nargs="*",
        default=[],
        metavar="X",
        help="also run both starts at the product's rate with the pyramid's albedo X times faster "
        "(--adapt.albedo-rate) in the sweep",
    )
    ap.add_argument("--sweep-styles", type=int, default=4)
    ap.add_argument("--sweep-only", action="store_true", help="run only the --sweep-lrs sweep")
    args = ap.parse_args()
    stem = args.stem or ("meta" if args.guidance == "texture" else f"meta_{args.guidance}")
    if args.summarize_only:
        resummarize(RESULTS / f"{stem}.json")
        return
    scoring = make_scoring(args.guidance, args.clip, args.judge)
    evaluator = scoring.label
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)
    bank = StyleBank.from_config(load_meta_config(args.config or args.guidance).styles)
    held = bank.held_out[: args.styles]
    inits: dict[str, dict | None] = {"unstylized": None}
    init_sha: dict[str, str] = {"unstylized": "none"}  # what a cached curve's start was
    rates: dict[str, dict] = {}  # Meta-SGD's learned per-parameter rates, where a run saved them
    budgets: dict[str, str] = {"unstylized": "none"}
    report_old = json.loads(args.reuse.read_text()) if args.reuse else {}
    if report_old and report_old.get("threads") != args.threads:
        raise SystemExit(
            f"--reuse: {args.reuse} was measured with {report_old.get('threads')} threads, this run "
            f"uses {args.threads}; seconds would not compare (pass --threads {report_old.get('threads')})"
        )
    reused = set(args.reuse_curves or report_old.get("styles", {}).get("curves", {})) if args.reuse else set()
    budgets |= report_old.get("budgets", {})
    for spec in args.init:
        name, _, run = spec.partition("=")
        if not run or not (Path(run) / "init.safetensors").exists():
            raise SystemExit(
                f"--init {spec}: expected NAME=RUN with RUN/init.safetensors (run meta-train first)"
            )
        inits[name], meta = load_style(Path(run) / "init.safetensors")
        init_sha[name] = hashlib.sha256(
            b"".join(p.read_bytes() for p in sorted(Path(run).glob("init*.safetensors")))
        ).hexdigest()
        budgets[name] = budget(meta)
        if (Path(run) / "init_alpha.safetensors").exists():
            rates[name] = load_style(Path(run) / "init_alpha.safetensors")[0]
    extra = {name: {"rates": rates.get(name)} for name in inits}
    if args.looks_only:
        look_sheet(inits, held[0], RESULTS / f"{stem}_looks.png", scoring, extra)
        return
    first = args.init[0].partition("=")[0] if args.init else None  # also run on the held-out identity
    if args.progress_only:
        progress_sheet(inits, held[:4], RESULTS / f"{stem}_progress.png", scoring, first)
        return
    if args.sweep_lrs:
        if first is None:
            raise SystemExit("--sweep-lrs compares the baseline with a meta start: pass --init NAME=RUN")
        sweep = lr_sweep(
            args.sweep_lrs,
            held[: args.sweep_styles],
            (first, inits[first], init_sha[first]),
            scoring,
            args.cache,
            args.baseline_steps,
            args.meta_steps,
            args.sweep_albedo_rates,
        )
        (RESULTS / f"{stem}_sweep.json").write_text(json.dumps(sweep, indent=1) + "\n")
        write_sweep_markdown(sweep, RESULTS / f"{stem}_sweep.md", args.meta_steps)
    if args.sweep_only:
        return
    names = [*inits, *sorted(reused - set(inits))]  # the last ones come from --reuse only
    id_seeds = args.identity_seeds or args.seeds
    report = {
        "held_out_styles": [e.name for e in held],
        "evaluator": evaluator,
        "guidance": args.guidance,
        "baseline_steps": args.baseline_steps,
        "meta_steps": args.meta_steps,
        "threads": args.threads,
        "seeds": args.seeds,
        "identity_seeds": id_seeds,
        "budgets": {k: v for k, v in budgets.items() if k in names},
    }
    old_identity = report_old.get("identity", {}).get("curves", {})
    identity_names = [
        "unstylized",
        first,
        *sorted(n for n in reused & set(old_identity) if n not in ("unstylized", first)),
    ]
    id_label = f"held-out identity {HELD_OUT}" + (
        f" ({id_seeds} adaptation seed{'s' * (id_seeds > 1)})" if id_seeds != args.seeds else ""
    )
    for label, identity, entries, run_names, n_seeds in (
        ("held-out styles (identity ada)", "ada", held, names, args.seeds),
        (id_label, HELD_OUT, held[: args.identity_styles], identity_names, id_seeds),
    ):
        runs = {}
        key = "styles" if identity == "ada" else "identity"
        seeds_flag = "--seeds" if identity == "ada" else "--identity-seeds"
        for name in run_names:
            old = report_old.get(key, {}).get("curves", {}).get(name) if name in reused else None
            if old is not None and [r["style"] for r in old] != [e.name for e in entries]:
                raise SystemExit(f"--reuse: {args.reuse} holds other styles for {name}; rerun without it")
            if name is None or (old is None and name not in inits):
                continue  # nothing to run: no init given and nothing to reuse
            steps = args.baseline_steps if name == "unstylized" else args.meta_steps
            runs[name] = []
            for i, e in enumerate(entries):
                seed_points = seed_runs(old[i]) if old is not None else []
                for s in range(len(seed_points), n_seeds):
                    if name not in inits:
                        raise SystemExit(
                            f"{seeds_flag} {n_seeds}: pass --init for {name} to run its other seeds"
                        )
                    cache_key = curve_key(init_sha[name], identity, e.name, steps, i + 1000 * s, scoring)
                    seed_points.append(
                        cached_points(
                            args.cache,
                            cache_key,
                            inits[name],
                            identity,
                            e,
                            steps,
                            seed=i + 1000 * s,
                            scoring=scoring,
                            rates=rates.get(name),
                        )
                    )
                seed_points = seed_points[:n_seeds]
                runs[name].append(
                    {
                        "style": e.name,
                        "identity": identity,
                        "seed_points": seed_points,
                        "points": mean_points(seed_points),
                    }
                )
            print(f"{label}: {name} done", flush=True)
        by_judge = summaries(runs, args.baseline_steps, args.meta_steps)
        report[key] = {"label": label, "curves": runs, "summary": by_judge["style"], "summaries": by_judge}
        plot(runs, RESULTS / f"{stem}_{key}.png", label)
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(report, len(held), args.baseline_steps, stem)
    look_sheet(inits, held[0], RESULTS / f"{stem}_looks.png", scoring, extra)
    if first is not None:
        progress_sheet(inits, held[:4], RESULTS / f"{stem}_progress.png", scoring, first)


if __name__ == "__main__":
    main()
