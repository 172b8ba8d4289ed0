"""meta-train's typed config: presets, strict YAML (key names in every error), flags over the file."""

import pytest

from alteredavatar.cli import main
from alteredavatar.errors import ConfigError
from alteredavatar.meta.bank import StyleBank
from alteredavatar.meta.config import MetaTrainConfig, load_meta_config
from alteredavatar.meta.presets import PRESETS


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_config_with_disjoint_splits(name):
    cfg = load_meta_config(name)
    bank = StyleBank.from_config(cfg.styles)
    assert bank.train and bank.held_out
    assert cfg.algorithm_config().inner_steps >= 1


def test_shipped_chain_warm_starts_stage_by_stage():
    assert load_meta_config("texture-stage2").train.init == "runs/texture-stage1/init.safetensors"
    assert load_meta_config("texture").train.init == "runs/texture-stage2/init.safetensors"
    assert load_meta_config("texture").algorithm_config().total_steps == 130  # anneals over its own run


def test_yaml_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("train: {outer_steps: 7}\ntasks: {adapt: {res: 64}}\n")
    cfg = load_meta_config(path)
    default = MetaTrainConfig()
    assert cfg.train.outer_steps == 7 and cfg.train.seed == default.train.seed
    assert cfg.tasks.adapt.res == 64 and cfg.tasks.adapt.batch == default.tasks.adapt.batch
    assert cfg.styles.root == str(tmp_path)  # style paths are relative to the file


@pytest.mark.parametrize(
    "text,message",
    [
        ("train: {outer_steps: ten}", "`train.outer_steps` must be int, got str 'ten'"),
        ("42", "the config must be a mapping"),
        ("tasks: [a, b]", "`tasks` must be a mapping"),
        ("algoritm: fomaml", "unknown key `algoritm`"),
        ("reptile: {inner_stepz: 3}", "unknown key `reptile.inner_stepz`"),
        ("train: {outer_steps: -5}", "train.outer_steps must be >= 1, got -5"),
        ("algorithm: maml", "`algorithm` must be one of reptile, fomaml, metasgd"),
        ("tasks: {identities: ada}", "`tasks.identities` must be a list"),
        ("train: {outer_steps: true}", "`train.outer_steps` must be int, got bool"),
        ("reptile: {inner_lr: 0}", "reptile.inner_lr and outer_lr must be > 0"),
        ("styles: {train: {procedural: {seeds: x-y}}}", "procedural seeds must be a range"),
        ("train: {outer_steps: [1}", "not valid YAML"),
    ],
)
def test_bad_yaml_is_refused_naming_the_key(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        cfg = load_meta_config(path)
        StyleBank.from_config(cfg.styles)
    assert message in str(err.value)


def test_unknown_config_source_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="neither a preset"):
        load_meta_config("textur")
    with pytest.raises(ConfigError, match="cannot read meta-train config"):
        load_meta_config(tmp_path / "missing.yaml")


def test_cli_refuses_bad_config_and_flags_before_any_work(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["meta-train", "texture", "--out", str(out), "--train.outer-steps", "0"]) == 2
    assert "train.outer_steps must be >= 1" in capsys.readouterr().err
    assert main(["meta-train", "--out", str(out)]) == 2
    assert "needs CONFIG first" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # tyro's own usage error for a flag that does not exist
        main(["meta-train", "texture", "--out", str(out), "--train.outer-stepz", "3"])
    assert not out.exists()
