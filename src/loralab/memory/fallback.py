"""The cheapest change that makes a run fit, found by re-estimating the rungs of the OOM
guide (oom.py) in its order, each on top of the previous ones (the runtime ladder in oom.py applies rungs
1, 3 and 4 after a real OOM, and the evaluation batch when the error came from an evaluation):

1. halve the micro-batch and double the accumulation (same effective batch), down to 1, then the
   evaluation batch down to the micro-batch (the guide's rung applied to evaluation, whose batch
   of full logits is often the real peak without TRL's fused LM head);
2. gradient checkpointing on;
3. the qv-fallback LoRA targets (query and value projections only);
4. a shorter ``trainer.max_length`` (halved, not below ``trainer.oom_min_max_length``);
5. an 8-bit paged optimizer;
and, beyond the guide, a 4-bit NF4 base for an unquantised model. Rungs 1, 3 and 4 are oom.py's
own (``next_rung``). Once a rung fits, the changes it did not need are undone, the costliest
first: a 4-bit base that fits alone is not suggested with a 128-token max_length."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from omegaconf import DictConfig

from ..hardware import Hardware
from ..oom import Rung, next_rung
from .estimator import MemoryEstimate, estimate, gradient_checkpointing, target_hardware

EIGHT_BIT_OPTIMS = ("adamw_bnb_8bit", "paged_adamw_8bit", "adafactor")


@dataclass(frozen=True)
class Fallback:
    steps: tuple[str, ...]  # what changes, from the original config
    overrides: dict[str, Any]  # dotted config key -> value
    estimate: MemoryEstimate

    def hydra_overrides(self) -> list[str]:
        def fmt(value: Any) -> str:
            if isinstance(value, (list, tuple)):
                return "[" + ",".join(str(v) for v in value) + "]"
            return str(value).lower() if isinstance(value, bool) else str(value)

        return [f"{key}={fmt(value)}" for key, value in self.overrides.items()]


def _rungs(cfg: DictConfig, hw: Hardware) -> Iterator[Rung]:
    """The guide's rungs; the caller sends back the config with each one applied."""
    current = cfg
    while (rung := next_rung(current)) is not None and "trainer.micro_batch_size" in rung.overrides:
        current = yield rung
    while current.trainer.eval_strategy != "no" and current.trainer.eval_batch_size > current.trainer.micro_batch_size:
        current = yield Rung("halve the evaluation batch",
                             {"trainer.eval_batch_size": current.trainer.eval_batch_size // 2}, restart=False)
    if not gradient_checkpointing(current, hw).on:
        current = yield Rung("gradient checkpointing on", {"trainer.gradient_checkpointing": True}, restart=False)
    while (rung := next_rung(current)) is not None:
        current = yield rung
    if current.optimizer.optim not in EIGHT_BIT_OPTIMS:
        current = yield Rung("8-bit paged optimizer", {"optimizer.optim": "paged_adamw_8bit"}, restart=False)
    if current.model.quantization.mode == "none":
        yield Rung("4-bit NF4 base (QLoRA; beyond the OOM guide)", {"model.quantization.mode": "nf4"}, restart=False)


def fallback_ladder(cfg: DictConfig, hw: Hardware | None = None) -> Iterator[tuple[Rung, MemoryEstimate]]:
    """Every rung of the guide with the estimate of the config that has it and all earlier ones."""
    hw = target_hardware(hw)
    rungs, current = _rungs(cfg, hw), cfg
    try:
        rung = next(rungs)
        while True:
            current = rung.apply(current)
            yield rung, estimate(current, hw)
            rung = rungs.send(current)
    except StopIteration:
        return


def _combine(cfg: DictConfig, chosen: dict[tuple, Rung], hw: Hardware) -> Fallback:
    rungs = list(chosen.values())
    current = cfg
    for rung in rungs:
        current = rung.apply(current)
    overrides = {key: value for rung in rungs for key, value in rung.overrides.items()}
    return Fallback(tuple(rung.describe(cfg) for rung in rungs), overrides, estimate(current, hw))


def suggest_fallback(cfg: DictConfig, capacity_gb: float, hw: Hardware | None = None) -> Fallback | None:
    """The cheapest change of the guide with which ``cfg`` is predicted to fit in ``capacity_gb``; None if none."""
    hw = target_hardware(hw)
    levels: dict[tuple, list[Rung]] = {}  # per knob (the keys a rung sets), its rungs in ladder order
    for rung, est in fallback_ladder(cfg, hw):
        levels.setdefault(tuple(rung.overrides), []).append(rung)
        if est.fits(capacity_gb):
            break
    else:
        return None
    chosen = {knob: rungs[-1] for knob, rungs in levels.items()}
    for knob in reversed(list(levels)):  # undo what is not needed, the costliest knob first
        for lighter in [None, *levels[knob][:-1]]:  # the original value, then each level up to the chosen one
            trial = {k: r for k, r in chosen.items() if k != knob} | ({knob: lighter} if lighter else {})
            if _combine(cfg, trial, hw).estimate.fits(capacity_gb):
                chosen = trial
                break
    return _combine(cfg, {k: chosen[k] for k in levels if k in chosen}, hw)
