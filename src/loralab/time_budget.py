"""``trainer.max_time``: a wall-clock budget for training.

Before the Trainer's loop starts, a few micro-batches of the real training data go forward and
backward through the real model (their gradients are then dropped: weights, optimizer and the data
order the run sees are untouched, the random number generators are restored). The speed measured
there sets how many optimiser steps the budget holds, and ``args.max_steps`` is set to that before
``trainer.train()`` creates the learning-rate scheduler, so warm-up and decay span the steps that
really run. ``trainer.max_steps`` (or ``num_epochs``) still bounds the run: the smaller wins.
Whatever the estimate, the :func:`budget_stop` callback ends training once the budget is spent;
the last state is then evaluated, saved and used like that of a run that reached its last step.

What the budget covers: the warm-up and the training loop with its evaluations, from the first
warm-up step to the end of the last optimiser step. Loading, tokenising and the tool-call
evaluation after training are outside it. The eval-loss evaluations during training are
estimated (one eval batch is timed and scaled to the eval set) and taken out of the budget before
the steps are counted. The warm-up times forward and backward only: UNTIMED_SHARE of the budget is
kept for what it does not see (the optimiser step, gradient clipping, logging, checkpoint writes),
and once REPLAN_AT shares of the training loop's time are spent the plan is corrected from the real
steps since the previous correction and the running schedule re-spanned over it
(:func:`respan_schedule`).
The tool-call scoring of ``eval.during_training`` is not estimated: when anything makes the run
slower than planned, the stop ends it earlier (before the schedule's end).

Nothing here imports torch or transformers at module level: validation reads
:func:`max_time_problem` before the run's environment is applied.
"""

from __future__ import annotations

import math
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass


FORMS = ("a duration such as 90s, 6m, 1h30m or 1.5h (units d, h, m, s), HH:MM:SS (00:06:00) or DD:HH:MM:SS; "
         "null for no budget")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_UNIT_FORM = re.compile(r"(\d+(?:\.\d+)?)\s*([dhms])")
_CLOCK_FORM = re.compile(r"\d+(?::\d{1,2}){2,3}")

# The first warm-up micro-batch pays one-time costs (allocations, kernel selection) and is not
# timed; then up to TIMED_MICRO_BATCHES are, fewer once MEASURE_SHARE of the budget is spent.
TIMED_MICRO_BATCHES = 3
MEASURE_SHARE = 0.02
UNTIMED_SHARE = 0.05


def parse_duration(value) -> float:
    """Seconds in ``value`` (see FORMS); ValueError naming the accepted forms otherwise."""
    text = str(value).strip().lower()
    seconds = None
    if _CLOCK_FORM.fullmatch(text):
        parts = [int(p) for p in text.split(":")]
        if all(p < 60 for p in parts[-2:]) and (len(parts) == 3 or parts[1] < 24):
            seconds = sum(p * unit for p, unit in zip(reversed(parts), (1, 60, 3600, 86400)))
    elif text:
        pos, seen, total = 0, set(), 0.0
        for match in _UNIT_FORM.finditer(text):
            if match.start() != pos or match.group(2) in seen:
                break
            seen.add(match.group(2))
            total += float(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
            while pos < len(text) and text[pos] == " ":
                pos += 1
        else:
            seconds = total if seen and pos == len(text) else None
    if seconds is None:
        hint = (" (a bare number has no unit; unquoted H:MM:SS in a YAML file is read as such a number: "
                "quote it, '1:30:00')") if re.fullmatch(r"\d+(\.\d+)?", text) else ""
        raise ValueError(f"not a duration{hint}: write {FORMS}")
    if seconds <= 0:
        raise ValueError(f"must be a positive duration: write {FORMS}")
    return float(seconds)


def max_time_problem(value, strategy: str) -> str | None:
    """Why ``trainer.max_time`` cannot be used as set, or None."""
    try:
        parse_duration(value)
    except ValueError as exc:
        return str(exc)
    if strategy in ("deepspeed", "fsdp"):
        return (f"a time budget cannot measure distributed={strategy} before training (the engine wraps the model "
                "only when training starts): size the run with trainer.max_steps, or set trainer.max_time=null")
    return None


def plan_steps(budget_s: float, s_per_step: float, eval_s: float = 0.0, eval_every: int | None = None,
               eval_on_start: bool = False) -> int:
    """The most optimiser steps whose time, and the evaluations they bring, fit ``budget_s``: one
    evaluation every ``eval_every`` steps plus one after the last step when that is not a multiple
    (as the Trainer does), and one before the first with ``eval_on_start``. At least one step."""

    def cost(steps: int) -> float:
        evals = (math.ceil(steps / eval_every) if eval_every else 0) + int(eval_on_start)
        return steps * s_per_step + evals * eval_s

    low, high = 0, max(0, int(budget_s / s_per_step))  # steps alone bound it from above
    while low < high:  # the cost rises with the steps: the largest count that fits
        mid = (low + high + 1) // 2
        low, high = (mid, high) if cost(mid) <= budget_s else (low, mid - 1)
    return max(1, low)


def describe_plan(planned: int, limited_by: str, budget_text: str, budget_steps: int, s_per_step: float,
                  configured: str) -> str:
    """The summary's "planned steps" line: which limit won and what the other one allows.
    ``configured`` names the other limit, e.g. "max_steps=1250" or "2 epochs = 900 steps"."""
    rate = f"{s_per_step:.3g} s/step"
    if limited_by == "max_time":
        return f"{planned:,} (the {budget_text} budget at {rate}; {configured})"
    return f"{planned:,} ({configured}; the {budget_text} budget holds ~{budget_steps:,} at {rate})"


@dataclass
class Speed:
    tokens_per_s: float  # real (unpadded) training tokens per second, forward + backward
    s_per_step: float  # one optimiser step of this run: its micro-batches x their mean tokens / tokens_per_s
    eval_s: float  # one evaluation of the eval set; 0 when none runs during training
    warmup_s: float  # wall time of the whole measurement
    micro_batches: int  # run, the untimed first one included


@contextmanager
def preserved_rng():
    """Put back Python's, NumPy's and torch's (CPU and CUDA) generator states on exit: the warm-up's
    sampler shuffle and dropout must not shift what the run draws."""
    import random

    import numpy as np
    import torch

    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    states = (random.getstate(), np.random.get_state(), torch.get_rng_state(),
              torch.cuda.get_rng_state_all() if cuda else None)
    try:
        yield
    finally:
        random.setstate(states[0])
        np.random.set_state(states[1])
        torch.set_rng_state(states[2])
        if states[3] is not None:
            torch.cuda.set_rng_state_all(states[3])


def _tokens(batch) -> int:
    mask = batch.get("attention_mask")
    return int(mask.sum()) if mask is not None else int(batch["input_ids"].numel())  # padding-free: no padding


def _mean_row_tokens(dataset) -> float:
    lengths = [len(ids) for ids in dataset["input_ids"]]
    return sum(lengths) / max(1, len(lengths))


def _checkpointing_as_in_training(trainer) -> None:
    """Activation checkpointing as ``trainer.train()`` turns it on (a GPU run's step costs ~20-30 %
    more with it): the warm-up must time the step the run will take. Turning it on twice is harmless."""
    args = trainer.args
    enable = getattr(trainer.model, "activation_checkpointing_enable", None)
    if not getattr(args, "activation_checkpointing", False) or enable is None:
        return
    kwargs = dict(args.activation_checkpointing_kwargs or {})
    every, offload = kwargs.pop("every_n_layers", 1), kwargs.pop("offload", False)
    enable(activation_checkpointing_kwargs=kwargs or None, every_n_layers=every, offload=offload)


def _synchronize() -> None:
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def measure(trainer, loader, budget_s: float) -> Speed:
    """Time forward + backward on the first micro-batches of ``loader``, the trainer's own train
    dataloader (sampler, collator, device placement, autocast and loss as in training), and one eval
    batch; then drop the gradients. Weights, optimizer (not created yet), RNG states, TRL's logged
    metrics and the model's train/eval mode are left as they were."""
    import copy

    model = trainer.model
    was_training = model.training
    metrics = copy.deepcopy(getattr(trainer, "_metrics", None))
    total_tokens = getattr(trainer, "_total_train_tokens", None)
    _checkpointing_as_in_training(trainer)
    start = time.perf_counter()
    first_s, first_tokens = 0.0, 0
    timed_s, timed_tokens, timed = 0.0, 0, 0
    with preserved_rng():
        try:
            model.train()
            batches = iter(loader)
            try:
                for index, batch in enumerate(batches):
                    inputs = trainer._prepare_inputs(batch)
                    _synchronize()
                    t0 = time.perf_counter()
                    with trainer.accelerator.autocast():
                        loss = trainer.compute_loss(model, inputs)
                    loss.backward()
                    model.zero_grad(set_to_none=True)
                    _synchronize()
                    if index == 0:  # pays one-time costs (allocations, kernel selection): not timed
                        first_s, first_tokens = time.perf_counter() - t0, _tokens(batch)
                        continue
                    timed_s += time.perf_counter() - t0
                    timed_tokens += _tokens(batch)
                    timed += 1
                    if timed >= TIMED_MICRO_BATCHES or time.perf_counter() - start > MEASURE_SHARE * budget_s:
                        break
            finally:
                model.zero_grad(set_to_none=True)
                _close(batches, loader)
            if not timed:  # one micro-batch in the whole set: its time is all there is
                timed_s, timed_tokens = first_s, first_tokens
            eval_s = _eval_seconds(trainer)
        finally:
            model.train(was_training)
            if metrics is not None:
                trainer._metrics = metrics
            if total_tokens is not None:
                trainer._total_train_tokens = total_tokens
    if not timed_tokens:
        raise RuntimeError("trainer.max_time: the train dataloader gave no batch to time")
    tokens_per_s = timed_tokens / max(timed_s, 1e-9)
    args = trainer.args
    rows_per_step = args.per_device_train_batch_size * args.gradient_accumulation_steps
    s_per_step = rows_per_step * _mean_row_tokens(trainer.train_dataset) / tokens_per_s
    return Speed(tokens_per_s, s_per_step, eval_s, time.perf_counter() - start, timed + 1)


def _close(batches, loader) -> None:
    """Leave no half-read loader registered with accelerate (it tracks the active dataloader)."""
    close = getattr(batches, "close", None)
    if close is not None:
        close()
    end = getattr(loader, "end", None)
    if end is not None:
        end()


def _eval_seconds(trainer) -> float:
    """One evaluation's seconds: one eval batch timed through the Trainer's prediction step (after one
    untimed pass), scaled by the eval set's tokens. 0 when no evaluation runs during training."""
    import torch

    if trainer.eval_dataset is None or _strategy(trainer.args.eval_strategy) == "no":
        return 0.0
    loader = trainer.get_eval_dataloader()
    batches = iter(loader)
    trainer.model.eval()
    try:
        batch = next(batches)
        seconds = 0.0
        for _ in range(2):  # the first pass pays one-time costs
            _synchronize()
            t0 = time.perf_counter()
            with torch.no_grad(), trainer.accelerator.autocast():
                trainer.prediction_step(trainer.model, batch, prediction_loss_only=True)
            _synchronize()
            seconds = time.perf_counter() - t0
    except StopIteration:
        return 0.0
    finally:
        _close(batches, loader)
    total = _mean_row_tokens(trainer.eval_dataset) * len(trainer.eval_dataset)
    return seconds * total / max(1, _tokens(batch))


def _eval_every(trainer, steps_per_epoch: int) -> int | None:
    args = trainer.args
    if trainer.eval_dataset is None:
        return None
    strategy = _strategy(args.eval_strategy)
    if strategy == "steps":
        return max(1, int(args.eval_steps))
    return steps_per_epoch if strategy == "epoch" else None


def _agreed(value: int, op: str) -> int:
    """Under torchrun every rank measures its own speed and reads its own clock: all ranks take the
    same value (the smallest plan; a stop as soon as one rank's budget is spent), or the ones that
    went on would wait in the next collective forever."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return value
    import torch

    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    tensor = torch.tensor([value], dtype=torch.int64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN if op == "min" else dist.ReduceOp.MAX)
    return int(tensor.item())


# Re-plan from the real optimiser steps once these shares of the loop's time (from its first step to
# the deadline) are spent, or of the planned steps run: the warm-up times forward and backward only,
# while a real step also pays the optimiser, the data loader and the Trainer's own per-step work (at
# micro-batch 1 on a CPU that was ~35 % more). Each re-plan reads the steps since the previous one:
# early steps can be far slower than later ones (on a CPU limited to AVX2, oneDNN builds kernels for
# each new sequence length), and a mean since the start would keep cutting the plan short.
REPLAN_AT = (0.15, 0.5, 0.8)
MIN_STEPS_TIMED = 5


def respan_schedule(lr_scheduler, total_steps: int, warmup_steps: int) -> bool:
    """Make a running transformers schedule (warm-up, then linear / cosine decay) end at
    ``total_steps`` instead: its lambdas are partials of the total, so they are rebuilt with the
    new one, and the step count so far is kept. False for schedules that have no total."""
    import functools

    scheduler = getattr(lr_scheduler, "scheduler", lr_scheduler)  # accelerate's wrapper
    lambdas = getattr(scheduler, "lr_lambdas", None)
    if not lambdas:
        return False
    changed = False
    for i, fn in enumerate(lambdas):
        if isinstance(fn, functools.partial) and "num_training_steps" in fn.keywords:
            keywords = {**fn.keywords, "num_training_steps": total_steps}
            if "num_warmup_steps" in keywords:
                keywords["num_warmup_steps"] = warmup_steps
            lambdas[i] = functools.partial(fn.func, *fn.args, **keywords)
            changed = True
    return changed


def budget_stop(deadline: float, started: float, record: dict, clock=time.perf_counter, cap: int | None = None,
                replan: bool = True, eval_every: int | None = None, eval_s: float = 0.0, callbacks=()):
    """A callback that, once REPLAN_AT shares of the loop's time are spent, re-plans the steps from
    the real ones since the last re-plan (and re-spans the schedule over them), and ends training
    once ``deadline`` (on ``clock``) has passed, like a run reaching its last step: the state after that step is
    evaluated and saved (step strategies), and the run goes on to save the adapter and evaluate it
    as usual. ``cap``: the most steps a re-plan may set (max_steps / the epochs' steps);
    ``eval_every`` and ``eval_s``: the evaluations' cadence, and the warm-up's estimate of one until
    one is timed. ``callbacks``: the Trainer's, whose progress bar is set to each new plan.
    ``record`` (the manifest's and metrics.json's ``time_budget``) gets the re-plans, the steps
    run and whether the budget stopped them."""
    from transformers import TrainerCallback

    class BudgetStop(TrainerCallback):
        def __init__(self):
            self.last_end: float | None = None
            self.loop_start: float | None = None  # the first step's end: the loop's time counts from there
            self.step_s: list[float] = []
            self.window_start = 1  # the steps a re-plan reads: from here on (the first pays one-time costs)
            self.eval_s: list[float] = []
            self.in_eval = 0.0
            self.replans = 0

        def on_evaluate(self, args, state, control, **kwargs):
            if self.last_end is not None:  # the evaluation ran right after the last step ended
                spent = clock() - self.last_end - self.in_eval
                self.eval_s.append(spent)
                self.in_eval += spent

        def on_step_end(self, args, state, control, **kwargs):
            now = clock()
            if self.last_end is not None:
                self.step_s.append(now - self.last_end - self.in_eval)
            else:
                self.loop_start = now
            self.last_end, self.in_eval = now, 0.0
            if replan and state.global_step < state.max_steps and self.replans < len(REPLAN_AT):
                # every rank asks at every step (the collectives pair up), and all re-plan when any is due
                if _agreed(int(self._replan_due(state, now)), "max"):
                    self._replan(args, state, kwargs.get("lr_scheduler"), now)
            if state.global_step >= state.max_steps or not _agreed(int(now >= deadline), "max"):
                return
            control.should_training_stop = True
            if _strategy(args.eval_strategy) == "steps" and state.global_step % state.eval_steps:
                control.should_evaluate = True
            if _strategy(args.save_strategy) == "steps":
                control.should_save = True
            record["stopped_by_budget"] = True
            if state.is_world_process_zero:
                from .console import console

                console.print(f"[bold yellow]time budget {record['max_time']} spent[/bold yellow] at step "
                              f"{state.global_step:,} of {state.max_steps:,}: stopping")

        def _replan_due(self, state, now: float) -> bool:
            """Once the share of the loop's time spent, or of the planned steps run, reaches the next
            REPLAN_AT: a plan cut short by slow early steps still gets its corrections before it ends."""
            loop = deadline - self.loop_start
            if loop <= 0 or len(self.step_s) - self.window_start < MIN_STEPS_TIMED:
                return False
            return max((now - self.loop_start) / loop, state.global_step / state.max_steps) >= REPLAN_AT[self.replans]

        def _replan(self, args, state, lr_scheduler, now: float) -> None:
            window = self.step_s[self.window_start:]
            self.replans += 1
            self.window_start = len(self.step_s)
            s_per_step = sum(window) / len(window)
            one_eval = sum(self.eval_s) / len(self.eval_s) if self.eval_s else eval_s
            more = plan_steps((deadline - now) * (1 - UNTIMED_SHARE / 2), s_per_step, one_eval, eval_every)
            total = _agreed(state.global_step + more, "min")
            if cap is not None:
                total = min(total, cap)
            total = max(total, state.global_step + 1)
            if total == state.max_steps:
                return
            entry = {"at_step": state.global_step, "s_per_step": round(s_per_step, 4),
                     "from_steps": state.max_steps, "to_steps": total}
            record.setdefault("replanned", []).append(entry)
            record["planned_steps"] = state.max_steps = args.max_steps = total
            respan_schedule(lr_scheduler, total, args.get_warmup_steps(total))
            show_planned_steps(callbacks, total)
            if state.is_world_process_zero:
                from .console import console

                console.print(f"planned steps: {entry['from_steps']:,} -> {total:,} (the real steps take "
                              f"{s_per_step:.3f} s; the schedule now ends there)")

        def on_train_end(self, args, state, control, **kwargs):
            record.update(steps_run=state.global_step, training_s=round(clock() - started, 2))
            record.setdefault("stopped_by_budget", False)

    return BudgetStop()


def show_planned_steps(callbacks, total: int) -> None:
    """Make the Trainer's progress bar (transformers' ProgressCallback draws it once, from the
    first plan) count to the new plan: a run that ends where it planned shows a full bar."""
    for callback in callbacks:
        bar = getattr(callback, "training_bar", None)
        if bar is not None:
            bar.total = total
            bar.refresh()


def _strategy(value) -> str:
    """"steps" | "epoch" | "no" from a strategy enum or string."""
    return str(getattr(value, "value", value)).lower()


class TimeBudget:
    """One run's budget. Its clock starts at the first warm-up and keeps running across the attempts
    of the out-of-memory ladder: the budget is this process's training time."""

    def __init__(self, max_time: str):
        self.text = str(max_time)
        self.seconds = parse_duration(max_time)
        self.started: float | None = None

    def apply(self, trainer, checkpoint=None) -> dict:
        """Measure, set ``trainer.args.max_steps`` when the budget is the smaller limit, add the stop,
        print the plan; return the record for the manifest and metrics.json.

        Resuming from ``checkpoint`` (a resume, or a retry of the out-of-memory ladder) does not
        measure again: the run keeps the step count it planned at its start (the checkpoint's
        ``max_steps``), so the restored scheduler continues the same schedule and an interrupted run
        ends where it would have ended. A lower max_steps / num_epochs still shortens it; a higher one
        does not extend a budgeted plan. The budget bounds this process's training, and the stop
        ends it early when that is shorter than the rest of the plan."""
        from .console import console

        if self.started is None:
            self.started = time.perf_counter()
        args = trainer.args
        record: dict = {"max_time": self.text, "budget_s": self.seconds}
        other = (f"max_steps={args.max_steps}" if args.max_steps > 0
                 else f"{args.num_train_epochs:g} epochs")
        with preserved_rng():  # building the loader draws nothing today; keep it that way for the run
            loader = trainer.get_train_dataloader()
            _, per_epoch, *_, configured = trainer.set_initial_training_values(args, loader)
            speed = measure(trainer, loader, self.seconds) if checkpoint is None else None
        if checkpoint is not None:
            import json
            from pathlib import Path

            state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
            args.max_steps = planned = min(int(state["max_steps"]), configured)
            record.update(planned_steps=planned, limited_by="resumed", configured_steps=configured)
            console.print(f"planned steps: {planned:,} (kept from the run's start, {other}; resumed at step "
                          f"{state['global_step']:,}: the {self.text} budget bounds this process's training)")
        else:
            left = (self.seconds - (time.perf_counter() - self.started)) * (1 - UNTIMED_SHARE)
            budget_steps = _agreed(plan_steps(left, speed.s_per_step, speed.eval_s, _eval_every(trainer, per_epoch),
                                              bool(args.eval_on_start)), "min")
            limited_by = "max_steps" if args.max_steps > 0 else "num_epochs"
            if args.max_steps <= 0:
                other += f" = {configured:,} steps"
            if budget_steps < configured:
                limited_by, args.max_steps = "max_time", budget_steps
            planned = min(budget_steps, configured)
            record.update(planned_steps=planned, limited_by=limited_by, configured_steps=configured,
                          budget_steps=budget_steps, s_per_step=round(speed.s_per_step, 4),
                          tokens_per_s=round(speed.tokens_per_s, 1), eval_s=round(speed.eval_s, 2),
                          warmup_s=round(speed.warmup_s, 2), warmup_micro_batches=speed.micro_batches)
            console.print("planned steps: " + describe_plan(planned, limited_by, self.text, budget_steps,
                                                            speed.s_per_step, other))
            console.print(f"  measured {speed.tokens_per_s:,.0f} tokens/s on {speed.micro_batches} warm-up "
                          f"micro-batches ({speed.warmup_s:.1f} s, counted in the budget)"
                          + (f"; ~{speed.eval_s:.1f} s per evaluation" if speed.eval_s else ""))
        # a re-plan stays within max_steps and within the epochs the loop runs for the plan; a resumed
        # run keeps the schedule it restored
        cap = min(configured, math.ceil(planned / per_epoch) * per_epoch) if per_epoch else configured
        trainer.add_callback(budget_stop(self.started + self.seconds, self.started, record,
                                         cap=cap if checkpoint is None else None, replan=checkpoint is None,
                                         eval_every=_eval_every(trainer, per_epoch),
                                         eval_s=speed.eval_s if speed is not None else 0.0,
                                         callbacks=trainer.callback_handler.callbacks))
        return record
