"""Crash safety and continuation: complete-checkpoint markers, graceful SIGINT/SIGTERM, and
``resume=<run dir>|latest``.

transformers writes a checkpoint directory in place, so a crash mid-save leaves a directory that
looks like a checkpoint. A marker file written after the save completes is what makes a
checkpoint usable: resume only ever picks the newest checkpoint that carries it."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from transformers import TrainerCallback

from .rundir import now, read_status, write_json

MARKER = "loralab-complete.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class ResumeError(RuntimeError):
    pass


class RunInterrupted(Exception):
    def __init__(self, signum: int, step: int):
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint saved. "
                         f"Continue with: loralab-train resume=<this run dir>")
        self.signum, self.step = signum, step

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class CheckpointMarker(TrainerCallback):
    """Marks each checkpoint complete once the Trainer has finished writing it."""

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if ckpt.is_dir():
                write_json(ckpt / MARKER, {"step": state.global_step, "saved": now()})


class GracefulStop(TrainerCallback):
    """First SIGINT/SIGTERM: finish the current step, save a checkpoint, stop. A second one aborts."""

    def __init__(self):
        self.signum: int | None = None
        self.step = 0
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame):
        if self.signum is not None:  # second signal: stop now
            raise KeyboardInterrupt
        self.signum = signum

    def on_train_begin(self, args, state, control, **kwargs):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. a launcher's worker): keep default handling
                pass

    def on_step_end(self, args, state, control, **kwargs):
        self._agree_across_ranks()
        if self.signum is not None:
            self.step = state.global_step
            control.should_save = True
            control.should_training_stop = True

    def _agree_across_ranks(self) -> None:
        """Under torchrun a signal may reach one rank only (or the ranks at different steps): all ranks
        stop at the same step, or the others would wait for it in the next collective forever."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
            return
        import torch

        device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        flag = torch.tensor([self.signum or 0], dtype=torch.int64, device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() and self.signum is None:
            self.signum = int(flag.item())

    def on_train_end(self, args, state, control, **kwargs):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def raise_if_stopped(self) -> None:
        if self.signum is not None:
            raise RunInterrupted(self.signum, self.step)


def newest_complete_checkpoint(run_dir: Path) -> Path | None:
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _CHECKPOINT.match(p.name)) and (p / MARKER).is_file()]
    return max(found)[1] if found else None


def latest_run(roots: tuple[str, ...] = ("experiments",)) -> Path:
    runs = [p.parent for root in roots for p in Path(root).glob("**/status.json")]
    if not runs:
        raise ResumeError(f"resume=latest: no run directory under {', '.join(roots)}")
    return max(runs, key=lambda p: (p / "status.json").stat().st_mtime)


def resolve_resume(cfg: DictConfig) -> tuple[Path, DictConfig, Path | None]:
    """Return (run dir, its saved config, newest complete checkpoint or None)."""
    run_dir = latest_run() if cfg.resume == "latest" else Path(cfg.resume)
    if not (run_dir / "config.yaml").is_file():
        raise ResumeError(f"resume={cfg.resume}: {run_dir} is not a loralab run directory (no config.yaml)")
    state = read_status(run_dir).get("state")
    if state == "completed":
        raise ResumeError(f"resume={cfg.resume}: {run_dir} already completed; nothing to resume")
    from .config.schema import RunConfig

    # onto the schema: a run saved before a field existed resumes with that field's default
    saved = OmegaConf.merge(OmegaConf.structured(RunConfig), OmegaConf.load(run_dir / "config.yaml"))
    saved.resume = None
    return run_dir, saved, newest_complete_checkpoint(run_dir)
