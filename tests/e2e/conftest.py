"""A tiny run through the real `loralab-train` entrypoint, shared by the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import run_cli, tiny_overrides

__all__ = ["run_cli", "tiny_overrides"]


@pytest.fixture(scope="session")
def tiny_run(tiny_model_dir, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny-lora"
    proc = run_cli([*tiny_overrides(tiny_model_dir), f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (run_dir.parent / "console.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")  # what the user saw
    return run_dir
