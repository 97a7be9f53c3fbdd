"""Fault injection: torch.OutOfMemoryError raised inside a training step drives the OOM ladder
(on CPU, where the ladder is off unless asked for)."""

from __future__ import annotations

import json

import pytest
import torch

from loralab.api import compose, train
from loralab.errors import OutOfMemoryLadderExhausted
from loralab.rundir import read_status
from loralab.sft_trainer import LoralabSFTTrainer

from cli_helpers import tiny_overrides


def _inject_oom(monkeypatch, when):
    """Make training_step raise OutOfMemoryError whenever ``when(trainer)`` is true."""
    real = LoralabSFTTrainer.training_step
    calls = {"raised": 0}

    def step(self, *args, **kwargs):
        if when(self):
            calls["raised"] += 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (injected by the test)")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LoralabSFTTrainer, "training_step", step)
    return calls


def _cfg(model_dir, *extra):
    return compose(tiny_overrides(model_dir, "eval.at_end=false", "trainer.save_total_limit=null", *extra))


def test_oom_halves_the_micro_batch_and_resumes_from_the_last_checkpoint(tiny_model_dir, tmp_path, monkeypatch):
    # Memory "runs out" from step 11 on while the micro-batch is above 1: checkpoint-8 is the last good state.
    calls = _inject_oom(monkeypatch, lambda t: t.args.per_device_train_batch_size > 1 and t.state.global_step >= 10)
    run_dir = tmp_path / "run"
    result = train(_cfg(tiny_model_dir, "trainer.oom_fallback=true"), run_dir)

    assert read_status(run_dir)["state"] == "completed"
    assert calls["raised"] == 3
    manifest = json.loads((run_dir / "manifest.json").read_text())
    history = manifest["oom_fallbacks"]
    assert [h["overrides"] for h in history] == [
        {"trainer.micro_batch_size": 4, "trainer.gradient_accumulation_steps": 2},
        {"trainer.micro_batch_size": 2, "trainer.gradient_accumulation_steps": 4},
        {"trainer.micro_batch_size": 1, "trainer.gradient_accumulation_steps": 8},
    ]
    assert all(h["at_step"] == 10 and h["resumed_from"].endswith("checkpoint-8") for h in history)
    assert all("out of memory" in h["error"] for h in history)
    assert manifest["effective_batch"] == 8  # the optimisation did not change
    # the run directory's config is what finally ran, so resume=<run dir> continues with it
    saved = (run_dir / "config.yaml").read_text()
    assert "micro_batch_size: 1" in saved and "gradient_accumulation_steps: 8" in saved
    assert result.metrics["summary"]["global_step"] == 16
    steps = [e["step"] for e in result.metrics["train"]]
    assert steps == sorted(set(steps)) and steps[-1] == 16  # history cut back to the checkpoint, not duplicated
    assert result.metrics["final"]["eval_loss_last"] < result.metrics["final"]["eval_loss_first"]
    assert (run_dir / "adapter" / "adapter_model.safetensors").is_file()


def test_exhausted_ladder_fails_with_what_was_tried(tiny_model_dir, tmp_path, monkeypatch):
    _inject_oom(monkeypatch, lambda t: True)
    run_dir = tmp_path / "run"
    cfg = _cfg(tiny_model_dir, "trainer.oom_fallback=true", "trainer.micro_batch_size=2", "trainer.max_length=256",
               "trainer.oom_min_max_length=128")
    with pytest.raises(OutOfMemoryLadderExhausted) as info:
        train(cfg, run_dir)
    message = str(info.value)
    for tried in ("trainer.micro_batch_size 2 -> 1", "lora.target_modules", "trainer.max_length 256 -> 128",
                  "loralab-estimate"):
        assert tried in message
    status = read_status(run_dir)
    assert status["state"] == "failed" and "OutOfMemoryLadderExhausted" in status["error"]
    assert not (run_dir / "adapter").exists()
    history = json.loads((run_dir / "manifest.json").read_text())["oom_fallbacks"]
    assert [h["action"] for h in history] == ["halve micro-batch, keep effective batch", "qv-fallback LoRA targets",
                                             "shorter max length"]


def test_on_cpu_the_ladder_is_off_by_default(tiny_model_dir, tmp_path, monkeypatch):
    calls = _inject_oom(monkeypatch, lambda t: True)
    with pytest.raises(torch.OutOfMemoryError):
        train(_cfg(tiny_model_dir), tmp_path / "run")
    assert calls["raised"] == 1
    assert read_status(tmp_path / "run")["state"] == "failed"
