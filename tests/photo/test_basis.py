import pytest
import torch

from alteredavatar.avatar.identities import IDENTITY_NAMES, builtin_avatar, get_identity
from alteredavatar.photo.basis import coefficient_of, load_basis


def test_coefficient_names_pair_opposites_and_tie_sides():
    assert coefficient_of("nose/nose-scale-horiz-decr") == ("nose/nose-scale-horiz-incr", -1.0)
    assert coefficient_of("nose/nose-scale-horiz-incr") == ("nose/nose-scale-horiz-incr", 1.0)
    assert coefficient_of("head/head-trans-down") == ("head/head-trans-up", -1.0)
    assert coefficient_of("cheek/r-cheek-bones-incr") == ("cheek/cheek-bones-incr", 1.0)
    assert coefficient_of("head/head-oval") == ("head/head-oval", 1.0)


@pytest.mark.parametrize("name", IDENTITY_NAMES)
def test_basis_reproduces_every_builtin_identity(name):
    """An identity's shape dict, as coefficients, moves the template exactly where identities.py does."""
    basis = load_basis()
    template = builtin_avatar("ada")
    coef = basis.coefficients(get_identity(name).shape)
    verts = template.verts + basis.offsets(coef)
    assert torch.allclose(verts, builtin_avatar(name).verts, atol=1e-5)
    if name != "ada":
        assert (builtin_avatar(name).verts - template.verts).abs().max() > 1e-3


def test_one_sided_coefficients_ignore_negative_values():
    basis = load_basis()
    k = basis.names.index("head/head-oval")
    coef = torch.zeros(len(basis.names))
    coef[k] = -1.0
    assert basis.offsets(coef).abs().max() == 0
    coef[k] = 1.0
    assert basis.offsets(coef).abs().max() > 1e-3


def test_basis_at_surface_points_matches_offsets():
    basis = load_basis()
    faces = builtin_avatar("ada").faces
    tri = torch.tensor([0, 100, 2000])
    bary = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])
    coef = torch.linspace(-1, 1, len(basis.names))
    full = basis.offsets(coef)[faces[tri]]  # (3, 3 corners, 3)
    at = basis.at(tri, bary, faces).offsets(coef)
    assert torch.allclose(at, (full * bary[..., None]).sum(1), atol=1e-6)
