"""`meta-train CONFIG`: a YAML run config -> a meta-learned initialization of the style parameters.

Config (all keys optional except `styles.train`; see configs/meta_texture.yaml):

    algorithm: reptile            # reptile | fomaml | metasgd
    device: auto                  # auto | cpu | cuda | cuda:N (or `meta-train --device`)
    reptile: {inner_steps: 5, inner_lr: 0.02, outer_lr: 1.0, outer_lr_final: 0.1, learn_rates: false}
    train: {outer_steps: 150, tasks_per_step: 2, checkpoint_every: 10, eval_every: 25, seed: 0,
            init: runs/earlier/init.safetensors}   # optional: continue from an earlier initialization
                                                   # (and its learned rates, where this run learns the same kind)
    tasks: {guidance: texture, identities: [ada, bo, chen, dev, eli], batch: 2, res: 96, strength: 0.5}
                                  # (+ smooth_eps: the displacement TV's Charbonnier width, 0 = L1)
    eval: {styles: 4, steps: 5}
    styles: {train: {...}, held_out: {...}}   # see meta/bank.py

Writes `<out>/ckpt.*` (resumable) and `<out>/init.safetensors` + `init.json` (a style file: the
initialization, the command and config that made it, where each stretch of it ran (`segments`: start
or resume step, device, processes), and the avatar network's hash; with Reptile's
`learn_rates`, also its learned per-step rates as `lr_schedule`); Meta-SGD also writes its learned
per-parameter inner rates as `<out>/init_alpha.*`, and Reptile with `rates_per_element` its per-element Adam
rates as `<out>/init_rates.*`.
"""

from __future__ import annotations

import shlex
from dataclasses import asdict
from pathlib import Path

import torch
import yaml

from alteredavatar.adapt.loop import AdaptConfig
from alteredavatar.adapt.objective import ObjectiveConfig
from alteredavatar.adapt.run import file_sha256
from alteredavatar.adapt.schedule import LrSchedule
from alteredavatar.adapt.style_file import apply_style, load_style, save_style
from alteredavatar.avatar.pretrained import PRETRAINED_NET, load_avatar_net
from alteredavatar.device import resolve_device
from alteredavatar.errors import AssetMissingError, ConfigError
from alteredavatar.guidance.clip import load_clip
from alteredavatar.meta import distributed
from alteredavatar.meta.algorithms import FOMAMLConfig, MetaSGDConfig, Reptile, ReptileConfig, make_algorithm
from alteredavatar.meta.avatar_tasks import AvatarTaskFamily, TaskFamilyConfig, clip_text_score, style_score
from alteredavatar.meta.bank import StyleBank
from alteredavatar.meta.trainer import MetaTrainer, TrainConfig

ALGO_CONFIGS = {"reptile": ReptileConfig, "fomaml": FOMAMLConfig, "metasgd": MetaSGDConfig}
EVAL_SEED = 4321  # the held-out evaluator's texture seed (training uses 0)
ALPHA_STEM, RATES_STEM = "init_alpha", "init_rates"  # Meta-SGD's α / Reptile's per-element rates beside the init


def load_run_config(path: str | Path) -> dict:
    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read meta-train config {path}: {exc}") from None
    if "styles" not in cfg:
        raise ConfigError(f"{path}: no `styles:` section (the style bank)")
    return cfg


def build_algorithm(cfg: dict, params, total_steps: int):
    name = cfg.get("algorithm", "reptile")
    if name not in ALGO_CONFIGS:
        raise ConfigError(f"unknown algorithm {name!r}; use one of {', '.join(ALGO_CONFIGS)}")
    opts = dict(cfg.get(name, {}))
    if name == "reptile":
        opts.setdefault("total_steps", total_steps)
    try:
        algo_cfg = ALGO_CONFIGS[name](**opts)
    except TypeError as exc:
        raise ConfigError(f"bad `{name}` options: {exc}") from None
    return make_algorithm(name, params, algo_cfg)


def task_family_config(cfg: dict) -> TaskFamilyConfig:
    t = cfg.get("tasks", {})
    fam = TaskFamilyConfig(
        guidance=t.get("guidance", "texture"),
        adapt=AdaptConfig(batch=t.get("batch", 2), res=t.get("res", 96)),
        objective=ObjectiveConfig(strength=t.get("strength", 0.5),
                                  smooth_eps=t.get("smooth_eps", ObjectiveConfig.smooth_eps)),
    )
    if "identities" in t:
        fam.identities = tuple(t["identities"])
    if "clip" in t:
        fam.clip = t["clip"]
    return fam


def warm_start(net, algo, init: Path, net_path: Path) -> dict:
    """Start the style parameters from an earlier initialization made for this same network, and the
    learned inner rates from the ones saved with it when this run learns the same kind (`carry_rates`).

    Returns its provenance (path, command, config, its own warm start if any, and which rates were carried)
    for the new init's JSON."""
    if not init.exists():
        raise ConfigError(f"train.init: {init} does not exist (run the meta-training that makes it first)")
    state, meta = load_style(init)
    sha = meta.get("avatar_net_sha256")
    if sha and sha != file_sha256(net_path):
        raise ConfigError(f"train.init: {init} was made for another avatar network than {net_path}")
    apply_style(net, state)
    provenance = {"path": str(init), **{k: meta[k] for k in ("command", "config", "warm_start") if k in meta}}
    carried = carry_rates(algo, list(net.style_state()), init, meta)
    return provenance | ({"rates": carried} if carried else {})


def carry_rates(algo, names: list[str], init: Path, meta: dict) -> str | None:
    """Start `algo`'s learned inner rates from those an earlier run saved with `init` (its `lr_schedule`, or
    the `init_rates` / `init_alpha` file beside it); returns where they came from, or None when this run learns
    no rates or that run saved none of the kind."""
    kind = algo.learns_rates()
    if kind == "per-step" and "lr_schedule" in meta:
        algo.start_rates(LrSchedule.from_json(meta["lr_schedule"], names).lrs)
        return "lr_schedule"
    sidecar = init.with_name(f"{ALPHA_STEM if algo.name == 'metasgd' else RATES_STEM}.safetensors")
    if kind == "per-element" and sidecar.exists():
        rates, _ = load_style(sidecar)
        if set(rates) != set(names):
            raise ConfigError(f"train.init: {sidecar} holds rates for other style tensors than this network's")
        algo.start_rates([rates[n] for n in names])
        return sidecar.name
    return None


def meta_train(config_path: str | Path, out: Path, resume: bool = False, net_path: Path | None = None,
               progress: bool = True, stop_after: int | None = None, command: str = "",
               device: str | None = None) -> dict:
    """Run meta-training; returns a summary (and writes the initialization on rank 0).

    `device` overrides the config's `device:` (auto | cpu | cuda | cuda:N; default auto)."""
    cfg = load_run_config(config_path)
    distributed.init_from_env()  # before the device: under torchrun each rank has its own GPU
    device = resolve_device(device or cfg.get("device", "auto"))
    bank = StyleBank.from_dict(cfg["styles"], Path(config_path).parent)
    fam_cfg = task_family_config(cfg)
    if fam_cfg.guidance == "texture" and any(e.kind == "text" for e in bank.train + bank.held_out):
        raise ConfigError("text styles need `tasks: {guidance: clip}`; texture guidance takes images only")
    if fam_cfg.guidance == "clip":  # fail here, saying how to get the weights, not at the first task
        try:
            load_clip(fam_cfg.clip, device)  # cached: the tasks' guides reuse it
        except AssetMissingError as err:
            raise AssetMissingError(f"{err}\nFor meta-train, name DIR in the config: `tasks: {{clip: DIR}}`.") from None
    train = cfg.get("train", {})
    net_path = net_path or PRETRAINED_NET
    net = load_avatar_net(net_path).to(device)
    family = AvatarTaskFamily(net, fam_cfg)  # freezes the unstylized reference first
    tcfg = TrainConfig(outer_steps=train.get("outer_steps", 150), checkpoint_every=train.get("checkpoint_every", 10),
                       eval_every=train.get("eval_every", 25), seed=train.get("seed", 0), out_dir=str(out))
    algo = build_algorithm(cfg, net.style_parameters(), tcfg.outer_steps)
    started_from = warm_start(net, algo, Path(train["init"]), net_path) if train.get("init") else None
    sampler = family.sampler(bank.train, train.get("tasks_per_step", 2), tcfg.seed)
    trainer = MetaTrainer(algo, sampler, tcfg, eval_fn=held_out_eval(family, algo, bank, cfg.get("eval", {})),
                          where={"device": str(device)})
    result = trainer.run(resume=resume, progress=progress, stop_after=stop_after)
    summary = {"steps": result.step, "stopped_early": result.stopped_early, "history": result.history}
    if distributed.is_main() and not result.stopped_early:
        meta = {
            "kind": "meta-init", "algorithm": algo.name, "guidance": family.cfg.guidance,
            "command": command or f"alteredavatar meta-train {shlex.quote(str(config_path))} --out {shlex.quote(str(out))}",
            "config": cfg, "segments": result.segments, "avatar_net": str(net_path), "avatar_net_sha256": file_sha256(net_path),
            "tasks": asdict(family.cfg), "eval_history": result.history,
        }
        if started_from:
            meta["warm_start"] = started_from
        rates = algo.rates() if isinstance(algo, Reptile) else None
        if rates is not None:  # the learned per-step rates travel with the init (stylize uses them)
            meta["lr_schedule"] = LrSchedule(list(net.style_state()), rates).to_json()
        save_style(out, net.style_state(), meta, stem="init")
        if hasattr(algo, "alpha"):  # Meta-SGD's test-time rule needs its learned per-parameter rates too
            rates = {name: a.detach().clone() for name, a in zip(net.style_state(), algo.alpha)}
            save_style(out, rates, {**meta, "kind": "meta-sgd-rates"}, stem=ALPHA_STEM)
        element_rates = algo.element_rates() if isinstance(algo, Reptile) else None
        if element_rates is not None:  # per-element Adam rates (rates_per_element): too many for the JSON
            rates = {name: r.clone() for name, r in zip(net.style_state(), element_rates)}
            save_style(out, rates, {**meta, "kind": "adam-element-rates"}, stem=RATES_STEM)
        summary["init"] = str(out / "init.safetensors")
    return summary


def held_out_eval(family: AvatarTaskFamily, algo, bank: StyleBank, opts: dict):
    """eval_fn: adapt a few steps on the first `eval.styles` held-out styles from the current init and score
    them: image styles by the other-seed texture distance (lower is better), text prompts by CLIP similarity
    to the prompt (higher is better; the training CLIP, so a progress signal rather than an independent judge)."""
    entries = bank.held_out[: opts.get("styles", 4)]
    steps = opts.get("steps", 5)
    if not entries:
        return None

    def evaluate() -> dict:
        scores: dict[str, list[float]] = {"style": [], "clip": []}
        identity = family.cfg.identities[0]
        for i, entry in enumerate(entries):
            start = [p.detach().clone() for p in algo.params]
            algo.adapt(family.task(entry, identity), steps, torch.Generator().manual_seed(i))
            avatar = family.avatars(identity)[0]
            if entry.kind == "text":
                scores["clip"].append(clip_text_score(avatar, family.guide(entry).clip, entry.text))
            else:
                scores["style"].append(style_score(avatar, entry.image(), EVAL_SEED))
            with torch.no_grad():
                for p, v in zip(algo.params, start):
                    p.copy_(v)
        keys = {"style": f"held_out_style_after_{steps}_steps",
                "clip": f"held_out_clip_text_similarity_after_{steps}_steps"}
        return {keys[k]: sum(v) / len(v) for k, v in scores.items() if v}

    return evaluate

