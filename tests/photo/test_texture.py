import numpy as np
import torch

from alteredavatar.avatar.identities import builtin_avatar, get_identity
from alteredavatar.photo.build import fit_avatar_to_photo


def test_photo_texture_reproduces_the_visible_albedo_and_fills_the_rest(bo_photo):
    """Unlit render of `bo` -> fit -> texture: where the photo sees the face the texture is bo's albedo;
    the skin tone is bo's; the hidden back of the head is the template's albedo recoloured to that tone."""
    result = fit_avatar_to_photo(bo_photo.image, bo_photo.landmarks)
    tex, truth = result.texture, builtin_avatar("bo").albedo
    seen = tex.photo_weight > 0.95
    assert int(seen.sum()) > 5000
    err = (tex.albedo - truth).abs().amax(0)[seen]
    assert float(err.median()) < 0.04
    skin = torch.tensor(get_identity("bo").palette.skin)
    assert (tex.skin_tone - skin).abs().max() < 0.05
    unseen = (tex.photo_weight == 0) & (tex.mirror_weight == 0)
    template = builtin_avatar("ada").albedo
    ratio = skin / torch.tensor(get_identity("ada").palette.skin)
    expected = (template * ratio[:, None, None]).clamp(0, 1)
    diff = (tex.albedo - expected).abs().amax(0)[unseen]
    assert float(diff.median()) < 0.03


def test_mirroring_fills_the_side_the_photo_does_not_see(bo_photo):
    """The photo is taken from the avatar's left (yaw 15): texels of the right side it cannot see take
    the photo's colours from their mirror partners."""
    result = fit_avatar_to_photo(bo_photo.image, bo_photo.landmarks)
    assert float(result.texture.mirror_weight.max()) > 0.5
    both = result.texture.photo_weight + result.texture.mirror_weight
    assert float(both.max()) <= 1.0 + 1e-5


def test_eyes_keep_the_default_albedo(bo_photo):
    from alteredavatar.avatar.anny_head import load_head_arrays
    from alteredavatar.raster import rasterize_uv

    result = fit_avatar_to_photo(bo_photo.image, bo_photo.landmarks)
    head, mesh = load_head_arrays(), builtin_avatar("ada")
    eye = list(head["group_names"]).index("helper-l-eye")
    faces = mesh.faces[torch.from_numpy(np.flatnonzero(head["face_group"] == eye))]
    mask = rasterize_uv(mesh.uvs, faces, torch.zeros(len(mesh.uvs), 1), 512)[1][0] > 0
    assert torch.equal(result.mesh.albedo[:, mask], mesh.albedo[:, mask])
