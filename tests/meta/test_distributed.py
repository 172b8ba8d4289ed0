"""2 processes (gloo, localhost) == 1 process when the ranks' tasks union to the single process's tasks."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from alteredavatar.io import load_safetensors
from alteredavatar.meta.algorithms import make_algorithm
from alteredavatar.meta.distributed import allreduce_mean, broadcast_bytes, world_size
from alteredavatar.meta.trainer import MetaTrainer, TrainConfig

from .synthetic import ALG_CONFIGS, algorithm_name, learned_tensors, make_module, sampler

WORKER = Path(__file__).with_name("dist_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(out: Path, world: int = 2, timeout: float = 60) -> None:
    env = {
        **os.environ,
        "WORLD_SIZE": str(world),
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(out)],
            cwd=ROOT,
            env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for r in range(world)
    ]
    try:
        logs = [p.communicate(timeout=timeout)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for r, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {r} failed:\n{log}"


def _theta(path: Path) -> list[torch.Tensor]:
    tensors, _ = load_safetensors(path)
    return [tensors[str(i)] for i in range(len(tensors))]


@pytest.mark.distributed
def test_two_processes_equal_one_process(tmp_path):
    _launch(tmp_path)
    for name in ALG_CONFIGS:
        m = make_module(0)
        alg = make_algorithm(algorithm_name(name), m.parameters(), ALG_CONFIGS[name])
        cfg = TrainConfig(outer_steps=4, checkpoint_every=2, seed=3)
        MetaTrainer(alg, sampler(m, per_step=2), cfg, tmp_path / "single" / name).run(progress=False)
        single = learned_tensors(alg)
        r0, r1 = (
            _theta(tmp_path / f"{name}-rank0.safetensors"),
            _theta(tmp_path / f"{name}-rank1.safetensors"),
        )
        assert all(torch.equal(a, b) for a, b in zip(r0, r1)), f"{name}: ranks diverged"
        for a, b in zip(single, r0):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
        assert (tmp_path / name / "ckpt.safetensors").is_file()  # written by rank 0

    # interrupted (stop after 3, checkpoint at 2) + resumed 2-process run == uninterrupted 2-process run
    for r in (0, 1):
        assert all(
            torch.equal(a, b)
            for a, b in zip(
                _theta(tmp_path / f"resumed-rank{r}.safetensors"),
                _theta(tmp_path / "reptile-rank0.safetensors"),
            )
        )

    # a non-finite loss on rank 1 fails both ranks (no hang): rank 1 names the task, rank 0 the bad update
    e0, e1 = (json.loads((tmp_path / f"rank{r}.json").read_text())["error"] for r in (0, 1))
    assert "'nan-style'" in e1 and "outer step 1" in e1
    assert e0 is not None and "outer step 1" in e0


def test_single_process_helpers_are_identity():
    assert world_size() == 1
    t = [torch.ones(2)]
    assert allreduce_mean(t)[0] is t[0] and broadcast_bytes(b"abc") == b"abc"
