"""The batch a run really trains with, and the learning rate that goes with it.

effective batch = micro-batch x world size x gradient accumulation. A preset may fix the effective
batch (``trainer.effective_batch_size``) instead of the accumulation, so the same preset keeps
its optimisation on 1, 2 or 4 GPUs: the accumulation is derived here. When the effective batch
differs from the one the learning rate was tuned for (``trainer.reference_batch_size``), the
learning rate can follow it linearly or by its square root (``trainer.lr_scaling``).

Pure arithmetic on the config: the recipe and training_args.py both call :func:`batch_plan`,
so the summary, the manifest and the trainer agree."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Optional

from omegaconf import DictConfig

from .config.choices import LrScaling, values
from .errors import ConfigError, Problem


@dataclass(frozen=True)
class BatchPlan:
    micro_batch_size: int
    gradient_accumulation_steps: int
    world_size: int
    effective_batch_size: int
    # optimizer.lr as configured, and the learning rate the trainer gets
    base_lr: float
    lr: float
    lr_scaling: str
    lr_scale: float
    reference_batch_size: Optional[int]

    def describe(self) -> str:
        text = (f"{self.micro_batch_size} micro x {self.gradient_accumulation_steps} accum x "
                f"{self.world_size} ranks = {self.effective_batch_size}")
        if self.lr_scaling != "none":
            text += (f"; lr {self.base_lr:g} x {self.lr_scale:.4g} ({self.lr_scaling}, reference batch "
                     f"{self.reference_batch_size}) = {self.lr:.4g}")
        return text

    def to_dict(self) -> dict:
        return asdict(self)


def lr_scale(scaling: str, effective: int, reference: Optional[int]) -> float:
    if scaling == "none":
        return 1.0
    if scaling not in values(LrScaling):
        raise ConfigError([Problem("trainer.lr_scaling", scaling, f"must be one of {', '.join(values(LrScaling))}")])
    if not reference or reference < 1:
        raise ConfigError([Problem("trainer.reference_batch_size", reference,
                                   f"set the effective batch optimizer.lr was tuned for (lr_scaling={scaling})")])
    ratio = effective / reference
    return ratio if scaling == "linear" else math.sqrt(ratio)


def accumulation_steps(effective: int, micro: int, world_size: int) -> int:
    """effective / (micro x world size), or a ConfigError naming the fields and the nearest valid values."""
    per_step = micro * world_size
    if effective >= 1 and effective % per_step == 0:
        return effective // per_step
    lower, upper = (effective // per_step) * per_step, (effective // per_step + 1) * per_step
    nearest = " or ".join(str(v) for v in (lower, upper) if v >= 1)
    fix = (f"must be a multiple of trainer.micro_batch_size ({micro}) x world size ({world_size}) = {per_step}: "
           f"nearest valid trainer.effective_batch_size {nearest}")
    if effective >= world_size and effective % world_size == 0:
        per_rank = effective // world_size
        micro_ok = max(d for d in range(1, min(micro, per_rank) + 1) if per_rank % d == 0)
        fix += f", or trainer.micro_batch_size={micro_ok}"
    raise ConfigError([Problem("trainer.effective_batch_size", effective, fix)])


def batch_plan(trainer: DictConfig, lr: float, world_size: int = 1) -> BatchPlan:
    """The batching and learning rate for ``trainer`` (the config's trainer node) on ``world_size`` ranks."""
    micro, world_size = int(trainer.micro_batch_size), max(1, int(world_size))
    if trainer.effective_batch_size is None:
        accumulation = int(trainer.gradient_accumulation_steps)
    else:
        accumulation = accumulation_steps(int(trainer.effective_batch_size), micro, world_size)
    effective = micro * accumulation * world_size
    scaling = str(trainer.lr_scaling)
    scale = lr_scale(scaling, effective, trainer.reference_batch_size)
    return BatchPlan(micro_batch_size=micro, gradient_accumulation_steps=accumulation, world_size=world_size,
                     effective_batch_size=effective, base_lr=float(lr), lr=float(lr) * scale, lr_scaling=scaling,
                     lr_scale=scale, reference_batch_size=trainer.reference_batch_size)
