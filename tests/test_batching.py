"""batching.batch_plan: the accumulation derived from the effective batch, the learning-rate scaling,
and errors that name the field to change."""

from __future__ import annotations

import math

import pytest

import loralab
from compose_helpers import refusal
from loralab.batching import accumulation_steps, batch_plan
from loralab.distributed import world_size_from_env
from loralab.errors import ConfigError


def trainer(*overrides: str):
    return loralab.compose([f"trainer.{o}" for o in overrides]).trainer


@pytest.mark.parametrize("world,accumulation", [(1, 8), (2, 4), (4, 2)])
def test_accumulation_is_derived_so_the_effective_batch_stays_constant(world, accumulation):
    plan = batch_plan(trainer("micro_batch_size=4", "effective_batch_size=32"), 2e-4, world)
    assert plan.gradient_accumulation_steps == accumulation
    assert plan.effective_batch_size == 32 == plan.micro_batch_size * plan.world_size * accumulation
    assert plan.world_size == world
    assert plan.lr == pytest.approx(2e-4) and plan.lr_scale == 1.0


def test_without_effective_batch_the_configured_accumulation_is_kept():
    plan = batch_plan(trainer("micro_batch_size=2", "gradient_accumulation_steps=8"), 2e-4, 4)
    assert (plan.gradient_accumulation_steps, plan.effective_batch_size) == (8, 64)


def test_effective_batch_wins_over_the_configured_accumulation():
    plan = batch_plan(trainer("micro_batch_size=2", "gradient_accumulation_steps=8", "effective_batch_size=4"), 2e-4)
    assert plan.gradient_accumulation_steps == 2


@pytest.mark.parametrize("world,scale", [(1, 1.0), (2, 2.0), (4, 4.0)])
def test_linear_lr_scaling(world, scale):
    # fixed accumulation: more ranks, a larger effective batch, a proportionally larger lr
    t = trainer("micro_batch_size=4", "gradient_accumulation_steps=4", "lr_scaling=linear", "reference_batch_size=16")
    plan = batch_plan(t, 1e-4, world)
    assert plan.effective_batch_size == 16 * world
    assert plan.lr_scale == pytest.approx(scale)
    assert plan.lr == pytest.approx(1e-4 * scale)
    assert plan.base_lr == pytest.approx(1e-4)


@pytest.mark.parametrize("effective,scale", [(16, 1.0), (64, 2.0), (4, 0.5), (32, math.sqrt(2))])
def test_sqrt_lr_scaling(effective, scale):
    t = trainer("micro_batch_size=4", f"effective_batch_size={effective}", "lr_scaling=sqrt",
                "reference_batch_size=16")
    plan = batch_plan(t, 2e-4, 1)
    assert plan.lr_scale == pytest.approx(scale)
    assert plan.lr == pytest.approx(2e-4 * scale)


def test_no_scaling_leaves_the_lr_even_when_a_reference_is_given():
    plan = batch_plan(trainer("effective_batch_size=64", "reference_batch_size=16"), 2e-4, 1)
    assert plan.lr == pytest.approx(2e-4) and plan.lr_scaling == "none"


def test_indivisible_by_the_world_size_names_the_field_and_nearest_values():
    t = trainer("micro_batch_size=8", "effective_batch_size=24")
    with pytest.raises(ConfigError) as err:
        batch_plan(t, 2e-4, 2)
    assert [p.field for p in err.value.problems] == ["trainer.effective_batch_size"]
    message = str(err.value)
    assert "trainer.effective_batch_size = 24" in message
    assert "trainer.micro_batch_size (8) x world size (2) = 16" in message
    assert "16 or 32" in message
    assert "trainer.micro_batch_size=6" in message  # 24 / 2 ranks = 12 per rank, 6 x 2


def test_effective_smaller_than_one_step_suggests_only_positive_values():
    with pytest.raises(ConfigError) as err:
        accumulation_steps(8, 8, 4)
    message = str(err.value)
    assert "nearest valid trainer.effective_batch_size 32" in message and " 0 " not in message
    assert "trainer.micro_batch_size=2" in message


def test_plan_describes_itself_and_serialises():
    t = trainer("micro_batch_size=4", "effective_batch_size=32", "lr_scaling=linear", "reference_batch_size=16")
    plan = batch_plan(t, 1e-4, 2)
    assert plan.describe().startswith("4 micro x 4 accum x 2 ranks = 32")
    assert "linear" in plan.describe()
    assert plan.to_dict() == {"micro_batch_size": 4, "gradient_accumulation_steps": 4, "world_size": 2,
                              "effective_batch_size": 32, "base_lr": 1e-4, "lr": pytest.approx(2e-4),
                              "lr_scaling": "linear", "lr_scale": 2.0, "reference_batch_size": 16}


@pytest.mark.parametrize("env,world", [(None, 1), ("1", 1), ("4", 4)])
def test_world_size_comes_from_the_launcher(monkeypatch, env, world):
    if env is None:
        monkeypatch.delenv("WORLD_SIZE", raising=False)
    else:
        monkeypatch.setenv("WORLD_SIZE", env)
    assert world_size_from_env() == world


# validation: checked at compose time, before the world size is known


def problems(overrides: list[str]) -> list[str]:
    with pytest.raises(ConfigError) as err:
        loralab.compose(overrides)
    return [p.field for p in err.value.problems]


def test_effective_batch_must_be_a_multiple_of_the_micro_batch():
    with pytest.raises(ConfigError) as err:
        loralab.compose(["trainer.micro_batch_size=8", "trainer.effective_batch_size=20"])
    assert [p.field for p in err.value.problems] == ["trainer.effective_batch_size"]
    assert "trainer.effective_batch_size = 20:" in str(err.value) and "16 or 24" in str(err.value)


def test_effective_batch_must_be_positive():
    assert problems(["trainer.effective_batch_size=0"]) == ["trainer.effective_batch_size"]


def test_lr_scaling_must_be_a_known_rule():
    message = refusal(["trainer.lr_scaling=quadratic", "trainer.reference_batch_size=16"])
    assert "Invalid value 'quadratic', expected one of [none, linear, sqrt]" in message
    assert "full_key: trainer.lr_scaling" in message


@pytest.mark.parametrize("scaling", ["linear", "sqrt"])
def test_lr_scaling_needs_a_reference_batch(scaling):
    assert problems([f"trainer.lr_scaling={scaling}"]) == ["trainer.reference_batch_size"]


def test_reference_batch_must_be_positive():
    assert problems(["trainer.reference_batch_size=0"]) == ["trainer.reference_batch_size"]


def test_a_sound_batching_config_validates():
    cfg = loralab.compose(["trainer.micro_batch_size=4", "trainer.effective_batch_size=32",
                           "trainer.lr_scaling=sqrt", "trainer.reference_batch_size=16"])
    assert cfg.trainer.effective_batch_size == 32
