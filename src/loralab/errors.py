"""Every error loralab raises on purpose, in one place, and the wrapper that turns the ones a user
can fix into a short message and exit code 2 instead of a traceback.

A ``UserError`` says what went wrong and what to do; anything else reaching the top is a bug and
keeps its traceback."""

from __future__ import annotations

import contextlib
import shlex
import signal
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any


class UserError(Exception):
    """A problem the user can fix: the message names the file, field or run and the fix."""


@dataclass(frozen=True)
class Problem:
    """One bad config value: the field, the value it had and what to do instead."""

    field: str
    value: Any
    fix: str

    def __str__(self) -> str:
        value = self.value.value if isinstance(self.value, Enum) else self.value  # a config choice: its text
        return f"  {self.field} = {value!r}: {self.fix}"


class ConfigError(UserError, ValueError):
    """Raised with every problem found in a composed config, so a user fixes it in one pass."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"invalid config ({len(problems)} problem{'s' * (len(problems) > 1)}):\n{lines}")


class DataError(UserError, ValueError):
    """A problem in a data file; the message names the file, the row and the fix."""


class EmbeddedModelMissing(UserError, RuntimeError):
    """The embedded model's package is not installed (the message says how to install it)."""


class RunDirError(UserError, RuntimeError):
    """The run directory cannot be used (not empty, not writable)."""


class IncompleteRun(UserError, RuntimeError):
    """A run directory that is not a completed run, or lacks what a command needs."""


class UnsafeOutput(IncompleteRun):
    """An --output that merging would destroy user data in."""


class LaunchError(UserError, RuntimeError):
    """A run started in a way the engines cannot train (several GPUs seen by one process)."""


class ResumeError(UserError, RuntimeError):
    """A resume that cannot be honoured (nothing to resume, or overrides a resume cannot apply)."""


class RunLocked(UserError, RuntimeError):
    """Another live process owns the run directory."""


class StorageUnreachable(UserError, RuntimeError):
    """The sweep's study storage (a journal file or a database) cannot be opened."""


class OutOfMemoryLadderExhausted(UserError, RuntimeError):
    def __init__(self, history: list[dict], original: BaseException):
        tried = "; ".join(h["change"] for h in history) or "nothing: every rung was already at its limit"
        super().__init__(f"out of memory and no fallback left ({original}). Tried: {tried}. "
                         "Use a smaller model or quantisation (model.quantization.mode=nf4), a smaller lora.r, "
                         "or a GPU with more memory; `loralab-estimate` predicts the peak before a run.")


class DiskFull(UserError, RuntimeError):
    def __init__(self, run_dir: Path, exc: BaseException, status_written: bool, removed: list[Path]):
        what = (f"{exc.strerror} while writing {exc.filename or run_dir}" if isinstance(exc, OSError)
                else f"{exc} while writing into {run_dir}")
        status = ("the run is marked failed" if status_written
                  else f"{run_dir / 'status.json'} could not be updated either (it may still say running)")
        partial = f"; removed the partial {', '.join(p.name for p in removed)}" if removed else ""
        super().__init__(f"disk full: {what}: {status}{partial}; complete checkpoints are kept. Free space "
                         f"(df -h {run_dir}), then continue with: loralab-train resume={run_dir}")


class RunInterrupted(Exception):
    """SIGINT / SIGTERM after the checkpoint was saved; the exit code is the shell's 128 + signal."""

    def __init__(self, signum: int, step: int, run_dir: str | Path | None = None):
        where = shlex.quote(str(run_dir)) if run_dir is not None else "<run dir>"
        super().__init__(f"stopped by {signal.Signals(signum).name} at step {step}; checkpoint saved. "
                         f"Continue with: loralab-train resume={where}")
        self.signum, self.step, self.run_dir = signum, step, run_dir

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@contextlib.contextmanager
def exit_on_user_error():
    from rich.console import Console

    err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per message: greppable
    try:
        yield
    except UserError as exc:
        err.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)
    except RunInterrupted as exc:
        err.print(f"[bold yellow]interrupted:[/bold yellow] {exc}")
        sys.exit(exc.exit_code)
