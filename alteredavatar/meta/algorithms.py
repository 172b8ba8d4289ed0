"""Meta-learning algorithms over a parameter subset θ of any module: Reptile, FOMAML and Meta-SGD.

learn2learn-style: an algorithm sees only ``params`` (θ, a list of leaf parameters, updated in place; the
caller freezes the rest of the module) and :class:`~alteredavatar.meta.task.Task` losses. It knows nothing
about avatars. Vocabulary:

- ``inner_adapt(task, steps, gen)``: ``steps`` inner steps from the current θ, leaving θ adapted.
- ``meta_step(tasks, step, gen)``: one outer update over a batch of tasks; θ ends at the new initialization.
- ``adapt(task, steps, gen)``: test-time adaptation (what users call).
- ``state_dict()`` / ``load_state_dict()``: everything needed for a bit-identical resume.
- ``reduce_fn``: applied to the list of outer-update tensors (averaged over this process's tasks) before they
  are applied; identity by default, an all-reduce-average under torch.distributed.

All randomness comes from the generators passed in. In ``meta_step`` one base seed is drawn from ``gen`` and
each task uses its own stream (``task_generator(task, base)``), so results do not depend on which process
handled which task.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import torch
from torch import nn

from alteredavatar.errors import ConfigError, TrainingError
from alteredavatar.meta.task import Task, draw_seed, task_generator

ReduceFn = Callable[[list[torch.Tensor]], list[torch.Tensor]]
InnerUpdate = Callable[[list[torch.Tensor]], None]
_INNER_OPTS = ("adam", "sgd")
ALPHA_INITS = ("constant", "normalized")


def identity_reduce(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """The single-process ``reduce_fn``: returns its input."""
    return tensors


def _check_common(cfg: Any) -> None:
    if cfg.inner_steps < 1:
        raise ConfigError(f"inner_steps must be >= 1, got {cfg.inner_steps}")
    if not cfg.inner_lr > 0 or not cfg.outer_lr > 0:
        raise ConfigError(f"inner_lr and outer_lr must be > 0, got {cfg.inner_lr} and {cfg.outer_lr}")
    if getattr(cfg, "inner_opt", "sgd") not in _INNER_OPTS:
        raise ConfigError(f"inner_opt must be one of {_INNER_OPTS}, got {cfg.inner_opt!r}")


@dataclass
class ReptileConfig:
    """Reptile: k inner steps, then θ ← θ + ε_t · mean_tasks(θ' − θ); ε annealed linearly to
    outer_lr_final."""

    inner_steps: int = 5
    inner_lr: float = 1e-2
    inner_opt: str = "adam"  # "adam" | "sgd"
    outer_lr: float = 1.0  # ε at step 0
    outer_lr_final: float = 0.0  # ε at step >= total_steps
    total_steps: int | None = None
    """Outer steps over which ε anneals to outer_lr_final; None keeps ε at outer_lr (meta-train's config
    fills in the run's outer steps)."""

    def check(self) -> None:
        _check_common(self)
        if self.outer_lr_final < 0 or (self.total_steps is not None and self.total_steps < 1):
            raise ConfigError("outer_lr_final must be >= 0 and total_steps >= 1")


@dataclass
class FOMAMLConfig:
    """First-order MAML: outer optimizer on the mean gradient of a fresh query loss at the adapted θ'."""

    inner_steps: int = 5
    inner_lr: float = 1e-2
    inner_opt: str = "adam"  # "adam" | "sgd"
    outer_lr: float = 1e-3
    outer_opt: str = "adam"  # "adam" | "sgd"

    def check(self) -> None:
        _check_common(self)
        if self.outer_opt not in _INNER_OPTS:
            raise ConfigError(f"outer_opt must be one of {_INNER_OPTS}, got {self.outer_opt!r}")


@dataclass
class MetaSGDConfig:
    """Meta-SGD: learned per-parameter inner rates α (initialised from inner_lr); outer Adam on θ and
    log α."""

    inner_steps: int = 5
    inner_lr: float = 1e-2  # initial α ("constant"), or the RMS size of the first step ("normalized")
    outer_lr: float = 1e-3
    outer_lr_alpha: float | None = None
    """Outer Adam rate for log α (default: outer_lr)."""
    alpha_init: str = "constant"
    """"constant": α = inner_lr everywhere. "normalized": before the first outer step, per tensor
    α = inner_lr / RMS(∇L) averaged over that step's tasks, so the first SGD step moves every tensor by about
    inner_lr like an Adam step would (needed when gradient scales differ by orders of magnitude)."""

    def check(self) -> None:
        _check_common(self)
        if self.outer_lr_alpha is not None and not self.outer_lr_alpha > 0:
            raise ConfigError(f"outer_lr_alpha must be > 0, got {self.outer_lr_alpha}")
        if self.alpha_init not in ALPHA_INITS:
            raise ConfigError(f"alpha_init must be one of {ALPHA_INITS}, got {self.alpha_init!r}")


@torch.no_grad()
def rated_sgd_step(params: list[torch.Tensor], alpha: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
    """Meta-SGD's update rule, in place: θ ← θ − α ⊙ g (α per element, shaped like θ)."""
    for p, a, g in zip(params, alpha, grads):
        p.addcmul_(a, g, value=-1.0)


def _make_opt(kind: str, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr) if kind == "adam" else torch.optim.SGD(params, lr=lr)


def _opt_update(opt: torch.optim.Optimizer, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
    """One optimizer step with explicit gradients (never accumulates into other parameters' .grad)."""
    for p, g in zip(params, grads):
        p.grad = g.to(p.dtype)
    opt.step()
    for p in params:
        p.grad = None


class MetaAlgorithm:
    """Shared machinery; subclasses define the per-task outer update and how it is applied."""

    name: ClassVar[str] = ""
    config_cls: ClassVar[type] = ReptileConfig

    def __init__(self, params: Iterable[nn.Parameter], cfg: Any = None, reduce_fn: ReduceFn | None = None):
        self.params: list[nn.Parameter] = list(params)
        if not self.params:
            raise ConfigError("a meta-learning algorithm needs at least one parameter")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ConfigError("the meta-parameter list holds the same parameter twice")
        for i, p in enumerate(self.params):
            if not p.is_leaf or not p.requires_grad:
                raise ConfigError(f"meta-parameter {i} must be a leaf tensor with requires_grad=True")
        self.cfg = cfg if cfg is not None else self.config_cls()
        if not isinstance(self.cfg, self.config_cls):
            raise ConfigError(
                f"{self.name} needs a {self.config_cls.__name__}, got {type(self.cfg).__name__}"
            )
        self.cfg.check()
        self.reduce_fn: ReduceFn = reduce_fn or identity_reduce
        self.meta_steps = 0  # outer updates applied so far

    # ---------------------------------------------------------------- adaptation
    def _loss(self, task: Task, gen: torch.Generator, where: str) -> torch.Tensor:
        """One fresh scalar loss of ``task``; non-finite -> TrainingError naming the task and ``where``."""
        loss = task.loss(gen)
        if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
            raise TrainingError(f"task {task.name!r}: loss must be a scalar tensor ({where})")
        loss = loss.reshape(())
        if not torch.isfinite(loss.detach()):
            raise TrainingError(f"task {task.name!r}: non-finite loss ({loss.item()}) {where}")
        if not loss.requires_grad:
            raise TrainingError(f"task {task.name!r}: loss does not depend on the meta-parameters ({where})")
        return loss

    def _grads(self, loss: torch.Tensor) -> list[torch.Tensor]:
        grads = torch.autograd.grad(loss, self.params, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for p, g in zip(self.params, grads)]

    def _inner_update(self) -> InnerUpdate:
        """A fresh inner optimizer over θ (Adam or SGD at inner_lr), as ``update(grads)``."""
        opt = _make_opt(self.cfg.inner_opt, self.params, self.cfg.inner_lr)
        return lambda grads: _opt_update(opt, self.params, grads)

    def _run_inner(
        self, task: Task, steps: int, gen: torch.Generator, outer_step: int | None, update: InnerUpdate
    ) -> list[torch.Tensor]:
        losses = []
        for i in range(steps):
            where = f"at inner step {i}" + ("" if outer_step is None else f" of outer step {outer_step}")
            loss = self._loss(task, gen, where)
            update(self._grads(loss))
            losses.append(loss.detach())
        return losses

    def inner_adapt(
        self, task: Task, steps: int, gen: torch.Generator, *, outer_step: int | None = None
    ) -> list[torch.Tensor]:
        """Run ``steps`` inner steps from the current θ (fresh inner optimizer); θ is left adapted.

        Returns the loss before each step: ``steps`` detached scalars ().
        """
        return self._run_inner(task, steps, gen, outer_step, self._inner_update())

    def adapt(
        self, task: Task, steps: int | None = None, gen: torch.Generator | None = None
    ) -> list[torch.Tensor]:
        """Test-time adaptation of θ in place (default: cfg.inner_steps steps, generator seeded by
        task.seed)."""
        gen = gen if gen is not None else torch.Generator().manual_seed(task.seed)
        return self.inner_adapt(task, self.cfg.inner_steps if steps is None else steps, gen)

    # ---------------------------------------------------------------- outer loop
    def _snapshot(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.params]

    def _restore(self, values: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, v in zip(self.params, values):
                p.copy_(v)

    def _update_templates(self) -> list[torch.Tensor]:
        """Tensors shaped like the outer update (θ, or θ then α)."""
        return list(self.params)

    def _task_update(
        self, task: Task, gen: torch.Generator, start: list[torch.Tensor], step: int
    ) -> tuple[list[torch.Tensor], float, float]:
        """Adapt on one task from θ = ``start``: (outer-update tensors, loss before, loss after)."""
        raise NotImplementedError

    def _apply(self, update: list[torch.Tensor], step: int) -> dict[str, float]:
        """Apply the (reduced) mean outer update at outer step ``step``; returns scalars to log."""
        raise NotImplementedError

    def meta_step(self, tasks: list[Task], step: int, gen: torch.Generator) -> dict[str, float]:
        """One outer update over ``tasks``; returns {"loss", "adapted_loss", "outer_lr"} (means over tasks).

        θ is restored after every task; on any error θ is left as it was before the call. Under a distributed
        ``reduce_fn`` a failing process still joins the reduction (with NaNs) so the others fail too, not
        hang.
        """
        if not tasks:
            raise ConfigError(f"outer step {step}: no tasks to meta-learn from")
        base = draw_seed(gen)
        start = self._snapshot()
        total: list[torch.Tensor] | None = None
        before = after = 0.0
        for task in tasks:
            try:
                update, lb, la = self._task_update(task, task_generator(task, base), start, step)
            except TrainingError:
                self._restore(start)
                self.reduce_fn([torch.full_like(t, float("nan")) for t in self._update_templates()])
                raise
            except BaseException:
                self._restore(start)
                raise
            self._restore(start)
            total = update if total is None else [t + u for t, u in zip(total, update)]
            before, after = before + lb, after + la
        mean = [t / len(tasks) for t in total]
        reduced = list(self.reduce_fn(mean))
        if not all(bool(torch.isfinite(t).all()) for t in reduced):
            raise TrainingError(
                f"outer step {step}: non-finite outer update "
                "(a non-finite gradient, or a failing task on another process)"
            )
        info = self._apply(reduced, step)
        self.meta_steps += 1
        return {"loss": before / len(tasks), "adapted_loss": after / len(tasks), **info}

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """{"algorithm", "config", "meta_steps", "params": [θ_i], ...subclass tensors and optimizer state}."""
        return {
            "algorithm": self.name,
            "config": asdict(self.cfg),
            "meta_steps": self.meta_steps,
            "params": [p.detach().clone() for p in self.params],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore θ, learned tensors, optimizer state and counters (shapes must match)."""
        if state.get("algorithm") != self.name:
            raise ConfigError(f"checkpoint is for {state.get('algorithm')!r}, not {self.name!r}")
        self._restore(self._checked(state["params"], self.params, "params"))
        self.meta_steps = int(state["meta_steps"])

    @staticmethod
    def _checked(values: list[torch.Tensor], like: list[torch.Tensor], what: str) -> list[torch.Tensor]:
        shapes = [tuple(v.shape) for v in values]
        want = [tuple(p.shape) for p in like]
        if shapes != want:
            raise ConfigError(f"checkpoint {what} shapes {shapes} do not match the model's {want}")
        return values


class Reptile(MetaAlgorithm):
    """Reptile (Nichol et al. 2018): θ ← θ + ε_t · mean_tasks(θ'_task − θ), ε annealed linearly."""

    name = "reptile"
    config_cls = ReptileConfig

    def outer_lr_at(self, step: int) -> float:
        """ε_t, linear from outer_lr (step 0) to outer_lr_final (step >= total_steps)."""
        if self.cfg.total_steps is None:
            return self.cfg.outer_lr
        frac = min(max(step, 0) / self.cfg.total_steps, 1.0)
        return self.cfg.outer_lr + (self.cfg.outer_lr_final - self.cfg.outer_lr) * frac

    def _task_update(self, task, gen, start, step):
        losses = self.inner_adapt(task, self.cfg.inner_steps, gen, outer_step=step)
        delta = [p.detach() - s for p, s in zip(self.params, start)]
        return delta, losses[0].item(), losses[-1].item()

    def _apply(self, update, step):
        eps = self.outer_lr_at(step)
        with torch.no_grad():
            for p, d in zip(self.params, update):
                p.add_(d.to(p.dtype), alpha=eps)
        return {"outer_lr": eps}


class FOMAML(MetaAlgorithm):
    """First-order MAML: outer gradient ≈ ∇L_query(θ') (second-order terms dropped)."""

    name = "fomaml"
    config_cls = FOMAMLConfig

    def __init__(self, params, cfg=None, reduce_fn=None):
        super().__init__(params, cfg, reduce_fn)
        self.outer_opt = _make_opt(self.cfg.outer_opt, self.params, self.cfg.outer_lr)

    def _task_update(self, task, gen, start, step):
        losses = self.inner_adapt(task, self.cfg.inner_steps, gen, outer_step=step)
        query = self._loss(task, gen, f"at the query loss of outer step {step}")
        return self._grads(query), losses[0].item(), query.item()

    def _apply(self, update, step):
        _opt_update(self.outer_opt, self.params, update)
        return {"outer_lr": self.cfg.outer_lr}

    def state_dict(self):
        return {**super().state_dict(), "optimizer": self.outer_opt.state_dict()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.outer_opt.load_state_dict(state["optimizer"])


class MetaSGD(MetaAlgorithm):
    """Meta-SGD (Li et al. 2017) with a first-order outer gradient.

    Inner step s: θ_{s+1} = θ_s − α ⊙ g_s, g_s = ∇L(θ_s); θ' = θ_k. With q = ∇L_query(θ') and Hessians
    dropped:
    ∂L/∂θ ≈ q and ∂L/∂α = q · ∂θ'/∂α ≈ −(Σ_s g_s) ⊙ q. One outer Adam steps θ and log α (the chain rule gives
    ∂L/∂log α = α ⊙ ∂L/∂α): rates that span orders of magnitude across tensors then change by similar factors.
    """

    name = "metasgd"
    config_cls = MetaSGDConfig

    def __init__(self, params, cfg=None, reduce_fn=None):
        super().__init__(params, cfg, reduce_fn)
        self.log_alpha = [
            nn.Parameter(torch.full_like(p.detach(), math.log(self.cfg.inner_lr))) for p in self.params
        ]
        alpha_lr = self.cfg.outer_lr if self.cfg.outer_lr_alpha is None else self.cfg.outer_lr_alpha
        self.outer_opt = torch.optim.Adam(
            [{"params": self.params}, {"params": self.log_alpha, "lr": alpha_lr}], lr=self.cfg.outer_lr
        )
        self.calibrated = self.cfg.alpha_init == "constant"

    @property
    def alpha(self) -> list[torch.Tensor]:
        """The per-parameter inner rates α = exp(log α), shaped like θ."""
        return [la.detach().exp() for la in self.log_alpha]

    def _calibration_rms(self, task: Task) -> list[torch.Tensor]:
        """Per-tensor RMS(∇L) at θ, scalars (); the gradient's generator is seeded by ``task.seed``."""
        gen = torch.Generator().manual_seed(task.seed)
        return [g.pow(2).mean().sqrt() for g in self._grads(self._loss(task, gen, "while calibrating α"))]

    def calibrate(self, tasks: list[Task]) -> None:
        """α_i = inner_lr / RMS(∇_i L) per tensor, the RMS averaged over ``tasks`` (and over processes).

        Each task's gradients use its own generator seeded by ``task.seed``, so the result does not depend on
        which process handled which task.
        """
        rms = [torch.zeros((), device=p.device) for p in self.params]
        for task in tasks:
            rms = [r + t / len(tasks) for r, t in zip(rms, self._calibration_rms(task))]
        rms = self.reduce_fn(rms)
        with torch.no_grad():
            for la, r in zip(self.log_alpha, rms):
                la.fill_(math.log(self.cfg.inner_lr / max(float(r), 1e-30)))
        self.calibrated = True

    def meta_step(self, tasks, step, gen):
        if not self.calibrated:
            self.calibrate(tasks)
        return super().meta_step(tasks, step, gen)

    def _alpha_update(self, grads: list[torch.Tensor], gsum: list[torch.Tensor] | None = None) -> None:
        rated_sgd_step(self.params, self.alpha, grads)
        with torch.no_grad():
            if gsum is not None:
                for s, g in zip(gsum, grads):
                    s.add_(g)

    def _inner_update(self):
        return self._alpha_update

    def _update_templates(self):
        return [*self.params, *self.log_alpha]

    def _task_update(self, task, gen, start, step):
        gsum = [torch.zeros_like(p.detach()) for p in self.params]
        losses = self._run_inner(task, self.cfg.inner_steps, gen, step, lambda g: self._alpha_update(g, gsum))
        query = self._loss(task, gen, f"at the query loss of outer step {step}")
        q = self._grads(query)
        return [*q, *(-s * g for s, g in zip(gsum, q))], losses[0].item(), query.item()

    def _apply(self, update, step):
        n = len(self.params)
        log_grads = [g * a for g, a in zip(update[n:], self.alpha)]  # ∂L/∂log α = α ⊙ ∂L/∂α
        _opt_update(self.outer_opt, [*self.params, *self.log_alpha], [*update[:n], *log_grads])
        return {"outer_lr": self.cfg.outer_lr}

    def state_dict(self):
        return {
            **super().state_dict(),
            "log_alpha": [la.detach().clone() for la in self.log_alpha],
            "alpha": self.alpha,
            "optimizer": self.outer_opt.state_dict(),
            "calibrated": self.calibrated,
        }

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.calibrated = bool(state.get("calibrated", True))
        log_alpha = self._checked(state["log_alpha"], self.log_alpha, "log_alpha")
        with torch.no_grad():
            for la, v in zip(self.log_alpha, log_alpha):
                la.copy_(v)
        self.outer_opt.load_state_dict(state["optimizer"])


ALGORITHMS: dict[str, type[MetaAlgorithm]] = {"reptile": Reptile, "fomaml": FOMAML, "metasgd": MetaSGD}


def make_config(name: str, cfg: Any = None) -> Any:
    """The config for algorithm ``name`` from None (defaults), a config instance, or a mapping of fields."""
    if name not in ALGORITHMS:
        raise ConfigError(f"unknown meta-learning algorithm {name!r}; choose one of {sorted(ALGORITHMS)}")
    cls = ALGORITHMS[name].config_cls
    if cfg is None or isinstance(cfg, cls):
        return cfg if cfg is not None else cls()
    if isinstance(cfg, Mapping):
        unknown = set(cfg) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(
                f"unknown {name} options {sorted(unknown)}; known: {[f.name for f in fields(cls)]}"
            )
        return cls(**cfg)
    raise ConfigError(f"{name} needs a {cls.__name__} or a mapping, got {type(cfg).__name__}")


def make_algorithm(
    name: str, params: Iterable[nn.Parameter], cfg: Any = None, reduce_fn: ReduceFn | None = None
) -> MetaAlgorithm:
    """Build "reptile" | "fomaml" | "metasgd" over ``params`` (cfg: None, its config, or a dict of fields)."""
    cfg = make_config(name, cfg)
    return ALGORITHMS[name](params, cfg, reduce_fn)
