"""torch.distributed helpers for meta-training: init from torchrun's env, rank/world size, averaging,
broadcast.

Everything degrades to a no-op in a single process (no process group). gloo on CPU, nccl when CUDA is
available. Collectives move CPU tensors to the current CUDA device under nccl and back.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from alteredavatar.errors import ConfigError


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group torchrun describes (WORLD_SIZE > 1); True when running distributed.

    Reads RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (and LOCAL_RANK for the CUDA device). Idempotent.
    ``backend``: "gloo" | "nccl" | None (nccl when CUDA is available, else gloo).
    """
    if is_initialized():
        return True
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return False
    if not dist.is_available():
        raise ConfigError("WORLD_SIZE > 1 but this torch build has no torch.distributed support")
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ConfigError(f"WORLD_SIZE={world} but {missing} are not set; launch with torchrun")
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, init_method="env://")
    return True


def rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def _comm_device() -> torch.device:
    return (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )


def allreduce_mean(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Average each tensor over all processes (one coalesced all-reduce); new tensors, same shapes/dtypes.

    Identity in a single process. Every process receives the same values.
    """
    if world_size() == 1 or not tensors:
        return list(tensors)
    dev = _comm_device()
    flat = torch.cat(
        [
            t.detach().reshape(-1).to(dev, torch.float64 if t.dtype == torch.float64 else torch.float32)
            for t in tensors
        ]
    )
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat /= world_size()
    out, offset = [], 0
    for t in tensors:
        n = t.numel()
        out.append(flat[offset : offset + n].reshape(t.shape).to(t.device, t.dtype))
        offset += n
    return out


def broadcast_(tensors: list[torch.Tensor], src: int = 0) -> None:
    """Overwrite ``tensors`` in place with their values on process ``src`` (no-op in one process)."""
    if world_size() == 1:
        return
    dev = _comm_device()
    with torch.no_grad():
        for t in tensors:
            buf = t.detach().to(dev).clone()
            dist.broadcast(buf, src=src)
            t.copy_(buf.to(t.device))


def broadcast_bytes(data: bytes | None, src: int = 0) -> bytes:
    """Send ``data`` from process ``src`` to all (others pass None); no pickle, a uint8 tensor on the wire."""
    if world_size() == 1:
        return data or b""
    dev = _comm_device()
    size = torch.tensor([len(data or b"") if rank() == src else 0], dtype=torch.int64, device=dev)
    dist.broadcast(size, src=src)
    n = int(size.item())
    if n == 0:
        return b""
    if rank() == src:
        buf = torch.frombuffer(bytearray(data), dtype=torch.uint8).to(dev)
    else:
        buf = torch.empty(n, dtype=torch.uint8, device=dev)
    dist.broadcast(buf, src=src)
    return buf.cpu().numpy().tobytes()


def barrier() -> None:
    if world_size() > 1:
        dist.barrier()


def shutdown() -> None:
    """Leave the process group (call once at the end of a distributed run).

    The barrier first lets every rank finish its traffic: destroying the group while a peer is still sending
    left gloo's worker threads running at exit, and the process then aborted (SIGABRT) after its work was
    done."""
    if is_initialized():
        dist.barrier()
        dist.destroy_process_group()
