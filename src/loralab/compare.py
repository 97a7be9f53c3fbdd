"""``loralab-compare``: one table (and one figure) for many runs.

    loralab-compare                          # every run under experiments/ and multirun/
    loralab-compare multirun/2026-05-01 --sort -exact --filter lora=r16
    loralab-compare --all --out compare/     # include unfinished runs

A run directory is any directory holding ``config.yaml`` and ``status.json``. Only completed runs
are shown unless ``--all`` is given (the number skipped is printed). Writes ``<out>/runs.csv`` (one
row per run shown, raw numbers) and ``<out>/report.png`` (train and eval loss curves of every run;
for sweeps, where runs differ in learning rate or LoRA rank, the objective against each).
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from .console import format_duration
from .run_naming import format_lr
from .rundir import finite_number

DEFAULT_ROOTS = ("experiments", "multirun")
# Directories inside a run that never hold another run: not walked (checkpoints can be large).
_SKIP_DIRS = {"checkpoints", "adapter", "merged", "wandb", "tensorboard", ".hydra", ".adapter.tmp", "__pycache__",
              ".git", "gguf", "optuna"}
CHOICE_GROUPS = ("model", "lora", "precision", "optimizer")


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    fmt: Callable[[Any], str]
    numeric: bool = True
    justify: str = "right"


def _f(digits: int) -> Callable[[Any], str]:
    return lambda v: f"{v:.{digits}f}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


COLUMNS = (
    Column("run", "run", str, numeric=False, justify="left"),
    Column("status", "status", str, numeric=False, justify="left"),
    Column("model", "model", str, numeric=False, justify="left"),
    Column("lora", "lora", str, numeric=False, justify="left"),
    Column("precision", "precision", str, numeric=False, justify="left"),
    Column("optimizer", "optimizer", str, numeric=False, justify="left"),
    Column("lr", "lr", format_lr),
    Column("r", "r", str),
    Column("steps", "steps", str),
    Column("train_loss", "train loss", _f(4)),
    Column("eval_loss", "best eval loss", _f(4)),
    Column("exact", "exact call", _pct),
    Column("tool_name", "tool name", _pct),
    Column("valid_json", "valid JSON", _pct),
    Column("runtime_s", "runtime", format_duration),
    Column("tokens_per_s", "tokens/s", _f(0)),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
_ALIASES = {"name": "run", "learning_rate": "lr", "rank": "r", "lora_r": "r", "step": "steps", "global_step": "steps",
            "train": "train_loss", "eval": "eval_loss", "best_eval_loss": "eval_loss", "exact_call": "exact",
            "exact_call_accuracy": "exact", "tool_name_accuracy": "tool_name", "name_accuracy": "tool_name",
            "json": "valid_json", "runtime": "runtime_s", "time": "runtime_s", "tokens/s": "tokens_per_s",
            "tok/s": "tokens_per_s", "throughput": "tokens_per_s", "state": "status"}


@dataclass
class Run:
    path: Path
    values: dict[str, Any]
    choices: dict[str, str]
    config: dict
    train_curve: list[tuple[int, float]] = field(default_factory=list)
    eval_curve: list[tuple[int, float]] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        return self.values.get("status") == "completed"


# --------------------------------------------------------------------------- reading runs

def find_run_dirs(roots: list[Path]) -> list[Path]:
    """Every directory under ``roots`` (or a root itself) holding config.yaml and status.json, sorted."""
    found: set[Path] = set()
    for root in roots:
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            if "config.yaml" in filenames and "status.json" in filenames:
                found.add(Path(dirpath))
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
    return sorted(found)


def _load_yaml(path: Path) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.load(f, Loader=loader)
    except (OSError, yaml.YAMLError):
        return None


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _get(mapping: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(mapping, dict) or part not in mapping:
            return None
        mapping = mapping[part]
    return mapping


def read_run(path: Path) -> Run:
    """One run directory as a table row plus its loss curves; missing files give empty cells."""
    config = _load_yaml(path / "config.yaml") or {}
    status = _load_json(path / "status.json") or {}
    metrics = _load_json(path / "metrics.json") or {}
    report = _load_json(path / "eval.json") or {}
    hydra = _load_yaml(path / ".hydra" / "hydra.yaml") or {}
    choices = {str(k): str(v) for k, v in (_get(hydra, "hydra.runtime.choices") or {}).items()
               if v is not None and not str(k).startswith("hydra")}
    for group in CHOICE_GROUPS:  # runs made with the Python API have no Hydra record
        if group not in choices and _get(config, f"{group}.name"):
            choices[group] = str(_get(config, f"{group}.name"))
    summary = metrics.get("summary") or {}
    final = metrics.get("final") or {}
    train = [(int(e["step"]), float(e["loss"])) for e in metrics.get("train") or []
             if "step" in e and finite_number(e.get("loss")) is not None]
    evals = [(int(e["step"]), float(e["eval_loss"])) for e in metrics.get("eval") or []
             if "step" in e and finite_number(e.get("eval_loss")) is not None]
    rates = {}
    primary = report.get("primary")
    if primary:
        rates = _get(report, f"splits.{primary}.fine_tuned.report.rates") or {}
        if not isinstance(rates, dict):
            rates = {}

    def rate(name: str) -> float | None:
        return finite_number((rates.get(name) or {}).get("value"))

    steps = summary.get("global_step")
    if steps is None and (train or evals):
        steps = max(s for s, _ in train + evals)
    eval_best = finite_number(final.get("eval_loss_best"))
    if eval_best is None and evals:
        eval_best = min(v for _, v in evals)
    train_last = finite_number(final.get("train_loss_last"))
    if train_last is None and train:
        train_last = train[-1][1]
    values = {
        "run": path.name,
        "status": str(status.get("state") or "unknown"),
        "model": choices.get("model"),
        "lora": choices.get("lora"),
        "precision": choices.get("precision"),
        "optimizer": choices.get("optimizer"),
        "lr": finite_number(_get(config, "optimizer.lr")),
        "r": _get(config, "lora.r"),
        "steps": steps,
        "train_loss": train_last,
        "eval_loss": eval_best,
        "exact": rate("exact_call_accuracy"),
        "tool_name": rate("tool_name_accuracy"),
        "valid_json": rate("valid_json"),
        "runtime_s": finite_number(summary.get("train_runtime")),
        "tokens_per_s": finite_number(summary.get("train_tokens_per_s")),
    }
    return Run(path, values, choices, config, train, evals)


def _name_runs(runs: list[Run]) -> None:
    """A run's name is its directory name, or its path below the runs' common parent where names clash
    (multirun job directories such as ``0_tiny`` repeat across sweeps)."""
    names = [r.path.name for r in runs]
    if len(set(names)) == len(names):
        return
    try:
        common = Path(os.path.commonpath([str(r.path.resolve()) for r in runs]))
    except ValueError:
        return
    for run in runs:
        rel = run.path.resolve().relative_to(common) if run.path.resolve() != common else Path(run.path.name)
        run.values["run"] = str(rel)


# --------------------------------------------------------------------------- filter and sort

def column_key(name: str) -> str:
    """A column by its key, header or alias, case and -/_ insensitive; ValueError when unknown."""
    norm = name.strip().lower().replace("-", "_").replace(" ", "_")
    if norm in COLUMN_KEYS:
        return norm
    for column in COLUMNS:
        if column.header.lower().replace(" ", "_") == norm:
            return column.key
    if norm in _ALIASES:
        return _ALIASES[norm]
    raise ValueError(f"unknown column {name!r}; columns: {', '.join(COLUMN_KEYS)}")


def _same(actual: Any, wanted: str) -> bool:
    if actual is None:
        return wanted.lower() in ("none", "null", "")
    a, w = finite_number(actual), finite_number(wanted)
    if a is not None and w is not None:
        return math.isclose(a, w, rel_tol=1e-9, abs_tol=0.0)
    return str(actual) == wanted


def parse_filter(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--filter takes group=option (e.g. lora=r16 or optimizer.lr=1e-4), not {text!r}")
    return key.strip(), value.strip()


def matches(run: Run, key: str, value: str) -> bool:
    """``key``: a config group (its Hydra choice), a table column, or a dotted config key."""
    if key in run.choices:
        return _same(run.choices[key], value)
    try:
        return _same(run.values.get(column_key(key)), value)
    except ValueError:
        pass
    return _same(_get(run.config, key), value)


def sort_runs(runs: list[Run], spec: str | None) -> list[Run]:
    """``spec``: a column, ``-column`` for descending. Empty cells go last either way."""
    if not spec:
        return runs
    descending = spec.startswith("-")
    key = column_key(spec.lstrip("-+"))
    numeric = next(c.numeric for c in COLUMNS if c.key == key)

    def value(run: Run):
        v = run.values.get(key)
        return finite_number(v) if numeric else (str(v) if v is not None else None)

    present = [r for r in runs if value(r) is not None]
    missing = [r for r in runs if value(r) is None]
    return sorted(present, key=value, reverse=descending) + missing


# --------------------------------------------------------------------------- outputs

def print_table(runs: list[Run], skipped: int, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console(highlight=False, width=None if sys.stdout.isatty() else 220)
    title = f"{len(runs)} run{'s' if len(runs) != 1 else ''}"
    table = Table(title=title, title_justify="left")
    for column in COLUMNS:
        table.add_column(column.header, justify=column.justify, no_wrap=column.key != "run")
    for run in runs:
        cells = []
        for column in COLUMNS:
            v = run.values.get(column.key)
            if v is None or v == "":
                cells.append("-")
            else:
                try:
                    cells.append(column.fmt(v))
                except (TypeError, ValueError):
                    cells.append(str(v))
        style = None if run.completed else "dim"
        table.add_row(*cells, style=style)
    console.print(table)
    if skipped:
        console.print(f"skipped {skipped} incomplete run{'s' if skipped != 1 else ''} (not completed; --all shows them)")


def write_csv(runs: list[Run], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*COLUMN_KEYS, "path"])
        for run in runs:
            writer.writerow([("" if run.values.get(k) is None else run.values[k]) for k in COLUMN_KEYS]
                            + [str(run.path)])


def _varies(runs: list[Run], key: str) -> bool:
    return len({run.values.get(key) for run in runs if run.values.get(key) is not None}) >= 2


def write_report(runs: list[Run], path: Path, objective: str = "eval_loss") -> None:
    """Loss curves of every run (train, eval) and, for sweeps, the objective against lr and r."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, NullFormatter

    objective = column_key(objective)
    sweep_params = [k for k in ("lr", "r") if _varies(runs, k)]
    ncols = 2
    nrows = 2 if sweep_params else 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(14, 5.2 * nrows), squeeze=False)
    cmap = plt.get_cmap("tab10" if len(runs) <= 10 else "tab20")
    colors = {id(run): cmap(i % cmap.N) for i, run in enumerate(runs)}
    markers = "o^sDvP*X<>"

    for ax, attr, title in ((axes[0][0], "train_curve", "training loss"), (axes[0][1], "eval_curve", "evaluation loss")):
        plotted = 0
        for i, run in enumerate(runs):
            curve = getattr(run, attr)
            if not curve:
                continue
            steps, losses = zip(*curve)
            ax.plot(steps, losses, color=colors[id(run)], marker=markers[i % len(markers)] if len(curve) <= 30 else None,
                    markersize=4, linewidth=1.6, label=run.values["run"])
            plotted += 1
        ax.set_title(title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("loss (cross-entropy, nats/token)")
        ax.grid(True, alpha=0.3)
        if plotted:
            ax.legend(fontsize="small", loc="best", title="run", title_fontsize="small")
        else:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")

    header = next(c.header for c in COLUMNS if c.key == objective)
    for j, param in enumerate(sweep_params):
        ax = axes[1][j]
        points = [(run, finite_number(run.values.get(param)), finite_number(run.values.get(objective))) for run in runs]
        points = [(run, x, y) for run, x, y in points if x is not None and y is not None]
        for run, x, y in points:
            ax.scatter([x], [y], color=colors[id(run)], s=60, edgecolors="black", linewidths=0.5, zorder=3,
                       label=run.values["run"])
        if param == "lr":
            ax.set_xscale("log")
            values = sorted({x for _, x, _ in points})
            if 0 < len(values) <= 8:  # label the learning rates that were tried
                ax.set_xticks(values, [format_lr(v) for v in values])
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("learning rate (log scale)")
            ax.set_title(f"{header} vs learning rate")
        else:
            ax.set_xlabel("LoRA rank r")
            ax.set_title(f"{header} vs LoRA rank")
            ranks = sorted({int(x) for _, x, _ in points})
            if ranks:
                ax.set_xticks(ranks)
        ylabel = header + (" (nats/token)" if "loss" in objective else " (share of examples)"
                           if objective in ("exact", "tool_name", "valid_json") else "")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
        if not points:
            ax.text(0.5, 0.5, f"no run has {header}", ha="center", va="center", transform=ax.transAxes, color="grey")
    if sweep_params and len(sweep_params) < ncols:  # the free panel: which colour is which run, and its objective
        spare = axes[1][1]
        spare.axis("off")
        handles = [plt.Line2D([], [], color=colors[id(run)], marker=markers[i % len(markers)], linewidth=1.6)
                   for i, run in enumerate(runs)]
        labels = [f"{run.values['run']}: {header} "
                  + (next(c.fmt for c in COLUMNS if c.key == objective)(run.values[objective])
                     if run.values.get(objective) is not None else "-") for run in runs]
        spare.legend(handles, labels, loc="center", title="runs", fontsize="small", frameon=False)
    fig.suptitle(f"loralab runs: {len(runs)} compared", fontsize=14)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- CLI

def collect(roots: list[Path], filters: list[tuple[str, str]], include_all: bool) -> tuple[list[Run], int]:
    """(runs to show, number of incomplete runs skipped)."""
    runs = [read_run(p) for p in find_run_dirs(roots)]
    runs = [r for r in runs if all(matches(r, k, v) for k, v in filters)]
    skipped = 0
    if not include_all:
        skipped = sum(not r.completed for r in runs)
        runs = [r for r in runs if r.completed]
    _name_runs(runs)
    return runs, skipped
