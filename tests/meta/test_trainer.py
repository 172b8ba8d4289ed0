"""MetaTrainer: interrupted + resumed runs are bit-identical, evaluation history, checkpoints, errors."""

import json

import pytest
import torch

from alteredavatar.errors import AlteredAvatarError, ConfigError, TrainingError
from alteredavatar.meta.algorithms import make_algorithm
from alteredavatar.meta.task import Task
from alteredavatar.meta.trainer import CKPT_JSON, CKPT_TENSORS, MetaTrainer, TrainConfig

from .synthetic import (
    ALG_CONFIGS,
    HELD_OUT,
    algorithm_name,
    interrupted,
    learned_tensors,
    make_module,
    make_task,
    sampler,
)

CFGS = ALG_CONFIGS


def _trainer(name, out_dir, steps=6, every=2, eval_every=0, with_eval=False, interrupt_at=None):
    m = make_module(0)
    alg = make_algorithm(algorithm_name(name), m.parameters(), CFGS[name])

    def eval_fn():
        task = make_task(m, HELD_OUT)
        alg.adapt(task, 2, torch.Generator().manual_seed(0))  # moves θ; the trainer must restore it
        return {"heldout": task.loss(torch.Generator().manual_seed(1))}

    cfg = TrainConfig(outer_steps=steps, checkpoint_every=every, eval_every=eval_every, seed=3)
    sample = sampler(m, per_step=2)
    if interrupt_at is not None:
        sample = interrupted(sample, interrupt_at)
    return MetaTrainer(alg, sample, cfg, out_dir, eval_fn if with_eval else None)


def _state(alg):
    tensors = learned_tensors(alg)
    opt = getattr(alg, "outer_opt", None)
    if opt is not None:
        state = opt.state_dict()["state"]
        tensors += [state[i][k] for i in sorted(state) for k in sorted(state[i])]
    return tensors


@pytest.mark.parametrize("name,every", [("reptile", 2), ("fomaml", 1), ("metasgd", 2)])
def test_interrupted_and_resumed_run_is_bit_identical(tmp_path, name, every):
    full = _trainer(name, tmp_path / "full", every=every, eval_every=2, with_eval=True)
    res_full = full.run(progress=False)
    assert res_full.step == 6

    first = _trainer(name, tmp_path / "cut", every=every, eval_every=2, with_eval=True, interrupt_at=3)
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C during step 3; the last checkpoint is at 3 or 2
        first.run(progress=False)
    assert first.step == 3
    second = _trainer(name, tmp_path / "cut", every=every, eval_every=2, with_eval=True)
    res2 = second.run(resume=True, progress=False)
    assert res2.resumed_from == (3 if every == 1 else 2) and res2.step == 6

    a, b = _state(full.algorithm), _state(second.algorithm)
    assert len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))
    assert second.algorithm.meta_steps == 6
    assert res2.train_log == res_full.train_log
    assert [h["step"] for h in res2.history] == [2, 4, 6] and res2.history == res_full.history
    # The resumed run records where each stretch ran (here both on this machine, one process).
    assert res_full.segments == [{"from_step": 0, "world_size": 1}]
    assert res2.segments == [
        {"from_step": 0, "world_size": 1},
        {"from_step": res2.resumed_from, "world_size": 1},
    ]


def test_checkpoint_files_and_eval_restores_params(tmp_path):
    tr = _trainer("metasgd", tmp_path, steps=4, every=0, eval_every=2, with_eval=True)
    tr.run(progress=False)
    doc = json.loads((tmp_path / CKPT_JSON).read_text())
    assert doc["step"] == 4 and doc["algorithm"] == "metasgd" and doc["world_size"] == 1
    assert [h["step"] for h in doc["history"]] == [2, 4] and isinstance(doc["history"][0]["heldout"], float)
    assert len(doc["train_log"]) == 4 and doc["rng"]["seed"] == 3
    # θ after the run is the meta-trained θ, not the eval-adapted one: equals what the checkpoint holds
    from alteredavatar.io import load_safetensors

    tensors, meta = load_safetensors(tmp_path / CKPT_TENSORS)
    assert json.loads(meta["ckpt_json"])["step"] == 4
    assert torch.equal(tensors["params.0"], tr.algorithm.params[0].detach())
    assert torch.equal(tensors["alpha.1"], tr.algorithm.alpha[1].detach())
    assert not list(tmp_path.glob(".ckpt*"))  # no temp files left


def test_resume_without_checkpoint_says_so_and_a_mismatch_is_refused(tmp_path, capsys):
    res = _trainer("reptile", tmp_path, steps=2).run(resume=True, progress=False)
    assert res.resumed_from is None and res.step == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "--resume: no checkpoint" in said and "starting at outer step 0" in said
    with pytest.raises(ConfigError, match="already holds a checkpoint"):
        _trainer("reptile", tmp_path, steps=3).run(progress=False)
    with pytest.raises(ConfigError, match="different"):
        _trainer("fomaml", tmp_path, steps=3).run(resume=True, progress=False)
    (tmp_path / CKPT_TENSORS).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(AlteredAvatarError, match="not a readable meta-training checkpoint"):
        _trainer("reptile", tmp_path, steps=3).run(resume=True, progress=False)


def test_non_finite_task_loss_names_task_and_step(tmp_path):
    m = make_module(0)
    alg = make_algorithm("reptile", m.parameters(), CFGS["reptile"])

    def sample(step, rank, world):
        tasks = [make_task(m, step)]
        if step == 2:
            tasks.append(Task("exploding", lambda gen: m(torch.full((1, 8), float("inf"))).sum(), seed=99))
        return tasks

    tr = MetaTrainer(alg, sample, TrainConfig(outer_steps=5, checkpoint_every=1), tmp_path)
    with pytest.raises(TrainingError, match=r"'exploding'.*outer step 2"):
        tr.run(progress=False)
    assert json.loads((tmp_path / CKPT_JSON).read_text())["step"] == 2  # steps 0, 1 saved; nothing after


def test_progress_bar_runs(tmp_path, capsys):
    _trainer("reptile", tmp_path, steps=2).run(progress=True)


def test_log_file_gets_a_line_per_checkpoint_and_evaluation(tmp_path, capsys):
    """Without a terminal the live bar draws nothing until the end: plain lines are the progress record."""
    tr = _trainer("reptile", tmp_path, steps=4, every=2, eval_every=4, with_eval=True)
    res = tr.run(progress=True)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("meta-train [reptile] step")]
    assert [ln.split(":")[0] for ln in lines] == [
        "meta-train [reptile] step 2/4",
        "meta-train [reptile] step 4/4",
        "meta-train [reptile] step 4/4",
    ]
    mean_loss = sum(r["loss"] for r in res.train_log[:2]) / 2
    assert f"loss {mean_loss:.4g} -> " in lines[0] and "mean of last 2" in lines[0] and "s/step" in lines[0]
    assert f"heldout {res.history[0]['heldout']:.4g}" in lines[1]  # the evaluation, then step 4's checkpoint
    assert str(tmp_path / CKPT_TENSORS) in lines[2]
    _trainer("reptile", tmp_path / "quiet", steps=2).run(progress=False)
    assert "meta-train" not in capsys.readouterr().out
