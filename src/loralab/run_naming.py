"""How a run is named and tagged in the trackers: ``model·lora·precision·lr`` (plus the overridden
rank and the Optuna trial), the sweep as its group, and ``group:option`` tags."""

from __future__ import annotations

import re
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

SEP = "·"
# Groups that are Hydra's own, not the run's (hydra/launcher, hydra/sweeper ...).
_SKIP_CHOICE_PREFIXES = ("hydra",)


def group_choices(cfg: DictConfig, choices: dict | None) -> dict[str, str]:
    """The option chosen in each config group: Hydra's record, else each group's ``name``."""
    out = {k: str(v) for k, v in (choices or {}).items()
           if v is not None and not str(k).startswith(_SKIP_CHOICE_PREFIXES)}
    for group in ("model", "lora", "precision", "optimizer", "data", "trainer", "logger"):
        if group not in out:
            name = OmegaConf.select(cfg, f"{group}.name", default=None)
            if name:
                out[group] = str(name)
    return out


def override_keys(overrides: list[str] | None) -> set[str]:
    """``["+lora.r=16", "optimizer.lr=1e-4", "~x"]`` -> {"lora.r", "optimizer.lr", "x"}."""
    keys = set()
    for o in overrides or []:
        key = str(o).lstrip("+~").split("=", 1)[0].strip()
        if key:
            keys.add(key)
    return keys


def format_lr(lr: float) -> str:
    """2e-4 -> "2e-4", 1.5e-4 -> "1.5e-4", 0.01 -> "1e-2"."""
    mantissa, exponent = f"{float(lr):.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def run_name(cfg: DictConfig, choices: dict | None = None, overrides: list[str] | None = None) -> str:
    """``model·lora·precision·lr`` plus ``r`` when ``lora.r`` was overridden and the Optuna trial
    number in a sweep: ``qwen-1.5b-nf4·r16·bf16-a100·lr2e-4``, ``smollm2-135m·r8-all-linear·auto·lr1e-4·r32·t3``."""
    chosen = group_choices(cfg, choices)
    parts = []
    for group in ("model", "lora", "precision"):
        name = OmegaConf.select(cfg, f"{group}.name", default=None) or chosen.get(group)
        if name:
            parts.append(str(name))
    parts.append(f"lr{format_lr(cfg.optimizer.lr)}")
    keys = override_keys(overrides)
    if "lora.r" in keys:
        parts.append(f"r{cfg.lora.r}")
    if "lora.alpha" in keys and cfg.lora.alpha is not None:
        parts.append(f"a{cfg.lora.alpha}")
    trial = OmegaConf.select(cfg, "sweep.trial_number", default=None)
    if trial is not None:
        parts.append(f"t{trial}")
    return SEP.join(parts)


def run_group(record: dict) -> str | None:
    """The sweep's id for a job of a multirun: its sweep directory's name (``2026-05-01_12-00-00`` for
    Hydra's default ``multirun/<date>/<time>``); None for a single run."""
    sweep_dir = record.get("sweep_dir")
    if record.get("mode") != "MULTIRUN" or not sweep_dir:
        return None
    path = Path(str(sweep_dir))
    name, parent = path.name, path.parent.name
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", parent or ""):
        return f"{parent}_{name}"
    return name or None


def run_tags(cfg: DictConfig, choices: dict | None) -> list[str]:
    """``group:option`` for every config group (model:smollm2-135m, lora:r8-all-linear ...), plus the
    Optuna study and trial in a sweep. W&B tags are at most 64 characters and WANDB_TAGS is comma-separated."""
    tags = [f"{group}:{option}" for group, option in group_choices(cfg, choices).items()]
    study = OmegaConf.select(cfg, "sweep.study_name", default=None)
    trial = OmegaConf.select(cfg, "sweep.trial_number", default=None)
    if study:
        tags.append(f"study:{study}")
    if trial is not None:
        tags.append(f"trial:{trial}")
    return [t.replace(",", ";")[:64] for t in tags]
