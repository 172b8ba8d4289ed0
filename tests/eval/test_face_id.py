import pytest
import torch

from alteredavatar.eval import face_id


def test_missing_optional_models_give_none(monkeypatch):
    monkeypatch.setattr(face_id, "_models", lambda: None)
    assert face_id.face_distance(torch.zeros(3, 8, 8), torch.zeros(3, 8, 8)) is None


@pytest.mark.skipif(not face_id.face_model_available(), reason="optional [eval] extra (dlib) not installed")
def test_dlib_distance_separates_identities():
    from alteredavatar.avatar.pretrained import load_avatar
    from alteredavatar.eval.metrics import _face_renders

    ada, ada_again = _face_renders(load_avatar("builtin:ada"), load_avatar("builtin:ada"))
    _, bo = _face_renders(load_avatar("builtin:ada"), load_avatar("builtin:bo"))
    assert face_id.face_distance(ada, ada_again)["value"] < 1e-6
    assert face_id.face_distance(ada, bo)["value"] > 0.1
