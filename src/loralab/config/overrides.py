"""Catch a misspelled key on the command line before Hydra does, and say which key was meant.

Hydra's own message for ``trainer.max_stepz=3`` suggests appending it with ``+``, which the strict
schema then rejects too; the useful answer is the nearest real key."""

from __future__ import annotations

import difflib
from functools import lru_cache

from omegaconf import DictConfig, OmegaConf

from .schema import RunConfig


@lru_cache(maxsize=1)
def _schema() -> DictConfig:
    return OmegaConf.structured(RunConfig)


def _all_keys(node: DictConfig, prefix: str = "") -> list[str]:
    keys = []
    for key in node.keys():
        path = f"{prefix}{key}"
        keys.append(path)
        child = node._get_node(key)
        if isinstance(child, DictConfig) and OmegaConf.get_type(child) is not dict:
            keys += _all_keys(child, f"{path}.")
    return keys


def _exists(key: str) -> bool:
    node = _schema()
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return False
        node = node._get_node(part)
        if isinstance(node, DictConfig) and OmegaConf.get_type(node) is dict:
            return True  # a free-form mapping (env.variables, data.generator.mix): any sub-key is fine
    return True


def unknown_key_problems(overrides: list[str], groups: set[str]) -> list[str]:
    """One message per ``key=value`` override whose key the schema does not have. Group choices
    (``lora=r16``), additions (``+x=``), deletions (``~x``), flags and ``hydra.*`` are Hydra's business."""
    problems = []
    for arg in overrides:
        if arg.startswith(("-", "+", "~")) or "=" not in arg:
            continue
        key = arg.split("=", 1)[0]
        if "/" in key or "@" in key or key in groups or key.split(".")[0] == "hydra" or _exists(key):
            continue
        close = difflib.get_close_matches(key, _all_keys(_schema()), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]}?" if close else "no similar key exists"
        problems.append(f"unknown config key '{key}' in '{arg}': {hint} "
                        "(`loralab-train --cfg job` prints every key; docs/CONFIG.md explains them)")
    return problems
