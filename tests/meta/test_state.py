"""Nested optimizer/algorithm state <-> flat tensors + JSON, with exact round trips."""

import json

import pytest
import torch

from alteredavatar.errors import AlteredAvatarError
from alteredavatar.meta.state import flatten_state, unflatten_state


def test_adam_state_round_trips_through_json():
    p = torch.nn.Parameter(torch.randn(3, 2))
    opt = torch.optim.Adam([p], lr=1e-3, betas=(0.8, 0.95))
    p.grad = torch.randn(3, 2)
    opt.step()
    tensors, tree = flatten_state({"optimizer": opt.state_dict(), "params": [p.detach()]})
    back = unflatten_state(tensors, json.loads(json.dumps(tree)))
    sd = back["optimizer"]
    assert list(sd["state"]) == [0] and sd["param_groups"][0]["betas"] == (0.8, 0.95)
    assert torch.equal(sd["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    assert torch.equal(back["params"][0], p.detach())
    opt2 = torch.optim.Adam([torch.nn.Parameter(p.detach().clone())], lr=1.0)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 1e-3


def test_unserializable_and_missing():
    with pytest.raises(AlteredAvatarError, match="cannot serialize"):
        flatten_state({"f": object()})
    with pytest.raises(AlteredAvatarError, match="missing tensor"):
        unflatten_state({}, {"x": {"__tensor__": "x"}})
