"""Composing and validating a config is instant: it imports neither torch nor transformers.

`loralab.compose` (and `loralab-train --cfg job`, `--help`, a config error) answers before any
heavy library loads; the libraries are imported inside the functions that need them."""

from __future__ import annotations

import subprocess
import sys
import time

COMPOSE = "import loralab.api as a; a.compose([])"
HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "bitsandbytes")
BUDGET_S = 3.0


def test_compose_in_a_fresh_process_is_fast():
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", COMPOSE], capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert elapsed < BUDGET_S, f"compose took {elapsed:.2f} s in a fresh process (budget {BUDGET_S} s)"


def test_compose_imports_no_heavy_library():
    # the reason it is fast, checked directly: a slow import on the path fails here with its name
    code = f"{COMPOSE}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"compose imported {proc.stdout.strip()}"
