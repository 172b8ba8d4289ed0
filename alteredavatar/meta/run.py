"""`meta-train CONFIG`: a run config (a preset or a YAML file, see `meta/config.py`) -> a meta-learned
initialization of the style parameters.

Writes `<out>/ckpt.*` (resumable) and `<out>/init.safetensors` + `init.json` (a style file: the
initialization, the command and config that made it, where each stretch of it ran (`segments`: start
or resume step, device, processes), and the avatar network's hash); Meta-SGD also writes its learned
per-parameter inner rates as `<out>/init_alpha.*`.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from alteredavatar.adapt.run import file_sha256
from alteredavatar.adapt.style_file import apply_style, load_style, save_style
from alteredavatar.avatar.pretrained import PRETRAINED_NET, load_avatar_net
from alteredavatar.device import resolve_device
from alteredavatar.errors import AssetMissingError, ConfigError
from alteredavatar.guidance.clip import load_clip
from alteredavatar.meta import distributed
from alteredavatar.meta.algorithms import make_algorithm
from alteredavatar.meta.avatar_tasks import AvatarTaskFamily, clip_text_score, style_score
from alteredavatar.meta.bank import StyleBank
from alteredavatar.meta.config import HeldOutEvalConfig, MetaTrainConfig
from alteredavatar.meta.trainer import MetaTrainer

EVAL_SEED = 4321  # the held-out evaluator's texture seed (training uses 0)
ALPHA_STEM = "init_alpha"  # Meta-SGD's learned α beside the init


def warm_start(net, init: Path, net_path: Path) -> dict:
    """Start the style parameters from an earlier initialization made for this same network; returns its
    provenance (path, command, config, its own warm start if any) for the new init's JSON."""
    if not init.exists():
        raise ConfigError(f"train.init: {init} does not exist (run the meta-training that makes it first)")
    state, meta = load_style(init)
    sha = meta.get("avatar_net_sha256")
    if sha and sha != file_sha256(net_path):
        raise ConfigError(f"train.init: {init} was made for another avatar network than {net_path}")
    apply_style(net, state)
    return {"path": str(init), **{k: meta[k] for k in ("command", "config", "warm_start") if k in meta}}


def meta_train(
    cfg: MetaTrainConfig,
    out: Path,
    resume: bool = False,
    net_path: Path | None = None,
    progress: bool = True,
    command: str = "",
) -> dict:
    """Run meta-training; returns a summary (and writes the initialization on rank 0)."""
    cfg.check()
    distributed.init_from_env()  # before the device: under torchrun each rank has its own GPU
    device = resolve_device(cfg.device)
    bank = StyleBank.from_config(cfg.styles)
    if cfg.tasks.guidance != "clip" and any(e.kind == "text" for e in bank.train + bank.held_out):
        raise ConfigError(
            f"text styles need tasks.guidance clip; {cfg.tasks.guidance} guidance takes images only"
        )
    if cfg.tasks.guidance == "clip":  # fail here, saying how to get the weights, not at the first task
        try:
            load_clip(cfg.tasks.clip, device)  # cached: the tasks' guides reuse it
        except AssetMissingError as err:
            raise AssetMissingError(f"{err}\nFor meta-train, pass the folder as --tasks.clip DIR.") from None
    net_path = net_path or PRETRAINED_NET
    net = load_avatar_net(net_path).to(device)
    family = AvatarTaskFamily(net, cfg.tasks)  # freezes the unstylized reference first
    algo = make_algorithm(cfg.algorithm, net.style_parameters(), cfg.algorithm_config())
    started_from = warm_start(net, Path(cfg.train.init), net_path) if cfg.train.init else None
    sampler = family.sampler(bank.train, cfg.train.tasks_per_step, cfg.train.seed)
    trainer = MetaTrainer(
        algo,
        sampler,
        cfg.train,
        out,
        eval_fn=held_out_eval(family, algo, bank, cfg.eval),
        where={"device": str(device)},
    )
    result = trainer.run(resume=resume, progress=progress)
    summary = {"steps": result.step, "history": result.history}
    if distributed.is_main():
        meta = {
            "kind": "meta-init",
            "algorithm": algo.name,
            "guidance": family.cfg.guidance,
            "command": command or f"alteredavatar meta-train CONFIG --out {out}",
            "config": asdict(cfg),
            "segments": result.segments,
            "avatar_net": str(net_path),
            "avatar_net_sha256": file_sha256(net_path),
            "eval_history": result.history,
        }
        if started_from:
            meta["warm_start"] = started_from
        save_style(out, net.style_state(), meta, stem="init")
        if hasattr(algo, "alpha"):  # Meta-SGD's test-time rule needs its learned per-parameter rates too
            rates = {name: a.detach().clone() for name, a in zip(net.style_state(), algo.alpha)}
            save_style(out, rates, {**meta, "kind": "meta-sgd-rates"}, stem=ALPHA_STEM)
        summary["init"] = str(out / "init.safetensors")
    return summary


def held_out_eval(family: AvatarTaskFamily, algo, bank: StyleBank, opts: HeldOutEvalConfig):
    """eval_fn: adapt a few steps on the first `eval.styles` held-out styles from the current init and score
    them: image styles by the other-seed texture distance (lower is better), text prompts by CLIP similarity
    to the prompt (higher is better; the training CLIP, so a progress signal rather than an independent
    judge)."""
    entries = bank.held_out[: opts.styles]
    steps = opts.steps
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
        keys = {
            "style": f"held_out_style_after_{steps}_steps",
            "clip": f"held_out_clip_text_similarity_after_{steps}_steps",
        }
        return {keys[k]: sum(v) / len(v) for k, v in scores.items() if v}

    return evaluate
