import pytest

from alteredavatar.errors import ConfigError
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.guidance.procedural import KINDS, procedural_style
from alteredavatar.meta.bank import ProceduralStyles, StyleBank, StyleBankConfig, StyleSplit
from alteredavatar.meta.config import load_meta_config


def test_bank_from_yaml_with_every_source_and_a_held_out_split(tmp_path):
    (tmp_path / "imgs").mkdir()
    for i in range(2):
        write_png(to_uint8(procedural_style("dots", i, 32)[None])[0], tmp_path / "imgs" / f"s{i}.png")
    write_png(to_uint8(procedural_style("mosaic", 9, 32)[None])[0], tmp_path / "one.png")
    (tmp_path / "bank.yaml").write_text(
        "styles:\n"
        "  train:\n"
        "    procedural: {kinds: [stripes, marble], seeds: 0-2}\n"
        "    images: [one.png]\n"
        "    folders: [imgs]\n"
        "    texts: ['a bronze statue']\n"
        "  held_out:\n"
        "    procedural: {seeds: '100'}\n"
    )
    bank = StyleBank.from_config(load_meta_config(tmp_path / "bank.yaml").styles)
    kinds = [e.kind for e in bank.train]
    assert kinds.count("procedural") == 6 and kinds.count("image") == 3 and kinds.count("text") == 1
    assert len(bank.held_out) == len(KINDS)
    assert not {e.name for e in bank.train} & {e.name for e in bank.held_out}
    assert bank.train[-1].image() is None and bank.train[-1].text == "a bronze statue"
    assert bank.train[6].image(32).shape == (3, 32, 32)


def test_procedural_styles_are_deterministic_and_varied():
    a, b = procedural_style("marble", 3, 32), procedural_style("marble", 3, 32)
    assert a.equal(b)
    assert not a.equal(procedural_style("marble", 4, 32))
    means = [procedural_style(k, 0, 32).mean((1, 2)) for k in KINDS]
    assert min((m1 - m2).abs().sum() for i, m1 in enumerate(means) for m2 in means[i + 1 :]) > 0.01


def split(**procedural) -> StyleSplit:
    return StyleSplit(procedural=ProceduralStyles(**procedural))


def test_bad_banks_get_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="empty"):
        StyleBank.from_config(StyleBankConfig(train=StyleSplit()))
    with pytest.raises(ConfigError, match="unknown procedural"):
        StyleBank.from_config(StyleBankConfig(train=split(kinds=("plaid",))))
    with pytest.raises(ConfigError, match="also appear"):
        StyleBank.from_config(StyleBankConfig(train=split(seeds="1"), held_out=split(seeds="1")))
    with pytest.raises(ConfigError, match="does not exist"):
        StyleBank.from_config(StyleBankConfig(train=StyleSplit(folders=("nope",)), root=str(tmp_path)))
