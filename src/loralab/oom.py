"""The out-of-memory fallback ladder: the usual manual OOM guide, automated.

On ``torch.OutOfMemoryError`` during training, ``train_with_fallback`` frees memory and retries
with the next rung, in the guide's order (cheapest loss of quality first):
0. when the error came from an evaluation: half ``trainer.eval_batch_size`` (training is unchanged);
1. half the micro-batch, double the accumulation (the effective batch, hence the optimisation,
   is unchanged), down to a micro-batch of 1 — resumes from the last complete checkpoint;
2. the ``qv-fallback`` LoRA targets (query and value projections only): the adapter's shape
   changes, so training restarts from step 0;
3. a shorter ``trainer.max_length`` (halved, not below ``trainer.oom_min_max_length``) — resumes.
Each rung is a set of config overrides, recorded in the manifest; when none is left the error
propagates with the history of what was tried."""

from __future__ import annotations

import gc
import traceback
from dataclasses import asdict, dataclass
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from .config.paths import config_dir
from .errors import OutOfMemoryLadderExhausted


@dataclass(frozen=True)
class Rung:
    action: str
    # dotted config keys -> new values
    overrides: dict[str, Any]
    # the adapter changes shape: earlier checkpoints cannot be resumed
    restart: bool

    def describe(self, cfg: DictConfig) -> str:
        changes = ", ".join(f"{key} {OmegaConf.select(cfg, key)!r} -> {value!r}" for key, value in self.overrides.items())
        return f"{self.action}: {changes}"

    def apply(self, cfg: DictConfig) -> DictConfig:
        out = OmegaConf.create(OmegaConf.to_container(cfg, resolve=False))
        for key, value in self.overrides.items():
            OmegaConf.update(out, key, value, merge=False)
        return out


def qv_fallback_targets() -> list[str]:
    """The targets of conf/lora/qv-fallback.yaml: one source of truth for the fallback."""
    return list(OmegaConf.load(config_dir() / "lora" / "qv-fallback.yaml").target_modules)


def _smaller_micro_batch(micro: int) -> int:
    """The largest divisor of ``micro`` that is at most half of it, so accumulation stays an integer
    multiple and the effective batch is exactly preserved (8 -> 4, 6 -> 3, 3 -> 1)."""
    return max(d for d in range(1, micro // 2 + 1) if micro % d == 0)


def in_evaluation(exc: BaseException) -> bool:
    """Whether the error was raised inside the Trainer's evaluation (its own batch size applies)."""
    return any(frame.name in ("evaluate", "evaluation_loop", "prediction_step")
               for frame in traceback.extract_tb(exc.__traceback__))


def next_rung(cfg: DictConfig, during_evaluation: bool = False) -> Rung | None:
    t = cfg.trainer
    if during_evaluation and t.eval_batch_size > 1:
        return Rung("halve evaluation batch", {"trainer.eval_batch_size": t.eval_batch_size // 2}, restart=False)
    if t.micro_batch_size > 1:
        micro = _smaller_micro_batch(t.micro_batch_size)
        if t.get("effective_batch_size"):  # the accumulation is derived from it (batching.py)
            return Rung("halve micro-batch, keep effective batch", {"trainer.micro_batch_size": micro}, restart=False)
        accum = t.gradient_accumulation_steps * (t.micro_batch_size // micro)
        return Rung("halve micro-batch, keep effective batch",
                    {"trainer.micro_batch_size": micro, "trainer.gradient_accumulation_steps": accum}, restart=False)
    qv = qv_fallback_targets()
    if sorted(cfg.lora.target_modules) != sorted(qv) and set(qv) <= set(cfg.model.linear_modules):
        return Rung("qv-fallback LoRA targets", {"lora.target_modules": qv}, restart=True)
    shorter = t.max_length // 2
    if shorter >= t.oom_min_max_length:
        return Rung("shorter max length", {"trainer.max_length": shorter}, restart=False)
    return None


def free_memory() -> None:
    """Return what the failed attempt held: Python references first, then the CUDA cache."""
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def record(history: list[dict], rung: Rung, cfg: DictConfig, step: int, error: str) -> dict:
    entry = {"at_step": step, "change": rung.describe(cfg), "error": error[:300], **asdict(rung)}
    history.append(entry)
    return entry


def train_with_fallback(attempt: Callable[[DictConfig], None], cfg: DictConfig, *, enabled: bool,
                        history: list[dict], retry: Callable[[DictConfig, Rung, str], DictConfig],
                        training_started: Callable[[], bool] = lambda: True) -> None:
    """``attempt(cfg)`` until it ends without running out of CUDA memory. Each time it does, the next
    rung is chosen (the evaluation's own rung when the error came from an evaluation), and
    ``retry(cfg, rung, error)`` releases the failed attempt, records the rung in ``history`` and
    returns the config of the next attempt; then the memory is freed. Disabled (a CPU, several
    ranks, trainer.oom_fallback=false), or before the attempt got to training
    (``training_started``: loading the model is not the ladder's to fix), the error propagates as it
    is; with no rung left, it comes back as OutOfMemoryLadderExhausted with what was tried."""
    import torch

    while True:
        try:
            attempt(cfg)
            return
        except torch.OutOfMemoryError as exc:
            if not (enabled and training_started()):
                raise
            rung = next_rung(cfg, during_evaluation=in_evaluation(exc))
            if rung is None:
                raise OutOfMemoryLadderExhausted(history, exc) from exc
            error = str(exc)
        # outside the except block: the traceback and the activations it pins are gone
        cfg = retry(cfg, rung, error)
        free_memory()
