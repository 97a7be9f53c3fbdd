"""Optuna storage from one URL string, shared by the sweeper process and every trial process.

- ``sqlite:///multirun/optuna/study.db``, ``postgresql://user:pw@host/db``: SQLAlchemy RDB storage,
  with heartbeats so trials of a dead worker are detected (stale) and can be retried;
- ``journal:///abs/path/study.log``: Optuna's append-only journal file, safe for several local
  processes without a database server.
"""

from __future__ import annotations

import re
from pathlib import Path
from ..errors import StorageUnreachable

JOURNAL_PREFIX = "journal://"
HEARTBEAT_INTERVAL_S = 30
GRACE_PERIOD_S = 120


def default_storage_url(study_name: str, root: Path | None = None) -> str:
    """The journal file a sweep uses when hydra.sweeper.storage is unset."""
    safe = re.sub(r"[^\w.-]+", "_", study_name).strip("._") or "study"
    path = (root or Path.cwd()) / "multirun" / "optuna" / f"{safe}.log"
    return f"journal://{path.resolve()}"


def with_installed_driver(url: str) -> str:
    """``postgresql://`` names no driver; SQLAlchemy 2.1 then imports psycopg (3), 2.0 psycopg2.
    Name the one that is installed, so the URL works with either (psycopg2-binary or psycopg)."""
    import importlib.util

    if not url.startswith("postgresql://"):
        return url
    for module, driver in (("psycopg", "psycopg"), ("psycopg2", "psycopg2")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://" + url[len("postgresql://"):]
    return url


def open_storage(url: str):
    import optuna

    url = with_installed_driver(url)
    if url.startswith(JOURNAL_PREFIX):
        from optuna.storages.journal import JournalFileBackend

        path = Path(url[len(JOURNAL_PREFIX):])
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    try:
        return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_INTERVAL_S, grace_period=GRACE_PERIOD_S,
                                          engine_kwargs={"pool_pre_ping": True})
    except Exception as exc:  # SQLAlchemy raises driver-specific errors; all mean the same to a user
        from ..secrets import redact_text

        raise StorageUnreachable(f"cannot open Optuna storage {redact_text(url)}: {type(exc).__name__}: {exc}. "
                                 "Check that the database server is running and reachable, the URL "
                                 "(hydra.sweeper.storage) and its driver (psycopg2-binary or psycopg[binary] for PostgreSQL).") from exc
