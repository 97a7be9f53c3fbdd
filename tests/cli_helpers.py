"""Run the real `loralab-train` CLI on the tiny fixture model (shared by e2e, sweep and tracking tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# Small enough for seconds on 2 cores, large enough that the loss visibly falls.
TINY_OVERRIDES = [
    "model.source=hub", "model.name=tiny", "data.generator.size=300", "data.max_eval_examples=24",
    "trainer.max_steps=16", "trainer.eval_steps=8", "trainer.save_steps=8", "trainer.logging_steps=2",
    "trainer.micro_batch_size=8", "optimizer.lr=5e-3", "lora.r=16", "eval.max_examples=16",
]


def tiny_overrides(model_dir: Path, *extra: str) -> list[str]:
    """With ``data=files`` among ``extra``, the bundled task's settings are left out: that data
    option has no data.generator, and the schema refuses keys it does not have."""
    files = "data=files" in extra
    return [f"model.name_or_path={model_dir}",
            *(o for o in TINY_OVERRIDES if not (files and o.startswith("data.generator."))), *extra]


def run_cli(args: list[str], timeout: int = 300) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).parent / "loralab-train"
    return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def run_in_process(args: list[str]) -> tuple[int, str]:
    """The real ``loralab-train`` main (did-you-mean check, Hydra, validation, the recipe) in this
    process, so a test can patch what it runs; returns (exit code, stderr + stdout)."""
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from loralab.cli.train import main

    argv, sys.argv = sys.argv, ["loralab-train", *args]
    out, err = io.StringIO(), io.StringIO()
    code = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    return code, err.getvalue() + out.getvalue()
