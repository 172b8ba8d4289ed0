"""A meta-learning task (a named stochastic loss of the module's current parameters) and seed derivation.

Tasks own their randomness: within a meta step each task draws from a generator seeded by (a base seed
drawn from the step's generator, ``task.seed``), so a task yields the same minibatches whichever rank runs it
and in whatever order. This is what makes N-rank training equal 1-rank training on the union of the tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

_MASK64 = (1 << 64) - 1


@dataclass
class Task:
    """One task: ``loss(gen)`` -> scalar tensor () of the module's *current* parameters.

    The closure captures the module; every call draws a fresh stochastic minibatch from ``gen`` only.
    ``seed`` identifies the task's random stream (see :func:`task_generator`).
    """

    name: str
    loss: Callable[[torch.Generator], torch.Tensor]
    seed: int


def _splitmix64(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def mix_seed(*values: int) -> int:
    """Hash integers (any sign/size) into one well-mixed seed in [0, 2**63)."""
    h = 0x6A09E667F3BCC908
    for v in values:
        h = _splitmix64(h ^ (int(v) & _MASK64))
    return h >> 1


def draw_seed(gen: torch.Generator) -> int:
    """One seed in [0, 2**62) drawn from ``gen`` (advances it)."""
    return int(torch.randint(0, 1 << 62, (1,), generator=gen))


def task_generator(task: Task, base_seed: int) -> torch.Generator:
    """The CPU generator a meta step uses for ``task``: seeded by mix_seed(base_seed, task.seed)."""
    return torch.Generator().manual_seed(mix_seed(base_seed, task.seed))
