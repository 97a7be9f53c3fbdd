"""trainer.max_time: durations, their validation, the step plan and the stop (no model involved)."""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import pytest

import loralab
from loralab.errors import ConfigError
from loralab.time_budget import budget_stop, describe_plan, parse_duration, plan_steps, preserved_rng


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("6m", 360), ("1h30m", 5400), ("1h 30m", 5400), ("1.5h", 5400), ("2d", 172800),
    ("1d2h3m4s", 93784), ("6M", 360), ("00:06:00", 360), ("1:30:00", 5400), ("01:00:00:00", 86400),
    ("00:01:30:15", 5415),
])
def test_durations_parse(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", "90", "6", "1:30", "6 minutes", "6min", "1h30", "1h1h", "-5m", "abc", "00:61:00", "00:00:60",
    "01:24:00:00", "5m 1x", "0s", "00:00:00",
])
def test_bad_durations_name_the_accepted_forms(text):
    with pytest.raises(ValueError) as err:
        parse_duration(text)
    assert "90s, 6m, 1h30m" in str(err.value) and "HH:MM:SS" in str(err.value) and "DD:HH:MM:SS" in str(err.value)


def test_bare_number_says_why():
    """YAML reads an unquoted 1:30:00 as the number 5400: the message says so."""
    with pytest.raises(ValueError, match="no unit.*quote it"):
        parse_duration("5400")


def test_validation_names_the_field_the_value_and_the_forms():
    with pytest.raises(ConfigError) as err:
        loralab.compose(["trainer.max_time=6minutes"])
    line = next(line for line in str(err.value).splitlines() if "trainer.max_time" in line)
    assert "'6minutes'" in line and "1h30m" in line and "HH:MM:SS" in line


def test_validation_accepts_durations_and_null():
    assert loralab.compose(["trainer.max_time=00:06:00"]).trainer.max_time == "00:06:00"
    assert loralab.compose(["trainer.max_time=6m"]).trainer.max_time == "6m"
    assert loralab.compose(["trainer.max_time=null"]).trainer.max_time is None
    assert loralab.compose([]).trainer.max_time is not None  # the default experiment fits a budget


def test_a_budget_is_accepted_for_several_ranks(monkeypatch):
    # the ranks agree on the smallest plan and stop together (tests/e2e/test_distributed.py's torchrun
    # run trains under the default experiment's budget)
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert loralab.compose(["trainer.max_time=6m"]).trainer.max_time == "6m"


def test_validation_refuses_a_budget_under_fsdp():
    with pytest.raises(ConfigError, match=r"trainer.max_time = '6m': .*distributed=fsdp"):
        loralab.compose(["trainer.max_time=6m", "distributed=fsdp"])


def test_planned_steps_from_the_measured_rate():
    assert plan_steps(360, 0.19) == 1894
    assert plan_steps(360, 0.87) == 413
    assert plan_steps(1, 5.0) == 1  # a budget shorter than one step still trains one
    # 40 steps + 5 evaluations (start, 10, 20, 30, 40) of 10 s = 90 s; 41 steps would need a 6th one
    assert plan_steps(100, 1.0, eval_s=10, eval_every=10, eval_on_start=True) == 40
    assert plan_steps(100, 1.0, eval_s=10, eval_every=10) == 50  # 50 + 5 x 10 = 100


@pytest.mark.parametrize("seed", range(20))
def test_planned_steps_are_the_most_that_fit(seed):
    rng = random.Random(seed)
    budget, per_step, eval_s = rng.uniform(10, 5000), rng.uniform(0.05, 5), rng.uniform(0, 60)
    every, on_start = rng.randint(1, 300), rng.random() < 0.5
    steps = plan_steps(budget, per_step, eval_s, every, on_start)

    def cost(n):
        return n * per_step + (math.ceil(n / every) + on_start) * eval_s

    assert cost(steps) <= budget or steps == 1
    assert cost(steps + 1) > budget


def test_the_plan_says_which_limit_won():
    assert (describe_plan(1250, "max_steps", "6m", 1894, 0.19, "max_steps=1250")
            == "1,250 (max_steps=1250; the 6m budget holds ~1,894 at 0.19 s/step)")
    assert (describe_plan(413, "max_time", "6m", 413, 0.87, "max_steps=1250")
            == "413 (the 6m budget at 0.87 s/step; max_steps=1250)")


def _flow(step: int, max_steps: int = 100):
    from transformers import TrainerControl, TrainerState

    state = TrainerState(global_step=step, max_steps=max_steps, eval_steps=10, is_world_process_zero=True)
    return state, TrainerControl()


def test_stop_waits_for_the_deadline_then_evaluates_and_saves_the_last_state():
    now = [100.0]
    record = {"max_time": "1m"}
    stop = budget_stop(deadline=160.0, started=100.0, record=record, clock=lambda: now[0])
    args = SimpleNamespace(eval_strategy="steps", save_strategy="steps")
    state, control = _flow(7)
    now[0] = 159.9
    stop.on_step_end(args, state, control)
    assert not (control.should_training_stop or control.should_evaluate or control.should_save)
    now[0] = 160.5
    stop.on_step_end(args, state, control)
    assert control.should_training_stop and control.should_evaluate and control.should_save
    stop.on_train_end(args, state, control)
    assert record == {"max_time": "1m", "stopped_by_budget": True, "steps_run": 7, "training_s": 60.5}


def test_a_run_reaching_its_last_step_is_not_stopped_by_the_budget():
    record = {"max_time": "1m"}
    stop = budget_stop(deadline=0.0, started=0.0, record=record, clock=lambda: 10.0)
    args = SimpleNamespace(eval_strategy="no", save_strategy="no")
    state, control = _flow(100, max_steps=100)
    stop.on_step_end(args, state, control)
    assert not control.should_training_stop  # the Trainer's own flow ends it
    stop.on_train_end(args, state, control)
    assert record["stopped_by_budget"] is False and record["steps_run"] == 100


def test_rng_states_are_put_back():
    import numpy as np
    import torch

    def draw():
        return random.random(), np.random.rand(), torch.rand(3)

    with preserved_rng():
        expected = draw()
    with preserved_rng():
        draw(), draw()  # e.g. the warm-up's shuffle and dropout
    got = draw()
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])


def _cosine(total: int, warmup: int):
    import torch
    from transformers import get_scheduler

    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    return optimizer, get_scheduler("cosine", optimizer, num_warmup_steps=warmup, num_training_steps=total)


def test_respan_makes_a_running_schedule_end_at_the_new_total():
    from loralab.time_budget import respan_schedule

    optimizer, scheduler = _cosine(100, 5)
    for _ in range(20):
        optimizer.step()
        scheduler.step()
    before = scheduler.get_last_lr()[0]
    assert respan_schedule(scheduler, 50, 3)
    lrs = []
    for _ in range(30):  # steps 21..50
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    assert lrs[-1] == pytest.approx(0.0, abs=1e-9)  # decayed to the end at the new total
    assert 0 < lrs[0] < before  # continues from where it was, decaying faster
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_budget_replans_from_the_real_steps_and_respans_the_schedule():
    """Planned 80 steps at 1.25 s in a 100 s budget; the real steps take 2 s. Once 15 % of the
    budget is spent the plan follows the real steps, and the schedule ends where the run will."""
    from transformers import ProgressCallback

    now = [0.0]
    record = {"max_time": "100s", "planned_steps": 80}
    progress = ProgressCallback()
    stop = budget_stop(deadline=100.0, started=0.0, record=record, clock=lambda: now[0], cap=200,
                       callbacks=[progress])
    args = SimpleNamespace(eval_strategy="no", save_strategy="no", max_steps=80, get_warmup_steps=lambda n: 0)
    state, control = _flow(0, max_steps=80)
    progress.on_train_begin(args, state, control)
    optimizer, scheduler = _cosine(80, 0)
    while state.global_step < state.max_steps and not control.should_training_stop:
        now[0] += 2.0
        state.global_step += 1
        optimizer.step()
        scheduler.step()
        stop.on_step_end(args, state, control, lr_scheduler=scheduler)
    first = record["replanned"][0]
    assert first["from_steps"] == 80 and first["s_per_step"] == pytest.approx(2.0)
    assert 44 <= state.max_steps == args.max_steps == record["planned_steps"] <= 50
    assert not control.should_training_stop  # the run reaches its (new) last step within the budget
    assert scheduler.get_last_lr()[0] == pytest.approx(0.0, abs=1e-9)  # and the schedule ended with it
    assert progress.training_bar.total == state.max_steps  # the bar counts to the new plan
    progress.training_bar.close()


def test_replan_counts_the_evaluations_still_to_come():
    """Before any evaluation during training was timed, the warm-up's estimate of one stands in."""
    plans = {}
    for eval_s in (0.0, 5.0):
        now = [0.0]
        record = {"max_time": "100s"}
        stop = budget_stop(deadline=100.0, started=0.0, record=record, clock=lambda: now[0], cap=200,
                           eval_every=10, eval_s=eval_s)
        args = SimpleNamespace(eval_strategy="steps", save_strategy="no", max_steps=80,
                               get_warmup_steps=lambda n: 0)
        state, control = _flow(0, max_steps=80)
        while not record.get("replanned"):
            now[0] += 2.0
            state.global_step += 1
            stop.on_step_end(args, state, control)
        plans[eval_s] = state.max_steps
    assert plans[5.0] < plans[0.0] - 5  # ~5 evaluations of 5 s left in 85 s: ~12 steps fewer


def test_replans_follow_the_recent_steps_when_early_ones_are_slow():
    """Early steps pay one-time costs (3 s each for the first 12, then 1 s): each re-plan reads the
    steps since the previous one, so the last plan follows the settled rate and the run ends near
    its deadline instead of stopping short with budget left."""
    now = [0.0]
    record = {"max_time": "200s", "planned_steps": 60}
    stop = budget_stop(deadline=200.0, started=0.0, record=record, clock=lambda: now[0], cap=1000)
    args = SimpleNamespace(eval_strategy="no", save_strategy="no", max_steps=60, get_warmup_steps=lambda n: 0)
    state, control = _flow(0, max_steps=60)
    while state.global_step < state.max_steps and not control.should_training_stop:
        now[0] += 3.0 if state.global_step < 12 else 1.0
        state.global_step += 1
        stop.on_step_end(args, state, control)
    last = record["replanned"][-1]
    assert last["s_per_step"] == pytest.approx(1.0)  # not the mean since the start (~1.2 s)
    assert 185.0 <= now[0] <= 200.0 and not control.should_training_stop  # the plan used the budget
