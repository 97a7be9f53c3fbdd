"""One live process per run directory: ``RUN/.lock`` names the process that trains there.

The lock file is created with O_CREAT|O_EXCL, so two processes cannot both create it. It records
the owner's pid, host name and process start time: on the same host a lock whose pid is gone (or
now belongs to another process, told apart by its start time) is stale and taken over; a lock from
another host cannot be checked from here, so it is refused with the file to delete if that run is
gone. Under torchrun rank 0 alone holds it: the launcher stops the other ranks when rank 0 exits."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .console import console
from .rundir import now
from .errors import RunLocked

LOCK_NAME = ".lock"
# a lock file is written right after it is created: one that is still empty or unreadable after
# this long was left by a process that died in between
_UNREADABLE_GRACE_S = 5.0


def _host() -> str:
    return socket.gethostname()


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat, field 22): with the pid,
    it names one process, even after the pid is reused. None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: count fields after its last ")"
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (ValueError, IndexError):
        return None


def launch_id() -> str | None:
    """Names a multi-rank launch, the same on each of its ranks (None for a single process): the lock
    rank 0 holds is not in the way of the other ranks of its own launch."""
    from .distributed import world_size_from_env

    if world_size_from_env() <= 1 or not os.environ.get("MASTER_ADDR"):
        return None
    return (f"{os.environ.get('TORCHELASTIC_RUN_ID', '')}@{os.environ['MASTER_ADDR']}:"
            f"{os.environ.get('MASTER_PORT', '')}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


@dataclass
class Owner:
    """What a lock file says about its owner, and whether that owner can be seen to be alive."""

    path: Path
    info: dict
    # "alive" | "stale" (dead on this host) | "foreign" (another host: unknown) | "unreadable"
    state: str

    @property
    def same_launch(self) -> bool:
        """Held by rank 0 of this process's own torchrun launch."""
        return self.info.get("launch") is not None and self.info.get("launch") == launch_id()

    def blocks(self) -> bool:
        """Whether it keeps this process out: a live or unverifiable owner of another launch."""
        return self.state in ("alive", "foreign") and not self.same_launch

    def describe(self) -> str:
        i = self.info
        if not i:
            return "unreadable lock file"
        return f"pid {i.get('pid')} on host {i.get('host')}, since {i.get('since', '?')}"


def _read(path: Path) -> dict | None:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("pid"), int) else None


def inspect(run_dir: Path) -> Owner | None:
    """The owner recorded in ``run_dir``'s lock, or None when there is no lock file."""
    path = Path(run_dir) / LOCK_NAME
    if not path.exists():
        return None
    info = _read(path)
    if info is None:
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:  # removed meanwhile: released
            return None
        return Owner(path, {}, "alive" if age < _UNREADABLE_GRACE_S else "unreadable")
    if info.get("host") != _host():
        return Owner(path, info, "foreign")
    pid = info["pid"]
    alive = _pid_alive(pid)
    started = info.get("start_time")
    if alive and started is not None:
        current = process_start_time(pid)
        alive = current is None or current == started  # another process now has that pid
    return Owner(path, info, "alive" if alive else "stale")


def refusal(run_dir: Path, owner: Owner, what: str) -> str:
    """The one-line reason ``what`` (e.g. "resume") cannot use ``run_dir`` while ``owner`` holds it."""
    if owner.state == "foreign":
        return (f"{run_dir} is locked by a run on another host ({owner.describe()}); it cannot be checked from "
                f"here. If that run is gone, delete {owner.path} and run the command again.")
    return (f"{run_dir} is in use by a running process ({owner.describe()}); refusing to {what} it while that "
            f"process lives. Wait for it to end, or stop it (kill -TERM {owner.info.get('pid', '<pid>')}) and retry.")


class RunLock:
    """Held while a run trains in ``run_dir``; :meth:`release` removes the file if it is still ours."""

    def __init__(self, run_dir: Path | None):
        self.path = Path(run_dir) / LOCK_NAME if run_dir is not None else None
        self.token = uuid.uuid4().hex
        self.held = False

    @classmethod
    def acquire(cls, run_dir: Path, what: str = "train in", on_takeover=None) -> "RunLock":
        """Create ``run_dir/.lock`` for this process. A stale lock is taken over (``on_takeover`` gets
        the message); a live or unverifiable owner raises :class:`RunLocked`."""
        lock = cls(run_dir)
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        pid = os.getpid()
        record = {"pid": pid, "host": _host(), "start_time": process_start_time(pid), "since": now(),
                  "launch": launch_id(), "token": lock.token}
        for _ in range(20):
            try:
                fd = os.open(lock.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = inspect(run_dir)
                if owner is None:
                    continue  # released meanwhile: try again
                if owner.state == "alive" and not owner.info:  # created a moment ago, being written: look again
                    time.sleep(0.1)
                    continue
                if owner.state in ("alive", "foreign"):
                    raise RunLocked(refusal(run_dir, owner, what))
                if _remove_stale(owner):
                    message = f"{owner.path}: its owner ({owner.describe()}) is gone; taking the run directory over"
                    if on_takeover is not None:
                        on_takeover(message)
                    else:
                        console.print(message, soft_wrap=True)  # one line, the path unbroken
                continue
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            except BaseException:  # e.g. a full disk: leave no empty lock behind
                lock.path.unlink(missing_ok=True)
                raise
            lock.held = True
            return lock
        raise RunLocked(f"could not lock {run_dir}: {lock.path} keeps changing; is another process starting there?")

    def release(self) -> None:
        if not self.held or self.path is None:
            return
        self.held = False
        info = _read(self.path)
        if info is not None and info.get("token") == self.token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _remove_stale(owner: Owner) -> bool:
    """Remove a stale lock without ever removing a live one: two processes taking over at once could
    otherwise delete each other's fresh lock. The file is moved aside first and checked."""
    aside = owner.path.with_name(f"{owner.path.name}.stale-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(owner.path, aside)
    except FileNotFoundError:
        return False  # someone else took it over first
    if _read(aside) == (owner.info or None):  # the stale record we judged (or still unreadable)
        aside.unlink(missing_ok=True)
        return True
    try:  # it was a fresh lock, created after we looked: put it back
        os.link(aside, owner.path)
    except OSError:
        pass
    aside.unlink(missing_ok=True)
    return False
