"""Reptile / FOMAML / Meta-SGD on the synthetic regression family: exact update rules and a measured
benefit."""

import math

import pytest
import torch

from alteredavatar.errors import ConfigError, TrainingError
from alteredavatar.meta.algorithms import ReptileConfig, make_algorithm
from alteredavatar.meta.task import Task, draw_seed, task_generator

from .synthetic import HELD_OUT, make_module, make_task, sampler

ALG_CFGS = {
    "reptile": dict(
        inner_steps=5, inner_lr=0.05, inner_opt="sgd", outer_lr=1.0, outer_lr_final=0.1, total_steps=40
    ),
    "fomaml": dict(inner_steps=3, inner_lr=0.05, inner_opt="sgd", outer_lr=0.1),
    "metasgd": dict(inner_steps=3, inner_lr=0.05, outer_lr=0.1),
}


def _values(params):
    return [p.detach().clone() for p in params]


@pytest.mark.parametrize("inner_opt", ["adam", "sgd"])
def test_reptile_one_step_one_task_eps1_is_one_inner_step(inner_opt):
    m = make_module(0)
    task = make_task(m, 3)
    alg = make_algorithm(
        "reptile",
        m.parameters(),
        ReptileConfig(inner_steps=1, inner_lr=0.1, inner_opt=inner_opt, outer_lr=1.0, outer_lr_final=1.0),
    )
    ref = make_module(0)
    alg.meta_step([task], 0, torch.Generator().manual_seed(5))

    # by hand: the same task stream, a fresh optimizer, one step
    ref_task = make_task(ref, 3)
    tgen = task_generator(ref_task, draw_seed(torch.Generator().manual_seed(5)))
    opt = (torch.optim.Adam if inner_opt == "adam" else torch.optim.SGD)(ref.parameters(), lr=0.1)
    ref_task.loss(tgen).backward()
    opt.step()
    for p, q in zip(m.parameters(), ref.parameters()):
        assert not torch.equal(p, make_module(0).weight if p.dim() == 2 else make_module(0).bias)
        torch.testing.assert_close(p, q, rtol=0, atol=1e-7)


def _heldout_loss(module, alg, n=8, steps=3):
    """Mean held-out loss after `steps` adaptation steps from the current θ (θ restored afterwards)."""
    init, total = _values(alg.params), 0.0
    for i in range(n):
        task = make_task(module, HELD_OUT + i)
        alg.adapt(task, steps, torch.Generator().manual_seed(100 + i))
        total += task.loss(torch.Generator().manual_seed(200 + i)).item()
        with torch.no_grad():
            for p, v in zip(alg.params, init):
                p.copy_(v)
    return total / n


@pytest.mark.parametrize("name", sorted(ALG_CFGS))
def test_meta_init_adapts_faster_on_held_out_tasks(name):
    m = make_module(0)
    alg = make_algorithm(name, m.parameters(), ALG_CFGS[name])
    before = _heldout_loss(m, alg)
    sample = sampler(m, per_step=2)
    for step in range(40):
        stats = alg.meta_step(sample(step, 0, 1), step, torch.Generator().manual_seed(step))
        assert math.isfinite(stats["loss"]) and math.isfinite(stats["adapted_loss"])
    after = _heldout_loss(m, alg)
    assert after < 0.2 * before, (name, before, after)


def test_metasgd_first_order_update_matches_formula():
    """k=1: update = [q, -g0 ⊙ q] with g0 = ∇L(θ), θ' = θ - α ⊙ g0, q = ∇L_query(θ')."""
    m = make_module(0)
    task = make_task(m, 7)
    captured = []
    alg = make_algorithm(
        "metasgd",
        m.parameters(),
        dict(inner_steps=1, inner_lr=0.05),
        reduce_fn=lambda ts: captured.extend(t.clone() for t in ts) or ts,
    )
    ref = make_module(0)
    ref_task = make_task(ref, 7)
    alg.meta_step([task], 0, torch.Generator().manual_seed(1))

    tgen = task_generator(ref_task, draw_seed(torch.Generator().manual_seed(1)))
    g0 = torch.autograd.grad(ref_task.loss(tgen), list(ref.parameters()))
    with torch.no_grad():
        for p, g in zip(ref.parameters(), g0):
            p.sub_(0.05 * g)
    q = torch.autograd.grad(ref_task.loss(tgen), list(ref.parameters()))
    expected = [*q, *(-g * qq for g, qq in zip(g0, q))]
    assert len(captured) == 4
    for c, e in zip(captured, expected):
        torch.testing.assert_close(c, e, rtol=1e-6, atol=1e-7)
    assert not torch.allclose(alg.alpha[0], torch.full_like(alg.alpha[0], 0.05))  # α is learned


def test_fomaml_update_is_query_gradient_at_adapted_params():
    m = make_module(0)
    task = make_task(m, 2)
    captured = []
    alg = make_algorithm(
        "fomaml",
        m.parameters(),
        dict(inner_steps=2, inner_lr=0.05, inner_opt="sgd"),
        reduce_fn=lambda ts: captured.extend(t.clone() for t in ts) or ts,
    )
    ref = make_module(0)
    ref_task = make_task(ref, 2)
    alg.meta_step([task], 0, torch.Generator().manual_seed(3))

    tgen = task_generator(ref_task, draw_seed(torch.Generator().manual_seed(3)))
    for _ in range(2):
        grads = torch.autograd.grad(ref_task.loss(tgen), list(ref.parameters()))
        with torch.no_grad():
            for p, g in zip(ref.parameters(), grads):
                p.sub_(0.05 * g)
    q = torch.autograd.grad(ref_task.loss(tgen), list(ref.parameters()))
    for c, e in zip(captured, q):
        torch.testing.assert_close(c, e, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(ALG_CFGS))
def test_non_finite_loss_raises_and_leaves_params(name):
    m = make_module(0)
    alg = make_algorithm(name, m.parameters(), ALG_CFGS[name])
    start = _values(alg.params)
    good = make_task(m, 0)
    bad = Task("broken-style", lambda gen: good.loss(gen) * float("nan"), seed=1)
    with pytest.raises(TrainingError, match=r"broken-style.*outer step 4"):
        alg.meta_step([good, bad], 4, torch.Generator().manual_seed(0))
    assert all(torch.equal(p, v) for p, v in zip(alg.params, start))
    assert alg.meta_steps == 0


def test_config_errors():
    m = make_module(0)
    with pytest.raises(ConfigError, match="unknown meta-learning algorithm"):
        make_algorithm("maml2", m.parameters())
    with pytest.raises(ConfigError, match="unknown reptile options"):
        make_algorithm("reptile", m.parameters(), {"inner_stepz": 3})
    with pytest.raises(ConfigError, match="inner_opt"):
        make_algorithm("fomaml", m.parameters(), {"inner_opt": "rmsprop"})
    m.requires_grad_(False)
    with pytest.raises(ConfigError, match="requires_grad"):
        make_algorithm("reptile", m.parameters())


def test_reptile_outer_lr_anneals_linearly():
    alg = make_algorithm(
        "reptile", make_module(0).parameters(), dict(outer_lr=1.0, outer_lr_final=0.2, total_steps=10)
    )
    assert [round(alg.outer_lr_at(s), 6) for s in (0, 5, 10, 20)] == [1.0, 0.6, 0.2, 0.2]


def test_metasgd_normalized_alpha_makes_first_step_inner_lr_sized():
    """alpha_init="normalized": before the first outer step α_i = inner_lr / RMS(∇_i L) over that step's
    tasks."""
    m = make_module(0)
    tasks = [make_task(m, 3), make_task(m, 4)]
    alg = make_algorithm(
        "metasgd", m.parameters(), dict(inner_steps=1, inner_lr=0.01, alpha_init="normalized")
    )
    assert not alg.calibrated
    ref = make_module(0)
    rms = [torch.zeros(()) for _ in ref.parameters()]
    for i in (3, 4):
        t = make_task(ref, i)
        grads = torch.autograd.grad(t.loss(torch.Generator().manual_seed(t.seed)), list(ref.parameters()))
        rms = [r + g.pow(2).mean().sqrt() / 2 for r, g in zip(rms, grads)]
    mc = make_module(0)
    calibrate_only = make_algorithm("metasgd", mc.parameters(), dict(inner_lr=0.01, alpha_init="normalized"))
    calibrate_only.calibrate([make_task(mc, 3), make_task(mc, 4)])
    for a, r in zip(calibrate_only.alpha, rms):
        torch.testing.assert_close(a, torch.full_like(a, 0.01 / float(r)))
    alg.meta_step(tasks, 0, torch.Generator().manual_seed(0))
    assert alg.calibrated and alg.state_dict()["calibrated"] is True
    with pytest.raises(ConfigError, match="alpha_init"):
        make_algorithm("metasgd", make_module(0).parameters(), {"alpha_init": "random"})
