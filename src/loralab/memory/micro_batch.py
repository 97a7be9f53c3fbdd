"""``trainer.micro_batch_size=auto``: the largest micro-batch the memory estimate fits on this GPU,
with gradient accumulation keeping ``trainer.effective_batch_size``.

The candidates are the divisors of the effective batch per rank, so that accumulation stays a whole
number; the largest that fits in CHECKPOINTING_HEADROOM of the GPU's memory wins. Where gradient
checkpointing is left to auto, a micro-batch that fits without it is preferred (no recomputation),
and checkpointing is counted on only when not even one row fits without it: the later
checkpointing decision (estimator.gradient_checkpointing) then agrees with this one. On a CPU,
where memory is rarely the limit and a step's time grows with its rows, auto is 1."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from omegaconf import DictConfig

from ..hardware import Hardware
from .estimator import CHECKPOINTING_HEADROOM, estimate


@dataclass(frozen=True)
class MicroBatch:
    size: int
    reason: str


def is_auto(cfg: DictConfig) -> bool:
    return str(cfg.trainer.micro_batch_size) == "auto"


def _with(cfg: DictConfig, micro: int, checkpointing: bool | None) -> DictConfig:
    trial = copy.deepcopy(cfg)
    trial.trainer.micro_batch_size = micro
    if checkpointing is not None:
        trial.trainer.gradient_checkpointing = checkpointing
    return trial


def auto_micro_batch(cfg: DictConfig, hw: Hardware, world_size: int = 1) -> MicroBatch:
    """The micro-batch ``auto`` stands for on ``hw``, and why (validation has checked that
    trainer.effective_batch_size is set)."""
    per_rank = max(1, int(cfg.trainer.effective_batch_size) // max(1, world_size))
    if hw.device != "cuda":
        return MicroBatch(1, "auto: a CPU, where a step's time grows with its rows and memory is rarely the limit")
    if not cfg.model.get("arch_config") or not hw.total_memory_gb:
        return MicroBatch(1, "auto: no memory estimate to size it by (no shipped architecture, or the GPU's size "
                             "unknown)")
    room = CHECKPOINTING_HEADROOM * hw.total_memory_gb
    candidates = [d for d in range(per_rank, 0, -1) if per_rank % d == 0]
    setting = cfg.trainer.gradient_checkpointing
    # auto checkpointing: first without it (faster), then with it; an explicit setting as it is
    passes = [False, True] if setting is None else [None]
    for checkpointing in passes:
        for micro in candidates:
            need = estimate(_with(cfg, micro, checkpointing), hw).total_gb
            if need <= room:
                with_gc = " with gradient checkpointing" if checkpointing else ""
                return MicroBatch(micro, f"auto: the largest divisor of {per_rank} examples per step predicted to fit"
                                         f"{with_gc}, {need:.1f} of {hw.total_memory_gb:.1f} GiB")
    return MicroBatch(1, f"auto: not even one row is predicted to fit in {CHECKPOINTING_HEADROOM:.0%} of "
                         f"{hw.total_memory_gb:.1f} GiB")


def resolve_micro_batch(cfg: DictConfig, hw: Hardware, world_size: int = 1) -> tuple[DictConfig, MicroBatch | None]:
    """``cfg`` with ``auto`` replaced by the micro-batch it stands for on ``hw`` (a copy), and the
    decision; ``cfg`` itself and None when the micro-batch is a number."""
    if not is_auto(cfg):
        return cfg, None
    chosen = auto_micro_batch(cfg, hw, world_size)
    return _with(cfg, chosen.size, None), chosen
