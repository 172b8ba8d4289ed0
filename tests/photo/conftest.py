"""Synthetic photos with ground truth: a built-in identity rendered in a known camera, its landmarks the
projected landmark-map points (no MediaPipe needed)."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from alteredavatar.avatar.identities import builtin_avatar
from alteredavatar.photo.correspondence import load_correspondence
from alteredavatar.photo.landmarks import Faces
from alteredavatar.render.cameras import orbit
from alteredavatar.render.renderer import RenderConfig, render_mesh

UNLIT = RenderConfig(res=384, ambient=1.0, diffuse=0.0, background=(0.9, 0.9, 0.95))


@dataclass
class SyntheticPhoto:
    image: np.ndarray  # (H, W, 3) uint8
    landmarks: np.ndarray  # (478, 2) px
    identity: str
    yaw: float

    def detector(self, images):
        """A stand-in for the MediaPipe worker: this photo's landmarks for every image."""
        return [Faces(self.landmarks[None], img.shape[1], img.shape[0]) for img in images]


def synthetic_photo(identity: str = "bo", yaw: float = 15.0, pitch: float = 5.0, cfg=UNLIT) -> SyntheticPhoto:
    mesh = builtin_avatar(identity)
    cams = orbit(yaw, pitch, distance=0.6, fov_deg=32.0)
    with torch.no_grad():
        out = render_mesh(mesh.verts[None], mesh.faces, mesh.uvs, mesh.albedo[None], cams, cfg, mesh.weld)
        pts = load_correspondence().points_seen_from(mesh.verts, mesh.faces, yaw, pitch)
        px, _ = cams.project(pts[None], cfg.res, cfg.res)
    image = (out.image[0].permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    return SyntheticPhoto(image, px[0].double().numpy(), identity, yaw)


@pytest.fixture(scope="session")
def bo_photo() -> SyntheticPhoto:
    return synthetic_photo("bo")
