"""The web app in a real browser: a click on an example and one on Stylize give a result to see and get; an
expression re-renders it."""

import time
from pathlib import Path

import app_browser  # tests/app/app_browser.py: the playwright driver
import pytest

SHOT = Path(__file__).resolve().parents[2] / "out" / "app_test" / "app.png"


def test_example_click_and_stylize_shows_results(app):
    if why := app_browser.missing():
        pytest.skip(why)
    url, root = app
    page = app_browser.stylize_example(url, SHOT)  # the browser is closed when it returns
    assert page["portrait"], "the portrait is shown"
    assert page["smile"] and page["smile"] != page["portrait"], "picking an expression re-renders the result"
    assert page["gallery"] == 1, "the session's styles show the new one"
    assert any(".glb" in d for d in page["downloads"]) and any(
        ".safetensors" in d for d in page["downloads"]
    ), page
    assert page["canvas"] == 1 and page["model"] == "avatar.glb", "the 3D view has its canvas and the .glb"
    assert "3 steps" in page["summary"]
    assert SHOT.stat().st_size > 10_000
    end = time.monotonic() + 60
    while any((root / "sessions").iterdir()) and time.monotonic() < end:
        time.sleep(1)
    assert not any((root / "sessions").iterdir()), "the session's folder is removed when its page closes"
