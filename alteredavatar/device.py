"""Which torch device a run uses: CPU by default, CUDA when present, never required."""

from __future__ import annotations

import torch

from alteredavatar.errors import ConfigError


def resolve_device(spec: str | torch.device = "auto") -> torch.device:
    """`auto` -> the current CUDA device when torch sees one, else the CPU; `cpu`, `cuda`, `cuda:N` as named.

    Asking for CUDA on a machine without it is a clear error, not a traceback from the first tensor op.
    """
    if isinstance(spec, torch.device):
        spec = str(spec)
    spec = spec.strip().lower()
    if spec == "auto":  # under torchrun the process group already picked this rank's GPU
        return (
            torch.device("cuda", torch.cuda.current_device())
            if torch.cuda.is_available()
            else torch.device("cpu")
        )
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise ConfigError(f"unknown device {spec!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"device {spec!r} is not supported; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {spec!r} asked for, but this torch ({torch.__version__}) sees no CUDA GPU; "
                "use --device cpu (or auto)"
            )
        index = 0 if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {spec!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
        device = torch.device("cuda", index)
    return device
