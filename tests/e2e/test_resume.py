"""Crash and interruption: a run killed with SIGKILL and resumed ends where an uninterrupted run
ends; SIGTERM saves a checkpoint and marks the run interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import load_file

from loralab.resume import MARKER
from loralab.rundir import read_status

from cli_helpers import run_cli, tiny_overrides

# Deterministic and checkpointing often: the kill lands between checkpoints.
RESUME_OVERRIDES = ["trainer.max_steps=12", "trainer.eval_steps=4", "trainer.save_steps=4", "trainer.save_total_limit=null",
                    "trainer.group_by_length=false", "lora.dropout=0.0", "eval.at_end=false", "precision=fp32"]


def _start(model_dir: Path, run_dir: Path) -> subprocess.Popen:
    cli = Path(sys.executable).parent / "loralab-train"
    return subprocess.Popen([str(cli), *tiny_overrides(model_dir, *RESUME_OVERRIDES), f"hydra.run.dir={run_dir}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def _adapter(run_dir: Path) -> dict:
    return load_file(run_dir / "adapter" / "adapter_model.safetensors")


def test_sigkill_then_resume_matches_uninterrupted_run(tiny_model_dir, tmp_path):
    reference = tmp_path / "reference"
    assert run_cli([*tiny_overrides(tiny_model_dir, *RESUME_OVERRIDES), f"hydra.run.dir={reference}"]).returncode == 0

    crashed = tmp_path / "crashed"
    proc = _start(tiny_model_dir, crashed)
    _wait_for(crashed / "checkpoints" / "checkpoint-4" / MARKER, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert read_status(crashed)["state"] == "running"  # what a crash leaves: not completed

    resumed = run_cli(["resume=" + str(crashed), f"hydra.run.dir={tmp_path / 'ignored'}"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert read_status(crashed)["state"] == "completed"

    a, b = _adapter(reference), _adapter(crashed)
    assert a.keys() == b.keys()
    for key in a:  # tolerance: fp32 CPU kernels are deterministic for the same batches
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=1e-4), key
    ref_m = json.loads((reference / "metrics.json").read_text())["final"]
    res_m = json.loads((crashed / "metrics.json").read_text())["final"]
    assert abs(ref_m["eval_loss_last"] - res_m["eval_loss_last"]) < 1e-4
    assert [e["step"] for e in json.loads((crashed / "metrics.json").read_text())["eval"]] == [0, 4, 8, 12]


def test_sigterm_saves_checkpoint_and_marks_interrupted(tiny_model_dir, tmp_path):
    run_dir = tmp_path / "term"
    proc = _start(tiny_model_dir, run_dir)
    _wait_for(run_dir / "checkpoints" / "checkpoint-4" / MARKER, proc)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    assert code == 128 + signal.SIGTERM
    status = read_status(run_dir)
    assert status["state"] == "interrupted"
    assert (run_dir / "checkpoints" / f"checkpoint-{status['step']}" / MARKER).is_file()
    assert not (run_dir / "adapter").exists()


def test_resume_of_completed_run_is_refused(tiny_run):
    proc = run_cli([f"resume={tiny_run}"])
    assert proc.returncode == 2
    assert "already completed" in proc.stderr + proc.stdout
