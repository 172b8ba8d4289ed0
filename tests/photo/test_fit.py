import math

import pytest
import torch

from alteredavatar.avatar.identities import builtin_avatar, get_identity
from alteredavatar.photo.basis import load_basis
from alteredavatar.photo.correspondence import face_vertices, load_correspondence
from alteredavatar.photo.fit import PhotoFitConfig, camera_angles, fit_photo, project, rotation


def test_rotation_is_orthonormal_and_differentiable():
    aa = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64, requires_grad=True)
    r = rotation(aa)
    assert torch.allclose(r @ r.T, torch.eye(3, dtype=torch.float64), atol=1e-10)
    assert torch.allclose(rotation(torch.tensor([0.0, math.pi / 2, 0.0]))[0, 2], torch.tensor(1.0))
    assert torch.autograd.gradcheck(rotation, (aa,))


@pytest.mark.parametrize("identity", ["bo", "dev"])
def test_fit_recovers_a_known_shape_and_camera(identity):
    """Landmarks of a shape mix seen by a known camera: the fit reprojects them within a pixel, moves the
    face's vertices (those the landmarks pin down) closer to the truth than the template is, and gets the
    rotation right. (Exact landmarks: a weak prior; the default is set for FaceMesh's noisy ones.)"""
    basis, corr, template = load_basis(), load_correspondence(), builtin_avatar("ada")
    truth = basis.coefficients(get_identity(identity).shape)
    verts = template.verts + basis.offsets(truth)
    rot, trans = rotation(torch.tensor([0.08, 0.35, -0.04])), torch.tensor([0.01, -0.02, -0.6])
    yaw, pitch = camera_angles(rot, trans)
    px, _ = project(corr.points_seen_from(verts, template.faces, yaw, pitch), rot, trans, 800.0, 640, 480)
    fit = fit_photo(px, 640, 480, template, basis, corr, PhotoFitConfig(shape_prior=1e-5, focal_init=1.25))
    assert fit.error_px < 1.5
    face = face_vertices(template.verts, template.faces, corr)
    err_fit = (template.verts + basis.offsets(fit.coef) - verts)[face].norm(dim=-1).mean()
    err_template = (template.verts - verts)[face].norm(dim=-1).mean()
    assert err_fit < 0.85 * err_template
    angle = torch.arccos(((fit.rot.T @ rot).trace() - 1) / 2)
    assert angle < math.radians(3)
    assert fit.seconds < 60


def test_the_prior_keeps_coefficients_small_on_the_template_itself():
    basis, corr, template = load_basis(), load_correspondence(), builtin_avatar("ada")
    trans = torch.tensor([0.0, 0.0, -0.6])
    pts = corr.points_seen_from(template.verts, template.faces, *camera_angles(torch.eye(3), trans))
    px, _ = project(pts, torch.eye(3), trans, 700.0, 512, 512)
    fit = fit_photo(px, 512, 512, template, basis, corr, PhotoFitConfig(rounds=3))
    assert fit.error_px < 0.5
    assert fit.coef.abs().max() < 0.1 and fit.expr.max() < 0.1
