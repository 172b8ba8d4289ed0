"""The web app's settings: where it listens, how many jobs run at once, and the fixed parts of every job."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from alteredavatar.adapt.loop import AdaptConfig
from alteredavatar.checks import check_range
from alteredavatar.export.outputs import OutputConfig
from alteredavatar.guidance.clip import DEFAULT_CLIP
from alteredavatar.options import DeviceSpec, NetPath

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_STEPS = 300  # the steps slider's end: a web visitor should not hold the one worker for an hour
VIEW_CACHE = 2  # styled avatars kept loaded for the expression / yaw re-renders


@dataclass
class AppConfig:
    """Server settings; the job settings a visitor does not choose (render size, outputs, network)."""

    host: str = "127.0.0.1"
    """Interface to listen on (127.0.0.1: this machine only; 0.0.0.0 opens it to the network)."""
    port: int = 7860
    share: bool = False
    """Also open a temporary public gradio.live link (off by default)."""
    workers: int = 1
    """Stylizations that run at once; the others wait in one queue, in order."""
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    """Adaptation settings (steps and seed come from the page)."""
    output: OutputConfig = field(default_factory=OutputConfig)
    metrics: bool = False
    """Also judge each result into its metrics.json (as `stylize` does); off by default: the page shows no
    metrics, and on CPU judging can take longer than a short adaptation."""
    glb_texture_res: int = 1024
    """Texture side of the downloadable .glb."""
    net: NetPath = None
    clip: str = DEFAULT_CLIP
    """CLIP for text prompts: a hub id already in the HF cache (the app never downloads), or a folder."""
    device: DeviceSpec = "auto"
    root: Path | None = None
    """Folder for generated examples and per-session files (default: a new temp folder, removed at exit)."""

    def check(self) -> None:
        check_range("--port", self.port, 0, 65535)
        check_range("--workers", self.workers, 1, 64)
        check_range("--glb-texture-res", self.glb_texture_res, 16, 8192)
        self.adapt.check()
