import pytest
import torch

from alteredavatar.eval import expression


class _ScaledExpressions(torch.nn.Module):
    """The same avatar driven by expr * scale: expressions broken, neutral (and identity) unchanged."""

    def __init__(self, inner, scale: float):
        super().__init__()
        self.inner, self.scale = inner, scale

    @property
    def mesh(self):
        return self.inner.mesh

    def forward(self, expr):
        return self.inner(expr * self.scale)


@pytest.fixture(scope="module")
def ada_avatar():
    pytest.importorskip("mediapipe")
    from alteredavatar.avatar.pretrained import load_avatar

    return load_avatar("builtin:ada")


def test_missing_mediapipe_gives_none(monkeypatch):
    monkeypatch.setattr(expression, "_face_mesh", lambda: None)
    assert not expression.landmark_model_available()
    assert expression.landmarks(torch.zeros(3, 8, 8)) is None
    assert expression.expression_preservation(None, None) is None


def test_same_avatar_preserves_expressions(ada_avatar):
    out = expression.expression_preservation(ada_avatar, ada_avatar)
    assert out["model"].startswith("mediapipe FaceMesh")
    assert out["faces_detected"] == {"source": 6, "styled": 6} and "note" not in out
    assert out["value"] < 1e-6


def test_damped_expressions_score_worse(ada_avatar):
    out = expression.expression_preservation(ada_avatar, _ScaledExpressions(ada_avatar, 0.3))
    assert out["faces_detected"] == {"source": 6, "styled": 6}
    assert set(out["per_expression"]) == {"smile", "jaw_open", "blink", "surprise", "frown"}
    assert out["value"] > 0.01  # measured ~0.022 (x inter-ocular distance); same avatar gives 0
