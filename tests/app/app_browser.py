"""Drive the web app in headless Chromium (Debian's, through playwright, as tests/export/threejs.py does):
pick an example row, press Stylize, wait for the results, pick an expression (the result re-renders),
screenshot the page.

`python tests/app/app_browser.py docs/app.png 60` writes the README's picture (pretrained network).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "export"))
import threejs


def missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the Python package playwright is not installed (`make test` installs the dev extra)"
    if not threejs.CHROMIUM.exists():
        return f"{threejs.CHROMIUM} is missing (`make test` installs Debian's chromium as root)"
    return None


def stylize_example(url: str, shot: Path, example: int = 0, timeout_s: float = 300) -> dict:
    """Click example row `example`, press Stylize, wait for the portrait and the downloads; save a full-page
    screenshot to `shot`. Returns what the page shows: {"portrait": src, "downloads": [names], "canvas": n,
    "model": the 3D view's file name, "summary": text, "seconds": time to the result, "gallery": images in
    the session's styles, "smile": the portrait's src after picking the smile expression}."""
    from playwright.sync_api import TimeoutError as PageTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(threejs.CHROMIUM), args=threejs.CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(url)
            for attempt in range(3):  # a click before the page's handlers are attached does nothing
                page.locator("tbody tr").nth(example).click()  # gr.Examples: one table row per example
                try:
                    page.wait_for_selector("#style_image img", timeout=10_000)  # the example's image is in
                    break
                except PageTimeout:
                    if attempt == 2:
                        raise
            page.locator("#stylize").click()
            start = time.perf_counter()
            page.wait_for_selector("#portrait img", timeout=timeout_s * 1000)
            page.wait_for_selector("#downloads a", timeout=60_000)
            seconds = time.perf_counter() - start
            portrait = page.locator("#portrait img").get_attribute("src")
            page.locator("#expression input").click()
            page.locator("ul.options li", has_text="smile").first.click()
            page.wait_for_function(
                "src => document.querySelector('#portrait img')?.getAttribute('src') !== src", arg=portrait
            )
            # Gradio 5's Model3D draws with Babylon's WebGPU engine: headless Chromium here has no WebGPU
            # adapter, so its canvas stays blank (a desktop browser draws it); we check that it got the .glb
            page.wait_for_timeout(2000)
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            return {
                "portrait": portrait,
                "smile": page.locator("#portrait img").get_attribute("src"),
                "gallery": page.locator("#gallery img").count(),
                "downloads": [
                    a.get_attribute("download") or a.inner_text() for a in page.locator("#downloads a").all()
                ],
                "canvas": page.locator("#model3d canvas").count(),
                "model": page.locator("#model3d a[download]").get_attribute("download"),
                "summary": page.locator("#summary").inner_text(),
                "seconds": seconds,
            }
        finally:
            browser.close()


if __name__ == "__main__":
    import socket
    import tempfile

    from alteredavatar.adapt.loop import AdaptConfig
    from alteredavatar.app.config import AppConfig
    from alteredavatar.app.ui import launch
    from alteredavatar.export.outputs import OutputConfig

    if len(sys.argv) not in (2, 3) or (why := missing()):
        sys.exit(why or "usage: python tests/app/app_browser.py OUT.png [STEPS]")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    steps = int(sys.argv[2]) if len(sys.argv) == 3 else 20
    cfg = AppConfig(
        port=port,
        adapt=AdaptConfig(steps=steps, res=96, batch=2),
        output=OutputConfig(frames=12, res=256, portrait_res=256),
        glb_texture_res=512,
    )
    with tempfile.TemporaryDirectory() as root:
        demo = launch(cfg, Path(root), block=False)
        try:
            print(stylize_example(f"http://127.0.0.1:{port}/", Path(sys.argv[1])), file=sys.stderr)
        finally:
            demo.close()
