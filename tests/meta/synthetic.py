"""A tiny synthetic task family for meta-learning tests: linear regression onto task-specific weights.

Task i regresses y = x · w_i + b_i + noise with w_i = w_center + 0.1 · n_i (n_i from the task's id); every
loss call draws a fresh noisy minibatch x: (BATCH, DIM) from the generator it is given.
"""

from __future__ import annotations

import torch
from torch import nn

from alteredavatar.meta.task import Task

DIM, BATCH, SPREAD, NOISE = 8, 16, 0.1, 0.05
HELD_OUT = 1_000_000  # task ids from here on are held out (other seeds)


def make_module(seed: int = 0) -> nn.Linear:
    """nn.Linear(DIM, 1) with torch's default init drawn from a local generator."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Linear(DIM, 1)


def task_weights(task_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(w: (DIM,), b: ()) of task ``task_id``."""
    center = torch.randn(DIM + 1, generator=torch.Generator().manual_seed(1234)) + 1.0
    own = center + SPREAD * torch.randn(DIM + 1, generator=torch.Generator().manual_seed(10_000 + task_id))
    return own[:DIM], own[DIM]


def make_task(module: nn.Linear, task_id: int) -> Task:
    w, b = task_weights(task_id)

    def loss(gen: torch.Generator) -> torch.Tensor:
        x = torch.randn(BATCH, DIM, generator=gen)
        y = x @ w + b + NOISE * torch.randn(BATCH, generator=gen)
        return (module(x).squeeze(-1) - y).pow(2).mean()

    return Task(f"regress-{task_id}", loss, seed=task_id)


def sampler(module: nn.Linear, per_step: int):
    """sample_tasks: step t uses task ids t*per_step ... ; rank r of W takes every W-th of them."""

    def sample(step: int, rank: int, world: int) -> list[Task]:
        ids = [step * per_step + j for j in range(per_step)]
        return [make_task(module, i) for i in ids[rank::world]]

    return sample


# small, fast settings per algorithm, shared by the trainer and distributed tests
ALG_CONFIGS = {
    "reptile": dict(
        inner_steps=3, inner_lr=0.05, inner_opt="adam", outer_lr=1.0, outer_lr_final=0.1, total_steps=6
    ),
    "fomaml": dict(inner_steps=2, inner_lr=0.05, inner_opt="adam", outer_lr=0.05),
    "metasgd": dict(inner_steps=2, inner_lr=0.05, outer_lr=0.05, alpha_init="normalized"),
}


def algorithm_name(key: str) -> str:
    """The algorithm behind an ALG_CONFIGS key (a variant "name+x" runs algorithm "name")."""
    return key.split("+")[0]


def interrupted(sample, step: int):
    """`sample` that raises KeyboardInterrupt when outer step `step` asks for its tasks (a Ctrl-C there)."""

    def wrapped(t: int, rank: int, world: int) -> list[Task]:
        if t == step:
            raise KeyboardInterrupt
        return sample(t, rank, world)

    return wrapped


def learned_tensors(alg) -> list[torch.Tensor]:
    """Everything an algorithm learns: θ, then Meta-SGD's α when present."""
    extra = list(getattr(alg, "alpha", []))
    return [p.detach() for p in alg.params] + [a.detach() for a in extra]
