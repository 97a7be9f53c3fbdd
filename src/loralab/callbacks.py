"""Trainer callbacks that record what happened into the run directory as it happens."""

from __future__ import annotations

import math
import time
from pathlib import Path

from transformers import TrainerCallback

from .distributed import is_main_process
from .console import console, format_duration
from .rundir import write_json

ETA_AFTER_STEPS = 3


class MetricsRecorder(TrainerCallback):
    """Keeps the train/eval history in metrics.json, rewritten (atomically) at every log, so even a
    run that dies midway shows how far it got."""

    def __init__(self, run_dir: Path, summary: dict):
        self.path = run_dir / "metrics.json"
        self.train: list[dict] = []
        self.eval: list[dict] = []
        self.summary = summary
        self._start: float | None = None
        self._first_step_at: float | None = None
        self._first_step_done = 0

    def keep_history_until(self, checkpoint: Path) -> None:
        """On resume: keep the logged history up to the checkpoint's step (later entries are replayed)."""
        import json

        step = int(checkpoint.name.rsplit("-", 1)[1])
        try:
            old = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        self.train = [e for e in old.get("train", []) if e["step"] <= step]
        self.eval = [e for e in old.get("eval", []) if e["step"] <= step]

    def on_train_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self._first_step_at is None and self._start is not None:
            self._first_step_at = time.perf_counter() - self._start
            self._first_step_done = state.global_step
            self.summary["time_to_first_step_s"] = round(self._first_step_at, 2)
        elif (self._first_step_at is not None and "eta_s" not in self.summary
              and state.global_step - self._first_step_done >= ETA_AFTER_STEPS):
            # the first step pays for warm-up (allocations, kernels): time the steady steps after it
            per_step = (time.perf_counter() - self._start - self._first_step_at) / (state.global_step - self._first_step_done)
            eta = per_step * max(0, state.max_steps - state.global_step)
            self.summary.update(s_per_step_early=round(per_step, 3), eta_s=round(eta, 1))
            if state.is_world_process_zero:
                console.print(f"{per_step:.2f} s/step over steps {self._first_step_done + 1}-{state.global_step}: "
                              f"ETA {format_duration(eta)} for the {state.max_steps - state.global_step} steps left "
                              "(evaluation not included)")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        entry = {"step": state.global_step, "epoch": state.epoch, **logs}
        if any(k.startswith("eval_") for k in logs):
            self.eval.append(entry)
        elif "loss" in logs:
            self.train.append(entry)
        elif "train_runtime" in logs:
            self.summary.update({k: v for k, v in logs.items()})
        self.write(state)

    def write(self, state=None, **final) -> dict:
        self.summary.update(final)
        if state is not None:
            self.summary.update({"global_step": state.global_step, "best_metric": state.best_metric,
                                 "best_checkpoint": state.best_model_checkpoint})
        payload = {"summary": self.summary, "train": self.train, "eval": self.eval, "final": self.final()}
        if is_main_process():  # every rank records (only rank 0 sees the logs); rank 0 writes
            write_json(self.path, payload)
        return payload

    def final(self) -> dict:
        out: dict = {}
        if self.train:
            out["train_loss_first"] = self.train[0]["loss"]
            out["train_loss_last"] = self.train[-1]["loss"]
        losses = [e["eval_loss"] for e in self.eval if "eval_loss" in e and math.isfinite(e["eval_loss"])]
        if losses:
            out.update(eval_loss_first=losses[0], eval_loss_last=losses[-1], eval_loss_best=min(losses))
        return out


class NonFiniteLossGuard(TrainerCallback):
    """Stop a diverged run at once with a message that says what to change (transformers would
    otherwise train on NaNs to the end and save a useless adapter)."""

    def __init__(self, lr: float):
        self.lr = lr

    def on_log(self, args, state, control, logs=None, **kwargs):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            raise FloatingPointError(f"training loss is {loss} at step {state.global_step}: the run diverged. "
                                     f"Lower optimizer.lr (now {self.lr:g}) or optimizer.max_grad_norm, or check the data.")
