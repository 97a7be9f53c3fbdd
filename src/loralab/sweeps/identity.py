"""The problem a sweep solves, as a fingerprint: the resolved run config without the searched
parameters, the content of the user's data files, the search space and the objective.

A study holds the trials of one problem: its sampler learns from them and its best trial is
compared across them. The sweeper records the fingerprint and these fields in the study's user
attrs when it creates the study, refuses to add trials of another problem to it (naming the fields
that differ), and puts the fingerprint's first 8 hex digits in the default study name, so another
problem starts another study and the same command resumes the same one.

Pure Python on an OmegaConf config: no Optuna, no Hydra plugin."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

# study user attrs written when the study is created
STUDY_FINGERPRINT_ATTR = "loralab.fingerprint"
STUDY_PROBLEM_ATTR = "loralab.problem"
# replaced by the fingerprint's first 8 hex digits in hydra.sweeper.study_name
FINGERPRINT_PLACEHOLDER = "{fingerprint}"
SHORT_LENGTH = 8

# Config keys (with everything under them) that do not change the problem a trial solves. Every
# other key of the resolved config is part of it.
EXCLUDED = (
    "hydra",                   # Hydra's and the sweeper's settings: sweep dirs, launcher, n_trials, sampler, pruner
    "run_name",                # a label
    "paths",                   # cache and output directories
    "logger",                  # experiment tracking (TensorBoard, W&B)
    "sweep",                   # storage, study and trial number of each run, set by the sweeper
    "env",                     # threads, environment variables, dataloader workers
    "trainer.logging_steps",   # how often the loss is logged
    "trainer.eval_batch_size",  # evaluation throughput
    "eval.batch_size",         # generation throughput
    "eval.compare_base",       # the base model's numbers, reported next to the trial's
    "eval.base_max_examples",
    "trainer.ignore_memory_estimate",  # a safety switch
)
# user files whose content is part of the problem (read relative to the working directory, as
# the data pipeline reads them); the bundled generator is deterministic from data.generator
DATA_FILE_KEYS = ("data.train_file", "data.validation_file", "data.test_file", "data.tools_file")
SEARCH_SPACE_PREFIX = "search_space."
ABSENT = "(absent)"


def problem_fields(cfg: Any, search_space: Mapping[str, str], objectives: Sequence[str],
                   directions: Sequence[str]) -> dict[str, Any]:
    """Every field of the problem, by dotted name: the config (minus EXCLUDED and the searched
    keys), ``<file key> (sha256)`` per data file, ``search_space.<param>`` and the objective."""
    fields = config_fields(cfg, searched=search_space)
    fields.update(data_file_hashes(fields))
    for name, text in search_space.items():
        fields[f"{SEARCH_SPACE_PREFIX}{name}"] = text
    fields["hydra.sweeper.objective"] = list(objectives)
    fields["hydra.sweeper.direction"] = list(directions)
    return _plain(fields)


def fingerprint(fields: Mapping[str, Any]) -> str:
    text = json.dumps(_plain(fields), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def study_name(template: str, fp: str) -> str:
    return template.replace(FINGERPRINT_PLACEHOLDER, fp[:SHORT_LENGTH])


def config_fields(cfg: Any, searched: Iterable[str] = (), excluded: Iterable[str] = EXCLUDED) -> dict[str, Any]:
    """The resolved config as {dotted key: value}, lists kept whole, without the excluded and the
    searched keys. A value that does not resolve here (a ``${hydra:...}`` interpolation outside
    a job) counts as its text."""
    skip = (*excluded, *searched)
    out: dict[str, Any] = {}
    _walk(cfg, "", out, skip)
    return _plain(out)


def data_file_hashes(fields: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for key in DATA_FILE_KEYS:
        path = fields.get(key)
        if isinstance(path, str) and path:
            out[f"{key} (sha256)"] = file_sha256(Path(path))
    return out


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        return "(missing)"
    except OSError as exc:
        return f"(unreadable: {type(exc).__name__})"
    return h.hexdigest()[:16]


def differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, old value, new value) for every field that differs; ABSENT where a side lacks it.
    Config keys come first, in config order, then the search space and the objective."""
    old, new = _plain(old), _plain(new)
    keys = list(new) + [k for k in old if k not in new]
    keys.sort(key=lambda k: k.startswith((SEARCH_SPACE_PREFIX, "hydra.sweeper.")))  # stable: config order kept
    return [(k, old.get(k, ABSENT), new.get(k, ABSENT)) for k in keys if old.get(k, ABSENT) != new.get(k, ABSENT)]


def describe_differences(diffs: Sequence[tuple[str, Any, Any]], limit: int = 4) -> str:
    """``trainer.max_steps: 40 -> 80; data.train_file: a.jsonl -> b.jsonl (and 2 more)``"""
    shown = "; ".join(f"{k}: {_show(a)} -> {_show(b)}" for k, a, b in diffs[:limit])
    return shown + (f" (and {len(diffs) - limit} more)" if len(diffs) > limit else "")


def _walk(node: Any, prefix: str, out: dict[str, Any], skip: Sequence[str]) -> None:
    from omegaconf import DictConfig, ListConfig

    for key in node.keys():
        name = f"{prefix}{key}"
        if any(name == s or name.startswith(f"{s}.") for s in skip):
            continue
        try:
            value = node[key]
        except Exception:  # noqa: BLE001  a missing (???) or unresolvable value: its text
            value = node._get_node(key)._value()
        if isinstance(value, DictConfig) and len(value) > 0:
            _walk(value, f"{name}.", out, skip)
        elif isinstance(value, (DictConfig, ListConfig)):
            out[name] = _container(value)
        else:
            out[name] = value


def _container(value: Any) -> Any:
    from omegaconf import OmegaConf

    try:
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=False)
    except Exception:  # noqa: BLE001
        return OmegaConf.to_container(value, resolve=False)


def _plain(value: Any) -> Any:
    """JSON values, as a storage returns them (tuples become lists, enums and paths text)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _show(value: Any) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
