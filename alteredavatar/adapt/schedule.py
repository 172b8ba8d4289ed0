"""Per-step, per-tensor Adam learning rates: the meta-learned half of fast adaptation.

A meta-learned initialization can also carry the rates its few test-time steps should use (MAML++'s
"LSLR", learned per layer and per step; here learned first-order, see `meta/algorithms.py`). The schedule is
a (K, n) table: row k holds the rate of each of the n style tensors at step k; steps past the last row
reuse it. It travels as plain JSON in the init's metadata, keyed by tensor name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from alteredavatar.errors import AlteredAvatarError


@dataclass
class LrSchedule:
    """names: the n style tensors, in the order of the parameters it drives; lrs: (K, n) positive rates."""

    names: list[str]
    lrs: torch.Tensor

    def __post_init__(self) -> None:
        if self.lrs.dim() != 2 or self.lrs.shape[1] != len(self.names) or self.lrs.shape[0] < 1:
            raise AlteredAvatarError(f"learning-rate schedule: expected a (steps, {len(self.names)}) table, "
                                     f"got shape {tuple(self.lrs.shape)}")
        if not (torch.isfinite(self.lrs).all() and (self.lrs > 0).all()):
            raise AlteredAvatarError("learning-rate schedule: rates must be finite and > 0")

    def row(self, step: int) -> list[float]:
        """The n rates at `step` (the last row for steps past the table)."""
        return self.lrs[min(step, self.lrs.shape[0] - 1)].tolist()

    def apply(self, opt: torch.optim.Optimizer, step: int) -> None:
        """Set the rates of an optimizer built by `per_tensor_adam` for `step`."""
        for group, lr in zip(opt.param_groups, self.row(step), strict=True):
            group["lr"] = lr

    def to_json(self) -> dict:
        return {"tensors": list(self.names), "lr": self.lrs.tolist()}

    @classmethod
    def from_json(cls, data: dict, names: Sequence[str]) -> LrSchedule:
        """Parse `to_json` output for a network whose style tensors are `names` (reordered to match)."""
        try:
            table = dict(zip(data["tensors"], torch.tensor(data["lr"], dtype=torch.float64).t(), strict=True))
        except (KeyError, TypeError, ValueError) as exc:
            raise AlteredAvatarError(f"learning-rate schedule: malformed ({exc})") from None
        if set(table) != set(names):
            raise AlteredAvatarError("learning-rate schedule: its tensor names do not match this avatar network")
        return cls(list(names), torch.stack([table[n] for n in names], dim=1))


def per_tensor_adam(params: Sequence[torch.Tensor], lr: float) -> torch.optim.Adam:
    """Adam with one parameter group per tensor, so a `LrSchedule` can set each tensor's rate."""
    return torch.optim.Adam([{"params": [p]} for p in params], lr=lr)


class ElementwiseAdam(torch.optim.Optimizer):
    """Adam with one rate per parameter element: Meta-SGD's learned α inside Adam's normalized step.

    p ← p − rate ⊙ m̂ / (√v̂ + eps), with torch.optim.Adam's moments and bias corrections, so with every rate
    equal to lr it takes exactly torch's Adam steps. `rates`: one tensor per parameter, shaped like it.
    torch's Adam takes only a scalar rate per group, hence this small optimizer.
    """

    def __init__(self, params: Sequence[torch.Tensor], rates: Sequence[torch.Tensor],
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        params = list(params)
        if len(rates) != len(params) or any(r.shape != p.shape for r, p in zip(rates, params)):
            raise AlteredAvatarError("element-wise rates must be one tensor per parameter, shaped like it")
        super().__init__([{"params": [p], "rate": r.detach().to(p.device, p.dtype)} for p, r in zip(params, rates)],
                         {"betas": betas, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            (p,) = group["params"]
            if p.grad is None:
                continue
            (b1, b2), state = group["betas"], self.state[p]
            if not state:
                state.update(step=0, exp_avg=torch.zeros_like(p), exp_avg_sq=torch.zeros_like(p))
            state["step"] += 1
            t = state["step"]
            state["exp_avg"].mul_(b1).add_(p.grad, alpha=1 - b1)
            state["exp_avg_sq"].mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
            denom = (state["exp_avg_sq"] / (1 - b2**t)).sqrt_().add_(group["eps"])
            p.sub_(group["rate"] * (state["exp_avg"] / (1 - b1**t)) / denom)
