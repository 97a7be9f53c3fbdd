"""Python API for notebooks and scripts, over Hydra's compose API:

    import loralab
    cfg = loralab.compose(["lora=r16", "trainer.max_steps=20"])
    result = loralab.train(cfg)            # -> RunResult(run_dir, metrics, eval_report)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from omegaconf import DictConfig


def compose(overrides: list[str] | None = None, config_name: str = "train", validate: bool = True) -> DictConfig:
    """The config `loralab-train <overrides>` would run, validated (without loading anything)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from .config.paths import config_dir
    from .config.schema import register_configs
    from .config.validation import validate as validate_cfg
    from .data import sources
    from .errors import ConfigError, Problem

    if not sources.task_names():  # the bundled data options need the task's settings schema
        raise ConfigError([Problem("data", "(any)", sources.NOT_REGISTERED)])
    register_configs()
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir()), version_base="1.3", job_name="loralab"):
        cfg = hydra_compose(config_name=config_name, overrides=list(overrides or []))
    if validate:
        validate_cfg(cfg)
    return cfg


def train(cfg: DictConfig, run_dir: str | Path | None = None):
    """Run one training job; the run directory defaults to experiments/<date>/<time>_<run_name>."""
    from .recipe import train as run

    if run_dir is None:
        stamp = dt.datetime.now().strftime("%Y-%m-%d/%H-%M-%S")
        run_dir = Path("experiments") / f"{stamp}_{cfg.run_name}"
    return run(cfg, run_dir)
