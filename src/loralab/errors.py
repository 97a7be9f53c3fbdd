"""Turn the errors a user can fix into a short message and a non-zero exit, not a traceback."""

from __future__ import annotations

import contextlib
import sys

from rich.console import Console


@contextlib.contextmanager
def exit_on_user_error():
    from .config.validation import ConfigError
    from .data.files import DataError
    from .embedded import EmbeddedModelMissing
    from .oom import OutOfMemoryLadderExhausted
    from .recipe import DiskFull, RunDirError
    from .resume import ResumeError, RunInterrupted
    from .runlock import RunLocked
    from .runs import IncompleteRun
    from .sweeps.storage import StorageUnreachable

    err = Console(stderr=True, highlight=False, soft_wrap=True)  # one line per message: greppable
    try:
        yield
    except (ConfigError, DataError, EmbeddedModelMissing, RunDirError, ResumeError, IncompleteRun,
            StorageUnreachable, OutOfMemoryLadderExhausted, DiskFull, RunLocked) as exc:
        err.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)
    except RunInterrupted as exc:
        err.print(f"[bold yellow]interrupted:[/bold yellow] {exc}")
        sys.exit(exc.exit_code)
