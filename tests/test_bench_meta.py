"""bench/meta.py's prompt mode: CLIP-guided curves scored by a second, different CLIP (tiny models)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from alteredavatar.guidance.clip import load_clip
from alteredavatar.guidance.tiny_clip import make_tiny_clip
from alteredavatar.meta.avatar_tasks import clip_text_score
from alteredavatar.meta.bank import StyleEntry


@pytest.fixture
def bench(monkeypatch):
    """bench/meta.py loaded under its own name (tests/meta is a package called `meta`), two checkpoints."""
    path = Path(__file__).resolve().parents[1] / "bench" / "meta.py"
    spec = importlib.util.spec_from_file_location("bench_meta", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_meta", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "CHECKPOINTS", (0, 2))
    return module


@pytest.fixture(scope="module")
def judge_path(tmp_path_factory) -> str:
    return make_tiny_clip(tmp_path_factory.mktemp("tiny_judge"), seed=1, image_size=32, patch_size=8)


def test_the_judge_must_be_another_clip(bench, tiny_clip_path):
    with pytest.raises(SystemExit, match="--judge"):
        bench.make_scoring("clip", tiny_clip_path, None)
    with pytest.raises(SystemExit, match="--judge"):
        bench.make_scoring("clip", tiny_clip_path, tiny_clip_path)


def test_prompt_curve_is_clip_guided_and_scored_by_the_judge(bench, tiny_clip_path, judge_path):
    scoring = bench.make_scoring("clip", tiny_clip_path, judge_path)
    assert "judge" in scoring.label
    entry = StyleEntry("a marble statue", "text", "a marble statue")
    run = bench.curve(None, "ada", entry, 2, seed=0, scoring=scoring, keep_state=True)
    start, end = run["points"]
    avatar, _ = bench.load_avatar_with_reference("builtin:ada")
    judge = load_clip(judge_path)
    # step 0 is the unstylized avatar: its score is 1 - the judge's similarity, not the guiding CLIP's
    assert start["style"] == pytest.approx(1 - clip_text_score(avatar, judge, entry.text), abs=1e-5)
    assert start["style"] != pytest.approx(
        1 - clip_text_score(avatar, load_clip(tiny_clip_path), entry.text), abs=1e-4
    )
    # two CLIP-guided steps changed the style parameters, and the judge's score with them
    bench.apply_style(avatar.net, run["state"])
    assert end["style"] == pytest.approx(1 - clip_text_score(avatar, judge, entry.text), abs=1e-5)
    assert end["style"] != start["style"]


def test_vgg_curves_are_judged_twice_and_summarized_per_judge(bench):
    """Under VGG guidance every checkpoint also carries the VGG-pattern judge, and the summary is computed for
    each judge separately (the texture evaluator's targets and the VGG judge's)."""
    scoring = bench.make_scoring("vgg", bench.DEFAULT_CLIP, None)
    entry = StyleEntry("bricks-3", "procedural", "bricks", 3)
    run = bench.curve(None, "ada", entry, 2, seed=0, scoring=scoring, batch=1, res=48)
    start, end = run["points"]
    assert {"style", "vgg_pattern", "identity", "geometry"} <= set(start)
    assert end["vgg_pattern"] != start["vgg_pattern"]

    def points(style, pattern):  # the summaries' checkpoints with the two judges' scores
        return [
            {"step": t, "seconds": t, "style": a, "vgg_pattern": b, "identity": 0.0}
            for t, a, b in zip((0, 5, 10, 20, 30, 50, 100), style, pattern)
        ]

    curves = {
        "unstylized": [{"style": "bricks-3", "points": points((7, 6, 5, 4, 3, 2, 1), (7, 6, 5, 4, 3, 2, 1))}],
        "meta": [{"style": "bricks-3", "points": points((3, 2, 1, 1, 1, 1, 1), (9,) * 7)}],
    }
    assert bench.judges(curves) == ["style", "vgg_pattern"]
    by_judge = bench.summaries(curves, baseline_steps=100, meta_steps=100)
    assert by_judge["style"]["meta"]["per_style"][0]["steps"] == 10  # at the 100-step target by step 10
    assert by_judge["vgg_pattern"]["meta"]["per_style"][0]["steps"] is None  # this judge disagrees


def test_progress_sheet_shows_each_start_at_its_steps(bench, monkeypatch, tmp_path):
    """One row per style: the style image, then a cell per (start, step) in PROGRESS."""
    from PIL import Image

    monkeypatch.setattr(bench, "PROGRESS", {"unstylized": (1, 2), "meta": (1,)})
    entry = StyleEntry("dots-5", "procedural", "dots", 5)
    avatar, _ = bench.load_avatar_with_reference("builtin:ada")
    inits = {"unstylized": None, "meta": {k: v + 0.01 for k, v in avatar.net.style_state().items()}}
    path = tmp_path / "progress.png"
    bench.progress_sheet(
        inits, [entry], path, bench.make_scoring("texture", bench.DEFAULT_CLIP, None), "meta", 32
    )
    assert Image.open(path).size == (32 * 4, 32 + 16)


def test_cached_curves_are_computed_once_per_key_and_read_back(bench, monkeypatch, tmp_path):
    calls = []

    def fake_curve(*args, **kwargs):
        calls.append((args, kwargs))
        return {"points": [{"step": 0, "style": float(len(calls))}]}

    monkeypatch.setattr(bench, "curve", fake_curve)
    key = {"init": "abc", "style": "bricks-1000", "seed": 0}
    first = bench.cached_points(tmp_path / "cache", key, None, "ada", seed=0)
    assert bench.cached_points(tmp_path / "cache", key, None, "ada", seed=0) == first and len(calls) == 1
    assert bench.cached_points(tmp_path / "cache", {**key, "seed": 1000}, None, "ada", seed=1000) != first
    assert len(calls) == 2 and len(list((tmp_path / "cache").glob("*.json"))) == 2
    assert not list((tmp_path / "cache").glob(".*"))  # no temp file left behind
    assert bench.cached_points(None, key, None, "ada", seed=0) != first and len(calls) == 3  # no cache: runs


def test_a_lost_face_is_counted_not_averaged_and_unmeasured_is_unknown(bench):
    points = [{"step": 10, "dlib": 0.4}, {"step": 100, "dlib": None}]
    assert bench.dlib_at(points, 10) == 0.4 and bench.dlib_at(points, 100) == bench.NO_FACE
    assert bench.dlib_at([{"step": 10}], 10) is None and bench.dlib_at(points, 30) is None
    s = bench.dlib_summary("end", [0.3, bench.NO_FACE, 0.5])
    assert s == {"median_dlib_at_end": 0.4, "dlib_found_at_end": "2/3"}
    assert bench.dlib_cell(s, "end") == "0.400 (2/3 faces found)"
    assert bench.dlib_cell(bench.dlib_summary("end", [0.3, None]), "end") == "-"
    assert bench.dlib_cell(bench.dlib_summary("end", [bench.NO_FACE]), "end") == "no face (0/1 faces found)"


def test_lr_sweep_scores_every_rate_against_the_product_rates_target(bench, monkeypatch, tmp_path):
    """Fake curves: at lr 0.02 the score falls 1 per checkpoint; at 0.08 twice as fast, at 0.005 not at all;
    the meta start is at the 0.02 run's final score by step 2."""
    monkeypatch.setattr(bench, "CHECKPOINTS", (0, 1, 2, 3, 4))

    def fake_curve(init, identity, entry, steps, seed, scoring, **adapt):
        lr = adapt.get("lr", 0.02)
        rate = 0.0 if init is None and lr < 0.01 else (2.0 if lr > 0.05 else 1.0)
        start = 6.0 if init is None else 3.0
        return {"points": [{"step": s, "seconds": s, "style": start - rate * s} for s in range(steps + 1)]}

    monkeypatch.setattr(bench, "curve", fake_curve)
    entries = [StyleEntry(name=f"bricks-{i}", kind="procedural", value="bricks", seed=i) for i in range(2)]
    scoring = bench.Scoring("vgg")
    report = bench.lr_sweep([0.005, 0.08], entries, ("reptile", {}, "sha"), scoring, tmp_path / "c", 4, 2)
    rows = report["judges"]["style"]
    assert rows["unstylized, lr 0.02"]["median_steps"] == 4  # its own target at its own last step
    assert (
        rows["unstylized, lr 0.08"]["steps"] == [2, 2]
        and rows["unstylized, lr 0.005"]["median_steps"] is None
    )
    assert rows["reptile, lr 0.02"]["median_steps"] == 1
    assert len(list((tmp_path / "c").glob("*.json"))) == 8  # 3 rates + the meta start, 2 styles each
    monkeypatch.setattr(bench, "curve", None)  # a rerun reads every curve back from the cache
    assert (
        bench.lr_sweep([0.005, 0.08], entries, ("reptile", {}, "sha"), scoring, tmp_path / "c", 4, 2)
        == report
    )
    bench.write_sweep_markdown(report, tmp_path / "sweep.md", 2)
    text = (tmp_path / "sweep.md").read_text()
    assert (
        "| unstylized, lr 0.08 | 2 / 2 | 2 | 2.0x |" in text
        and "| unstylized, lr 0.02 | 4 / 4 | 4 | 4.0x |" in text
    )
    assert "baseline misses" in text


def test_lr_sweep_runs_both_starts_at_each_albedo_rate(bench, monkeypatch, tmp_path):
    """An albedo-rate row passes --adapt.albedo-rate to the loop (here: a fake curve twice as fast) and is
    scored against the product settings' target; the meta start also runs at it."""
    monkeypatch.setattr(bench, "CHECKPOINTS", (0, 1, 2, 3, 4))
    seen = []

    def fake_curve(init, identity, entry, steps, seed, scoring, **adapt):
        seen.append((init is None, adapt))
        rate = 2.0 if adapt.get("albedo_rate", 1) > 1 else 1.0
        return {"points": [{"step": s, "seconds": s, "style": 6.0 - rate * s} for s in range(steps + 1)]}

    monkeypatch.setattr(bench, "curve", fake_curve)
    entries = [StyleEntry(name="tiles-1000", kind="procedural", value="tiles", seed=1000)]
    scoring = bench.Scoring("vgg")
    report = bench.lr_sweep([], entries, ("reptile", {}, "sha"), scoring, None, 4, 4, albedo_rates=[3.0])
    rows = report["judges"]["style"]
    assert rows["unstylized, lr 0.02, albedo x3"]["steps"] == [2]
    assert rows["reptile, lr 0.02, albedo x3"]["steps"] == [2] and rows["reptile, lr 0.02"]["steps"] == [4]
    assert seen.count((True, {"albedo_rate": 3.0})) == 1 and seen.count((False, {"albedo_rate": 3.0})) == 1
    bench.write_sweep_markdown(report, tmp_path / "sweep.md", 4)
    text = (tmp_path / "sweep.md").read_text()
    assert "| unstylized, lr 0.02, albedo x3 | 2 | 2 | 0.5x |" in text
    assert "| reptile, lr 0.02, albedo x3 | 2 | 2 |  |" in text
