"""What `resume=` may pick and change, and the run-directory lock, on fake run directories."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from loralab.resume import MARKER, GracefulStop, latest_run, resolve_resume
from loralab.errors import ResumeError, RunInterrupted
from loralab.runlock import LOCK_NAME, RunLock, launch_id, process_start_time
from loralab.errors import RunLocked
from loralab.secrets import redact


def _run(root: Path, name: str, state: str, age: float, checkpoints: tuple[int, ...] = (), complete: bool = True,
         **status) -> Path:
    """A run directory as the recipe leaves it; ``age`` seconds since its status last changed."""
    run = root / "experiments" / "2026-01-01" / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 1\n")
    for step in checkpoints:
        ckpt = run / "checkpoints" / f"checkpoint-{step}"
        ckpt.mkdir(parents=True)
        if complete:
            (ckpt / MARKER).write_text("{}")
    (run / "status.json").write_text(json.dumps({"state": state, **status}))
    stamp = time.time() - age
    os.utime(run / "status.json", (stamp, stamp))
    return run


def _lock(run: Path, pid: int, host: str | None = None, start_time: int | None = None,
          launch: str | None = None) -> Path:
    path = run / LOCK_NAME
    path.write_text(json.dumps({"pid": pid, "host": host or socket.gethostname(), "start_time": start_time,
                                "since": "2026-01-01T00:00:00+00:00", "launch": launch, "token": "x"}))
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


# --------------------------------------------------------------------------- resume=latest

def test_latest_skips_a_run_that_failed_at_start_up(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    interrupted = _run(tmp_path, "a", "interrupted", age=100, checkpoints=(40,), step=40)
    _run(tmp_path, "b", "completed", age=50, checkpoints=(80,))
    _run(tmp_path, "c", "failed", age=1, error="ConfigError: bad lr")  # newest, nothing to continue
    assert latest_run().resolve() == interrupted.resolve()
    out = capsys.readouterr().out
    assert "resume=latest: picked" in out and "interrupted at step 40" in out and "of 3 run(s)" in out


def test_latest_takes_a_failed_run_with_a_complete_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run(tmp_path, "old", "interrupted", age=100, step=3)
    disk_full = _run(tmp_path, "full", "failed", age=10, checkpoints=(20,), error="DiskFull")
    _run(tmp_path, "partial", "failed", age=1, checkpoints=(30,), complete=False)  # crashed mid-save
    assert latest_run().resolve() == disk_full.resolve()


def test_latest_takes_a_crashed_run_but_not_a_live_one(tmp_path, monkeypatch, sleeper, capsys):
    monkeypatch.chdir(tmp_path)
    crashed = _run(tmp_path, "crashed", "running", age=100, checkpoints=(8,))
    _lock(crashed, _dead_pid())
    live = _run(tmp_path, "live", "running", age=1)
    _lock(live, sleeper.pid, start_time=process_start_time(sleeper.pid))
    assert latest_run().resolve() == crashed.resolve()
    assert "is gone" in capsys.readouterr().out


def test_latest_with_nothing_resumable_says_what_it_saw(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run(tmp_path, "a", "completed", age=30)
    _run(tmp_path, "b", "completed", age=20)
    _run(tmp_path, "c", "failed", age=10)
    _run(tmp_path, "d", "pruned", age=5)
    with pytest.raises(ResumeError) as err:
        latest_run()
    msg = str(err.value)
    assert "none of the 4 run(s)" in msg
    assert "2 completed" in msg and "1 failed without a complete checkpoint" in msg and "1 pruned" in msg


def test_latest_skips_a_run_locked_on_another_host(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    older = _run(tmp_path, "older", "interrupted", age=100)
    other = _run(tmp_path, "other", "running", age=1)
    _lock(other, 1234, host="some-other-host")
    assert latest_run().resolve() == older.resolve()


# --------------------------------------------------------------------------- the lock

def test_lock_records_the_owner_and_refuses_a_second_holder(tmp_path):
    lock = RunLock.acquire(tmp_path)
    info = json.loads((tmp_path / LOCK_NAME).read_text())
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
    assert info["start_time"] == process_start_time(os.getpid())
    with pytest.raises(RunLocked, match=f"pid {os.getpid()}"):
        RunLock.acquire(tmp_path)
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
    RunLock.acquire(tmp_path).release()  # free again


def test_lock_of_a_live_process_is_refused(tmp_path, sleeper):
    _lock(tmp_path, sleeper.pid, start_time=process_start_time(sleeper.pid))
    with pytest.raises(RunLocked) as err:
        RunLock.acquire(tmp_path, "resume")
    assert f"pid {sleeper.pid}" in str(err.value) and f"kill -TERM {sleeper.pid}" in str(err.value)


def test_stale_lock_is_taken_over_with_a_message(tmp_path):
    dead = _dead_pid()
    _lock(tmp_path, dead)
    said = []
    lock = RunLock.acquire(tmp_path, on_takeover=said.append)
    assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert len(said) == 1 and f"pid {dead}" in said[0] and "gone" in said[0]
    assert [p.name for p in tmp_path.iterdir()] == [LOCK_NAME]  # nothing left aside
    lock.release()


@pytest.mark.skipif(process_start_time(os.getpid()) is None, reason="needs /proc")
def test_reused_pid_is_not_mistaken_for_the_owner(tmp_path, sleeper):
    # the pid is alive, but it is another process than the one that wrote the lock
    _lock(tmp_path, sleeper.pid, start_time=process_start_time(sleeper.pid) - 1)
    said = []
    RunLock.acquire(tmp_path, on_takeover=said.append).release()
    assert said


def test_lock_from_another_host_is_refused_with_the_file_to_delete(tmp_path):
    path = _lock(tmp_path, 1234, host="gpu-node-7")
    with pytest.raises(RunLocked) as err:
        RunLock.acquire(tmp_path)
    assert "gpu-node-7" in str(err.value) and f"delete {path}" in str(err.value)
    assert path.exists()


def test_release_leaves_a_lock_that_is_not_ours(tmp_path):
    lock = RunLock.acquire(tmp_path)
    (tmp_path / LOCK_NAME).unlink()  # e.g. deleted by hand, then another process took the directory
    _lock(tmp_path, 1234, host="elsewhere")
    lock.release()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["host"] == "elsewhere"


def test_resume_of_a_live_run_is_refused(tmp_path, sleeper):
    run = _run(tmp_path, "r", "running", age=1)
    _lock(run, sleeper.pid, start_time=process_start_time(sleeper.pid))
    with pytest.raises(ResumeError, match=f"in use by a running process .*pid {sleeper.pid}"):
        resolve_resume(OmegaConf.create({"resume": str(run)}))


def test_other_ranks_are_not_kept_out_by_rank_0s_lock(tmp_path, monkeypatch, sleeper):
    """Under torchrun rank 0 locks the run while the other ranks are still choosing it."""
    for name, value in {"WORLD_SIZE": "2", "RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500",
                        "TORCHELASTIC_RUN_ID": "job1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    _run(tmp_path, "older", "interrupted", age=100)
    run = _run(tmp_path, "r", "running", age=1, checkpoints=(4,))
    _lock(run, sleeper.pid, start_time=process_start_time(sleeper.pid), launch=launch_id())
    assert latest_run().resolve() == run.resolve()
    assert resolve_resume(OmegaConf.create({"resume": str(run)})).run_dir == run
    monkeypatch.setenv("MASTER_PORT", "29501")  # another launch: kept out
    with pytest.raises(ResumeError, match="in use by a running process"):
        resolve_resume(OmegaConf.create({"resume": str(run)}))


# --------------------------------------------------------------------------- overrides on resume

@pytest.fixture
def saved_run(tmp_path) -> Path:
    from loralab.api import compose

    run = tmp_path / "run"
    run.mkdir()
    cfg = compose(["trainer.max_steps=8", "lora.r=16"], validate=False)
    (run / "config.yaml").write_text(OmegaConf.to_yaml(redact(cfg)))
    (run / "status.json").write_text(json.dumps({"state": "interrupted", "step": 6}))
    (run / "checkpoints" / "checkpoint-6").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint-6" / MARKER).write_text("{}")
    return run


def _resume(run: Path, *overrides: str):
    from loralab.api import compose

    cli = [f"resume={run}", *overrides]
    return resolve_resume(compose(cli, validate=False), cli)


def test_resume_applies_and_records_the_overrides_it_can_honour(saved_run):
    resumed = _resume(saved_run, "trainer.max_steps=16", "eval.max_examples=5", "logger=tensorboard")
    assert resumed.cfg.trainer.max_steps == 16 and resumed.cfg.eval.max_examples == 5
    assert list(resumed.cfg.logger.report_to) == ["tensorboard"]
    assert resumed.overrides["trainer.max_steps"] == {"from": 8, "to": 16}
    assert resumed.overrides["logger.report_to"] == {"from": [], "to": ["tensorboard"]}
    resumed.record()
    assert OmegaConf.load(saved_run / "config.yaml").trainer.max_steps == 16  # a later resume continues so
    history = json.loads((saved_run / "resumes.json").read_text())
    assert history[-1]["overrides"]["trainer.max_steps"] == {"from": 8, "to": 16}
    assert history[-1]["from_checkpoint"].endswith("checkpoint-6")


@pytest.mark.parametrize("override, named", [
    ("lora.r=32", "lora.r=32 (the run has 16)"),
    ("optimizer.lr=3e-5", "optimizer.lr=3e-5"),
    ("seed=7", "seed=7"),
    ("trainer.micro_batch_size=2", "trainer.micro_batch_size=2"),
    ("lora=r64", "lora=r64 (changes lora.name, lora.r)"),
    ("precision=fp32", "precision=fp32"),
])
def test_resume_refuses_overrides_that_change_the_run(saved_run, override, named):
    with pytest.raises(ResumeError) as err:
        _resume(saved_run, "trainer.max_steps=16", override)
    assert named in str(err.value)
    assert "trainer.max_steps" not in str(err.value).split("It can change")[0]  # only the bad one is named
    assert OmegaConf.load(saved_run / "config.yaml").trainer.max_steps == 8  # nothing written


def test_resume_accepts_the_original_command_again(saved_run):
    resumed = _resume(saved_run, "trainer.max_steps=8", "lora.r=16")  # same values as the run's
    assert resumed.overrides == {}


def test_resume_refuses_max_steps_already_reached(saved_run):
    with pytest.raises(ResumeError, match="trainer.max_steps=4 is not beyond the checkpoint's step 6"):
        _resume(saved_run, "trainer.max_steps=4")


# --------------------------------------------------------------------------- the interrupt message

def test_interrupt_message_names_the_run_dir(tmp_path):
    stop = GracefulStop(tmp_path / "my run")
    stop.signum, stop.step = signal.SIGTERM, 12
    with pytest.raises(RunInterrupted) as err:
        stop.raise_if_stopped()
    assert f"Continue with: loralab-train resume='{tmp_path / 'my run'}'" in str(err.value)
    assert err.value.exit_code == 128 + signal.SIGTERM


def test_a_run_saved_with_text_switches_resumes_onto_the_typed_schema():
    # earlier loralab wrote the auto/on/off switches as "auto" | "true" | "false"
    from loralab.config.schema import RunConfig
    from loralab.resume import _typed_switches

    saved = OmegaConf.create({"trainer": {"gradient_checkpointing": "auto", "fused_lm_head": "false",
                                          "oom_fallback": "True"}, "env": {"dataloader_pin_memory": "auto"}})
    merged = OmegaConf.merge(OmegaConf.structured(RunConfig), _typed_switches(saved))
    assert (merged.trainer.gradient_checkpointing, merged.trainer.fused_lm_head, merged.trainer.oom_fallback,
            merged.env.dataloader_pin_memory) == (None, False, True, None)
