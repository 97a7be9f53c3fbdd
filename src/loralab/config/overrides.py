"""Catch a misspelled key on the command line before Hydra does, and say which key was meant.

Hydra's own message for ``trainer.max_stepz=3`` suggests appending it with ``+``, which the strict
schema then rejects too; the useful answer is the nearest real key."""

from __future__ import annotations

import difflib
from functools import lru_cache

from omegaconf import DictConfig, OmegaConf

from .schema import RunConfig


@lru_cache(maxsize=1)
def _task_schemas() -> dict[str, DictConfig]:
    """Each registered task's settings under ``data`` (which its data options add), by task."""
    from ..data import sources

    return {task: OmegaConf.create({"data": OmegaConf.structured(node)}) for task, node in sources.task_schemas().items()}


def _schemas(data_source: str | None = None) -> tuple[DictConfig, ...]:
    """The run's schema with every task's settings; a run on the user's own files has none of them."""
    from ..data.sources import FILES

    return (_core(), *(_task_schemas().values() if data_source != FILES else ()))


@lru_cache(maxsize=1)
def _core() -> DictConfig:
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


def _exists(key: str, data_source: str | None = None) -> bool:
    return any(_exists_in(schema, key) for schema in _schemas(data_source))


def _exists_in(node: DictConfig, key: str) -> bool:
    for part in key.split("."):
        if not isinstance(node, DictConfig) or part not in node:
            return False
        node = node._get_node(part)
        if isinstance(node, DictConfig) and OmegaConf.get_type(node) is dict:
            return True  # a free-form mapping (env.variables, data.generator.mix): any sub-key is fine
    return True


def unknown_key_hint(key: str, data_source: str | None = None) -> str | None:
    """None when the schema has ``key``; otherwise the nearest real key, as a hint. A task's settings
    are not keys of a run on the user's own files (``data_source="files"``)."""
    if _exists(key, data_source):
        return None
    owner = next((task for task, schema in _task_schemas().items() if _exists_in(schema, key)), None)
    if owner is not None:
        return (f"a setting of the {owner} task, which this run does not use (data.source={data_source}): "
                f"drop it, or choose a data option of that task")
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
