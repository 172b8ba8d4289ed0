"""Pinhole cameras orbiting the head, and the random-view sampler used by stylization.

Convention: world +y up, the face looks down +z. A camera at yaw 0, pitch 0 sits on +z looking at the
target; positive yaw moves it towards +x (the avatar's left), positive pitch moves it up.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

DEFAULT_TARGET = (0.0, -0.01, 0.0)  # metres: about the middle of the built-in head


@dataclass
class Cameras:
    """A batch of look-at pinhole cameras.

    Attributes:
        eye: (B, 3) camera centres in world space.
        target: (B, 3) points looked at.
        fov_deg: (B,) vertical field of view in degrees.
    """

    eye: torch.Tensor
    target: torch.Tensor
    fov_deg: torch.Tensor

    def __len__(self) -> int:
        return int(self.eye.shape[0])

    def to(self, device) -> Cameras:
        return Cameras(self.eye.to(device), self.target.to(device), self.fov_deg.to(device))

    def world_to_view(self) -> torch.Tensor:
        """(B, 3, 4) rigid transforms; the camera looks down -z of its own frame, +y up."""
        forward = F.normalize(self.target - self.eye, dim=-1)
        up = torch.tensor([0.0, 1.0, 0.0], dtype=self.eye.dtype, device=self.eye.device).expand_as(forward)
        right = F.normalize(torch.cross(forward, up, dim=-1), dim=-1)
        true_up = torch.cross(right, forward, dim=-1)
        rot = torch.stack([right, true_up, -forward], dim=1)  # (B, 3, 3) rows are camera axes
        trans = -(rot @ self.eye.unsqueeze(-1))
        return torch.cat([rot, trans], dim=-1)

    def project(self, points: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Project world points to pixels.

        Args:
            points: (B, V, 3) world positions.
        Returns:
            screen (B, V, 2) pixel coordinates (x right, y down) and depth (B, V) along the view axis.
        """
        rt = self.world_to_view()
        cam = points @ rt[:, :, :3].transpose(1, 2) + rt[:, None, :, 3]
        depth = -cam[..., 2]
        focal = 0.5 * height / torch.tan(torch.deg2rad(self.fov_deg) / 2)  # (B,) pixels
        safe = depth.clamp(min=1e-6)
        x = width / 2 + focal[:, None] * cam[..., 0] / safe
        y = height / 2 - focal[:, None] * cam[..., 1] / safe
        return torch.stack([x, y], dim=-1), depth


def orbit(yaw_deg, pitch_deg, distance=0.65, fov_deg=30.0, target=DEFAULT_TARGET) -> Cameras:
    """Cameras on a sphere around `target`; each argument is a float or a (B,) tensor."""
    yaw, pitch, dist, fov = torch.broadcast_tensors(
        *(torch.as_tensor(x, dtype=torch.float32) for x in (yaw_deg, pitch_deg, distance, fov_deg))
    )
    yaw, pitch, dist, fov = (t.reshape(-1) for t in (yaw, pitch, dist, fov))
    y, p = torch.deg2rad(yaw), torch.deg2rad(pitch)
    tgt = torch.tensor(target, dtype=torch.float32).expand(len(yaw), 3)
    offset = torch.stack([torch.sin(y) * torch.cos(p), torch.sin(p), torch.cos(y) * torch.cos(p)], -1)
    return Cameras(tgt + dist[:, None] * offset, tgt.clone(), fov)


@dataclass
class ViewSamplerConfig:
    """Random views for stylization: all the way round the head (the back must take the style too, or a
    turntable shows an unstyled back), with the front drawn more often (see `front_bias`)."""

    yaw_range: float = 180.0
    front_bias: float = 1.5
    """Yaw = yaw_range * sign(u) * |u| ** front_bias for uniform u in [-1, 1]: 1 = uniform; 1.5 puts about
    half the views within 60 degrees of the face and a quarter beyond 120 (the back)."""
    pitch_range: float = 20.0
    distance: float = 0.65
    distance_jitter: float = 0.05
    fov_deg: float = 30.0
    fov_jitter: float = 2.0


def sample_views(n: int, generator: torch.Generator, cfg: ViewSamplerConfig | None = None) -> Cameras:
    """`n` random cameras drawn uniformly within the configured ranges."""
    cfg = ViewSamplerConfig() if cfg is None else cfg
    u = torch.rand(n, 4, generator=generator) * 2 - 1
    return orbit(
        u[:, 0].sign() * u[:, 0].abs() ** cfg.front_bias * cfg.yaw_range,
        u[:, 1] * cfg.pitch_range,
        cfg.distance + u[:, 2] * cfg.distance_jitter,
        cfg.fov_deg + u[:, 3] * cfg.fov_jitter,
    )


def turntable(n: int, pitch_deg: float = 5.0, span_deg: float = 360.0, **kw) -> Cameras:
    """`n` cameras evenly spaced in yaw (a full turn by default), starting at the front."""
    yaws = torch.arange(n, dtype=torch.float32) * span_deg / n
    if span_deg < 360:
        yaws = torch.linspace(-span_deg / 2, span_deg / 2, n)
    return orbit(yaws, pitch_deg, **kw)


def front_views(yaws=(-40.0, 0.0, 40.0), pitch_deg: float = 0.0, **kw) -> Cameras:
    """A few fixed views, used by grids and metrics."""
    return orbit(torch.tensor(yaws), pitch_deg, **kw)
