"""The outer meta-training loop: sample tasks, meta-step, evaluate, checkpoint, resume; one or many processes.

Determinism: the generator of outer step t is ``torch.Generator().manual_seed(mix_seed(seed, t))`` — derived,
never carried, so a resumed run replays exactly the steps an uninterrupted one would. It is the same on
every rank on purpose: ranks differ by the tasks ``sample_tasks(t, rank, world_size)`` gives them, and each
task's stream is keyed by ``task.seed``, so N ranks over tasks [a], [b] equal 1 rank over [a, b].

Checkpoint (rank 0 only, every ``checkpoint_every`` steps and at the end), in ``out_dir``:
``ckpt.safetensors`` — θ, learned tensors (Meta-SGD α) and outer-optimizer tensors, flattened by name, with
the full JSON document in its metadata under "ckpt_json", so the one atomic rename commits a consistent
checkpoint; ``ckpt.json`` — the same document, readable: format, step, configs, world size, history
(evaluations), train_log (per-step losses), rng (the derivation), and the algorithm's non-tensor state.
No pickle anywhere. On resume rank 0 reads the file and broadcasts its bytes, so only rank 0 needs it.
"""

from __future__ import annotations

import json
import math
import struct
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from safetensors.torch import load as load_safetensors_bytes

from alteredavatar.errors import AlteredAvatarError, ConfigError
from alteredavatar.io import save_safetensors_atomic, write_json_atomic
from alteredavatar.meta import distributed
from alteredavatar.meta.algorithms import MetaAlgorithm, identity_reduce
from alteredavatar.meta.state import flatten_state, unflatten_state
from alteredavatar.meta.task import Task, mix_seed

CKPT_FORMAT = "alteredavatar.meta.ckpt/1"
CKPT_TENSORS, CKPT_JSON = "ckpt.safetensors", "ckpt.json"
_EXISTS, _MISSING = b"\0checkpoint exists", b"\0no checkpoint"
SampleTasks = Callable[[int, int, int], list[Task]]  # (outer_step, rank, world_size) -> this rank's tasks


@dataclass
class TrainConfig:
    """The outer loop. ``checkpoint_every``/``eval_every`` = 0: checkpoint only at the end / never
    evaluate."""

    outer_steps: int = 1000
    checkpoint_every: int = 100
    eval_every: int = 0
    seed: int = 0
    tasks_per_step: int = 2
    """Tasks sampled per outer step (meta-train's sampler; split across processes)."""
    init: str | None = None
    (  # tyro breaks help lines where a docstring does, so this one is split as string pieces
        "meta-train only: start from an earlier initialization (a run's init.safetensors) made for this "
        "network."
    )

    def check(self) -> None:
        if self.outer_steps < 1:
            raise ConfigError(f"train.outer_steps must be >= 1, got {self.outer_steps}")
        if self.checkpoint_every < 0 or self.eval_every < 0:
            raise ConfigError("train.checkpoint_every and train.eval_every must be >= 0 (0 turns them off)")
        if self.tasks_per_step < 1:
            raise ConfigError(f"train.tasks_per_step must be >= 1, got {self.tasks_per_step}")


@dataclass
class TrainResult:
    """Where a run ended: outer steps completed, evaluations (rank 0), per-step losses, and why it stopped."""

    step: int
    history: list[dict[str, Any]] = field(default_factory=list)
    train_log: list[dict[str, float]] = field(default_factory=list)
    resumed_from: int | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    """One entry per start or resume: the outer step it began at and the caller's `where` (device,
    processes)."""


def step_generator(seed: int, step: int) -> torch.Generator:
    """The CPU generator of outer step ``step`` (a pure function of (seed, step))."""
    return torch.Generator().manual_seed(mix_seed(seed, step))


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def parse_checkpoint(data: bytes, where: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, JSON document) of checkpoint bytes; AlteredAvatarError naming ``where`` if unreadable."""
    try:
        (n,) = struct.unpack("<Q", data[:8])
        meta = json.loads(data[8 : 8 + n]).get("__metadata__", {})
        doc = json.loads(meta["ckpt_json"])
        tensors = load_safetensors_bytes(data)
    except Exception as exc:  # truncated or foreign file: several exception types
        raise AlteredAvatarError(f"{where}: not a readable meta-training checkpoint ({exc})") from None
    if doc.get("format") != CKPT_FORMAT:
        raise AlteredAvatarError(
            f"{where}: checkpoint format {doc.get('format')!r}, expected {CKPT_FORMAT!r}"
        )
    return tensors, doc


class MetaTrainer:
    """Runs ``algorithm.meta_step`` over ``sample_tasks`` for ``cfg.outer_steps`` steps, on 1 or N processes.

    ``sample_tasks(step, rank, world_size)`` must return at least one task per rank and be a pure function of
    its arguments; give every rank the same number of tasks (rank means are averaged with equal weight).
    ``eval_fn()`` (rank 0, every ``eval_every`` steps) returns a dict of numbers; θ is restored after it.
    ``where`` (e.g. the device) is recorded with the step each start or resume began at, so a run that moved
    between machines says so. Under torchrun the process group is joined here if the caller has not
    (``distributed.init_from_env``).
    """

    def __init__(
        self,
        algorithm: MetaAlgorithm,
        sample_tasks: SampleTasks,
        cfg: TrainConfig,
        out_dir: str | Path,
        eval_fn: Callable[[], dict[str, Any]] | None = None,
        where: dict[str, Any] | None = None,
    ):
        cfg.check()
        self.algorithm, self.sample_tasks, self.cfg, self.eval_fn = algorithm, sample_tasks, cfg, eval_fn
        self.where = dict(where or {})
        distributed.init_from_env()
        self.rank, self.world = distributed.rank(), distributed.world_size()
        if self.world > 1 and algorithm.reduce_fn is identity_reduce:
            algorithm.reduce_fn = distributed.allreduce_mean
        self.out_dir = Path(out_dir)
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.train_log: list[dict[str, float]] = []
        self.segments: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- checkpoints
    def _document(self, state_tree: Any) -> dict[str, Any]:
        return {
            "format": CKPT_FORMAT,
            "step": self.step,
            "algorithm": self.algorithm.name,
            "algorithm_config": asdict(self.algorithm.cfg),
            "train_config": asdict(self.cfg),
            "world_size": self.world,
            "history": self.history,
            "train_log": self.train_log,
            "segments": self.segments,
            "rng": {
                "seed": self.cfg.seed,
                "derivation": "outer step t uses torch.Generator().manual_seed("
                "mix_seed(seed, t)); no generator state carries across steps",
            },
            "state": state_tree,
        }

    def save_checkpoint(self) -> Path | None:
        """Write ckpt.safetensors (+ ckpt.json) atomically on rank 0; other ranks return None."""
        if self.rank != 0:
            return None
        tensors, tree = flatten_state(self.algorithm.state_dict())
        doc = self._document(tree)
        text = json.dumps(doc, sort_keys=True)
        path = self.out_dir / CKPT_TENSORS
        save_safetensors_atomic(tensors, path, {"ckpt_json": text, "format": CKPT_FORMAT})
        write_json_atomic(doc, self.out_dir / CKPT_JSON)
        return path

    def _check_compatible(self, doc: dict[str, Any], where: str) -> None:
        mine = {
            "algorithm": self.algorithm.name,
            "algorithm_config": asdict(self.algorithm.cfg),
            "seed": self.cfg.seed,
        }
        theirs = {
            "algorithm": doc["algorithm"],
            "algorithm_config": doc["algorithm_config"],
            "seed": doc["train_config"]["seed"],
        }
        diff = [k for k in mine if mine[k] != theirs[k]]
        if diff:
            raise ConfigError(
                f"{where} was written with different {diff}: {[theirs[k] for k in diff]} "
                f"(now {[mine[k] for k in diff]}); use another out_dir or the same settings"
            )

    def _start(self, resume: bool) -> int | None:
        """Load the checkpoint (resume) or sync θ from rank 0; returns the step resumed from, or None."""
        path = self.out_dir / CKPT_TENSORS
        data = None
        if self.rank == 0 and path.is_file():
            data = path.read_bytes() if resume else _EXISTS
        elif self.rank == 0 and resume:
            data = _MISSING
        data = distributed.broadcast_bytes(data)  # every rank learns the outcome, so none waits forever
        if data == _EXISTS:
            raise ConfigError(
                f"{path} already holds a checkpoint; resume it (--resume) or use another out_dir"
            )
        if (
            data == _MISSING
        ):  # said, not silent; still a fresh start, so torchrun restarts can always pass --resume
            Console(stderr=True).print(
                f"--resume: no checkpoint {path} yet; starting at outer step 0", markup=False, highlight=False
            )
        if not data or data == _MISSING:
            distributed.broadcast_(self.algorithm.params)
            self.segments = [{"from_step": 0, "world_size": self.world, **self.where}]
            return None
        tensors, doc = parse_checkpoint(data, str(path))
        self._check_compatible(doc, str(path))
        self.algorithm.load_state_dict(unflatten_state(tensors, doc["state"]))
        self.step, self.history, self.train_log = int(doc["step"]), doc["history"], doc["train_log"]
        earlier = doc.get("segments") or [
            {"from_step": 0, "note": "checkpoint written before segments were recorded"}
        ]
        self.segments = [*earlier, {"from_step": self.step, "world_size": self.world, **self.where}]
        return self.step

    # ---------------------------------------------------------------- loop
    def _evaluate(self) -> None:
        saved = [p.detach().clone() for p in self.algorithm.params]
        try:
            result = self.eval_fn()
        finally:
            with torch.no_grad():
                for p, v in zip(self.algorithm.params, saved):
                    p.copy_(v)
        self.history.append({"step": self.step, **_jsonable(result)})

    def _mean_stats(self, stats: dict[str, float]) -> dict[str, float]:
        if self.world == 1:
            return stats
        keys = sorted(stats)
        (vals,) = distributed.allreduce_mean([torch.tensor([stats[k] for k in keys], dtype=torch.float64)])
        return dict(zip(keys, vals.tolist()))

    def _progress(self, show: bool) -> Progress:
        return Progress(
            TextColumn(escape(f"meta-train [{self.algorithm.name}]")),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]} -> {task.fields[adapted]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            disable=not (show and self.rank == 0),
        )

    def _checkpoint_line(self, seconds: float, steps_run: int) -> str:
        """One plain line per checkpoint, with the losses averaged since the last one (one step's is
        noise)."""
        recent = self.train_log[-max(self.cfg.checkpoint_every, 1) :]
        loss = sum(r["loss"] for r in recent) / len(recent)
        adapted = sum(r["adapted_loss"] for r in recent) / len(recent)
        return (
            f"meta-train [{self.algorithm.name}] step {self.step}/{self.cfg.outer_steps}: "
            f"loss {_fmt(loss)} -> "
            f"{_fmt(adapted)} (mean of last {len(recent)}), {seconds / max(steps_run, 1):.1f} s/step; "
            f"checkpoint {self.out_dir / CKPT_TENSORS}"
        )

    def _eval_line(self, entry: dict[str, Any]) -> str:
        values = ", ".join(
            f"{k} {_fmt(v) if isinstance(v, float) else v}" for k, v in entry.items() if k != "step"
        )
        return f"meta-train [{self.algorithm.name}] step {entry['step']}/{self.cfg.outer_steps}: {values}"

    @staticmethod
    def _log(bar: Progress, line: str) -> None:
        """Print above the live bar; in a log file (no terminal) the bar draws nothing until the end, so these
        lines are the run's only progress record there."""
        if not bar.disable:
            bar.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def _due(self, every: int) -> bool:
        return every > 0 and self.step % every == 0

    def run(self, resume: bool = False, progress: bool = True) -> TrainResult:
        """Train to ``cfg.outer_steps`` (from the checkpoint in out_dir when ``resume`` and one exists).

        Without ``resume`` an existing checkpoint in out_dir is refused (ConfigError), never overwritten.

        Ctrl-C leaves the last checkpoint (resume continues bit-identically from it). A non-finite task loss
        raises TrainingError naming the task and step; nothing partial is written.
        """
        resumed_from = self._start(resume)
        started, first = time.perf_counter(), self.step
        with self._progress(progress) as bar:
            bar_id = bar.add_task(
                "meta", total=self.cfg.outer_steps, completed=self.step, loss="-", adapted="-"
            )
            while self.step < self.cfg.outer_steps:
                step = self.step
                tasks = self.sample_tasks(step, self.rank, self.world)
                stats = self._mean_stats(
                    self.algorithm.meta_step(tasks, step, step_generator(self.cfg.seed, step))
                )
                self.step = step + 1
                self.train_log.append({"step": self.step, **stats})
                if self.eval_fn is not None and self.rank == 0 and self._due(self.cfg.eval_every):
                    self._evaluate()
                    self._log(bar, self._eval_line(self.history[-1]))
                if self._due(self.cfg.checkpoint_every) or self.step == self.cfg.outer_steps:
                    self.save_checkpoint()
                    self._log(bar, self._checkpoint_line(time.perf_counter() - started, self.step - first))
                bar.update(
                    bar_id, completed=self.step, loss=_fmt(stats["loss"]), adapted=_fmt(stats["adapted_loss"])
                )
        return TrainResult(self.step, self.history, self.train_log, resumed_from, self.segments)


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else str(x)
