"""three.js in headless Chromium, driven by playwright: load a .glb in tests/export/viewer/ and screenshot it.

The page is served by a local HTTP server on 127.0.0.1 that serves only the viewer folder, three.js from the
repo's node_modules and the one .glb (every other path is a 404). Chromium is Debian's (`/usr/bin/chromium`);
playwright never downloads a browser here. `python tests/export/threejs.py GLB OUT.png` writes the README's
picture: the model at jawOpen = 0 and 1 side by side.
"""

from __future__ import annotations

import importlib.util
import io
import sys
import threading
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
from PIL import Image

VIEWER = Path(__file__).resolve().parent / "viewer"
NODE_MODULES = Path(__file__).resolve().parents[2] / "node_modules"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]  # CPU WebGL, root in CI
SIZE = 512  # the viewer's canvas side (viewer.js)


def missing() -> str | None:
    """Why the three.js check cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (`make test` installs the dev extra)"
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing (`make test` installs Debian's chromium as root; "
            "or apt-get install chromium)"
        )
    if not (NODE_MODULES / "three" / "build" / "three.module.js").exists():
        return "node_modules/three is missing (`make test` runs npm ci; needs node + npm)"
    return None


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args, routes: dict[str, Path], **kwargs):
        self.routes = routes
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        """URL path -> a file under one of the routes, or a path that does not exist (a 404)."""
        path = unquote(urlsplit(path).path)
        path = "/index.html" if path == "/" else path
        for prefix, root in self.routes.items():
            if root.is_file() and path == prefix:
                return str(root)
            if root.is_dir() and path.startswith(prefix.rstrip("/") + "/"):
                file = (root / path[len(prefix) :].lstrip("/")).resolve()
                if file.is_relative_to(root):
                    return str(file)
        return str(VIEWER / "no-such-file")

    def log_message(self, *args) -> None:  # keep test output quiet
        pass


@contextmanager
def serve_viewer(glb: Path):
    """Yield the viewer's URL with the .glb to load (served as /avatar.glb)."""
    routes = {
        "/node_modules/three": (NODE_MODULES / "three").resolve(),
        "/avatar.glb": Path(glb).resolve(),
        "/": VIEWER,
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, routes=routes))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/?glb=/avatar.glb"
    finally:
        server.shutdown()
        server.server_close()


def render_morph(glb: Path, name: str, weights: tuple[float, ...], threshold: float = 0.005) -> dict:
    """Screenshots of `glb` with morph target `name` at each weight.

    Returns {"images": (N, SIZE, SIZE, 3) uint8, "target_names": names three.js read, "box": pixel box
    (x0, y0, x1, y1) of the vertices that target moves by more than `threshold` file units}.
    """
    from playwright.sync_api import sync_playwright

    with serve_viewer(glb) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": SIZE, "height": SIZE})
            page.goto(url)
            page.wait_for_function(
                "window.viewer && (window.viewer.ready || window.viewer.error)", timeout=60_000
            )
            error = page.evaluate("window.viewer.error")
            if error:
                raise RuntimeError(f"three.js could not show {glb}: {error}")
            images = []
            for w in weights:
                page.evaluate("([n, w]) => window.viewer.setMorph(n, w)", [name, w])
                images.append(
                    np.asarray(Image.open(io.BytesIO(page.locator("canvas").screenshot())).convert("RGB"))
                )
            return {
                "images": np.stack(images),
                "target_names": page.evaluate("window.viewer.targetNames"),
                "box": page.evaluate("([n, t]) => window.viewer.movedBox(n, t)", [name, threshold]),
            }
        finally:
            browser.close()


if __name__ == "__main__":
    if len(sys.argv) != 3 or (why := missing()):
        sys.exit(why or "usage: python tests/export/threejs.py GLB OUT.png")
    shots = render_morph(Path(sys.argv[1]), "jawOpen", (0.0, 1.0))["images"]
    cols = np.flatnonzero((np.abs(shots.astype(int) - shots[0, 0, 0]).sum(-1) > 30).any((0, 1)))
    x0, x1 = max(cols.min() - 24, 0), min(cols.max() + 24, SIZE)  # crop the empty sides
    Image.fromarray(np.concatenate(list(shots[:, :, x0:x1]), axis=1)).save(sys.argv[2])
    print(f"wrote {sys.argv[2]}", file=sys.stderr)
