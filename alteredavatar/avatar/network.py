"""The avatar network (the paper's structure, on UV maps instead of volumetric primitives).

identity maps (albedo, position, UV mask, UV Fourier features)
  -> IdentityEncoder (conv pyramid, one feature map per resolution)
  -> BiasMappers (one small conv net per level: features -> spatial bias map)      <- the style subset
  -> ExpressionDecoder (expression code -> 8x8 -> ... -> R x R), each layer + its bias map
  -> UV albedo (3) and displacement along the normal (1), plus
DetailPyramid (free UV maps from 32 to 256 texels, summed)                         <- the style subset
  -> added to the decoder's raw albedo logit and displacement, the same in every expression.

The albedo head is residual: its output is added to the logit of the identity's own albedo (a fixed skip
from the encoder input), so the unstylized network reproduces fine texture detail exactly and encodes a
new identity without retraining, while the bias maps remain free to repaint it.

Stylization trains only `style_parameters()` (the bias mappers and the detail pyramid); everything else
stays frozen. The pyramid starts at zero, so a fitted network (whose files do not hold it) is unchanged by it;
it exists because the bias mappers alone tint and reshape but cannot paint a style's pattern in tens of
steps (measured: bench/results/stylize.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from alteredavatar.avatar.arkit import NUM_EXPR

ALBEDO_EPS = 1e-3  # keeps the albedo logit finite


@dataclass
class AvatarNetConfig:
    """Sizes of the avatar network. `uv_res` must equal `base_res * 2**(len(dec_channels) - 1)`."""

    uv_res: int = 256
    base_res: int = 8
    enc_channels: tuple[int, ...] = (12, 16, 24, 32, 48, 64)  # at uv_res, uv_res/2, ... base_res
    dec_channels: tuple[int, ...] = (64, 48, 32, 24, 16, 12)  # at base_res, ..., uv_res
    mapper_hidden: int = 12
    fourier_octaves: int = 5
    max_displacement: float = 0.01  # metres
    detail_min_res: int = 32
    """The UV detail pyramid has one level per power of two from this resolution up to uv_res."""
    detail_disp_scale: float = 0.25
    """The pyramid's displacement channel is scaled by this before tanh: a style mostly paints, and a raw
    unit there would move the surface by up to max_displacement."""

    @property
    def in_channels(self) -> int:
        return 3 + 3 + 1 + 4 * self.fourier_octaves

    def check(self) -> None:
        if self.base_res * 2 ** (len(self.dec_channels) - 1) != self.uv_res:
            raise ValueError("uv_res must equal base_res * 2**(len(dec_channels) - 1)")
        if len(self.enc_channels) != len(self.dec_channels):
            raise ValueError("enc_channels and dec_channels need one entry per level")
        if self.detail_min_res < 1:
            raise ValueError("detail_min_res must be >= 1")

    @property
    def detail_levels(self) -> tuple[int, ...]:
        """Resolutions of the detail pyramid, coarse to fine, e.g. (32, 64, 128, 256)."""
        levels, r = [], self.uv_res
        while r >= self.detail_min_res or not levels:
            levels.insert(0, r)
            r //= 2
        return tuple(levels)


def uv_fourier_features(res: int, octaves: int) -> torch.Tensor:
    """(4 * octaves, res, res) sin/cos of u and v at frequencies 2^k * pi; lets mappers paint patterns."""
    t = (torch.arange(res, dtype=torch.float32) + 0.5) / res
    v, u = torch.meshgrid(1 - t, t, indexing="ij")
    feats = []
    for k in range(octaves):
        f = math.pi * 2**k
        feats += [torch.sin(f * u), torch.cos(f * u), torch.sin(f * v), torch.cos(f * v)]
    return torch.stack(feats)


class IdentityEncoder(nn.Module):
    """Conv pyramid over the identity maps; returns features from coarsest (base_res) to finest."""

    def __init__(self, cfg: AvatarNetConfig):
        super().__init__()
        ch = cfg.enc_channels
        self.stem = nn.Conv2d(cfg.in_channels, ch[0], 3, padding=1)
        self.down = nn.ModuleList(
            nn.Conv2d(ch[i], ch[i + 1], 3, stride=2, padding=1) for i in range(len(ch) - 1)
        )

    def forward(self, maps: torch.Tensor) -> list[torch.Tensor]:
        """maps: (N, C_in, R, R) -> list of (N, enc_channels[l], R_l, R_l), coarse to fine."""
        x = F.leaky_relu(self.stem(maps), 0.2)
        feats = [x]
        for conv in self.down:
            x = F.leaky_relu(conv(x), 0.2)
            feats.append(x)
        return feats[::-1]


class BiasMapper(nn.Module):
    """Encoder features at one level -> a spatial bias map for the decoder layer at that level."""

    def __init__(self, in_ch: int, hidden: int, out_ch: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, out_ch, 3, padding=1)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.leaky_relu(self.conv1(feat), 0.2))


class ExpressionDecoder(nn.Module):
    """Expression code -> UV albedo + displacement, each layer shifted by its spatial bias map."""

    def __init__(self, cfg: AvatarNetConfig):
        super().__init__()
        ch = cfg.dec_channels
        self.cfg = cfg
        self.fc = nn.Sequential(
            nn.Linear(NUM_EXPR, 128), nn.LeakyReLU(0.2), nn.Linear(128, ch[0] * cfg.base_res**2)
        )
        self.convs = nn.ModuleList(nn.Conv2d(ch[i - 1], ch[i], 3, padding=1) for i in range(1, len(ch)))
        self.head = nn.Conv2d(ch[-1], 4, 1)

    def forward(self, expr: torch.Tensor, biases: list[torch.Tensor]) -> torch.Tensor:
        """expr: (B, 52); biases: per level (1 or B, C_l, R_l, R_l) -> (B, 4, R, R) raw outputs."""
        r = self.cfg.base_res
        x = self.fc(expr).view(-1, self.cfg.dec_channels[0], r, r)
        x = F.leaky_relu(x + biases[0], 0.2)
        for conv, bias in zip(self.convs, biases[1:]):
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
            x = F.leaky_relu(conv(x) + bias, 0.2)
        return self.head(x)


class DetailPyramid(nn.Module):
    """A UV detail residual as a sum of free maps at several resolutions (a Laplacian-style pyramid).

    Each level is a (1, 4, r, r) parameter (albedo logit 3 + displacement 1), bilinearly upsampled to the UV
    resolution and summed, so Adam's per-element steps move coarse colour and fine pattern at once.
    forward() -> (1, 4, R, R).
    """

    def __init__(self, uv_res: int, levels: tuple[int, ...]):
        super().__init__()
        self.uv_res = uv_res
        self.levels = nn.ParameterList(nn.Parameter(torch.zeros(1, 4, r, r)) for r in levels)

    def forward(self) -> torch.Tensor:
        r = self.uv_res
        out = 0
        for p in self.levels:
            out = out + (
                p if p.shape[-1] == r else F.interpolate(p, size=(r, r), mode="bilinear", align_corners=False)
            )
        return out


STYLE_SUBSETS = ("both", "mappers", "detail")


class AvatarNet(nn.Module):
    """Identity encoder + bias mappers + expression decoder (see module docstring)."""

    def __init__(self, cfg: AvatarNetConfig | None = None):
        cfg = AvatarNetConfig() if cfg is None else cfg
        super().__init__()
        cfg.check()
        self.cfg = cfg
        self.encoder = IdentityEncoder(cfg)
        enc = cfg.enc_channels[::-1]  # coarse to fine, matching the decoder
        self.mappers = nn.ModuleList(
            BiasMapper(enc[i], cfg.mapper_hidden, cfg.dec_channels[i]) for i in range(len(cfg.dec_channels))
        )
        self.decoder = ExpressionDecoder(cfg)
        self.detail = DetailPyramid(cfg.uv_res, cfg.detail_levels)

    def style_parameters(self, subset: str = "both") -> list[nn.Parameter]:
        """The parameters stylization and meta-learning update: `both` (bias mappers + detail pyramid),
        `mappers` (the paper's subset) or `detail`."""
        if subset not in STYLE_SUBSETS:
            raise ValueError(f"unknown style subset {subset!r}; choose one of {', '.join(STYLE_SUBSETS)}")
        mappers = list(self.mappers.parameters()) if subset != "detail" else []
        return mappers + (list(self.detail.parameters()) if subset != "mappers" else [])

    def style_state(self) -> dict[str, torch.Tensor]:
        """Name -> tensor of the whole style subset (what a style file stores), mappers first."""
        return {f"mappers.{k}": v for k, v in self.mappers.state_dict().items()} | {
            f"detail.{k}": v for k, v in self.detail.state_dict().items()
        }

    def encode(self, maps: torch.Tensor) -> list[torch.Tensor]:
        """Identity features, coarse to fine, plus the albedo logit skip last (frozen in stylization)."""
        skip = torch.logit(maps[:, :3].clamp(ALBEDO_EPS, 1 - ALBEDO_EPS))
        return [*self.encoder(maps), skip]

    def decode(self, expr: torch.Tensor, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """expr (B, 52) + `encode` output -> albedo (B, 3, R, R) in [0, 1], displacement (B, 1, R, R) m."""
        *levels, skip = feats
        biases = [m(f) for m, f in zip(self.mappers, levels)]
        raw = self.decoder(expr, biases)
        detail = self.detail()
        raw = raw + torch.cat([detail[:, :3], detail[:, 3:] * self.cfg.detail_disp_scale], 1)
        albedo = torch.sigmoid(raw[:, :3] + skip)
        disp = torch.tanh(raw[:, 3:]) * self.cfg.max_displacement
        return albedo, disp

    def forward(self, expr: torch.Tensor, maps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(expr, self.encode(maps))
