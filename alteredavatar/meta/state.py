"""Nested state dicts (tensors, optimizer states, scalars) <-> flat named tensors + a JSON document.

Lets checkpoints be safetensors + JSON with no pickle: tensors go to a flat ``{name: Tensor}`` dict and are
referenced from the JSON tree as ``{"__tensor__": name}``; int-keyed dicts (optimizer ``state``) and tuples
(Adam ``betas``) are tagged so they come back with the same types. Python floats round-trip exactly in JSON.
"""

from __future__ import annotations

from typing import Any

import torch

from alteredavatar.errors import AlteredAvatarError

_TENSOR, _INTDICT, _TUPLE = "__tensor__", "__intdict__", "__tuple__"


def flatten_state(state: Any, prefix: str = "") -> tuple[dict[str, torch.Tensor], Any]:
    """Split ``state`` into (flat tensors keyed by dotted path, JSON-able tree with tensor references)."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(obj: Any, path: str) -> Any:
        if isinstance(obj, torch.Tensor):
            tensors[path] = obj.detach()
            return {_TENSOR: path}
        if isinstance(obj, dict):
            if obj and all(isinstance(k, int) for k in obj):
                return {_INTDICT: [[k, walk(v, f"{path}.{k}")] for k, v in obj.items()]}
            bad = [k for k in obj if not isinstance(k, str) or k.startswith("__")]
            if bad:
                raise AlteredAvatarError(f"cannot serialize state keys {bad!r} at {path or '<root>'}")
            return {k: walk(v, f"{path}.{k}" if path else k) for k, v in obj.items()}
        if isinstance(obj, tuple):
            return {_TUPLE: [walk(v, f"{path}.{i}") for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(obj)]
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        raise AlteredAvatarError(
            f"cannot serialize {type(obj).__name__} at {path or '<root>'} in a checkpoint"
        )

    return tensors, walk(state, prefix)


def unflatten_state(tensors: dict[str, torch.Tensor], tree: Any) -> Any:
    """Inverse of :func:`flatten_state`; a missing tensor raises AlteredAvatarError."""

    def walk(obj: Any) -> Any:
        if isinstance(obj, dict):
            if set(obj) == {_TENSOR}:
                name = obj[_TENSOR]
                if name not in tensors:
                    raise AlteredAvatarError(f"checkpoint is missing tensor {name!r}")
                return tensors[name]
            if set(obj) == {_INTDICT}:
                return {int(k): walk(v) for k, v in obj[_INTDICT]}
            if set(obj) == {_TUPLE}:
                return tuple(walk(v) for v in obj[_TUPLE])
            return {k: walk(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [walk(v) for v in obj]
        return obj

    return walk(tree)
