"""Named meta-training runs: `alteredavatar meta-train PRESET --out RUN` (flags override any field).

The shipped texture initialization (`assets/meta_init_texture.*`) is three Reptile stages, each warm-starting
from the one before (`make meta-runs` builds them in order):

    texture-stage1   100 outer steps, 2 views @ 96 px, procedural seeds 0-11
    texture-stage2   120 more at the test-time settings (4 views @ 128 px)
    texture          130 more over 3200 fresh procedural styles (seeds 200-599); installed with --install

VGG guidance (image styles, the product default) meta-trains on the structured procedural kinds (bricks,
tiles, scales, wood, cracks, weave, checker, hatching, stripes, mosaic, dots; random palettes and scales per
seed), seeds 0-199 for training and 1000-1001 held out:

    vgg              Reptile on the whole style subset (bias mappers + detail pyramid), 2 views @ 96 px
    vgg-metasgd      the same tasks and budget with Meta-SGD (learned per-parameter rates)

`texture-fomaml` and `texture-metasgd` are stage 1's counterparts for the benchmark (same tasks, inner-loop
length, task count and outer steps). `clip` is the paper's setting (text prompts, CLIP guidance): it needs
CLIP weights and, at a useful speed, a GPU.
"""

from __future__ import annotations

from collections.abc import Callable

from alteredavatar.adapt.loop import AdaptConfig
from alteredavatar.avatar.expressions import ExpressionSamplerConfig
from alteredavatar.guidance.procedural import PATTERN_KINDS
from alteredavatar.meta.algorithms import FOMAMLConfig, MetaSGDConfig, ReptileConfig
from alteredavatar.meta.avatar_tasks import TaskFamilyConfig
from alteredavatar.meta.bank import ProceduralStyles, StyleBankConfig, StyleSplit
from alteredavatar.meta.config import HeldOutEvalConfig, MetaTrainConfig
from alteredavatar.meta.trainer import TrainConfig

FIRST_KINDS = ("stripes", "mosaic", "marble", "strokes", "noise", "palette", "metal", "dots")
"""The procedural kinds the texture presets were trained and benchmarked on (the generator has more since)."""


def procedural_bank(train_seeds: str) -> StyleBankConfig:
    """FIRST_KINDS at `train_seeds` for training; seed 100 of each kind held out."""
    return StyleBankConfig(
        train=StyleSplit(procedural=ProceduralStyles(FIRST_KINDS, train_seeds)),
        held_out=StyleSplit(procedural=ProceduralStyles(FIRST_KINDS, "100-100")),
    )


def test_time_tasks(guidance: str = "texture", closed_eyes_prob: float | None = None) -> TaskFamilyConfig:
    """Tasks at the settings `stylize` runs (4 views @ 128 px). The texture presets pass closed_eyes_prob 0:
    they were trained before stylization closed the eyes on a quarter of its frames, and rebuild as they
    were."""
    expressions = ExpressionSamplerConfig()
    if closed_eyes_prob is not None:
        expressions.closed_eyes_prob = closed_eyes_prob
    return TaskFamilyConfig(guidance=guidance, adapt=AdaptConfig(batch=4, res=128, expressions=expressions))


def texture_stage1() -> MetaTrainConfig:
    return MetaTrainConfig(
        reptile=ReptileConfig(inner_steps=10, inner_lr=0.02, outer_lr=1.0, outer_lr_final=0.1),
        train=TrainConfig(outer_steps=100, tasks_per_step=4, checkpoint_every=10, eval_every=50, seed=0),
        tasks=TaskFamilyConfig(
            adapt=AdaptConfig(batch=2, res=96, expressions=ExpressionSamplerConfig(closed_eyes_prob=0.0))
        ),
        styles=procedural_bank("0-11"),
    )


def texture_stage2() -> MetaTrainConfig:
    return MetaTrainConfig(
        reptile=ReptileConfig(inner_steps=10, inner_lr=0.02, outer_lr=0.5, outer_lr_final=0.1),
        train=TrainConfig(
            outer_steps=120,
            tasks_per_step=4,
            checkpoint_every=10,
            eval_every=40,
            seed=1,
            init="runs/texture-stage1/init.safetensors",
        ),
        tasks=test_time_tasks(closed_eyes_prob=0.0),
        styles=procedural_bank("0-11"),
    )


def texture() -> MetaTrainConfig:
    return MetaTrainConfig(
        reptile=ReptileConfig(inner_steps=10, inner_lr=0.02, outer_lr=0.3, outer_lr_final=0.05),
        train=TrainConfig(
            outer_steps=130,
            tasks_per_step=4,
            checkpoint_every=10,
            eval_every=65,
            seed=3,
            init="runs/texture-stage2/init.safetensors",
        ),
        tasks=test_time_tasks(closed_eyes_prob=0.0),
        styles=procedural_bank("200-599"),
    )


def texture_fomaml() -> MetaTrainConfig:
    cfg = texture_stage1()
    cfg.algorithm, cfg.fomaml = "fomaml", FOMAMLConfig(inner_steps=10, inner_lr=0.02, outer_lr=0.003)
    return cfg


def texture_metasgd() -> MetaTrainConfig:
    cfg = texture_stage1()
    cfg.algorithm = "metasgd"
    cfg.metasgd = MetaSGDConfig(
        inner_steps=10, inner_lr=0.001, alpha_init="normalized", outer_lr=0.003, outer_lr_alpha=0.05
    )
    return cfg


def pattern_bank() -> StyleBankConfig:
    """Structured procedural styles: seeds 0-199 of every pattern kind to train on, 1000-1001 held out."""
    return StyleBankConfig(
        train=StyleSplit(procedural=ProceduralStyles(PATTERN_KINDS, "0-199")),
        held_out=StyleSplit(procedural=ProceduralStyles(PATTERN_KINDS, "1000-1001")),
    )


def vgg() -> MetaTrainConfig:
    return MetaTrainConfig(
        reptile=ReptileConfig(inner_steps=10, inner_lr=0.02, outer_lr=1.0, outer_lr_final=0.1),
        train=TrainConfig(outer_steps=80, tasks_per_step=4, checkpoint_every=5, eval_every=40, seed=0),
        tasks=TaskFamilyConfig(guidance="vgg"),
        eval=HeldOutEvalConfig(styles=2, steps=5),
        styles=pattern_bank(),
    )


def vgg_metasgd() -> MetaTrainConfig:
    cfg = vgg()
    cfg.algorithm = "metasgd"
    cfg.metasgd = MetaSGDConfig(
        inner_steps=10, inner_lr=0.001, alpha_init="normalized", outer_lr=0.003, outer_lr_alpha=0.05
    )
    return cfg


CLIP_TRAIN_PROMPTS = (
    "a marble statue",
    "a bronze sculpture",
    "a wooden carving",
    "a porcelain doll",
    "a clay figure",
    "a stone gargoyle",
    "a golden mask",
    "a silver robot",
    "an oil painting by Rembrandt",
    "a watercolor painting",
    "a pencil sketch",
    "a charcoal drawing",
    "a pop art portrait",
    "a cubist painting",
    "an impressionist painting",
    "a ukiyo-e woodblock print",
    "a mosaic of small tiles",
    "a stained glass window",
    "a comic book character",
    "an anime character",
    "a pixar character",
    "a zombie",
    "a vampire",
    "an orc",
    "an elf",
    "a clown with face paint",
    "a tiger",
    "a lizard with green scales",
    "a frozen ice sculpture",
    "a lava rock face",
    "a face made of moss",
    "a face painted with tribal patterns",
    "a cyberpunk android",
    "a steampunk automaton",
    "a jade statue",
    "a chocolate sculpture",
    "a face in neon lights",
    "a Van Gogh painting",
    "a Picasso painting",
    "a Klimt painting with gold leaf",
    "a Roman emperor bust",
    "an Egyptian pharaoh",
    "a knight in armor",
    "a pirate",
    "an astronaut",
    "a skeleton",
    "a ghost",
    "a cartoon character",
)
CLIP_HELD_OUT_PROMPTS = (
    "a terracotta warrior",
    "a Frida Kahlo painting",
    "a sculpture made of copper wire",
    "a face covered in autumn leaves",
    "a Na'vi from Avatar",
    "a Modigliani portrait",
    "an ancient Greek vase painting",
    "a wax figure",
)


def clip() -> MetaTrainConfig:
    return MetaTrainConfig(
        reptile=ReptileConfig(inner_steps=10, inner_lr=0.02, outer_lr=1.0, outer_lr_final=0.1),
        train=TrainConfig(outer_steps=300, tasks_per_step=4, checkpoint_every=10, eval_every=50, seed=0),
        tasks=test_time_tasks("clip"),
        eval=HeldOutEvalConfig(styles=4, steps=5),
        styles=StyleBankConfig(
            train=StyleSplit(texts=CLIP_TRAIN_PROMPTS), held_out=StyleSplit(texts=CLIP_HELD_OUT_PROMPTS)
        ),
    )


PRESETS: dict[str, Callable[[], MetaTrainConfig]] = {
    "texture-stage1": texture_stage1,
    "texture-stage2": texture_stage2,
    "texture": texture,
    "texture-fomaml": texture_fomaml,
    "texture-metasgd": texture_metasgd,
    "vgg": vgg,
    "vgg-metasgd": vgg_metasgd,
    "clip": clip,
}
