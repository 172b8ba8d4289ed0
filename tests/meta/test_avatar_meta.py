"""Meta-training on the real avatar stack, tiny: CLI run -> init file -> stylize starts from it."""

import json

import pytest
import torch

import alteredavatar.adapt.run as adapt_run
from alteredavatar.adapt.loop import AdaptConfig
from alteredavatar.adapt.run import file_sha256, meta_init_path
from alteredavatar.adapt.style_file import apply_style, load_style
from alteredavatar.avatar.pretrained import PRETRAINED_NET, load_avatar_net, load_avatar_with_reference
from alteredavatar.cli import main
from alteredavatar.errors import AssetMissingError, ConfigError
from alteredavatar.meta.avatar_tasks import AvatarTaskFamily, TaskFamilyConfig, geometry_score
from alteredavatar.meta.bank import ProceduralStyles, StyleBank, StyleBankConfig, StyleSplit
from alteredavatar.meta.config import load_meta_config
from alteredavatar.meta.run import meta_train

TINY_RUN = """
algorithm: reptile
reptile: {inner_steps: 1, inner_lr: 0.02, outer_lr: 1.0, outer_lr_final: 0.5}
train: {outer_steps: 2, tasks_per_step: 1, checkpoint_every: 1, eval_every: 2, seed: 0}
tasks: {guidance: texture, identities: [ada, bo], adapt: {batch: 1, res: 32}, objective: {strength: 0.5}}
eval: {styles: 1, steps: 1}
styles:
  train: {procedural: {kinds: [stripes, marble], seeds: 0-1}}
  held_out: {procedural: {kinds: [dots], seeds: "100"}}
"""


def tiny_config(tmp_path, text: str = TINY_RUN, name: str = "run"):
    """The typed config of a YAML run file written to tmp_path."""
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return load_meta_config(path)


def bank(train: dict) -> StyleBank:
    return StyleBank.from_config(StyleBankConfig(train=StyleSplit(procedural=ProceduralStyles(**train))))


def test_sampler_is_deterministic_and_splits_tasks_across_ranks(tiny_net_path):
    styles = bank({"kinds": ("stripes", "marble", "dots"), "seeds": "0-3"})
    fam = AvatarTaskFamily(
        load_avatar_net(tiny_net_path), TaskFamilyConfig(adapt=AdaptConfig(batch=1, res=32))
    )
    sample = fam.sampler(styles.train, tasks_per_rank=2, seed=0)
    one = [t.name for t in sample(5, 0, 1)]
    assert one == [t.name for t in sample(5, 0, 1)]
    # 2 ranks x 2 tasks together draw exactly what 1 process drawing 4 tasks draws.
    two = sorted(t.name for r in range(2) for t in sample(5, r, 2))
    assert two == sorted(t.name for t in fam.sampler(styles.train, tasks_per_rank=4, seed=0)(5, 0, 1))
    loss = sample(0, 0, 1)[0].loss(torch.Generator().manual_seed(0))
    assert loss.requires_grad and torch.isfinite(loss)


def test_meta_train_cli_writes_init_and_stylize_starts_from_it(tmp_path, tiny_net_path, monkeypatch):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(TINY_RUN)
    out = tmp_path / "meta"
    flags = ["--out", str(out), "--net", str(tiny_net_path), "--reptile.outer-lr-final", "0.25"]
    assert main(["meta-train", str(cfg), *flags]) == 0
    meta = json.loads((out / "init.json").read_text())
    assert meta["algorithm"] == "reptile" and meta["guidance"] == "texture"
    assert meta["command"] == " ".join(["alteredavatar", "meta-train", str(cfg), *flags])
    assert meta["config"]["reptile"]["outer_lr_final"] == 0.25  # the flag overrode the file
    assert meta["config"]["reptile"]["total_steps"] is None and meta["config"]["train"]["outer_steps"] == 2
    assert meta["eval_history"], "held-out evaluation ran"
    monkeypatch.setattr(adapt_run, "meta_init_path", lambda guidance: out / "init.safetensors")
    style = tmp_path / "style.png"
    from alteredavatar.export.media import to_uint8, write_png
    from alteredavatar.guidance.procedural import procedural_style

    write_png(to_uint8(procedural_style("noise", 5, 32)[None])[0], style)
    sty = tmp_path / "sty"
    args = [
        "stylize",
        "--net",
        str(tiny_net_path),
        "--out",
        str(sty),
        "--style.image",
        str(style),
        "--style.guidance",
        "texture",
        "--adapt.steps",
        "1",
        "--adapt.batch",
        "1",
        "--adapt.res",
        "32",
        "--output.frames",
        "2",
        "--output.res",
        "32",
        "--output.ssaa",
        "1",
    ]
    assert main(args) == 0
    used = json.loads((sty / "style.json").read_text())
    assert used["init"] == "meta:init.safetensors" and used["lr"] == 0.02
    assert "init_note" not in used
    assert main([*args, "--init", "unstylized", "--overwrite"]) == 0  # reruns replace the run in sty
    used = json.loads((sty / "style.json").read_text())
    assert used["init"] == "unstylized" and "init_note" not in used  # asked for, so nothing to explain


def test_tasks_of_one_step_draw_different_random_streams(tiny_net_path):
    styles = bank({"kinds": ("stripes",), "seeds": "0"})
    fam = AvatarTaskFamily(
        load_avatar_net(tiny_net_path), TaskFamilyConfig(adapt=AdaptConfig(batch=1, res=32))
    )
    a, b = fam.sampler(styles.train, tasks_per_rank=2, seed=0)(3, 0, 1)
    assert a.name.split("@")[0] == b.name.split("@")[0] and a.seed != b.seed


def test_warm_start_continues_an_earlier_init_and_metasgd_saves_its_rates(tmp_path, tiny_net_path):
    metasgd = TINY_RUN.replace(
        "algorithm: reptile",
        "algorithm: metasgd\nmetasgd: {inner_steps: 1, "
        "inner_lr: 0.02, outer_lr: 0.01, alpha_init: normalized}",
    )
    meta_train(tiny_config(tmp_path, metasgd, "a"), tmp_path / "a", net_path=tiny_net_path, progress=False)
    init_a, _ = load_style(tmp_path / "a" / "init.safetensors")
    rates, rates_meta = load_style(tmp_path / "a" / "init_alpha.safetensors")
    assert set(rates) == set(init_a) and all(bool((r > 0).all()) for r in rates.values())
    assert rates_meta["kind"] == "meta-sgd-rates"

    # Stage 2 starts from stage 1's init; with a negligible outer rate it ends where it started.
    second = tiny_config(
        tmp_path,
        TINY_RUN.replace(
            "outer_lr: 1.0, outer_lr_final: 0.5", "outer_lr: 1.0e-12, outer_lr_final: 1.0e-12"
        ).replace("seed: 0}", f"seed: 0, init: {tmp_path / 'a' / 'init.safetensors'}}}"),
        "second",
    )
    meta_train(second, tmp_path / "b", net_path=tiny_net_path, progress=False)
    init_b, meta_b = load_style(tmp_path / "b" / "init.safetensors")
    unstylized = load_avatar_net(tiny_net_path).style_state()
    assert any(not torch.equal(init_a[k], unstylized[k]) for k in init_a)
    for k in init_a:
        torch.testing.assert_close(init_b[k], init_a[k], rtol=0, atol=1e-9)
    assert meta_b["config"]["train"]["init"].endswith("init.safetensors")
    assert meta_b["warm_start"]["config"]["algorithm"] == "metasgd"  # stage 1's provenance travels along

    missing = tiny_config(
        tmp_path, TINY_RUN.replace("seed: 0}", "seed: 0, init: nowhere/init.safetensors}"), "c"
    )
    with pytest.raises(ConfigError, match=r"train.init: nowhere"):
        meta_train(missing, tmp_path / "c", net_path=tiny_net_path, progress=False)


@pytest.mark.parametrize("guidance", ["texture", "vgg"])
def test_shipped_init_was_made_for_the_shipped_network(guidance):
    """`stylize` starts unstylized (with a note) when the init's network hash differs, so guard each pair
    we ship, and that its sidecar says how it was made."""
    state, meta = load_style(meta_init_path(guidance))
    assert meta["avatar_net_sha256"] == file_sha256(PRETRAINED_NET)
    net = load_avatar_net()
    apply_style(net, state)  # shapes match this network
    assert meta["kind"] == "meta-init" and meta["algorithm"] == "reptile" and meta["guidance"] == guidance
    assert meta["command"].startswith("alteredavatar meta-train") and meta["config"]["algorithm"] == "reptile"


def test_geometry_score_is_zero_when_unchanged_and_reports_displacement_in_mm(tiny_net_path):
    avatar, source = load_avatar_with_reference("builtin:ada", net_path=tiny_net_path)
    assert geometry_score(avatar, source) == 0.0
    with torch.no_grad():  # shift the finest bias map: moves albedo and displacement
        avatar.net.mappers[-1].conv2.bias.add_(
            torch.linspace(-2, 2, avatar.net.mappers[-1].conv2.bias.numel())
        )
    moved = geometry_score(avatar, source)
    assert 0.01 < moved <= 10.0 + 1e-4, moved  # displacement is at most 1 cm (tanh), so RMS <= 10 mm


def test_meta_train_with_clip_guidance_on_text_prompts(tmp_path, tiny_net_path, tiny_clip_path):
    """Prompts as tasks (CLIP guidance, a tiny CLIP): the init moves, and the periodic held-out evaluation
    scores the text styles by CLIP similarity to their prompts."""
    cfg = tiny_config(
        tmp_path,
        TINY_RUN.replace("tasks: {guidance: texture,", f"tasks: {{guidance: clip, clip: {tiny_clip_path},")
        .replace(
            "train: {procedural: {kinds: [stripes, marble], seeds: 0-1}}",
            'train: {texts: ["a marble statue", "a comic book drawing"]}',
        )
        .replace(
            'held_out: {procedural: {kinds: [dots], seeds: "100"}}',
            'held_out: {texts: ["a bronze sculpture"], procedural: {kinds: [dots], seeds: "100"}}',
        )
        .replace("eval: {styles: 1,", "eval: {styles: 2,"),
        "clip",
    )
    summary = meta_train(cfg, tmp_path / "clip", net_path=tiny_net_path, progress=False)
    (entry,) = summary["history"]
    assert set(entry) == {
        "step",
        "held_out_clip_text_similarity_after_1_steps",
        "held_out_style_after_1_steps",
    }
    assert -1.0 <= entry["held_out_clip_text_similarity_after_1_steps"] <= 1.0
    init, meta = load_style(tmp_path / "clip" / "init.safetensors")
    assert meta["guidance"] == "clip" and meta["config"]["tasks"]["clip"] == str(tiny_clip_path)
    unstylized = load_avatar_net(tiny_net_path).style_state()
    assert any(not torch.equal(init[k], unstylized[k]) for k in init)


def test_meta_train_without_clip_weights_fails_before_any_work(tmp_path, tiny_net_path):
    """Missing CLIP weights: a clear error naming the config key, before a checkpoint or output is written."""
    missing = tmp_path / "no_clip_here"
    cfg = tiny_config(
        tmp_path,
        TINY_RUN.replace("tasks: {guidance: texture,", f"tasks: {{guidance: clip, clip: {missing},").replace(
            "train: {procedural: {kinds: [stripes, marble], seeds: 0-1}}",
            'train: {texts: ["a marble statue"]}',
        ),
        "clip",
    )
    with pytest.raises(AssetMissingError, match=r"--tasks.clip DIR"):
        meta_train(cfg, tmp_path / "out", net_path=tiny_net_path, progress=False)
    assert not (tmp_path / "out").exists()


def test_ctrl_c_in_meta_train_says_how_to_resume(tmp_path, tiny_net_path, monkeypatch, capsys):
    from alteredavatar.meta.trainer import MetaTrainer

    real = MetaTrainer.save_checkpoint

    def save_then_interrupt(self):
        real(self)
        raise KeyboardInterrupt  # Ctrl-C right after the first checkpoint

    monkeypatch.setattr(MetaTrainer, "save_checkpoint", save_then_interrupt)
    cfg = tmp_path / "run.yaml"
    cfg.write_text(TINY_RUN)
    out = tmp_path / "meta"
    assert main(["meta-train", str(cfg), "--out", str(out), "--net", str(tiny_net_path)]) == 130
    said = " ".join(capsys.readouterr().err.split())
    assert "outer step 1" in said and f"meta-train {cfg} --out {out} --net {tiny_net_path} --resume`" in said
    assert said.endswith("interrupted")
    assert not (out / "init.safetensors").exists()


TINY_VGG_RUN = """
algorithm: reptile
reptile: {inner_steps: 3, inner_lr: 0.05, outer_lr: 1.0, outer_lr_final: 0.5}
train: {outer_steps: 8, tasks_per_step: 2, checkpoint_every: 4, eval_every: 0, seed: 0}
tasks: {guidance: vgg, identities: [ada, bo], adapt: {batch: 1, res: 48}}
eval: {styles: 0}
styles:
  train: {procedural: {kinds: [bricks, tiles], seeds: 0-3}}
  held_out: {procedural: {kinds: [bricks, tiles], seeds: 1000-1001}}
"""


@pytest.fixture(scope="module")
def vgg_run(tmp_path_factory, tiny_net_path):
    """(typed config, run folder) of a tiny Reptile run on structured styles under VGG guidance."""
    root = tmp_path_factory.mktemp("vgg_meta")
    cfg = tiny_config(root, TINY_VGG_RUN)
    meta_train(cfg, root / "run", net_path=tiny_net_path, progress=False)
    return cfg, root / "run"


def test_vgg_task_family_draws_reproducibly_and_only_from_the_train_split(tiny_net_path):
    """The `vgg` preset's tasks: structured procedural styles, the same draws for the same seed, never a
    held-out style (nor a held-out image under another name)."""
    cfg = load_meta_config("vgg")
    bank = StyleBank.from_config(cfg.styles)
    held = {e.name for e in bank.held_out}
    assert {e.value for e in bank.train} >= {"bricks", "tiles", "scales", "wood", "cracks"}
    fam = AvatarTaskFamily(
        load_avatar_net(tiny_net_path), TaskFamilyConfig(guidance="vgg", adapt=AdaptConfig(batch=1, res=32))
    )
    sample = fam.sampler(bank.train, tasks_per_rank=4, seed=cfg.train.seed)
    drawn = [t.name.split("@")[0] for step in range(6) for t in sample(step, 0, 1)]
    assert drawn == [t.name.split("@")[0] for step in range(6) for t in sample(step, 0, 1)]
    assert not held & set(drawn) and len(set(drawn)) > 12
    train_images = {e.name: e.image(32) for e in bank.train if e.name in drawn}
    for h in bank.held_out[:4]:
        assert all(not torch.equal(h.image(32), img) for img in train_images.values())


def held_out_loss(net_path, init, cfg, steps=3):
    """Mean held-out task loss after `steps` Adam steps at the product's rate from `init` (None: the
    unstylized start), with the same random views for every start."""
    from alteredavatar.meta.algorithms import ReptileConfig, make_algorithm

    net = load_avatar_net(net_path)
    family = AvatarTaskFamily(net, cfg.tasks)
    if init is not None:
        apply_style(net, init)
    rule = ReptileConfig(inner_steps=steps, inner_lr=AdaptConfig().lr)
    algo = make_algorithm("reptile", net.style_parameters(), rule)
    start = [p.detach().clone() for p in algo.params]
    total = []
    for i, entry in enumerate(StyleBank.from_config(cfg.styles).held_out):
        task = family.task(entry, "ada")
        algo.adapt(task, steps, torch.Generator().manual_seed(i))
        with torch.no_grad():
            total += [task.loss(torch.Generator().manual_seed(100 + j)).item() for j in range(3)]
            for p, v in zip(algo.params, start):
                p.copy_(v)
    return sum(total) / len(total)


def test_vgg_meta_training_lowers_the_held_out_loss_after_3_steps(vgg_run, tiny_net_path):
    """A real property of meta-training on structured procedural styles under VGG guidance: from its start,
    held-out styles (other seeds) reach a lower loss in 3 steps than from the unstylized start."""
    cfg, run = vgg_run
    init, meta = load_style(run / "init.safetensors")
    assert meta["guidance"] == "vgg" and meta["config"]["styles"]["held_out"]["procedural"]["seeds"]
    meta_loss = held_out_loss(tiny_net_path, init, cfg)
    scratch_loss = held_out_loss(tiny_net_path, None, cfg)
    assert meta_loss < 0.9 * scratch_loss, (meta_loss, scratch_loss)


def test_stylize_auto_picks_the_installed_vgg_start_only_for_vgg_guidance(
    vgg_run, tiny_net_path, tmp_path, monkeypatch
):
    import alteredavatar.meta.install as install

    assets = tmp_path / "assets"
    assets.mkdir()
    where = lambda guidance: assets / f"meta_init_{guidance}.safetensors"  # noqa: E731
    monkeypatch.setattr(adapt_run, "meta_init_path", where)
    monkeypatch.setattr(install, "meta_init_path", where)
    assert install.install_init(vgg_run[1]) == where("vgg") and (assets / "meta_init_vgg.json").exists()
    from alteredavatar.export.media import to_uint8, write_png
    from alteredavatar.guidance.procedural import procedural_style

    style = tmp_path / "bricks.png"
    write_png(to_uint8(procedural_style("bricks", 7, 64)[None])[0], style)
    tiny = ["--adapt.steps", "1", "--adapt.batch", "1", "--adapt.res", "32"]
    tiny += ["--output.frames", "2", "--output.res", "32", "--output.ssaa", "1"]
    for guidance, expected in (("vgg", "meta:meta_init_vgg.safetensors"), ("texture", "unstylized")):
        out = tmp_path / guidance
        args = ["stylize", "--net", str(tiny_net_path), "--out", str(out), "--style.image", str(style)]
        assert main([*args, "--style.guidance", guidance, *tiny]) == 0
        used = json.loads((out / "style.json").read_text())
        assert used["init"] == expected
        assert ("init_note" in used) == (guidance == "texture")  # auto says why it fell back


def test_vgg_meta_training_resumed_after_ctrl_c_is_bit_identical(
    vgg_run, tiny_net_path, tmp_path, monkeypatch
):
    """The VGG task family draws each outer step's tasks and views from the step's own seed, so a run cut at
    its first checkpoint (outer step 4 of 8) and resumed writes exactly the init of the uninterrupted run."""
    from alteredavatar.meta.trainer import MetaTrainer

    cfg, run = vgg_run
    real = MetaTrainer.save_checkpoint

    def save_then_interrupt(self):
        real(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(MetaTrainer, "save_checkpoint", save_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        meta_train(cfg, tmp_path / "cut", net_path=tiny_net_path, progress=False)
    monkeypatch.setattr(MetaTrainer, "save_checkpoint", real)
    meta_train(cfg, tmp_path / "cut", resume=True, net_path=tiny_net_path, progress=False)
    full, _ = load_style(run / "init.safetensors")
    resumed, meta = load_style(tmp_path / "cut" / "init.safetensors")
    assert full.keys() == resumed.keys() and all(torch.equal(full[k], resumed[k]) for k in full)
    assert [s["from_step"] for s in meta["segments"]] == [0, 4]
