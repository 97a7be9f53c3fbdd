"""Workers: who runs a trial, and is it still alive?

Each trial records its worker (host, boot id, pid, process start time); on the same host /proc
tells whether that process is still the one that started the trial. Across hosts, RDB storages
carry a heartbeat per trial (``Heartbeats``). Optuna is imported when heartbeats are set up."""


import logging
import os
import socket
import threading
from typing import Any, Mapping

log = logging.getLogger(__name__)


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _proc_start(pid: int) -> tuple[int | None, str | None]:
    """(start time in clock ticks since boot, state letter) of a process, from /proc."""
    stat = _read(f"/proc/{pid}/stat")
    if not stat:
        return None, None
    fields = stat.rsplit(")", 1)[1].split()
    try:
        return int(fields[19]), fields[0]
    except (IndexError, ValueError):
        return None, None


def worker_identity() -> dict:
    start, _ = _proc_start(os.getpid())
    return {"host": socket.gethostname(), "boot_id": _read("/proc/sys/kernel/random/boot_id"),
            "pid": os.getpid(), "start": start}


def local_worker_state(worker: Mapping[str, Any] | None) -> str:
    """"alive", "dead", or "unknown" (another host, or no worker recorded)."""
    if not worker or worker.get("host") != socket.gethostname():
        return "unknown"
    boot_id = _read("/proc/sys/kernel/random/boot_id")
    if worker.get("boot_id") and boot_id and worker["boot_id"] != boot_id:
        return "dead"  # the host rebooted since
    pid = int(worker.get("pid", -1))
    if pid <= 0:
        return "unknown"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        pass
    start, state = _proc_start(pid)
    if state in ("Z", "X"):
        return "dead"
    if worker.get("start") is not None and start is not None and start != worker["start"]:
        return "dead"  # the pid was reused by another process
    return "alive"


class Heartbeats:
    """Records a heartbeat for each in-flight trial while the training runs (RDB storages)."""

    def __init__(self, storage):
        from optuna.storages._heartbeat import BaseHeartbeat, is_heartbeat_enabled

        self.storage = storage if isinstance(storage, BaseHeartbeat) and is_heartbeat_enabled(storage) else None
        self.trial_ids: set[int] = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.storage is not None

    def add(self, trial_id: int) -> None:
        if not self.enabled:
            return
        self._beat(trial_id)
        with self.lock:
            self.trial_ids.add(trial_id)
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="optuna-heartbeat", daemon=True)
            self.thread.start()

    def discard(self, trial_id: int) -> None:
        with self.lock:
            self.trial_ids.discard(trial_id)

    def _beat(self, trial_id: int) -> None:
        try:
            self.storage.record_heartbeat(trial_id)
        except Exception as exc:  # a lost connection must not kill the sweep; the next beat retries
            log.warning("heartbeat for trial id %s failed: %s", trial_id, exc)

    def _run(self) -> None:
        interval = self.storage.get_heartbeat_interval() or 30
        while not self.stop.wait(interval):
            with self.lock:
                ids = list(self.trial_ids)
            for trial_id in ids:
                self._beat(trial_id)

    def close(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def stale_ids(self, study) -> set[int]:
        if not self.enabled:
            return set()
        try:
            return set(self.storage._get_stale_trial_ids(study._study_id))
        except Exception as exc:
            log.warning("could not read stale trials: %s", exc)
            return set()

