"""At the end of a Hydra multirun: one table of its jobs (choices, overrides, key metrics), best
first, printed and written as summary.md and summary.csv in the sweep directory. The rows come
from the same reader as loralab-compare, so the two never disagree."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


def _overrides(run_dir: Path) -> str:
    try:
        return " ".join(yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text()) or [])
    except OSError:
        return ""


def write_summary(sweep_dir: Path, sort: str = "eval_loss") -> Path | None:
    from ..compare import COLUMN_KEYS, collect, print_table, sort_runs, write_csv
    from ..rundir import write_text

    runs, _ = collect([sweep_dir], [], include_all=True)
    if not runs:
        return None
    runs = sort_runs(runs, sort)
    print_table(runs, 0)
    write_csv(runs, sweep_dir / "summary.csv")
    keys = [k for k in COLUMN_KEYS if any(r.values.get(k) not in (None, "") for r in runs)]
    cell = lambda v: "-" if v in (None, "") else (f"{v:.4g}" if isinstance(v, float) else str(v))  # noqa: E731
    lines = [f"# Multirun summary: {sweep_dir}", "", f"{len(runs)} jobs, best first by {sort}.", "",
             "| " + " | ".join([*keys, "overrides"]) + " |", "|" + "---|" * (len(keys) + 1)]
    for run in runs:
        row: list[Any] = [cell(run.values.get(k)) for k in keys] + [_overrides(run.path)]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    path = sweep_dir / "summary.md"
    write_text(path, "\n".join(lines) + "\n")
    return path


class MultirunSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        try:
            path = write_summary(sweep_dir)
        except Exception as exc:  # a summary must never turn a finished sweep into a failure
            log.warning("could not write the multirun summary for %s: %s", sweep_dir, exc)
            return
        if path:
            log.info("multirun summary: %s and %s", path, path.with_suffix(".csv"))
        if str(config.hydra.sweeper.get("_target_", "")).endswith("BasicSweeper"):
            _exit_if_jobs_failed(sweep_dir)


def _exit_if_jobs_failed(sweep_dir: Path) -> None:
    """Hydra's basic sweeper goes on past a failed job (loralab records it and returns): the sweep
    still ends with a non-zero exit code, so scripts and CI notice."""
    import sys

    from ..rundir import read_status

    statuses = [read_status(p.parent) for p in sorted(sweep_dir.glob("*/status.json"))]
    failed = [s for s in statuses if s.get("state") == "failed"]
    if failed:
        print(f"error: {len(failed)} of {len(statuses)} jobs failed (status.json in each job directory; "
              f"summary in {sweep_dir / 'summary.md'})", file=sys.stderr)
        sys.exit(1)
