"""`avatar-from-photo`: photo -> landmarks -> fitted shape + camera -> projected texture -> avatar.glb.

Every input is checked (the output folder, the photo, its face) before anything is written; the outputs
are staged and moved into --out together (export/run_folder.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from alteredavatar.avatar.anny_head import load_head_arrays
from alteredavatar.avatar.arkit import ARKIT_NAMES
from alteredavatar.avatar.identities import builtin_avatar, get_identity
from alteredavatar.avatar.mesh import AvatarMesh
from alteredavatar.checks import check_range
from alteredavatar.export.bake import bake_mesh
from alteredavatar.export.glb import write_glb
from alteredavatar.export.media import grid, to_uint8, write_png
from alteredavatar.export.run_folder import RunFolder
from alteredavatar.io import write_json_atomic
from alteredavatar.photo.basis import load_basis
from alteredavatar.photo.correspondence import load_correspondence
from alteredavatar.photo.fit import PhotoFit, PhotoFitConfig, fit_photo
from alteredavatar.photo.image import MAX_SIDE, load_photo
from alteredavatar.photo.landmarks import Faces, detect_faces, largest_face
from alteredavatar.photo.texture import PhotoTexture, TextureConfig, photo_texture
from alteredavatar.render.cameras import Cameras, orbit
from alteredavatar.render.renderer import RenderConfig, render_mesh

PHOTO_OUTPUTS = ("avatar.glb", "preview.png", "fit.json")
CHIN = 152  # FaceMesh's chin tip
TEMPLATE = "ada"  # the built-in head the fit starts from (no shape targets applied)
Detector = Callable[[list[np.ndarray]], list[Faces]]


@dataclass
class PhotoAvatarConfig:
    """Settings of `avatar-from-photo` beyond the photo and --out."""

    min_face_px: int = 64
    """Refuse faces whose landmarks span fewer pixels (top to bottom) than this."""
    max_side: int = MAX_SIDE
    """Photos with a longer side are downscaled to it first."""
    texture_res: int = 1024
    """Side of the .glb's PNG texture."""
    preview_px: int = 320
    """Side of each picture in preview.png."""
    fit: PhotoFitConfig = field(default_factory=PhotoFitConfig)
    texture: TextureConfig = field(default_factory=TextureConfig)

    def check(self) -> None:
        check_range("--min-face-px", self.min_face_px, 8, 4096)
        check_range("--max-side", self.max_side, 256, 16384)
        check_range("--texture-res", self.texture_res, 16, 8192)
        check_range("--preview-px", self.preview_px, 64, 2048)


@dataclass
class PhotoAvatar:
    """mesh: the fitted neutral head with the photo albedo; fit; texture; landmarks (478, 2) detected;
    photo (H, W, 3) uint8 as used; notes for the user."""

    mesh: AvatarMesh
    fit: PhotoFit
    texture: PhotoTexture
    landmarks: np.ndarray
    photo: np.ndarray
    notes: list[str]
    posed: torch.Tensor


def skin_faces(head: dict) -> torch.Tensor:
    """Indices of the body (skin) faces: the photo may paint these, not the eyes, teeth or tongue."""
    body = list(head["group_names"]).index("body")
    return torch.from_numpy(np.flatnonzero(head["face_group"] == body))


def fit_avatar_to_photo(
    photo: np.ndarray, landmarks: np.ndarray, cfg: PhotoAvatarConfig | None = None, name: str = "photo"
) -> PhotoAvatar:
    """Fit the built-in head to a (H, W, 3) uint8 photo's (478, 2) landmarks and texture it."""
    cfg = cfg or PhotoAvatarConfig()
    template, basis, corr = builtin_avatar(TEMPLATE), load_basis(), load_correspondence()
    h, w = photo.shape[:2]
    fit = fit_photo(torch.from_numpy(landmarks).float(), w, h, template, basis, corr, cfg.fit)
    neutral = template.verts + basis.offsets(fit.coef)
    posed = neutral + torch.einsum("e,evc->vc", fit.expr, template.blendshapes)
    image = torch.tensor(photo).permute(2, 0, 1).float() / 255  # a copy: the photo may be read-only
    texture = photo_texture(
        image,
        fit,
        neutral,
        posed,
        template.faces,
        template.uvs,
        skin_faces(load_head_arrays()),
        template.albedo,
        get_identity(TEMPLATE).palette.skin,
        float(corr.points(neutral, template.faces)[CHIN, 1]),
        cfg.texture,
    )
    mesh = AvatarMesh(
        neutral, template.faces, template.uvs, template.blendshapes, texture.albedo, template.weld, name
    )
    return PhotoAvatar(mesh, fit, texture, landmarks, photo, [], posed)


def photo_camera(fit: PhotoFit, centre_px: np.ndarray, side_px: float) -> tuple[Cameras, torch.Tensor]:
    """A look-at camera at the photo camera's centre aimed through `centre_px`, seeing `side_px` pixels
    across, and the rotation (3, 3) taking world points into its frame's world (the photo camera's frame)."""
    dx, dy = (
        (float(centre_px[0]) - fit.width / 2) / fit.focal,
        -(float(centre_px[1]) - fit.height / 2) / fit.focal,
    )
    d = torch.tensor([dx, dy, -1.0])
    fov = float(np.degrees(2 * np.arctan(side_px / 2 / fit.focal)))
    return Cameras(torch.zeros(1, 3), d[None], torch.tensor([fov])), fit.rot


def preview(result: PhotoAvatar, px: int) -> np.ndarray:
    """(H, W, 3) uint8: the photo crop with detected (green) and fitted (red) landmarks, the fit rendered in
    the photo's camera, the two blended; below, the avatar from the front, 40 degrees and the side (the
    labels name the top row)."""
    lms, fit, mesh = result.landmarks, result.fit, result.mesh
    lo, hi = lms.min(0), lms.max(0)
    centre, side = (lo + hi) / 2, float((hi - lo).max() * 1.6)
    box = (centre[0] - side / 2, centre[1] - side / 2, centre[0] + side / 2, centre[1] + side / 2)
    crop = Image.fromarray(result.photo).crop(tuple(round(b) for b in box)).resize((px, px), Image.LANCZOS)
    marked = crop.copy()
    draw = ImageDraw.Draw(marked)
    scale = px / side
    for pts, colour in ((lms, (0, 220, 0)), (fit.projected.numpy(), (230, 0, 0))):
        for x, y in (pts - np.array(box[:2])) * scale:
            draw.ellipse((x - 1.5, y - 1.5, x + 1.5, y + 1.5), fill=colour)
    cam, rot = photo_camera(fit, centre, side)
    studio = RenderConfig(res=px, shading="studio", ssaa=1.5)
    in_view = (result.posed @ rot.T + fit.trans)[None]
    shot = to_uint8(
        render_mesh(in_view, mesh.faces, mesh.uvs, mesh.albedo[None], cam, studio, mesh.weld).image
    )[0]
    blend = (0.5 * np.asarray(crop, np.float32) + 0.5 * shot).astype(np.uint8)
    views = orbit(torch.tensor([0.0, 40.0, 90.0]), 0.0)
    turned = render_mesh(
        mesh.verts[None].expand(3, -1, -1), mesh.faces, mesh.uvs, mesh.albedo[None], views, studio, mesh.weld
    )
    rows = np.stack([np.stack([np.asarray(marked), shot, blend]), to_uint8(turned.image)])
    return grid(rows, ["photo, landmarks found/fitted", "the fit in the photo's camera", "overlay"], None)


def fit_summary(result: PhotoAvatar, source: str, seconds: float) -> dict:
    """What fit.json holds: the fit's numbers by name, the notes and the settings."""
    basis = load_basis()
    coef = {n: round(float(c), 4) for n, c in zip(basis.names, result.fit.coef) if abs(float(c)) >= 1e-3}
    expr = {n: round(float(e), 4) for n, e in zip(ARKIT_NAMES, result.fit.expr) if float(e) >= 1e-3}
    return {
        "photo": source,
        "photo_size": [int(result.photo.shape[1]), int(result.photo.shape[0])],
        "landmark_error_px": result.fit.error_px,
        "landmark_error_rel_face_height": result.fit.error_px / float(np.ptp(result.landmarks[:, 1])),
        "focal_px": result.fit.focal,
        "rotation": result.fit.rot.tolist(),
        "translation_m": result.fit.trans.tolist(),
        "shape_coefficients": coef,
        "expression_in_photo": expr,
        "skin_tone": result.texture.skin_tone.tolist(),
        "fit_seconds": result.fit.seconds,
        "total_seconds": seconds,
        "notes": result.notes,
        "template": f"builtin:{TEMPLATE}",
        "config": json.loads(json.dumps(asdict(PhotoAvatarConfig()), default=str)),
    }


def avatar_from_photo(
    photo: Path,
    out: Path,
    cfg: PhotoAvatarConfig | None = None,
    overwrite: bool = False,
    detector: Detector = detect_faces,
    announce: Callable[[str], None] = lambda _: None,
) -> dict:
    """Write out/avatar.glb, out/preview.png and out/fit.json for `photo`; returns the fit summary."""
    cfg = cfg or PhotoAvatarConfig()
    start = time.perf_counter()
    cfg.check()
    folder = RunFolder(Path(out), overwrite, reads=[Path(photo)], outputs=PHOTO_OUTPUTS)
    folder.check()
    image, notes = load_photo(photo, cfg.max_side)
    faces = detector([image])[0]
    landmarks, face_notes = largest_face(faces, str(photo), cfg.min_face_px)
    notes += face_notes
    for note in notes:
        announce(note)
    result = fit_avatar_to_photo(image, landmarks, cfg, name=Path(photo).stem)
    result.notes = notes
    picture = preview(result, cfg.preview_px)
    summary = fit_summary(result, str(photo), time.perf_counter() - start)
    summary["landmark_model"] = faces.model
    with folder.writing() as stage:
        info = {"made_by": "alteredavatar avatar-from-photo", "photo": Path(photo).name}
        write_glb(bake_mesh(result.mesh, cfg.texture_res), stage / "avatar.glb", info=info)
        write_png(picture, stage / "preview.png")
        write_json_atomic(summary, stage / "fit.json")
    return summary
