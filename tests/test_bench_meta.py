"""bench/meta.py's prompt mode: CLIP-guided curves scored by a second, different CLIP (tiny models)."""

import importlib.util
from pathlib import Path

import pytest

from alteredavatar.guidance.clip import load_clip
from alteredavatar.guidance.tiny_clip import make_tiny_clip
from alteredavatar.meta.avatar_tasks import clip_text_score
from alteredavatar.meta.bank import StyleEntry


@pytest.fixture
def bench(monkeypatch):
    """bench/meta.py loaded under its own name (tests/meta is a package called `meta`); globals restored."""
    path = Path(__file__).resolve().parents[1] / "bench" / "meta.py"
    spec = importlib.util.spec_from_file_location("bench_meta", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("GUIDANCE", "CLIP_MODEL", "JUDGE"):
        monkeypatch.setattr(module, name, getattr(module, name))
    monkeypatch.setattr(module, "CHECKPOINTS", (0, 2))
    return module


@pytest.fixture(scope="module")
def judge_path(tmp_path_factory) -> str:
    return make_tiny_clip(tmp_path_factory.mktemp("tiny_judge"), seed=1, image_size=32, patch_size=8)


def test_the_judge_must_be_another_clip(bench, tiny_clip_path):
    with pytest.raises(SystemExit, match="--judge"):
        bench.set_clip_scoring("clip", tiny_clip_path, None)
    with pytest.raises(SystemExit, match="--judge"):
        bench.set_clip_scoring("clip", tiny_clip_path, tiny_clip_path)


def test_prompt_curve_is_clip_guided_and_scored_by_the_judge(bench, tiny_clip_path, judge_path):
    label = bench.set_clip_scoring("clip", tiny_clip_path, judge_path)
    assert "judge" in label
    entry = StyleEntry("a marble statue", "text", "a marble statue")
    run = bench.curve(None, "ada", entry, 2, seed=0, keep_state=True)
    start, end = run["points"]
    avatar, _ = bench.load_avatar_with_reference("builtin:ada")
    judge = load_clip(judge_path)
    # step 0 is the unstylized avatar: its score is 1 - the judge's similarity, not the guiding CLIP's
    assert start["style"] == pytest.approx(1 - clip_text_score(avatar, judge, entry.text), abs=1e-5)
    assert start["style"] != pytest.approx(1 - clip_text_score(avatar, load_clip(tiny_clip_path), entry.text), abs=1e-4)
    # two CLIP-guided steps changed the style parameters, and the judge's score with them
    bench.apply_style(avatar.net, run["state"])
    assert end["style"] == pytest.approx(1 - clip_text_score(avatar, judge, entry.text), abs=1e-5)
    assert end["style"] != start["style"]
