"""The web app over HTTP, as a browser or gradio_client sees it: a tiny stylization of a built-in example,
a clear error for bad input, and no file served from outside the app's folders."""

import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the app extra is not installed (`pip install -e '.[app]'`)")
gradio_client = pytest.importorskip("gradio_client")

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


def stylize(url: str, image: Path | None, text: str = ""):
    client = gradio_client.Client(url, verbose=False)
    image = gradio_client.handle_file(str(image)) if image else None
    return client.predict("ada", None, text, image, "texture", 0.5, 3, 0, api_name="/stylize")


def test_stylize_builtin_example(app):
    url, root = app
    portrait, grid, video, model, files, summary = stylize(url, root / "examples" / "bricks.png")
    video = video["video"] if isinstance(video, dict) else video
    for path in (portrait, grid, video, model, *files):
        assert Path(path).is_file() and Path(path).stat().st_size > 0, path
    assert sorted(Path(f).suffix for f in files) == [".glb", ".safetensors"]
    assert "3 steps" in summary
    runs = [p for p in (root / "sessions").glob("*/runs/*") if (p / "avatar.glb").is_file()]
    assert runs, "the run folder is inside the session folder"
    for name in ("style.safetensors", "avatar.glb", "portrait.png", "expressions.png", "turntable.mp4"):
        assert all((p / name).is_file() for p in runs), name


def test_bad_input_is_one_clear_line(app):
    url, _ = app
    with pytest.raises(gradio_client.exceptions.AppError) as err:
        stylize(url, None, text="   ")
    message = str(err.value)
    assert "give a style prompt" in message and "Traceback" not in message


def test_serves_no_file_outside_its_folders(app):
    url, _ = app
    for path in TRAVERSALS:
        try:
            with urllib.request.urlopen(url + path, timeout=10) as response:
                status, body = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
        assert status != 200 or b"root:" not in body, path


def test_uploads_are_checked_by_content_and_kept_in_the_session(tmp_path):
    from alteredavatar.app.sessions import accept_glb, accept_style_image, end_session, session_dir
    from alteredavatar.errors import AlteredAvatarError

    folder = session_dir(tmp_path, "abc123")
    fake = tmp_path / "..%2F..%2Fx.glb"
    fake.write_bytes(b"PK\x03\x04 not a model")
    for accept in (accept_glb, accept_style_image):
        with pytest.raises(AlteredAvatarError):
            accept(fake, folder, 1000)
    with pytest.raises(AlteredAvatarError, match="limit"):
        accept_glb(fake, folder, 4)
    with pytest.raises(AlteredAvatarError):
        session_dir(tmp_path, "../etc")
    assert all(p.is_relative_to(folder) for p in tmp_path.rglob("*") if p != fake and p.name != "sessions")
    end_session(tmp_path, "abc123")
    assert not folder.exists()
