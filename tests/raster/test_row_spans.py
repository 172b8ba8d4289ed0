"""Row spans are a speed-up only: cutting box rows to the edges' interval finds exactly the pixels that
testing whole boxes finds, on the head and on random slivers."""

import importlib

import pytest
import torch

from alteredavatar.render.cameras import orbit

R = importlib.import_module(
    "alteredavatar.raster.rasterize"
)  # the module (the package re-exports its function)


def both_ways(monkeypatch, screen, depth, faces, size):
    monkeypatch.setattr(R, "_ROW_SPANS_FROM", float("inf"))  # whole box rows
    boxes = R.rasterize(screen, depth, faces, size, size)
    monkeypatch.setattr(R, "_ROW_SPANS_FROM", 0.0)  # spans cut by the edges
    return boxes, R.rasterize(screen, depth, faces, size, size)


@pytest.mark.parametrize("yaw,pitch", [(0.0, 0.0), (70.0, 15.0), (180.0, -25.0)])
def test_spans_and_boxes_agree_on_the_head(ada, monkeypatch, yaw, pitch):
    screen, depth = orbit(torch.tensor([yaw]), pitch).project(ada.verts[None], 200, 200)
    boxes, spans = both_ways(monkeypatch, screen, depth, ada.faces, 200)
    assert (boxes >= 0).sum() > 5000 and torch.equal(boxes, spans)


def test_spans_and_boxes_agree_on_random_slivers(monkeypatch):
    gen = torch.Generator().manual_seed(1)
    n = 3000
    screen = torch.rand(1, 3 * n, 2, generator=gen) * 48
    screen[0, 1::3] = screen[0, 0::3] + torch.randn(n, 2, generator=gen) * 0.4  # needle-thin triangles
    depth = torch.rand(1, 3 * n, generator=gen) + 0.5
    faces = torch.arange(3 * n).view(n, 3)
    boxes, spans = both_ways(monkeypatch, screen, depth, faces, 48)
    assert (boxes >= 0).any() and torch.equal(boxes, spans)
