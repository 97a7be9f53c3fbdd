"""The sweep's results: one row per trial and a summary (best trial, counts), written to the sweep
directory (optimization_results.yaml, trials.csv, trials.md) and printed as a table.

Imported by Hydra's plugin scan: Optuna, yaml and rich are imported inside the functions."""


import csv
import io
import math
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence

from loralab.rundir import write_text
from loralab.secrets import redact_text
from loralab.sweeps.identity import STUDY_FINGERPRINT_ATTR

from .attrs import FAIL_REASON_ATTR, FINGERPRINT_ATTR, JOB_DIR_ATTR, PRUNED_AT_ATTR, RETRY_OF_ATTR

RESULTS_FILE = "optimization_results.yaml"
# columns of trials.csv only, not of the printed and markdown tables
CSV_ONLY = ("fingerprint", "job_dir")


def trial_rows(study, param_names: Sequence[str], objectives: Sequence[str]) -> tuple[list[str], list[dict]]:
    """(columns, one row per trial of the study); ``param_names`` first, then the params of older
    search spaces of a resumed study. The CSV_ONLY columns (the problem fingerprint of the sweep
    that ran the trial, its job directory) are left out of the tables."""
    trials = study.get_trials(deepcopy=False)
    names = list(param_names)
    for t in trials:  # params of older search spaces of a resumed study too
        names += [n for n in t.params if n not in names]
    columns = ["number", "state", *objectives, *names, "duration_s", "reason", *CSV_ONLY]
    study_fingerprint = study.user_attrs.get(STUDY_FINGERPRINT_ATTR)
    rows = []
    for t in trials:
        row: Dict[str, Any] = {"number": t.number, "state": t.state.name}
        for i, key in enumerate(objectives):
            row[key] = t.values[i] if t.values is not None and i < len(t.values) else None
        params = t.params or t.system_attrs.get("fixed_params", {})  # WAITING: the queued point
        for n in names:
            row[n] = params.get(n)
        row["duration_s"] = round(t.duration.total_seconds(), 1) if t.duration is not None else None
        reason = t.user_attrs.get(FAIL_REASON_ATTR)
        if t.state.name == "PRUNED":
            reason = f"pruned at step {t.user_attrs.get(PRUNED_AT_ATTR, t.last_step)}"
        elif t.state.name == "WAITING" and RETRY_OF_ATTR in t.user_attrs:
            reason = f"queued again (trial {t.user_attrs[RETRY_OF_ATTR]})"
        elif t.state.name != "FAIL" and RETRY_OF_ATTR in t.user_attrs:
            reason = f"retry of trial {t.user_attrs[RETRY_OF_ATTR]}"
        row["reason"] = reason
        row["fingerprint"] = t.user_attrs.get(FINGERPRINT_ATTR, study_fingerprint)
        row["job_dir"] = t.user_attrs.get(JOB_DIR_ATTR)
        rows.append(row)
    return columns, rows


def study_summary(study, study_name: str, storage_url: str, directions: Sequence[str],
                  objectives: Sequence[str], n_trials: int, fingerprint: str | None = None) -> dict:
    """optimization_results.yaml: counts per state, and the best trial (single objective) or the
    Pareto front (several). ``fingerprint``: this sweep's problem; the study's own is recorded
    too (they differ only with allow_config_change)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    states = {s.name.lower(): sum(1 for t in trials if t.state == s) for s in TrialState}
    single = len(objectives) == 1
    out: Dict[str, Any] = {
        "name": "loralab_optuna",
        "study_name": study_name,
        "fingerprint": fingerprint or study.user_attrs.get(STUDY_FINGERPRINT_ATTR),
        "study_fingerprint": study.user_attrs.get(STUDY_FINGERPRINT_ATTR),
        "storage": redact_text(storage_url),
        "direction": directions[0] if single else list(directions),
        "objective": objectives[0] if single else list(objectives),
        "n_trials": n_trials,
        "counted_trials": states["complete"] + states["pruned"],
        "trials": states,
    }
    if single:
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if complete:
            best = study.best_trial
            out.update(best_trial=best.number, best_params=dict(best.params), best_value=best.value,
                       best_job_dir=best.user_attrs.get(JOB_DIR_ATTR))
        else:
            out.update(best_trial=None, best_params=None, best_value=None)
    else:
        out["best_trials"] = [{"number": t.number, "params": dict(t.params), "values": list(t.values),
                               "job_dir": t.user_attrs.get(JOB_DIR_ATTR)} for t in study.best_trials]
    return out


def write_results(sweep_dir: Path, columns: List[str], rows: List[dict], summary: dict) -> None:
    import yaml

    write_text(sweep_dir / RESULTS_FILE, yaml.safe_dump(_plain(summary), sort_keys=False))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    write_text(sweep_dir / "trials.csv", buf.getvalue())
    write_text(sweep_dir / "trials.md", _markdown(table_columns(columns), rows, summary))


def print_table(columns: List[str], rows: List[dict], summary: dict, sweep_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"study {summary['study_name']}: {summary['counted_trials']}/{summary['n_trials']} "
                        "counted trials")
    shown = table_columns(columns)
    for c in shown:
        table.add_column(c, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row[c]) for c in shown))
    console = Console()
    if not console.is_terminal:  # a log file: do not fold the table to 80 columns
        console = Console(width=160)
    console.print(table)
    if summary.get("best_trial") is not None:  # single objective only
        console.print(f"best trial {summary['best_trial']}: {summary['objective']}={summary['best_value']:.6g} "
                      f"{summary['best_params']}")
    console.print(f"results: {sweep_dir / RESULTS_FILE}; storage: {summary['storage']}")


def table_columns(columns: List[str]) -> List[str]:
    return [c for c in columns if c not in CSV_ONLY]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _markdown(columns: List[str], rows: List[dict], summary: dict) -> str:
    lines = [f"# Study {summary['study_name']}", "",
             f"storage: `{summary['storage']}`; objective: {summary['objective']} ({summary['direction']}); "
             f"{summary['counted_trials']}/{summary['n_trials']} counted trials (COMPLETE + PRUNED); "
             f"problem fingerprint {summary.get('fingerprint')}", ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines) + "\n"
