"""The web app on a free loopback port with tiny jobs (3 steps, 32 px, the tiny network), one per file."""

import os
import socket

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tiny_net_path, tmp_path_factory):
    """The app, served in a thread; yields (url, its root folder)."""
    pytest.importorskip("gradio", reason="the app extra is not installed (`pip install -e '.[app]'`)")
    from alteredavatar.adapt.loop import AdaptConfig
    from alteredavatar.app.config import AppConfig
    from alteredavatar.app.ui import launch
    from alteredavatar.export.outputs import OutputConfig

    cfg = AppConfig(
        port=free_port(),
        adapt=AdaptConfig(steps=3, res=32, batch=1),
        output=OutputConfig(frames=2, res=32, portrait_res=32),
        glb_texture_res=32,
        net=tiny_net_path,
        device="cpu",
    )
    root = tmp_path_factory.mktemp("app")
    demo = launch(cfg, root, block=False)
    yield f"http://127.0.0.1:{cfg.port}/", root
    demo.close()
