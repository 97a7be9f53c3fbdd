"""A tiny run through the real `loralab-train` entrypoint, shared by the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Small enough for seconds on 2 cores, large enough that the loss visibly falls.
TINY_OVERRIDES = [
    "model.source=hub", "model.name=tiny", "data.generator.size=300", "data.max_eval_examples=24",
    "trainer.max_steps=16", "trainer.eval_steps=8", "trainer.save_steps=8", "trainer.logging_steps=2",
    "trainer.micro_batch_size=8", "optimizer.lr=5e-3", "lora.r=16", "eval.max_examples=16",
]


def tiny_overrides(model_dir: Path, *extra: str) -> list[str]:
    return [f"model.name_or_path={model_dir}", *TINY_OVERRIDES, *extra]


def run_cli(args: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).parent / "loralab-train"
    return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


@pytest.fixture(scope="session")
def tiny_run(tiny_model_dir, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("runs") / "tiny-lora"
    proc = run_cli([*tiny_overrides(tiny_model_dir), f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return run_dir
