"""Catch a misspelled key on the command line before Hydra does, and say which key was meant.

Hydra's own message for ``trainer.max_stepz=3`` suggests appending it with ``+``, which the strict
schema then rejects too; the useful answer is the nearest real key."""

from __future__ import annotations

import difflib
from functools import lru_cache

from omegaconf import DictConfig, OmegaConf

from .schema import RunConfig


@lru_cache(maxsize=1)
def _schemas() -> tuple[DictConfig, ...]:
    """The run's schema, and each registered task's settings under ``data`` (which its data options add)."""
    from ..data import sources

    return (OmegaConf.structured(RunConfig),
            *(OmegaConf.create({"data": OmegaConf.structured(node)}) for node in sources.task_schemas().values()))


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
    return any(_exists_in(schema, key) for schema in _schemas())


def _exists_in(node: DictConfig, key: str) -> bool:
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return False
        node = node._get_node(part)
        if isinstance(node, DictConfig) and OmegaConf.get_type(node) is dict:
            return True  # a free-form mapping (env.variables, data.generator.mix): any sub-key is fine
    return True


def unknown_key_hint(key: str) -> str | None:
    """None when the schema has ``key``; otherwise the nearest real key, as a hint."""
    if _exists(key):
        return None
    parts = key.split(".")
    ancestors = {".".join(parts[:i]) for i in range(1, len(parts))}
    candidates = [k for k in dict.fromkeys(k for schema in _schemas() for k in _all_keys(schema)) if k not in ancestors]
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}?"
    parent = ".".join(parts[:-1])
    return f"{parent} has no key '{parts[-1]}'" if parent in ancestors and _exists(parent) else "no similar key exists"


def unknown_key_problems(overrides: list[str], groups: set[str]) -> list[str]:
    """One message per ``key=value`` override whose key the schema does not have, with or without
    Hydra's ``+``/``++`` (which would add the key: loralab's schema has every key a run reads, so an
    added one is a typo). Group choices (``lora=r16``, ``+experiment=x``), deletions (``~x``),
    flags and ``hydra.*`` are Hydra's business."""
    problems = []
    for arg in overrides:
        if arg.startswith(("-", "~")) or "=" not in arg:
            continue
        key = arg.split("=", 1)[0].lstrip("+")
        if "/" in key or "@" in key or key in groups or key.split(".")[0] == "hydra":
            continue
        hint = unknown_key_hint(key)
        if hint is not None:
            problems.append(f"unknown config key '{key}' in '{arg}': {hint} "
                            "(`loralab-train --cfg job` prints every key; docs/CONFIG.md explains them)")
    return problems
