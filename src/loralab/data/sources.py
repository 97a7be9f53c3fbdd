"""Where a run's data comes from (``data.source``): ``files``, the user's own files (read by
pipeline.py), or a task registered in the ``loralab.data_sources`` entry-point group, such as the
bundled GEN NX task (loralab/tasks/gennx). The core reaches a task only through this registry,
the way a task of your own plugs in, from its package's pyproject.toml:

    [project.entry-points."loralab.data_sources"]
    my-task = "my_package.task:SOURCE"        # then: loralab-train data.source=my-task

A task is imported when a config is composed (its settings schema is stored then) and when its
argument words are needed for scoring."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from omegaconf import DictConfig

from ..errors import Problem

ENTRY_POINT_GROUP = "loralab.data_sources"
FILES = "files"
# an install older than the entry points (or a broken one): the bundled data options cannot compose
NOT_REGISTERED = ("no task is registered: loralab's entry points are written when it is installed; run `make setup` "
                  "or `pip install -e .` again")


@dataclass(frozen=True)
class DataSource:
    """A task's data, as the core sees it."""

    name: str
    # data_cfg -> (records by split name, the tool schemas or None)
    load: Callable[[DictConfig], tuple[dict[str, list[dict]], list[dict] | None]]
    # the task's own settings, checked with the rest of the config before anything loads
    config_problems: Callable[[DictConfig], list[Problem]] = lambda data_cfg: []
    # (tool, argument) -> the words that name the argument in a request, beyond its own name; the
    # scorer accepts an answer that asks for a missing argument by any of them
    argument_words: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    # the task's own settings, typed: a subclass of the core's DataConfig (a dataclass) with the
    # fields it adds under data.*; its data options compose it with defaults: [/schema/data/<name>@_here_]
    schema: type | None = None


@functools.cache
def _entry_points() -> dict:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def task_names() -> tuple[str, ...]:
    """The registered tasks (no task is imported to list them)."""
    return tuple(sorted(_entry_points()))


def names() -> tuple[str, ...]:
    """Every value data.source accepts: your files, or a registered task."""
    return (FILES, *task_names())


def task_schemas() -> dict[str, type]:
    """Each registered task's settings schema, by task name (the tasks are imported)."""
    return {name: get(name).schema for name in task_names() if get(name).schema is not None}


@functools.cache
def get(name: str) -> DataSource:
    source = _entry_points()[name].load()
    if not isinstance(source, DataSource) or source.name != name:
        raise TypeError(f"entry point {name!r} in {ENTRY_POINT_GROUP} must name a DataSource called {name!r}, "
                        f"got {source!r}")
    return source


def argument_words(tool: str | None, argument: str) -> list[str]:
    """Words that name ``argument`` of ``tool`` (any tool's when ``tool`` is None): its name, the
    name with spaces for underscores, and every registered task's vocabulary for it."""
    words = [argument, argument.replace("_", " ")]
    for name in task_names():
        for (tool_name, arg), vocab in get(name).argument_words.items():
            if arg == argument and (tool is None or tool_name == tool):
                words += vocab
    return list(dict.fromkeys(words))
