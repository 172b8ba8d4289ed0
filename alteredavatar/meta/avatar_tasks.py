"""The avatar side of meta-learning: (style, identity) pairs -> `Task`s over the shared style parameters.

All identities are bound to the one avatar network, so a single initialization of the bias mappers
serves every identity. The unstylized reference renders come from a frozen copy of the network taken
before meta-training, never from the moving initialization.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from alteredavatar.adapt.guide import StyleGuide, StyleSpec
from alteredavatar.adapt.loop import AdaptConfig, Stylizer
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.avatar.expressions import presets
from alteredavatar.avatar.identities import TRAIN_IDENTITIES, builtin_avatar
from alteredavatar.avatar.model import AnimatableAvatar
from alteredavatar.avatar.network import AvatarNet
from alteredavatar.eval.metrics import EvalConfig, eval_renders, texture_metric
from alteredavatar.guidance.clip import DEFAULT_CLIP
from alteredavatar.meta.bank import StyleEntry
from alteredavatar.meta.task import Task, mix_seed


@dataclass
class TaskFamilyConfig:
    """How a meta-training task computes its loss (a cheaper stylization step than test time)."""

    guidance: str = "texture"
    clip: str = DEFAULT_CLIP
    """The guiding CLIP for text styles (hub id or a folder saved with save_pretrained)."""
    identities: tuple[str, ...] = TRAIN_IDENTITIES
    adapt: AdaptConfig = field(default_factory=lambda: AdaptConfig(batch=2, res=96))
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)


class AvatarTaskFamily:
    """Builds tasks on `net`'s style parameters for any (style entry, identity)."""

    def __init__(self, net: AvatarNet, cfg: TaskFamilyConfig):
        self.net, self.cfg = net, cfg
        reference = copy.deepcopy(net).requires_grad_(False)
        self._avatars: dict[str, tuple[AnimatableAvatar, AnimatableAvatar]] = {}
        self._reference = reference
        self._guides: dict[str, StyleGuide] = {}
        net.requires_grad_(False)
        for p in net.style_parameters():
            p.requires_grad_(True)

    @property
    def device(self) -> torch.device:
        """Where the shared network lives (and so every avatar, render and loss of its tasks)."""
        return next(self.net.parameters()).device

    def avatars(self, identity: str) -> tuple[AnimatableAvatar, AnimatableAvatar]:
        """(avatar on the shared net, unstylized reference avatar) for a built-in identity."""
        if identity not in self._avatars:
            mesh = builtin_avatar(identity).to(self.device)
            self._avatars[identity] = (
                AnimatableAvatar(mesh, self.net),
                AnimatableAvatar(mesh, self._reference),
            )
        return self._avatars[identity]

    def guide(self, entry: StyleEntry) -> StyleGuide:
        if entry.name not in self._guides:
            spec = StyleSpec(text=entry.text, guidance=self.cfg.guidance, clip=self.cfg.clip)
            self._guides[entry.name] = StyleGuide(spec, self.cfg.objective, self.device, image=entry.image())
        return self._guides[entry.name]

    def task(self, entry: StyleEntry, identity: str, seed: int = 0) -> Task:
        avatar, source = self.avatars(identity)
        stylizer = Stylizer(avatar, self.guide(entry), self.cfg.adapt, self.cfg.objective, source=source)
        return Task(name=f"{entry.name}@{identity}", loss=lambda gen: stylizer.loss(gen)[0], seed=seed)

    def sampler(self, entries: list[StyleEntry], tasks_per_rank: int, seed: int):
        """`sample_tasks(step, rank, world)` for the trainer: disjoint, deterministic tasks per rank."""

        def sample(step: int, rank: int, world: int) -> list[Task]:
            gen = torch.Generator().manual_seed(seed * 1_000_003 + step)
            n = tasks_per_rank * world
            styles = torch.randint(len(entries), (n,), generator=gen).tolist()
            idents = torch.randint(len(self.cfg.identities), (n,), generator=gen).tolist()
            picks = list(enumerate(zip(styles, idents)))[rank::world]
            # Each pick gets its own random stream, keyed by its global index, so the views/expressions of
            # the tasks in one step differ and do not depend on which rank runs them.
            return [
                self.task(entries[s], self.cfg.identities[i], seed=mix_seed(step, j)) for j, (s, i) in picks
            ]

        return sample


def score_views(res: int = 128, **kw) -> EvalConfig:
    """The views every score here renders: 3 yaws (-30, 0, 30 degrees) x (neutral, smile), `res` pixels."""
    return EvalConfig(yaws=(-30.0, 0.0, 30.0), expressions=("neutral", "smile"), res=res, **kw)


def style_score(avatar: AnimatableAvatar, style_image: torch.Tensor, seed: int, res: int = 128) -> float:
    """Evaluator's texture distance (lower = more stylized): 3 views x (neutral, smile), other seed."""
    cfg = score_views(res, texture_seed=seed)
    img, mask = eval_renders(avatar, cfg)
    return float(texture_metric(img, mask, style_image, seed).mean())


@torch.no_grad()
def clip_text_score(avatar: AnimatableAvatar, clip, text: str, res: int = 128) -> float:
    """Mean CLIP cosine similarity of the same views as `style_score` to a prompt (higher = more stylized)."""
    images = eval_renders(avatar, score_views(res))[0]
    return float((clip.encode_images(images) @ clip.encode_text([text])[0]).mean())


def identity_score(avatar: AnimatableAvatar, source: AnimatableAvatar, res: int = 128) -> float:
    """Low-pass image distance to the unstylized avatar on the same views (lower = more recognisable)."""
    from alteredavatar.guidance.image_ops import lowpass_distance

    cfg = score_views(res)
    return float(lowpass_distance(eval_renders(avatar, cfg)[0], eval_renders(source, cfg)[0]).mean())


@torch.no_grad()
def geometry_score(avatar: AnimatableAvatar, source: AnimatableAvatar) -> float:
    """RMS change of the UV displacement map against the unstylized avatar, in millimetres, over the head's
    UV mask for the neutral and smile presets. The low-pass image distance barely sees geometry (ridges
    add shading edges, not low frequencies); this does (bench/results/rejected/)."""
    expr = presets(("neutral", "smile"))
    diff = (avatar(expr).displacement - source(expr).displacement) * 1000.0  # (2, 1, R, R) mm
    mask = avatar.uv_mask.expand_as(diff)
    return float(((diff**2 * mask).sum() / mask.sum().clamp(min=1)).sqrt())
