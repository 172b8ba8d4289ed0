"""The web app on a free loopback port with tiny jobs (3 steps, 32 px, the tiny network and tiny CLIP), one
per file; and a head as a .gltf with its buffer and texture in separate files (an upload set)."""

import json
import os
import socket
import struct
from pathlib import Path

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app(tiny_net_path, tiny_clip_path, tmp_path_factory):
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
        clip=tiny_clip_path,
        device="cpu",
    )
    root = tmp_path_factory.mktemp("app")
    demo = launch(cfg, root, block=False)
    yield f"http://127.0.0.1:{cfg.port}/", root
    demo.close()


def glb_to_gltf(glb: Path, folder: Path) -> list[Path]:
    """Split a .glb into head.gltf + `bin data/head.bin` (a percent-encoded URI in a subfolder) + one PNG per
    image; returns the files (the .gltf first)."""
    data = glb.read_bytes()
    n = struct.unpack_from("<I", data, 12)[0]
    doc, blob = json.loads(data[20 : 20 + n]), data[20 + n + 8 :]
    (folder / "bin data").mkdir(parents=True)
    files = [folder / "head.gltf", folder / "bin data" / "head.bin"]
    files[1].write_bytes(blob)
    doc["buffers"][0]["uri"] = "bin%20data/head.bin"
    for i, image in enumerate(doc.get("images", [])):
        view = doc["bufferViews"][image.pop("bufferView")]
        start = view.get("byteOffset", 0)
        files.append(folder / f"skin{i}.png")
        files[-1].write_bytes(blob[start : start + view["byteLength"]])
        image.pop("mimeType", None)
        image["uri"] = files[-1].name
    files[0].write_text(json.dumps(doc))
    return files


@pytest.fixture(scope="session")
def gltf_head(tiny_net_path, tmp_path_factory) -> list[Path]:
    """The built-in head "bo" exported by the product (tiny network, 32 px texture) as a .gltf upload set."""
    from alteredavatar.adapt.export_job import export_avatar
    from alteredavatar.export.glb import GlbConfig

    folder = tmp_path_factory.mktemp("gltf_head")
    export_avatar(folder / "bo.glb", GlbConfig(texture_res=32), None, "builtin:bo", tiny_net_path, "cpu")
    return glb_to_gltf(folder / "bo.glb", folder / "upload")
