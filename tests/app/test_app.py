"""The web app over HTTP, as a browser or gradio_client sees it: a tiny stylization of a built-in example,
Stop, the text - image mix, expression and yaw re-renders, the session's styles (mix two, apply one to an
uploaded .gltf head), clear errors naming the page's fields, and no file served from outside its folders."""

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
import torch

pytest.importorskip("gradio", reason="the app extra is not installed (`pip install -e '.[app]'`)")
gradio_client = pytest.importorskip("gradio_client")

from alteredavatar.adapt.style_file import load_style, mix_styles  # noqa: E402

TRAVERSALS = [
    "file=/etc/passwd",
    "gradio_api/file=/etc/passwd",
    "gradio_api/file=../../../../../../etc/passwd",
    "gradio_api/file=..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "gradio_api/file=%2Fetc%2Fpasswd",
    "file=..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "static/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "assets/..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "gradio_api/file=/proc/self/environ",
]
# what /stylize, /mix and /apply return (the server-side current result is not part of the API)
PORTRAIT, GRID, VIDEO, MODEL, FILES, SUMMARY, EXPRESSION, YAW, GALLERY, STYLE_A, STYLE_B = range(11)


def connect(url: str):
    return gradio_client.Client(url, verbose=False)


def stylize(
    client,
    image: Path | None,
    text="",
    mix=0.5,
    guidance="texture",
    strength=0.5,
    steps=3,
    seed=0,
    avatar="ada",
):
    image = gradio_client.handle_file(str(image)) if image else None
    args = (avatar, None, text, image, mix, guidance, strength, steps, seed)
    return client.predict(*args, api_name="/stylize")


def picked(update) -> str:
    """The value of a Dropdown the job updated (its choices change too)."""
    return update["value"] if isinstance(update, dict) else update


def runs(root: Path) -> dict[str, Path]:
    return {p.name: p for p in (root / "sessions").glob("*/runs/*") if (p / "style.json").is_file()}


def meta_of(root: Path, run_id: str) -> dict:
    return json.loads((runs(root)[run_id] / "style.json").read_text())


def test_stylize_builtin_example(app):
    url, root = app
    out = stylize(connect(url), root / "examples" / "bricks.png")
    video = out[VIDEO]["video"] if isinstance(out[VIDEO], dict) else out[VIDEO]
    for path in (out[PORTRAIT], out[GRID], video, out[MODEL], *out[FILES]):
        assert Path(path).is_file() and Path(path).stat().st_size > 0, path
    assert sorted(Path(f).suffix for f in out[FILES]) == [".glb", ".safetensors"]
    assert "3 steps" in out[SUMMARY] and "stopped" not in out[SUMMARY]
    assert [g["caption"] for g in out[GALLERY]] == ["#1 texture, 3 steps"]
    run = runs(root)[picked(out[STYLE_A])]
    for name in ("style.safetensors", "avatar.glb", "portrait.png", "expressions.png", "turntable.mp4"):
        assert (run / name).is_file(), name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image": None, "text": "   "}, 'give a style prompt ("Style text"), a style image ("Style image")'),
        ({"seed": -1}, '"Seed" must be in [0, '),
        ({"avatar": "uploaded avatar"}, 'upload a .glb (or a .gltf with its files) under "Your avatar"'),
        ({"text": "a marble statue"}, '"Guidance" texture cannot use a text prompt; drop "Style text"'),
        ({"strength": 2}, "Value 2 is greater than maximum value 1"),  # Gradio's own slider check
        ({"steps": 1000}, "Value 1000 is greater than maximum value 300"),
    ],
)
def test_bad_input_is_one_clear_line_naming_the_field(app, change, message):
    url, root = app
    args = {"image": root / "examples" / "bricks.png"} | change
    with pytest.raises(gradio_client.exceptions.AppError) as err:
        stylize(connect(url), **args)
    text = str(err.value)
    assert message in text and "Traceback" not in text and "\n" not in text.strip()


def test_stop_keeps_what_was_learned(app):
    url, root = app
    client = connect(url)
    image = gradio_client.handle_file(str(root / "examples" / "tiles.png"))
    job = client.submit("ada", None, "", image, 0.5, "texture", 0.5, 300, 0, api_name="/stylize")
    descs = []
    while not descs or not descs[-1].startswith("adapting: step") or "s left" not in descs[-1]:
        assert not job.done(), "the job ended before it could be stopped"
        units = job.status().progress_data or []
        descs += [u.desc for u in units if u.desc]
    assert client.predict(api_name="/stop") == "stopping after the current step"
    out = job.result(timeout=300)
    k = int(re.search(r"stopped at step (\d+) of 300", out[SUMMARY]).group(1))
    meta = meta_of(root, picked(out[STYLE_A]))
    assert (
        2 <= k < 300 and meta["interrupted"] is True and meta["steps"] == k and meta["steps_requested"] == 300
    )
    assert Path(out[MODEL]).is_file() and "(stopped)" in out[GALLERY][-1]["caption"]
    assert client.predict(api_name="/stop").startswith("nothing of yours is running")


def test_text_and_image_mix_reaches_the_style(app):
    url, root = app
    client = connect(url)
    image = root / "examples" / "wood.png"
    ends = [
        picked(stylize(client, image, "a marble statue", mix, "clip", steps=2)[STYLE_A]) for mix in (0.0, 1.0)
    ]
    metas = [meta_of(root, run) for run in ends]
    assert [m["mix"] for m in metas] == [0.0, 1.0] and all(m["guidance"] == "clip" for m in metas)
    a, b = (load_style(runs(root)[run])[0] for run in ends)
    assert any(not torch.equal(a[k], b[k]) for k in a), "text only and image only learn different styles"


def test_expression_and_yaw_rerender_the_result(app):
    url, root = app
    client = connect(url)
    with pytest.raises(gradio_client.exceptions.AppError, match="stylize first"):
        client.predict("smile", 0, api_name="/view")
    out = stylize(client, root / "examples" / "hatching.png")
    view = {
        (e, y): iio.imread(client.predict(e, y, api_name="/view"))
        for e, y in [("neutral", 0), ("smile", 0), ("neutral", 90)]
    }
    front = iio.imread(out[PORTRAIT]).astype(int)  # the portrait's own renderer; the style file is fp16
    assert np.abs(view["neutral", 0] - front).max() <= 2
    assert np.abs(view["smile", 0].astype(int) - view["neutral", 0]).max() > 0
    assert np.abs(view["neutral", 90].astype(int) - view["neutral", 0]).mean() > 1
    with pytest.raises(
        gradio_client.exceptions.AppError, match="Value 500 is greater than maximum value 180"
    ):
        client.predict("neutral", 500, api_name="/view")


def test_session_styles_mix_and_apply_to_an_uploaded_gltf(app, gltf_head):
    url, root = app
    client = connect(url)
    a = picked(stylize(client, root / "examples" / "bricks.png")[STYLE_A])
    b = picked(stylize(client, root / "examples" / "tiles.png", seed=1)[STYLE_A])
    out = client.predict(a, b, 0.25, api_name="/mix")
    assert [g["caption"] for g in out[GALLERY]] == [
        "#1 texture, 3 steps",
        "#2 texture, 3 steps",
        "#3 mix of #1 and #2, t=0.25",
    ]
    mixed, _ = load_style(runs(root)[picked(out[STYLE_A])])
    expected = mix_styles(load_style(runs(root)[a])[0], load_style(runs(root)[b])[0], 0.25)
    assert all(torch.allclose(mixed[k].float(), expected[k].float(), atol=1e-3) for k in expected)
    assert Path(out[MODEL]).is_file()
    upload = [gradio_client.handle_file(str(p)) for p in gltf_head]
    applied = client.predict(a, "uploaded avatar", upload, api_name="/apply")
    assert applied[SUMMARY] == "style applied" and Path(applied[MODEL]).is_file()
    assert iio.imread(applied[PORTRAIT]).shape[:2] == (32, 32)
    assert Path(client.predict("smile", 20, api_name="/view")).is_file(), "re-renders the applied head"
    for bad in (
        "0123456789ab",
        "../../etc",
    ):  # only this session's styles are choices (jobs.run_dir checks too)
        with pytest.raises(gradio_client.exceptions.AppError, match="not in the list of choices"):
            client.predict(bad, b, 0.5, api_name="/mix")
    with pytest.raises(gradio_client.exceptions.AppError, match="not in the list of choices"):
        connect(url).predict(a, b, 0.5, api_name="/mix")  # another session does not see them


def test_serves_no_file_outside_its_folders(app):
    url, _ = app
    for path in TRAVERSALS:
        try:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        assert status != 200 or b"root:" not in body, path
