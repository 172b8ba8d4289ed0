"""Meta-training on the real avatar stack, tiny: CLI run -> init file -> stylize starts from it."""

import json

import pytest
import torch

import alteredavatar.adapt.run as adapt_run
from alteredavatar.adapt.run import file_sha256, meta_init_path
from alteredavatar.adapt.style_file import apply_style, load_style
from alteredavatar.avatar.pretrained import PRETRAINED_NET, load_avatar_net, load_avatar_with_reference
from alteredavatar.cli import main
from alteredavatar.errors import AssetMissingError, ConfigError
from alteredavatar.meta.avatar_tasks import AvatarTaskFamily, TaskFamilyConfig, geometry_score
from alteredavatar.meta.bank import StyleBank
from alteredavatar.meta.run import meta_train
from alteredavatar.adapt.loop import AdaptConfig

TINY_RUN = """
algorithm: reptile
reptile: {inner_steps: 1, inner_lr: 0.02, outer_lr: 1.0, outer_lr_final: 0.5}
train: {outer_steps: 2, tasks_per_step: 1, checkpoint_every: 1, eval_every: 2, seed: 0}
tasks: {guidance: texture, identities: [ada, bo], batch: 1, res: 32, strength: 0.5}
eval: {styles: 1, steps: 1}
styles:
  train: {procedural: {kinds: [stripes, marble], seeds: 0-1}}
  held_out: {procedural: {kinds: [dots], seeds: [100]}}
"""


def test_sampler_is_deterministic_and_splits_tasks_across_ranks(tiny_net_path):
    bank = StyleBank.from_dict({"train": {"procedural": {"kinds": ["stripes", "marble", "dots"], "seeds": "0-3"}}})
    fam = AvatarTaskFamily(load_avatar_net(tiny_net_path), TaskFamilyConfig(adapt=AdaptConfig(batch=1, res=32)))
    sample = fam.sampler(bank.train, tasks_per_rank=2, seed=0)
    one = [t.name for t in sample(5, 0, 1)]
    assert one == [t.name for t in sample(5, 0, 1)]
    # 2 ranks x 2 tasks together draw exactly what 1 process drawing 4 tasks draws.
    two = sorted(t.name for r in range(2) for t in sample(5, r, 2))
    assert two == sorted(t.name for t in fam.sampler(bank.train, tasks_per_rank=4, seed=0)(5, 0, 1))
    loss = sample(0, 0, 1)[0].loss(torch.Generator().manual_seed(0))
    assert loss.requires_grad and torch.isfinite(loss)


def test_meta_train_cli_writes_init_and_stylize_starts_from_it(tmp_path, tiny_net_path, monkeypatch):
    cfg = tmp_path / "run.yaml"
    cfg.write_text(TINY_RUN.replace("outer_lr_final: 0.5}", "outer_lr_final: 0.5, learn_rates: true}"))
    out = tmp_path / "meta"
    assert main(["meta-train", str(cfg), "--out", str(out), "--net", str(tiny_net_path)]) == 0
    meta = json.loads((out / "init.json").read_text())
    assert meta["algorithm"] == "reptile" and meta["guidance"] == "texture" and "meta-train" in meta["command"]
    assert meta["eval_history"], "held-out evaluation ran"
    rates = meta["lr_schedule"]  # 1 inner step x every style tensor, learned (moved off inner_lr)
    assert len(rates["lr"]) == 1 and len(rates["lr"][0]) == len(rates["tensors"]) == len(load_avatar_net(tiny_net_path).style_state())
    assert any(abs(r - 0.02) > 1e-4 for r in rates["lr"][0])
    monkeypatch.setattr(adapt_run, "meta_init_path", lambda guidance: out / "init.safetensors")
    style = tmp_path / "style.png"
    from alteredavatar.export.media import to_uint8, write_png
    from alteredavatar.guidance.procedural import procedural_style

    write_png(to_uint8(procedural_style("noise", 5, 32)[None])[0], style)
    sty = tmp_path / "sty"
    args = ["stylize", "--net", str(tiny_net_path), "--out", str(sty), "--style.image", str(style),
            "--style.guidance", "texture", "--adapt.steps", "1", "--adapt.batch", "1", "--adapt.res", "32",
            "--output.frames", "2", "--output.res", "32", "--output.ssaa", "1"]
    assert main(args) == 0
    used = json.loads((sty / "style.json").read_text())
    assert used["init"] == "meta:init.safetensors" and used["lr"] == "learned per-step rates of the init"
    assert "init_note" not in used
    assert main([*args, "--no-learned-rates", "--overwrite"]) == 0  # reruns replace the run in sty
    assert json.loads((sty / "style.json").read_text())["lr"] == 0.02
    assert main([*args, "--init", "unstylized", "--overwrite"]) == 0
    used = json.loads((sty / "style.json").read_text())
    assert used["init"] == "unstylized" and "init_note" not in used  # asked for, so nothing to explain


def test_tasks_of_one_step_draw_different_random_streams(tiny_net_path):
    bank = StyleBank.from_dict({"train": {"procedural": {"kinds": ["stripes"], "seeds": [0]}}})
    fam = AvatarTaskFamily(load_avatar_net(tiny_net_path), TaskFamilyConfig(adapt=AdaptConfig(batch=1, res=32)))
    a, b = fam.sampler(bank.train, tasks_per_rank=2, seed=0)(3, 0, 1)
    assert a.name.split("@")[0] == b.name.split("@")[0] and a.seed != b.seed


def train_with_rates(tmp_path, name: str, config: str, net_path, rates_file: str):
    """Meta-train `config` into tmp_path/name; (init, its metadata, learned rates, their metadata), with the
    rates checked to be positive and keyed like the init."""
    cfg = tmp_path / f"{name}.yaml"
    cfg.write_text(config)
    meta_train(cfg, tmp_path / name, net_path=net_path, progress=False)
    init, meta = load_style(tmp_path / name / "init.safetensors")
    rates, rates_meta = load_style(tmp_path / name / rates_file)
    assert set(rates) == set(init) and all(bool((r > 0).all()) for r in rates.values())
    return init, meta, rates, rates_meta


def test_warm_start_continues_an_earlier_init_and_metasgd_saves_its_rates(tmp_path, tiny_net_path):

    init_a, _, _, rates_meta = train_with_rates(
        tmp_path, "a", TINY_RUN.replace("algorithm: reptile", "algorithm: metasgd\nmetasgd: {inner_steps: 1, "
                                        "inner_lr: 0.02, outer_lr: 0.01, alpha_init: normalized}"),
        tiny_net_path, "init_alpha.safetensors")
    assert rates_meta["kind"] == "meta-sgd-rates"

    # Stage 2 starts from stage 1's init; with a negligible outer rate it ends where it started.
    second = tmp_path / "second.yaml"
    second.write_text(TINY_RUN.replace("outer_lr: 1.0, outer_lr_final: 0.5", "outer_lr: 1.0e-12, outer_lr_final: 1.0e-12")
                      .replace("seed: 0}", f"seed: 0, init: {tmp_path / 'a' / 'init.safetensors'}}}"))
    meta_train(second, tmp_path / "b", net_path=tiny_net_path, progress=False)
    init_b, meta_b = load_style(tmp_path / "b" / "init.safetensors")
    unstylized = load_avatar_net(tiny_net_path).style_state()
    assert any(not torch.equal(init_a[k], unstylized[k]) for k in init_a)
    for k in init_a:
        torch.testing.assert_close(init_b[k], init_a[k], rtol=0, atol=1e-9)
    assert meta_b["config"]["train"]["init"].endswith("init.safetensors")
    assert meta_b["warm_start"]["config"]["algorithm"] == "metasgd"  # stage 1's provenance travels along

    missing = tmp_path / "missing.yaml"
    missing.write_text(TINY_RUN.replace("seed: 0}", "seed: 0, init: nowhere/init.safetensors}"))
    with pytest.raises(ConfigError, match="train.init: nowhere"):
        meta_train(missing, tmp_path / "c", net_path=tiny_net_path, progress=False)


RATE_RUNS = {  # algorithm options of a run that learns inner rates, and where it saves them
    "per-step": ("reptile: {inner_steps: 2, inner_lr: 0.02, outer_lr: OUTER, outer_lr_final: OUTER, "
                 "learn_rates: true, rates_lr: RATES}", "lr_schedule"),
    "per-element": ("reptile: {inner_steps: 1, inner_lr: 0.02, outer_lr: OUTER, outer_lr_final: OUTER, "
                    "learn_rates: true, rates_per_step: false, rates_per_element: true, rates_lr: RATES}",
                    "init_rates.safetensors"),
    "metasgd": ("algorithm: metasgd\nmetasgd: {inner_steps: 1, inner_lr: 0.02, outer_lr: OUTER, "
                "outer_lr_alpha: RATES}", "init_alpha.safetensors"),
}


def saved_rates(run, where: str) -> dict[str, torch.Tensor]:
    if where == "lr_schedule":
        table = json.loads((run / "init.json").read_text())["lr_schedule"]
        return dict(zip(table["tensors"], torch.tensor(table["lr"]).t()))
    return load_style(run / where)[0]


@pytest.mark.parametrize("kind", list(RATE_RUNS))
def test_warm_start_also_carries_the_learned_rates(tmp_path, tiny_net_path, kind):
    """A stage that warm-starts from an init continues its learned inner rates instead of restarting them at
    inner_lr: with negligible outer rates, stage 2 ends with stage 1's rates."""
    options, where = RATE_RUNS[kind]
    base = TINY_RUN.replace("algorithm: reptile\nreptile: {inner_steps: 1, inner_lr: 0.02, outer_lr: 1.0, "
                            "outer_lr_final: 0.5}", options)
    for name, outer, rates in (("a", "0.01", "0.3"), ("b", "1.0e-12", "1.0e-12")):
        cfg = base.replace("OUTER", outer).replace("RATES", rates)
        if name == "b":
            cfg = cfg.replace("seed: 0}", f"seed: 0, init: {tmp_path / 'a' / 'init.safetensors'}}}")
        (tmp_path / f"{name}.yaml").write_text(cfg)
        meta_train(tmp_path / f"{name}.yaml", tmp_path / name, net_path=tiny_net_path, progress=False)
    first, second = saved_rates(tmp_path / "a", where), saved_rates(tmp_path / "b", where)
    assert any(not torch.allclose(r.float(), torch.full_like(r.float(), 0.02)) for r in first.values())  # learned
    for k in first:
        torch.testing.assert_close(second[k].double(), first[k].double(), rtol=1e-6, atol=0)
    assert json.loads((tmp_path / "b" / "init.json").read_text())["warm_start"]["rates"] == where


def test_element_rates_are_saved_next_to_the_init(tmp_path, tiny_net_path):
    """Reptile with rates_per_element writes its learned per-element Adam rates as init_rates.*."""

    init, meta, rates, rates_meta = train_with_rates(
        tmp_path, "run", TINY_RUN.replace("outer_lr_final: 0.5}", "outer_lr_final: 0.5, learn_rates: true, "
                                          "rates_per_step: false, rates_per_element: true}"),
        tiny_net_path, "init_rates.safetensors")
    assert rates_meta["kind"] == "adam-element-rates" and "lr_schedule" not in meta
    assert {k: v.shape for k, v in rates.items()} == {k: v.shape for k, v in init.items()}
    assert any(not torch.allclose(r, torch.full_like(r, 0.02)) for r in rates.values())  # learned, not inner_lr


def test_shipped_init_was_made_for_the_shipped_network():
    """`stylize` silently starts unstylized when the init's network hash differs, so guard the pair we ship."""
    state, meta = load_style(meta_init_path("texture"))
    assert meta["avatar_net_sha256"] == file_sha256(PRETRAINED_NET)
    net = load_avatar_net()
    apply_style(net, state)  # shapes match this network
    assert meta["kind"] == "meta-init" and meta["algorithm"] == "reptile"


def test_geometry_score_is_zero_when_unchanged_and_reports_displacement_in_mm(tiny_net_path):
    avatar, source = load_avatar_with_reference("builtin:ada", net_path=tiny_net_path)
    assert geometry_score(avatar, source) == 0.0
    with torch.no_grad():  # shift the finest bias map: moves albedo and displacement
        avatar.net.mappers[-1].conv2.bias.add_(torch.linspace(-2, 2, avatar.net.mappers[-1].conv2.bias.numel()))
    moved = geometry_score(avatar, source)
    assert 0.01 < moved <= 10.0 + 1e-4, moved  # displacement is at most 1 cm (tanh), so RMS <= 10 mm


def test_meta_train_with_clip_guidance_on_text_prompts(tmp_path, tiny_net_path, tiny_clip_path):
    """Prompts as tasks (CLIP guidance, a tiny CLIP): the init moves, and the periodic held-out evaluation
    scores the text styles by CLIP similarity to their prompts."""
    cfg = tmp_path / "clip.yaml"
    cfg.write_text(TINY_RUN.replace("tasks: {guidance: texture,", f"tasks: {{guidance: clip, clip: {tiny_clip_path},")
                   .replace("train: {procedural: {kinds: [stripes, marble], seeds: 0-1}}",
                            'train: {texts: ["a marble statue", "a comic book drawing"]}')
                   .replace("held_out: {procedural: {kinds: [dots], seeds: [100]}}",
                            'held_out: {texts: ["a bronze sculpture"], procedural: {kinds: [dots], seeds: [100]}}')
                   .replace("eval: {styles: 1,", "eval: {styles: 2,"))
    summary = meta_train(cfg, tmp_path / "clip", net_path=tiny_net_path, progress=False)
    (entry,) = summary["history"]
    assert set(entry) == {"step", "held_out_clip_text_similarity_after_1_steps", "held_out_style_after_1_steps"}
    assert -1.0 <= entry["held_out_clip_text_similarity_after_1_steps"] <= 1.0
    init, meta = load_style(tmp_path / "clip" / "init.safetensors")
    assert meta["guidance"] == "clip" and meta["tasks"]["clip"] == str(tiny_clip_path)
    unstylized = load_avatar_net(tiny_net_path).style_state()
    assert any(not torch.equal(init[k], unstylized[k]) for k in init)


def test_meta_train_without_clip_weights_fails_before_any_work(tmp_path, tiny_net_path):
    """Missing CLIP weights: a clear error naming the config key, before a checkpoint or output is written."""
    cfg = tmp_path / "clip.yaml"
    missing = tmp_path / "no_clip_here"
    cfg.write_text(TINY_RUN.replace("tasks: {guidance: texture,", f"tasks: {{guidance: clip, clip: {missing},")
                   .replace("train: {procedural: {kinds: [stripes, marble], seeds: 0-1}}",
                            'train: {texts: ["a marble statue"]}'))
    with pytest.raises(AssetMissingError, match=r"tasks: \{clip: DIR\}"):
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
