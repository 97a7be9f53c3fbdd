"""trainer.max_time on the tiny model, through the real ``loralab-train`` main run in this process
(so the measurement and the step time can be patched): the warm-up changes nothing the run sees,
the schedule spans the planned steps, the budget stops a slow run, a resume keeps the plan."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

import loralab.recipe
import loralab.time_budget
from loralab.rundir import read_status
from loralab.time_budget import Speed

from cli_helpers import run_in_process, tiny_overrides

# fp32 and checkpoints every 2 steps; dropout and the length-grouped shuffle stay on: both draw
# random numbers, which the warm-up must give back
BASE = ["precision=fp32", "eval.at_end=false", "trainer.eval_steps=2", "trainer.save_steps=2",
        "trainer.save_total_limit=null"]


def train_cli(*args: str) -> tuple[int, str]:
    """``loralab-train <args>`` in this process; (exit code, output with rich's wrapping undone)."""
    code, output = run_in_process(list(args))
    return code, " ".join(output.split())


def run(model_dir: Path, run_dir: Path, *extra: str) -> str:
    code, output = train_cli(*tiny_overrides(model_dir, *BASE, *extra), f"hydra.run.dir={run_dir}")
    assert code == 0, output[-3000:]
    return output


def adapter(run_dir: Path) -> dict:
    return load_file(run_dir / "adapter" / "adapter_model.safetensors")


def records(run_dir: Path) -> tuple[dict, dict]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return metrics, manifest


def fixed_speed(s_per_step: float):
    def measure(trainer, loader, budget_s):
        return Speed(tokens_per_s=1000.0, s_per_step=s_per_step, eval_s=0.0, warmup_s=0.0, micro_batches=3)
    return measure


def add_callback(monkeypatch, callback: TrainerCallback) -> None:
    """Every trainer the recipe builds gets ``callback`` too."""
    build = loralab.recipe._build_trainer

    def patched(*args, **kwargs):
        trainer, callbacks = build(*args, **kwargs)
        trainer.add_callback(callback)
        return trainer, callbacks

    monkeypatch.setattr(loralab.recipe, "_build_trainer", patched)


class ScheduleEnd(TrainerCallback):
    """The scheduler's learning rate once training ends: 0 when its cosine spans the steps run."""

    def __init__(self):
        self.lr, self.steps = None, None

    def on_train_end(self, args, state, control, lr_scheduler=None, **kwargs):
        self.lr, self.steps = lr_scheduler.get_last_lr()[0], lr_scheduler.last_epoch


def test_warmup_changes_nothing_the_run_sees(tiny_model_dir, tmp_path, monkeypatch):
    """Same planned steps with and without a budget: the same adapter, bit for bit. And right after
    the warm-up, the weights, gradients and random generators are as before it."""
    measure = loralab.time_budget.measure
    seen = {}

    def spy(trainer, loader, budget_s):
        trainable = {n: p.detach().clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
        rng = (random.getstate(), np.random.get_state()[1].copy(), torch.get_rng_state())
        speed = measure(trainer, loader, budget_s)
        seen["speed"] = speed
        after = dict(trainer.model.named_parameters())
        seen["weights_kept"] = all(torch.equal(after[n], w) for n, w in trainable.items())
        seen["no_grads"] = all(p.grad is None for p in trainer.model.parameters())
        seen["rng_kept"] = (random.getstate() == rng[0] and np.array_equal(np.random.get_state()[1], rng[1])
                            and torch.equal(torch.get_rng_state(), rng[2]))
        return speed

    reference = tmp_path / "reference"
    run(tiny_model_dir, reference, "trainer.max_steps=8")
    monkeypatch.setattr(loralab.time_budget, "measure", spy)
    budgeted = tmp_path / "budgeted"
    output = run(tiny_model_dir, budgeted, "trainer.max_steps=8", "trainer.max_time=1h")

    assert seen["weights_kept"] and seen["no_grads"] and seen["rng_kept"]
    assert seen["speed"].tokens_per_s > 0 and seen["speed"].s_per_step > 0 and seen["speed"].eval_s > 0
    a, b = adapter(reference), adapter(budgeted)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # max_steps is the smaller limit, and the summary and the records say so
    assert "planned steps: 8 (max_steps=8; the 1h budget holds ~" in output
    metrics, manifest = records(budgeted)
    for record in (manifest["time_budget"], metrics["summary"]["time_budget"]):
        assert record["planned_steps"] == 8 and record["limited_by"] == "max_steps"
        assert record["budget_steps"] > 8 and record["s_per_step"] > 0 and record["tokens_per_s"] > 0
        assert record["steps_run"] == 8 and record["stopped_by_budget"] is False
    assert metrics["summary"]["global_step"] == 8


def test_budget_sets_the_steps_the_schedule_spans(tiny_model_dir, tmp_path, monkeypatch):
    """A budget holding 6 of the 16 max_steps: 6 steps run, and the cosine schedule ends at them."""
    monkeypatch.setattr(loralab.time_budget, "measure", fixed_speed(560.0))  # 95 % of 1h / 560 s: 6 steps
    schedule = ScheduleEnd()
    add_callback(monkeypatch, schedule)
    run_dir = tmp_path / "budget-wins"
    output = run(tiny_model_dir, run_dir, "trainer.max_steps=16", "trainer.max_time=1h")

    assert "planned steps: 6 (the 1h budget at 560 s/step; max_steps=16)" in output
    metrics, manifest = records(run_dir)
    assert metrics["summary"]["global_step"] == 6
    assert schedule.steps == 6 and schedule.lr == 0.0  # built for 6 steps, not 16: the cosine reached its end
    record = manifest["time_budget"]
    assert record["planned_steps"] == 6 and record["limited_by"] == "max_time" and record["configured_steps"] == 16
    assert record["steps_run"] == 6 and record["stopped_by_budget"] is False


class SlowSteps(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(1.0)


def test_budget_stops_a_slow_run_which_ends_completed(tiny_model_dir, tmp_path, monkeypatch):
    add_callback(monkeypatch, SlowSteps())  # the warm-up times fast steps; training's are slow
    run_dir = tmp_path / "stopped"
    output = run(tiny_model_dir, run_dir, "trainer.max_steps=16", "trainer.max_time=5s")

    assert read_status(run_dir)["state"] == "completed"
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()
    metrics, manifest = records(run_dir)
    steps = metrics["summary"]["global_step"]
    assert 1 <= steps < 16
    planned = manifest["time_budget"]["planned_steps"]  # 16, or fewer when this machine is slow
    assert steps < planned and f"time budget 5s spent at step {steps} of {planned}: stopping" in output
    for record in (manifest["time_budget"], metrics["summary"]["time_budget"]):
        assert record["stopped_by_budget"] is True and record["steps_run"] == steps
        assert record["training_s"] >= 5.0
    assert metrics["eval"][-1]["step"] == steps  # the last state was evaluated, as at a run's last step


class TermAtStep(TrainerCallback):
    """SIGTERM while step ``step`` runs: the run saves a checkpoint after it and stops, interrupted."""

    def __init__(self, step: int):
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step - 1:
            os.kill(os.getpid(), signal.SIGTERM)


def test_resume_keeps_the_planned_steps(tiny_model_dir, tmp_path, monkeypatch):
    """Interrupted at step 4 of the 6 the budget planned, resumed: no new measurement, steps 5-6
    run on the same schedule, and the adapter is that of the uninterrupted run."""
    monkeypatch.setattr(loralab.time_budget, "measure", fixed_speed(560.0))
    # as tests/e2e/test_resume.py: without dropout and shuffle a resumed run's numbers match exactly
    overrides = ["trainer.max_steps=16", "trainer.max_time=1h", "trainer.group_by_length=false", "lora.dropout=0.0"]
    reference = tmp_path / "reference"
    run(tiny_model_dir, reference, *overrides)

    run_dir = tmp_path / "interrupted"
    with monkeypatch.context() as patch:
        add_callback(patch, TermAtStep(4))
        code, output = train_cli(*tiny_overrides(tiny_model_dir, *BASE, *overrides), f"hydra.run.dir={run_dir}")
    assert code == 128 + signal.SIGTERM, output[-3000:]
    assert read_status(run_dir)["state"] == "interrupted"

    def no_measure(*args):
        raise AssertionError("a resumed run keeps its plan: nothing to measure")

    monkeypatch.setattr(loralab.time_budget, "measure", no_measure)
    schedule = ScheduleEnd()
    add_callback(monkeypatch, schedule)
    code, output = train_cli(f"resume={run_dir}", f"hydra.run.dir={tmp_path / 'ignored'}")
    assert code == 0, output[-3000:]
    assert "planned steps: 6 (kept from the run's start, max_steps=16; resumed at step 4" in output
    metrics, manifest = records(run_dir)
    assert metrics["summary"]["global_step"] == 6 and schedule.steps == 6 and schedule.lr == 0.0
    assert manifest["time_budget"]["limited_by"] == "resumed" and manifest["time_budget"]["steps_run"] == 6
    a, b = adapter(reference), adapter(run_dir)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=1e-4), key


def test_a_bad_duration_is_refused_before_anything_loads(tiny_model_dir, tmp_path):
    run_dir = tmp_path / "bad"
    code, output = train_cli(*tiny_overrides(tiny_model_dir, "trainer.max_time=6minutes"), f"hydra.run.dir={run_dir}")
    assert code == 2
    assert "trainer.max_time = '6minutes'" in output and "1h30m" in output and "HH:MM:SS" in output
    assert "Traceback" not in output and not (run_dir / "manifest.json").exists()
