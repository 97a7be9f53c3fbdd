"""Crash and interruption: a run killed with SIGKILL and resumed ends where an uninterrupted run
ends; SIGTERM saves a checkpoint and marks the run interrupted; a live run cannot be resumed, and a
resume honours the overrides it can (and refuses the others)."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from loralab.resume import MARKER
from loralab.rundir import read_status
from loralab.runlock import LOCK_NAME

from cli_helpers import run_cli, tiny_overrides

# Deterministic and checkpointing often: the kill lands between checkpoints.
RESUME_OVERRIDES = ["trainer.max_steps=12", "trainer.eval_steps=4", "trainer.save_steps=4", "trainer.save_total_limit=null",
                    "trainer.group_by_length=false", "lora.dropout=0.0", "eval.at_end=false", "precision=fp32"]


def _start(model_dir: Path, run_dir: Path, *extra: str, stderr=subprocess.PIPE) -> subprocess.Popen:
    cli = Path(sys.executable).parent / "loralab-train"
    args = [*tiny_overrides(model_dir, *RESUME_OVERRIDES, *extra), f"hydra.run.dir={run_dir}"]
    return subprocess.Popen([str(cli), *args], stdout=subprocess.DEVNULL, stderr=stderr, text=True)


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
    assert (crashed / LOCK_NAME).exists()  # and the dead owner's lock

    resumed = run_cli(["resume=" + str(crashed), f"hydra.run.dir={tmp_path / 'ignored'}"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"pid {proc.pid} on host" in resumed.stdout and "taking the run directory over" in resumed.stdout
    assert read_status(crashed)["state"] == "completed"
    assert not (crashed / LOCK_NAME).exists()

    a, b = _adapter(reference), _adapter(crashed)
    assert a.keys() == b.keys()
    for key in a:  # tolerance: fp32 CPU kernels are deterministic for the same batches
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=1e-4), key
    ref_m = json.loads((reference / "metrics.json").read_text())["final"]
    res_m = json.loads((crashed / "metrics.json").read_text())["final"]
    assert abs(ref_m["eval_loss_last"] - res_m["eval_loss_last"]) < 1e-4
    assert [e["step"] for e in json.loads((crashed / "metrics.json").read_text())["eval"]] == [0, 4, 8, 12]


def test_sigterm_saves_checkpoint_and_resume_finishes(tiny_model_dir, tmp_path):
    run_dir = tmp_path / "term"
    proc = _start(tiny_model_dir, run_dir)
    _wait_for(run_dir / "checkpoints" / "checkpoint-4" / MARKER, proc)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=120)
    assert code == 128 + signal.SIGTERM
    stderr = proc.stderr.read()
    assert not (run_dir / LOCK_NAME).exists()
    status = read_status(run_dir)
    assert status["state"] == "interrupted"
    assert (run_dir / "checkpoints" / f"checkpoint-{status['step']}" / MARKER).is_file()
    assert not (run_dir / "adapter").exists()

    # the message names the real run directory: its command, pasted as printed, finishes the run
    command = re.search(r"Continue with: (loralab-train resume=\S+)", stderr)
    assert command is not None, stderr[-2000:]
    assert command.group(1) == f"loralab-train resume={run_dir}"
    resumed = run_cli([*shlex.split(command.group(1))[1:], f"hydra.run.dir={tmp_path / 'ignored'}"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert read_status(run_dir)["state"] == "completed"
    assert json.loads((run_dir / "metrics.json").read_text())["summary"]["global_step"] == 12


def test_resume_of_completed_run_is_refused(tiny_run):
    proc = run_cli([f"resume={tiny_run}"])
    assert proc.returncode == 2
    assert "already completed" in proc.stderr + proc.stdout


def test_live_run_is_locked_then_resumed_with_more_steps(tiny_model_dir, tmp_path):
    run_dir, ignored = tmp_path / "live", f"hydra.run.dir={tmp_path / 'ignored'}"
    log = tmp_path / "live.stderr"
    with log.open("w") as err:  # a file, not a pipe: a long run's progress bar would fill a pipe
        proc = _start(tiny_model_dir, run_dir, "trainer.max_steps=1000", stderr=err)
        try:
            _wait_for(run_dir / "checkpoints" / "checkpoint-4" / MARKER, proc)
            busy = run_cli([f"resume={run_dir}", ignored])
            assert proc.poll() is None, "the run ended before the second process tried it"
            assert busy.returncode == 2, busy.stdout[-2000:] + busy.stderr[-2000:]
            assert f"in use by a running process (pid {proc.pid}" in busy.stderr
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=120) == 128 + signal.SIGTERM
        finally:
            if proc.poll() is None:
                proc.kill()
    assert f"Continue with: loralab-train resume={run_dir}" in log.read_text()  # the real path, ready to paste
    assert not (run_dir / LOCK_NAME).exists()  # released on the way out
    stopped_at = read_status(run_dir)["step"]
    target = stopped_at + 4

    refused = run_cli([f"resume={run_dir}", f"trainer.max_steps={target}", "lora.r=32", ignored])
    assert refused.returncode == 2
    assert "lora.r=32 (the run has 16)" in refused.stderr and "Traceback" not in refused.stderr
    assert OmegaConf.load(run_dir / "config.yaml").trainer.max_steps == 1000

    resumed = run_cli([f"resume={run_dir}", f"trainer.max_steps={target}", ignored])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"trainer.max_steps 1000 -> {target}" in resumed.stdout
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["summary"]["global_step"] == target
    assert metrics["train"][-1]["step"] > stopped_at  # it trained after the checkpoint (logged every 2 steps)
    assert OmegaConf.load(run_dir / "config.yaml").trainer.max_steps == target
    history = json.loads((run_dir / "resumes.json").read_text())
    checkpoint = run_dir / "checkpoints" / f"checkpoint-{stopped_at}"
    assert history == [{"at": history[0]["at"], "from_checkpoint": str(checkpoint),
                        "overrides": {"trainer.max_steps": {"from": 1000, "to": target}}}]
    assert read_status(run_dir)["state"] == "completed"
    assert not (run_dir / LOCK_NAME).exists()
