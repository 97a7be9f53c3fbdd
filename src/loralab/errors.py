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
    from .recipe import RunDirError

    try:
        yield
    except (ConfigError, DataError, EmbeddedModelMissing, RunDirError) as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)
