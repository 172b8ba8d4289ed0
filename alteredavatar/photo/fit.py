"""Fit the built-in head to a photo's landmarks: MakeHuman shape coefficients, ARKit expression weights,
camera rotation, translation and focal length, by minimising the 2D landmark error under priors.

Camera: view coordinates X_c = R X + t (the camera looks down -z, +y up, as `render/cameras.py`), pixels
x = W/2 + f X_c.x / d, y = H/2 - f X_c.y / d with depth d = -X_c.z. The expression is fitted only so that a
smile does not bend the shape; the avatar is written neutral.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from alteredavatar.avatar.mesh import AvatarMesh
from alteredavatar.photo.basis import ShapeBasis
from alteredavatar.photo.correspondence import Correspondence
from alteredavatar.render.cameras import DEFAULT_TARGET

EYE_OUTER = (33, 263)  # FaceMesh's outer eye corners
EXPRESSION_LIKE = ("mouth-angles", "mouth-laugh-lines", "mouth-dimples", "eyebrows-angle", "cheek-trans")


@dataclass
class PhotoFitConfig:
    """Optimiser settings and prior weights of the landmark fit (defaults are the benchmarked ones)."""

    camera_rounds: int = 2
    """L-BFGS rounds on the camera alone (rigid alignment) before everything moves."""
    rounds: int = 3
    iterations: int = 50
    """L-BFGS iterations per round."""
    shape_prior: float = 1e-4
    """Weight of ||coef||² against the landmark error in units of the inter-ocular distance (squared)."""
    expression_like_prior: float = 1e-3
    """Prior weight of the shape targets a smile or a frown also explains (`EXPRESSION_LIKE`), so the photo's
    expression goes to the expression weights and the neutral avatar does not keep it."""
    expr_prior: float = 1e-4
    focal_prior: float = 1e-3
    """Weight of (log f - log f0)², f0 = `focal_init` x the photo's longer side."""
    focal_init: float = 1.6
    """f0 in units of the photo's longer side: 1.6 is a field of view of about 35 degrees across it (a
    portrait lens). The landmarks hardly constrain the focal length, and a wrong one bends the shape."""
    spread_scale_m: float = 0.003
    """A landmark whose correspondence spreads this much across views counts half (silhouette points)."""
    max_coef: float = 1.5
    seed: int = 0


@dataclass
class PhotoFit:
    """coef (K,) shape coefficients; expr (52,) ARKit weights; rot (3, 3); trans (3,); focal (px);
    width, height of the photo; projected (478, 2) px of the fitted landmarks; error_px mean distance to the
    detected ones; seconds."""

    coef: torch.Tensor
    expr: torch.Tensor
    rot: torch.Tensor
    trans: torch.Tensor
    focal: float
    width: int
    height: int
    projected: torch.Tensor
    error_px: float
    seconds: float

    def project(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, 3) world points -> (N, 2) pixels and (N,) depth in this photo's camera."""
        return project(points, self.rot, self.trans, torch.tensor(self.focal), self.width, self.height)

    def view_points(self, points: torch.Tensor) -> torch.Tensor:
        """(N, 3) world -> (N, 3) camera coordinates."""
        return points @ self.rot.T + self.trans


def rotation(axis_angle: torch.Tensor) -> torch.Tensor:
    """(3,) axis-angle -> (3, 3) rotation matrix (Rodrigues; differentiable, also at 0)."""
    theta2 = (axis_angle**2).sum()
    theta = torch.sqrt(theta2 + 1e-12)
    k = torch.zeros(3, 3, dtype=axis_angle.dtype)
    x, y, z = axis_angle
    k = torch.stack([torch.stack([0 * x, -z, y]), torch.stack([z, 0 * x, -x]), torch.stack([-y, x, 0 * x])])
    a = torch.sin(theta) / theta
    b = (1 - torch.cos(theta)) / (theta2 + 1e-12)
    return torch.eye(3, dtype=axis_angle.dtype) + a * k + b * (k @ k)


def project(points, rot, trans, focal, width, height) -> tuple[torch.Tensor, torch.Tensor]:
    """points (..., N, 3) -> pixels (..., N, 2) and depth (..., N) (see module docstring)."""
    cam = points @ rot.T + trans
    depth = -cam[..., 2]
    safe = depth.clamp_min(1e-4)
    x = width / 2 + focal * cam[..., 0] / safe
    y = height / 2 - focal * cam[..., 1] / safe
    return torch.stack([x, y], -1), depth


def camera_angles(rot: torch.Tensor, trans: torch.Tensor) -> tuple[float, float]:
    """Yaw and pitch (degrees) of the camera (rot (3, 3), trans (3,)) as `render.cameras.orbit` gives them:
    around DEFAULT_TARGET, as the landmark map's renders were taken."""
    eye = -rot.T @ trans - torch.tensor(DEFAULT_TARGET, dtype=trans.dtype)
    yaw = math.degrees(math.atan2(float(eye[0]), float(eye[2])))
    return yaw, math.degrees(math.atan2(float(eye[1]), float(eye[[0, 2]].norm())))


def landmark_model(
    corr: Correspondence, template: AvatarMesh, basis: ShapeBasis, view_weights: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Landmark points of the template p0 (L, 3) and the shape (pos, neg: (K, L, 3)) and expression (52, L, 3)
    bases there: from the median map, or the `view_weights` (N,) mix of the renders' own maps."""
    maps = (
        [(1.0, corr)]
        if view_weights is None
        else [(float(w), corr.at_view(k)) for k, w in enumerate(view_weights) if w > 1e-3]
    )
    total = sum(w for w, _ in maps)
    out: dict[str, torch.Tensor] = {}
    for w, m in maps:
        at = basis.at(m.tri, m.bary, template.faces)
        parts = {
            "p0": m.points(template.verts.double(), template.faces),
            "pos": at.pos.double(),
            "neg": at.neg.double(),
            "expr": m.points(template.blendshapes.double(), template.faces),
        }
        for key, value in parts.items():
            out[key] = out.get(key, 0) + value * (w / total)
    return out


def landmark_weights(corr: Correspondence, cfg: PhotoFitConfig) -> torch.Tensor:
    """(478,) weights: 1 for well-defined landmarks, falling with the correspondence's spread."""
    return 1.0 / (1.0 + (corr.spread / cfg.spread_scale_m) ** 2)


def fit_photo(
    landmarks: torch.Tensor,
    width: int,
    height: int,
    template: AvatarMesh,
    basis: ShapeBasis,
    corr: Correspondence,
    cfg: PhotoFitConfig | None = None,
) -> PhotoFit:
    """Fit to (478, 2) pixel landmarks of a width x height photo (see module docstring). Runs on one thread:
    the tensors are tiny, and more threads only wait on each other (6x slower on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit_photo(landmarks, width, height, template, basis, corr, cfg or PhotoFitConfig())
    finally:
        torch.set_num_threads(threads)


def _fit_photo(landmarks, width, height, template, basis, corr, cfg: PhotoFitConfig) -> PhotoFit:
    start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    target = landmarks.double()
    model = landmark_model(corr, template, basis)
    p0, one_sided = model["p0"], basis.one_sided
    prior = torch.tensor(
        [
            cfg.expression_like_prior if any(k in n for k in EXPRESSION_LIKE) else cfg.shape_prior
            for n in basis.names
        ],
        dtype=torch.float64,
    )
    weights = landmark_weights(corr, cfg).double()
    weights = weights / weights.sum()
    iod_px = float((target[EYE_OUTER[0]] - target[EYE_OUTER[1]]).norm())
    iod_m = float((p0[EYE_OUTER[0]] - p0[EYE_OUTER[1]]).norm())
    f0 = cfg.focal_init * max(width, height)
    centre = p0.mean(0)
    dist = f0 * iod_m / max(iod_px, 1e-6)
    off = (target.mean(0) - torch.tensor([width / 2, height / 2], dtype=torch.float64)) * dist / f0
    params = {
        "rot": torch.zeros(3, dtype=torch.float64, requires_grad=True),
        "trans": torch.tensor(
            [off[0] - centre[0], -off[1] - centre[1], -dist - centre[2]], dtype=torch.float64
        ).requires_grad_(True),
        "logf": torch.tensor(math.log(f0), dtype=torch.float64, requires_grad=True),
        "coef": torch.zeros(len(basis.names), dtype=torch.float64, requires_grad=True),
        "expr": torch.zeros(template.blendshapes.shape[0], dtype=torch.float64, requires_grad=True),
    }

    def points() -> torch.Tensor:
        c = params["coef"]
        neg = (-c).clamp_min(0) * (~one_sided)
        e = params["expr"].clamp(0, 1)
        return (
            model["p0"]
            + torch.einsum("k,klc->lc", c.clamp_min(0), model["pos"])
            + torch.einsum("k,klc->lc", neg, model["neg"])
            + torch.einsum("k,klc->lc", e, model["expr"])
        )

    def loss_fn() -> torch.Tensor:
        px, _ = project(
            points(), rotation(params["rot"]), params["trans"], params["logf"].exp(), width, height
        )
        err = (((px - target) / iod_px) ** 2).sum(-1)
        return (
            (weights * err).sum()
            + (prior * params["coef"] ** 2).sum()
            + cfg.expr_prior * (params["expr"].clamp(0, 1) ** 2).sum()
            + cfg.focal_prior * (params["logf"] - math.log(f0)) ** 2
        )

    stages = (
        (("rot", "trans"), cfg.camera_rounds),
        ("view",),
        (("rot", "trans"), 1),
        (tuple(params), cfg.rounds),
        ("view",),  # again, from the camera the full fit settled on
        (tuple(params), 2),
    )
    for stage in stages:
        if stage == ("view",):  # the maps of the renders nearest this camera (FaceMesh drifts with the view)
            with torch.no_grad():
                yaw, pitch = camera_angles(rotation(params["rot"]), params["trans"])
            model = landmark_model(corr, template, basis, corr.view_weights(yaw, pitch))
            continue
        names, rounds = stage
        opt = torch.optim.LBFGS(
            [params[n] for n in names], lr=1.0, max_iter=cfg.iterations, line_search_fn="strong_wolfe"
        )

        def closure(opt=opt):
            opt.zero_grad()
            loss = loss_fn()
            loss.backward()
            return loss

        for _ in range(rounds):  # between rounds the box constraints are applied
            opt.step(closure)
            with torch.no_grad():
                params["coef"].clamp_(-cfg.max_coef, cfg.max_coef)
                params["coef"][one_sided] = params["coef"][one_sided].clamp_min(0)
                params["expr"].clamp_(0, 1)
    with torch.no_grad():
        rot = rotation(params["rot"])
        px, _ = project(points(), rot, params["trans"], params["logf"].exp(), width, height)
        error = float((px - target).norm(dim=-1).mean())
    return PhotoFit(
        coef=params["coef"].detach().float(),
        expr=params["expr"].detach().float(),
        rot=rot.float(),
        trans=params["trans"].detach().float(),
        focal=float(params["logf"].detach().exp()),
        width=width,
        height=height,
        projected=px.float(),
        error_px=error,
        seconds=time.perf_counter() - start,
    )
