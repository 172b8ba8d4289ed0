"""Meta-learning of a fast-adapting initialization for a parameter subset (Reptile, FOMAML, Meta-SGD).

Generic: algorithms see parameters and task losses only. ``trainer`` runs the outer loop with checkpoints,
resume and torch.distributed; avatar-specific tasks live in ``avatar_tasks``.
"""

from alteredavatar.meta.algorithms import (
    ALGORITHMS,
    FOMAML,
    FOMAMLConfig,
    MetaAlgorithm,
    MetaSGD,
    MetaSGDConfig,
    Reptile,
    ReptileConfig,
    make_algorithm,
    make_config,
)
from alteredavatar.meta.task import Task
from alteredavatar.meta.trainer import MetaTrainer, TrainConfig, TrainResult

__all__ = [
    "ALGORITHMS",
    "FOMAML",
    "FOMAMLConfig",
    "MetaAlgorithm",
    "MetaSGD",
    "MetaSGDConfig",
    "MetaTrainer",
    "Reptile",
    "ReptileConfig",
    "Task",
    "TrainConfig",
    "TrainResult",
    "make_algorithm",
    "make_config",
]
