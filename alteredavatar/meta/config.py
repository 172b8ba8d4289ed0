"""`meta-train`'s run config: one typed tree, `MetaTrainConfig`, from a named preset or a YAML file.

Every default lives in one place: the dataclasses below and those of the stages they nest (`TrainConfig`,
`TaskFamilyConfig` with `AdaptConfig` / `ObjectiveConfig`, the algorithms' configs). A YAML file is a partial
tree of the same keys, read strictly (an unknown key or a wrong type is refused with its dotted name); the CLI
then lets tyro override any field with a flag (`--train.outer-steps 10`). Presets live in `meta/presets.py`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from alteredavatar.errors import ConfigError
from alteredavatar.meta.algorithms import FOMAMLConfig, MetaSGDConfig, ReptileConfig
from alteredavatar.meta.avatar_tasks import TaskFamilyConfig
from alteredavatar.meta.bank import StyleBankConfig
from alteredavatar.meta.trainer import TrainConfig


@dataclass
class HeldOutEvalConfig:
    """Every `train.eval_every` outer steps: adapt the first `styles` held-out styles `steps` steps and
    score them."""

    styles: int = 3
    steps: int = 5


@dataclass
class MetaTrainConfig:
    """A whole meta-training run."""

    algorithm: Literal["reptile", "fomaml", "metasgd"] = "reptile"
    reptile: ReptileConfig = field(default_factory=ReptileConfig)
    """Used when algorithm is reptile (`total_steps` unset: anneal over train.outer_steps)."""
    fomaml: FOMAMLConfig = field(default_factory=FOMAMLConfig)
    metasgd: MetaSGDConfig = field(default_factory=MetaSGDConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    tasks: TaskFamilyConfig = field(default_factory=TaskFamilyConfig)
    eval: HeldOutEvalConfig = field(default_factory=HeldOutEvalConfig)
    styles: StyleBankConfig = field(default_factory=StyleBankConfig)
    device: str = "auto"
    """`auto` (CUDA when torch sees a GPU, else CPU), `cpu`, `cuda` or `cuda:N`."""

    def algorithm_config(self) -> ReptileConfig | FOMAMLConfig | MetaSGDConfig:
        """The chosen algorithm's config; Reptile's outer rate anneals over the run unless told otherwise."""
        cfg = getattr(self, self.algorithm)
        if isinstance(cfg, ReptileConfig) and cfg.total_steps is None:
            cfg = dataclasses.replace(cfg, total_steps=self.train.outer_steps)
        return cfg

    def check(self) -> None:
        """Refuse values that cannot work, naming the key."""
        self.train.check()
        try:
            self.algorithm_config().check()
        except ConfigError as exc:
            raise ConfigError(f"{self.algorithm}.{exc}") from None
        if self.eval.styles < 0 or self.eval.steps < 1:
            raise ConfigError(
                f"eval.styles must be >= 0 and eval.steps >= 1, got {self.eval.styles}, {self.eval.steps}"
            )
        if self.tasks.guidance not in ("texture", "clip", "vgg"):
            raise ConfigError(f"tasks.guidance must be texture, vgg or clip, got {self.tasks.guidance!r}")
        self.tasks.adapt.check()


def load_meta_config(source: str | Path) -> MetaTrainConfig:
    """A preset by name (`meta/presets.py`) or a YAML file's tree over the defaults; checked."""
    from alteredavatar.meta.presets import PRESETS

    if str(source) in PRESETS:
        cfg = PRESETS[str(source)]()
    else:
        path = Path(source)
        if path.suffix not in (".yaml", ".yml"):
            raise ConfigError(
                f"meta-train: {source!r} is neither a preset ({', '.join(PRESETS)}) nor a .yaml file"
            )
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read meta-train config {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        cfg = from_dict(MetaTrainConfig, {} if data is None else data, f"{path}")
        if "root" not in ((data or {}).get("styles") or {}):
            cfg.styles.root = str(path.parent)
    cfg.check()
    return cfg


def from_dict(cls: type, data: Any, where: str, prefix: str = "", base: Any = None) -> Any:
    """`base` (default: `cls()`) with the fields a mapping names replaced, strictly: unknown keys and wrong
    types are errors naming the dotted key (`where` names the file). Nested mappings update nested configs
    the same way."""
    if not isinstance(data, dict):
        what = f"`{prefix.rstrip('.')}`" if prefix else "the config"
        raise ConfigError(f"{where}: {what} must be a mapping of keys, got {_kind(data)}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - known, key=str)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key `{prefix}{unknown[0]}` (known here: {', '.join(sorted(known))})"
        )
    base = cls() if base is None else base
    values = {}
    for key, value in data.items():
        current = getattr(base, key)
        values[key] = _convert(hints[key], value, where, f"{prefix}{key}", current)
    return dataclasses.replace(base, **values)


def _convert(tp: Any, value: Any, where: str, key: str, current: Any) -> Any:
    """`value` as type `tp` (int, float, str, bool, Path, Literal, tuple[X, ...], X | None, dataclass)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where, key, current)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where, f"{key}.", current if dataclasses.is_dataclass(current) else None)
    if origin is Literal:
        if value not in args:
            raise ConfigError(f"{where}: `{key}` must be one of {', '.join(map(str, args))}, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: `{key}` must be a list, got {_kind(value)}")
        return tuple(_convert(args[0], v, where, f"{key}[{i}]", None) for i, v in enumerate(value))
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, int | float) and not isinstance(value, bool),
        str: isinstance(value, str | int),
        Path: isinstance(value, str),
    }
    if tp not in ok:
        raise ConfigError(f"{where}: `{key}` has a type this reader does not know ({tp})")
    if not ok[tp]:
        raise ConfigError(
            f"{where}: `{key}` must be {tp.__name__ if tp is not Path else 'a path'}, got {_kind(value)}"
        )
    return tp(value)


def _kind(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]
