"""One rank of the 2-process test (run by test_distributed.py; env: RANK, WORLD_SIZE, MASTER_ADDR,
MASTER_PORT).

Writes, under the directory in argv[1]: final θ of every algorithm per rank, a resumed run's θ, and the error
each rank saw when rank 1's task goes non-finite.
"""

import json
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ -> `meta.synthetic`

from alteredavatar.errors import TrainingError  # noqa: E402
from alteredavatar.io import save_safetensors_atomic  # noqa: E402
from alteredavatar.meta import distributed  # noqa: E402
from alteredavatar.meta.algorithms import make_algorithm  # noqa: E402
from alteredavatar.meta.task import Task  # noqa: E402
from alteredavatar.meta.trainer import MetaTrainer, TrainConfig  # noqa: E402
from meta.synthetic import ALG_CONFIGS, algorithm_name, interrupted, learned_tensors, make_module, sampler  # noqa: E402

STEPS = 4


def train(name: str, out_dir: Path, rank: int, interrupt_at: int | None = None, **run) -> list[torch.Tensor]:
    m = make_module(seed=rank)  # rank 1 starts elsewhere: the trainer must sync θ from rank 0
    alg = make_algorithm(algorithm_name(name), m.parameters(), ALG_CONFIGS[name])
    cfg = TrainConfig(outer_steps=STEPS, checkpoint_every=2, seed=3)
    sample = sampler(m, per_step=2)
    if interrupt_at is not None:
        sample = interrupted(sample, interrupt_at)
    try:
        MetaTrainer(alg, sample, cfg, out_dir).run(progress=False, **run)
    except KeyboardInterrupt:
        pass  # "killed" there: the last checkpoint stays for the resume
    return learned_tensors(alg)


def main(out: Path) -> None:
    assert distributed.init_from_env() and distributed.world_size() == 2
    rank = distributed.rank()
    for name in ALG_CONFIGS:
        theta = train(name, out / name, rank)
        save_safetensors_atomic(
            {str(i): t for i, t in enumerate(theta)}, out / f"{name}-rank{rank}.safetensors"
        )
    train("reptile", out / "cut", rank, interrupt_at=3)
    theta = train("reptile", out / "cut", rank, resume=True)
    save_safetensors_atomic({str(i): t for i, t in enumerate(theta)}, out / f"resumed-rank{rank}.safetensors")

    m = make_module(0)
    alg = make_algorithm("reptile", m.parameters(), ALG_CONFIGS["reptile"])
    good = sampler(m, per_step=2)

    def sample(step, r, world):
        if step == 1 and r == 1:
            return [Task("nan-style", lambda gen: m.weight.sum() * float("nan"), seed=5)]
        return good(step, r, world)

    error = None
    try:
        MetaTrainer(alg, sample, TrainConfig(outer_steps=3, checkpoint_every=1), out / "bad").run(
            progress=False
        )
    except TrainingError as exc:
        error = str(exc)
    (out / f"rank{rank}.json").write_text(json.dumps({"error": error}))
    distributed.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
