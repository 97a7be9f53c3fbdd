"""loralab's Optuna sweeper: ask/tell over Hydra's launcher, resumable, several workers per study.

Every trial is one training run launched by Hydra's launcher with the sampled parameters as
overrides, plus ``sweep.*`` overrides that let the run re-open its trial from the storage and
report the eval loss after every evaluation (the median/hyperband pruner then stops it).

Counting (``MaxTrialsCallback`` semantics): COMPLETE and PRUNED trials count toward ``n_trials``,
FAIL does not. A trial RUNNING in the storage counts while its worker is alive:

- each trial records its worker (host, boot id, pid, process start time) as the user attr
  ``worker``; on the same host a RUNNING trial whose worker process is gone is dead;
- on an RDB storage (SQLite, PostgreSQL) the sweeper also records a heartbeat for every trial it
  runs; a trial of another host whose heartbeat is older than the grace period is dead;
- dead trials are marked FAIL (``fail_reason``: "worker died ...") and their parameters are
  enqueued again, so re-running a killed sweep evaluates the point it was evaluating.

Several workers (processes, hosts) running the same command against one RDB storage finish with
exactly ``n_trials`` counted trials: before asking, a worker counts COMPLETE + PRUNED + RUNNING
(alive); after ``ask`` it counts again the trials numbered below its own, and if those alone fill
the budget its trial is told FAIL ("over budget ...") without being launched. Trial numbers are
allocated by the storage, so a tie is decided the same way by every worker.

Imported by Hydra's plugin scan on every ``loralab-train`` start: Optuna is imported lazily. No
``from __future__ import annotations``: the scan executes modules outside sys.modules, where
dataclasses cannot resolve string annotations.
"""


import csv
import io
import logging
import math
import os
import re
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import IntervalSweep, Override, RangeSweep, Transformer
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from loralab.rundir import write_text
from loralab.secrets import redact_text
from loralab.sweeps.storage import with_installed_driver

from .config import DIRECTIONS, PRUNERS, SAMPLERS

log = logging.getLogger(__name__)

# user attrs written on each trial
WORKER_ATTR = "worker"
FAIL_REASON_ATTR = "fail_reason"
PRUNED_AT_ATTR = "pruned_at_step"
PRUNE_REASON_ATTR = "prune_reason"
JOB_DIR_ATTR = "job_dir"
OVERRIDES_ATTR = "overrides"
OBJECTIVES_ATTR = "objectives"
RETRY_OF_ATTR = "retry_of"
SKIPPED_ATTR = "skipped"
# study user attr: the pruner a trial process should use (see build_pruner)
PRUNER_STUDY_ATTR = "loralab.pruner"

OVER_BUDGET = "over budget (another worker took the last slot)"
RESULTS_FILE = "optimization_results.yaml"
# how often a worker whose budget is held by other workers' running trials looks again
WAIT_POLL_S = 2.0
# a RUNNING trial that recorded no worker this long after its start was left by a killed sweeper
ORPHAN_GRACE_S = 60
# tool-call metrics the training run reports during training when eval.during_training=true
TOOL_METRIC_PREFIX = "eval_tool_"
TOOL_METRICS_DURING_TRAINING = ("exact_call_accuracy", "tool_name_accuracy", "valid_json",
                                "irrelevance_accuracy", "multi_call_exact")


class SweepConfigError(ValueError):
    """A hydra.sweeper setting (or a sweep override) that cannot work; raised before any trial."""


class SweepStorageError(RuntimeError):
    """The Optuna storage cannot be opened; raised before anything is written."""


class SweepAborted(RuntimeError):
    """Too many trials failed in this invocation (hydra.sweeper.max_failures)."""


class SweepInterrupted(RuntimeError):
    """A trial was stopped by SIGINT/SIGTERM (the run's graceful stop): the sweep stops too."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


# ---------------------------------------------------------------------------------------------
# Search space: Hydra override grammar -> Optuna distributions
# ---------------------------------------------------------------------------------------------

@dataclass
class SearchSpace:
    # Optuna param name (the config key) -> distribution
    distributions: Dict[str, Any] = field(default_factory=dict)
    # override key as written (keeps +, ++, @package) per param name
    keys: Dict[str, str] = field(default_factory=dict)
    # categorical params: the override text of each choice (lists, dicts, quoted strings)
    choice_text: Dict[str, Dict[Any, str]] = field(default_factory=dict)
    # non-sweep overrides, passed unchanged to every trial
    fixed: List[str] = field(default_factory=list)

    def overrides_for(self, params: Mapping[str, Any]) -> List[str]:
        out = []
        for name, value in params.items():
            if name not in self.keys:
                continue  # a param of an older search space (resumed study): not ours to set
            text = self.choice_text.get(name, {}).get(_hashable(value))
            out.append(f"{self.keys[name]}={text if text is not None else format_value(value)}")
        return [*self.fixed, *out]


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


def format_value(value: Any) -> str:
    """An Optuna parameter value as Hydra override text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return Override._get_value_element_as_str(value)


def quote(value: str) -> str:
    """A string as a quoted Hydra override value when it holds grammar characters."""
    if re.fullmatch(r"[\w./:@%+~-]*", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def distribution_from_override(override: Override) -> tuple[Any, Dict[Any, str] | None]:
    """The Optuna distribution for one sweep override (the old hydra-optuna-sweeper's syntax):

    - ``choice(a, b, c)`` / ``a,b,c``: CategoricalDistribution;
    - ``range(start, stop[, step])``: IntDistribution (FloatDistribution with a float step) over
      the values Hydra's range yields: ``stop`` is excluded, as in Hydra (range(8, 65, 8) = 8..64);
      ``shuffle(range(...))``: categorical over the same values;
    - ``interval(a, b)``: FloatDistribution; ``int(interval(a, b))``: IntDistribution;
      ``tag(log, ...)`` on either: log scale.
    Returns (distribution, choice text or None)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    key = override.get_key_element()
    value = override.value()
    tags = set(getattr(value, "tags", None) or ())
    log_scale = "log" in tags
    if override.is_choice_sweep():
        try:  # choice(...), a,b,c, and glob(...) over a config group's options
            items = list(override.sweep_iterator(transformer=Transformer.identity))
        except Exception as exc:
            raise SweepConfigError(f"{key}: {override.get_value_string()}: {exc}") from exc
        if not items:
            raise SweepConfigError(f"{key}: {override.get_value_string()} matches nothing")
        choices, texts = [], {}
        for item in items:
            if item is None or isinstance(item, (bool, int, float, str)):
                choice = item
            else:  # lists, dicts: Optuna stores primitives; their override text stands for them
                choice = Override._get_value_element_as_str(item)
            choices.append(choice)
            texts[_hashable(choice)] = Override._get_value_element_as_str(item)
        if len(set(map(_hashable, choices))) != len(choices):
            raise SweepConfigError(f"{key}: choice() lists a value twice: {choices}")
        return CategoricalDistribution(choices), texts
    if override.is_range_sweep():
        assert isinstance(value, RangeSweep)
        values = list(override.sweep_iterator(transformer=Transformer.identity))
        if not values:
            raise SweepConfigError(f"{key}: {override.get_value_string()} yields no value "
                                   "(Hydra's range excludes stop)")
        if value.shuffle:
            return CategoricalDistribution(values), None
        step = value.step
        low, high = min(values), max(values)
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values) and isinstance(step, int):
            if log_scale and abs(step) != 1:
                raise SweepConfigError(f"{key}: a log-scale range needs step 1")
            return IntDistribution(int(low), int(high), log=log_scale, step=1 if log_scale else abs(int(step))), None
        if log_scale:
            raise SweepConfigError(f"{key}: log scale over a float range is not supported; use tag(log, interval(a, b))")
        return FloatDistribution(float(low), float(high), step=abs(float(step)) if len(values) > 1 else None), None
    if override.is_interval_sweep():
        assert isinstance(value, IntervalSweep)
        start, end = value.start, value.end
        if start is None or end is None or not start < end:
            raise SweepConfigError(f"{key}: interval needs start < end, got {start}, {end}")
        if log_scale and start <= 0:
            raise SweepConfigError(f"{key}: a log-scale interval needs start > 0, got {start}")
        if isinstance(start, int) and isinstance(end, int):
            return IntDistribution(start, end, log=log_scale), None
        return FloatDistribution(float(start), float(end), log=log_scale), None
    raise SweepConfigError(f"{key}: {override.input_line!r} is not a sweep the Optuna sweeper supports "
                           "(choice, range, interval, tag(log, ...))")


def parse_search_space(params: Optional[Mapping[str, str]], arguments: Sequence[str],
                       parser: OverridesParser | None = None) -> SearchSpace:
    """``params`` (hydra.sweeper.params) then the command-line overrides, which win on a shared
    key: a sweep override replaces the param's range, a plain override fixes the key for every
    trial. Plain overrides of other keys pass through unchanged."""
    parser = parser or OverridesParser.create()
    lines = [f"{k}={v}" for k, v in (params or {}).items()]
    try:
        from_params = parser.parse_overrides(lines)
        from_cli = parser.parse_overrides(list(arguments))
    except Exception as exc:  # OverrideParseException: the grammar's message says where
        raise SweepConfigError(f"cannot parse the sweep overrides: {exc}") from exc
    merged: Dict[str, Override] = {}
    for override in [*from_params, *from_cli]:
        merged.pop(override.key_or_group, None)  # the later one wins, and keeps its position
        merged[override.key_or_group] = override
    space = SearchSpace()
    for name, override in merged.items():
        if override.is_sweep_override():
            if override.is_delete():
                raise SweepConfigError(f"{override.input_line}: a delete override cannot sweep")
            dist, texts = distribution_from_override(override)
            space.distributions[name] = dist
            space.keys[name] = override.get_key_element()
            if texts:
                space.choice_text[name] = texts
        else:
            space.fixed.append(override.input_line)
    return space


def suggest(trial, name: str, dist) -> Any:
    """trial.suggest_* for a distribution (what study.ask(distributions) does, in public API)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    raise TypeError(f"{name}: unsupported distribution {dist!r}")


def grid_search_space(space: SearchSpace) -> Dict[str, list]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    grid = {}
    for name, dist in space.distributions.items():
        if isinstance(dist, CategoricalDistribution):
            grid[name] = list(dist.choices)
        elif isinstance(dist, IntDistribution) and not dist.log:
            grid[name] = list(range(dist.low, dist.high + 1, dist.step))
        elif isinstance(dist, FloatDistribution) and dist.step is not None:
            n = int(round((dist.high - dist.low) / dist.step))
            grid[name] = [dist.low + i * dist.step for i in range(n + 1)]
        else:
            raise SweepConfigError(f"hydra.sweeper.sampler.type=grid needs choice() or range() for every "
                                   f"parameter; {name} is continuous ({dist})")
    return grid


# ---------------------------------------------------------------------------------------------
# Samplers, pruners, storage URL
# ---------------------------------------------------------------------------------------------

def build_sampler(spec: Mapping[str, Any], space: SearchSpace, seed: Optional[int]):
    import optuna

    kind = spec.get("type", "tpe")
    if kind == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=bool(spec.get("constant_liar", True)),
                                          n_startup_trials=int(spec.get("n_startup_trials", 10)),
                                          multivariate=bool(spec.get("multivariate", False)))
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if kind == "grid":
        return optuna.samplers.GridSampler(grid_search_space(space), seed=seed)
    raise SweepConfigError(f"hydra.sweeper.sampler.type={kind!r}: expected one of {SAMPLERS}")


def build_pruner(spec: Mapping[str, Any] | None):
    """The pruner a spec (hydra.sweeper.pruner, also stored as the study user attr
    ``loralab.pruner``) describes. A trial process that re-opens its study should use it:
    ``study.pruner = build_pruner(study.user_attrs.get("loralab.pruner"))``."""
    import optuna

    spec = dict(spec or {"type": "median"})
    kind = spec.get("type", "median")
    if kind == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(spec.get("n_startup_trials", 5)),
                                           n_warmup_steps=int(spec.get("n_warmup_steps", 0)),
                                           interval_steps=int(spec.get("interval_steps", 1)),
                                           n_min_trials=int(spec.get("n_min_trials", 1)))
    if kind == "percentile":
        return optuna.pruners.PercentilePruner(float(spec.get("percentile", 50.0)),
                                               n_startup_trials=int(spec.get("n_startup_trials", 5)),
                                               n_warmup_steps=int(spec.get("n_warmup_steps", 0)),
                                               interval_steps=int(spec.get("interval_steps", 1)),
                                               n_min_trials=int(spec.get("n_min_trials", 1)))
    if kind == "hyperband":
        max_resource = spec.get("max_resource", "auto")
        return optuna.pruners.HyperbandPruner(min_resource=int(spec.get("min_resource", 1)),
                                              max_resource=max_resource if max_resource == "auto" else int(max_resource),
                                              reduction_factor=int(spec.get("reduction_factor", 3)))
    if kind == "none":
        return optuna.pruners.NopPruner()
    raise SweepConfigError(f"hydra.sweeper.pruner.type={kind!r}: expected one of {PRUNERS}")


def default_storage_url(study_name: str, root: Path | None = None) -> str:
    safe = re.sub(r"[^\w.-]+", "_", study_name).strip("._") or "study"
    path = (root or Path.cwd()) / "multirun" / "optuna" / f"{safe}.log"
    return f"journal://{path.resolve()}"


def redact(url: str) -> str:
    """The storage URL without its password (the project's one redaction rule)."""
    return redact_text(url)


# ---------------------------------------------------------------------------------------------
# Workers: who runs a trial, and is it still alive?
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# The sweeper
# ---------------------------------------------------------------------------------------------

class LoralabOptunaSweeper(Sweeper):
    def __init__(self, study_name: str, storage: Optional[str], direction: Any, objective: Any, n_trials: int,
                 n_jobs: int, sampler: Any, pruner: Any, params: Optional[Mapping[str, str]] = None,
                 max_failures: Optional[int] = None, skip_if_no_fit: bool = True,
                 memory_limit_gb: Optional[float] = None) -> None:
        super().__init__()
        self.study_name = str(study_name)
        self.storage_url = storage
        self._raw = {"objective": objective, "direction": direction, "n_trials": n_trials, "n_jobs": n_jobs,
                     "max_failures": max_failures}
        self.sampler_spec = _container(sampler)
        self.pruner_spec = _container(pruner)
        self.params = dict(params or {})
        self.skip_if_no_fit, self.memory_limit_gb = bool(skip_if_no_fit), memory_limit_gb
        self.hydra_context: Optional[HydraContext] = None
        self.config: Optional[DictConfig] = None
        self.launcher = None
        self.worker = worker_identity()
        self.failures = 0
        self.last_failure = ""
        self.interrupted: Optional[SweepInterrupted] = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(hydra_context=hydra_context,
                                                                task_function=task_function, config=config)

    def _validate(self) -> None:
        raw = self._raw
        self.objectives = _as_list(raw["objective"], "objective")
        self.directions = _as_list(raw["direction"], "direction")
        if len(self.directions) == 1 and len(self.objectives) > 1:
            self.directions = self.directions * len(self.objectives)
        if len(self.directions) != len(self.objectives):
            raise SweepConfigError(f"hydra.sweeper.direction has {len(self.directions)} entries for "
                                   f"{len(self.objectives)} objectives {self.objectives}")
        bad = [d for d in self.directions if d not in DIRECTIONS]
        if bad:
            raise SweepConfigError(f"hydra.sweeper.direction: {bad} not in {DIRECTIONS}")
        if len(set(self.objectives)) != len(self.objectives):
            raise SweepConfigError(f"hydra.sweeper.objective lists a key twice: {self.objectives}")
        if int(raw["n_trials"]) < 1 or int(raw["n_jobs"]) < 1:
            raise SweepConfigError(f"hydra.sweeper.n_trials ({raw['n_trials']}) and n_jobs ({raw['n_jobs']}) "
                                   "must be >= 1")
        self.n_trials, self.n_jobs = int(raw["n_trials"]), int(raw["n_jobs"])
        self.max_failures = int(raw["max_failures"]) if raw["max_failures"] is not None else self.n_trials
        if self.sampler_spec.get("type", "tpe") not in SAMPLERS:
            raise SweepConfigError(f"hydra.sweeper.sampler.type={self.sampler_spec.get('type')!r}: "
                                   f"expected one of {SAMPLERS}")
        if self.pruner_spec.get("type", "median") not in PRUNERS:
            raise SweepConfigError(f"hydra.sweeper.pruner.type={self.pruner_spec.get('type')!r}: "
                                   f"expected one of {PRUNERS}")

    # -- entry point -------------------------------------------------------------------------

    def sweep(self, arguments: List[str]) -> Any:
        """Run the sweep; a setting or storage a user must fix ends it with a message and exit 2
        (before anything is written), too many failed trials with exit 1."""
        try:
            return self._sweep(arguments)
        except (SweepConfigError, SweepStorageError, SweepAborted, SweepInterrupted) as exc:
            from rich.console import Console
            from rich.markup import escape

            label = "interrupted" if isinstance(exc, SweepInterrupted) else "error"
            Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]{label}:[/bold red] {escape(str(exc))}")
            if isinstance(exc, SweepInterrupted):
                sys.exit(exc.exit_code)
            sys.exit(1 if isinstance(exc, SweepAborted) else 2)

    def _sweep(self, arguments: List[str]) -> Any:
        import optuna

        self._validate()
        assert self.config is not None and self.launcher is not None and self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        space = parse_search_space(self.params, arguments, parser)
        if not space.distributions:
            raise SweepConfigError("nothing to sweep: hydra.sweeper.params is empty and no sweep override "
                                   "(e.g. optimizer.lr='tag(log, interval(5e-5, 5e-4))') was given")
        self.report_metric, why_not = self._report_metric()
        if why_not:
            log.warning("pruning is off: %s", why_not)
        # the trials open the same URL (sweep.storage), so it names its driver here
        url = with_installed_driver(self.storage_url or default_storage_url(self.study_name))
        storage = self._open_storage(url)
        sampler_seed = self.sampler_spec.get("seed")
        study = optuna.create_study(study_name=self.study_name, storage=storage, load_if_exists=True,
                                    directions=self.directions, pruner=build_pruner(self.pruner_spec))
        if [d.name.lower() for d in study.directions] != self.directions:
            raise SweepConfigError(f"study {self.study_name!r} in {redact(url)} was created with directions "
                                   f"{[d.name.lower() for d in study.directions]}, not {self.directions}: "
                                   "use the same hydra.sweeper.direction or another hydra.sweeper.study_name")
        existing = len(study.get_trials(deepcopy=False))
        seed = None if sampler_seed is None else int(sampler_seed) + existing
        study.sampler = build_sampler(self.sampler_spec, space, seed)
        study.set_user_attr(PRUNER_STUDY_ATTR, self.pruner_spec)
        study.set_user_attr("loralab.objectives", self.objectives)
        if existing:
            log.info("resuming study %s (%d trials in %s)", self.study_name, existing, redact(url))
        self.study, self.space, self.url = study, space, url
        self.sweep_dir = Path(str(self.config.hydra.sweep.dir))
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
        self.heartbeats = Heartbeats(study._storage)
        returns: list = []
        try:
            self._loop(returns)
        finally:
            self.heartbeats.close()
            self._write_results()
        self._print_table()
        return returns

    def _open_storage(self, url: str):
        from optuna.exceptions import ExperimentalWarning

        from loralab.sweeps.storage import StorageUnreachable, open_storage

        hint = "Or leave hydra.sweeper.storage unset (null) to use a local journal file under multirun/optuna/."
        given = redact(self.storage_url or url)  # as the user wrote it (without the password)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeat_interval
                return open_storage(url)
        except StorageUnreachable as exc:
            raise SweepStorageError(f"hydra.sweeper.storage={given}: {exc} {hint}") from None
        except Exception as exc:
            raise SweepStorageError(f"hydra.sweeper.storage={given} cannot be opened: "
                                    f"{type(exc).__name__}: {exc}. Fix the URL. {hint}") from None

    def _report_metric(self) -> tuple[Optional[str], Optional[str]]:
        """The metric the training run reports to the pruner, or None (and why) when it cannot.

        The run reports eval_loss after every evaluation; tool-call metrics only exist during
        training with eval.during_training=true (as eval_tool_<name>). A run must never report a
        metric other than the objective: the pruner ranks intermediate values in the study's
        direction."""
        if self.pruner_spec.get("type", "median") == "none":
            return None, None
        if len(self.objectives) > 1:
            return None, "Optuna cannot prune multi-objective studies"
        objective = self.objectives[0]
        if objective == "eval_loss":
            return "eval_loss", None
        during = bool(OmegaConf.select(self.config, "eval.during_training", default=False))
        if objective in TOOL_METRICS_DURING_TRAINING and during:
            return f"{TOOL_METRIC_PREFIX}{objective}", None
        return None, (f"the objective {objective!r} is not reported during training (only eval_loss is, and "
                      f"{', '.join(TOOL_METRICS_DURING_TRAINING)} with eval.during_training=true)")

    # -- the ask / launch / tell loop -----------------------------------------------------------

    def _loop(self, returns: list) -> None:
        from optuna.samplers import GridSampler
        from optuna.trial import TrialState

        study = self.study
        while True:
            self._recover_dead_trials()
            trials = study.get_trials(deepcopy=False)
            counted = self._counted(trials)
            if len(counted) >= self.n_trials:
                # the budget may be held by other workers' running trials: wait for those that can
                # be watched (this host's, or heartbeats), since one of them may still fail
                others = [t for t in counted if t.state == TrialState.RUNNING]
                watched = [t for t in others if self.heartbeats.enabled
                           or local_worker_state(t.user_attrs.get(WORKER_ATTR)) == "alive"]
                if not watched:
                    if others:
                        log.info("trials %s run on other hosts (no heartbeat to watch on this storage); not "
                                 "waiting for them", [t.number for t in others])
                    break
                time.sleep(WAIT_POLL_S)
                continue
            if isinstance(study.sampler, GridSampler) and study.sampler.is_exhausted(study) \
                    and not any(t.state == TrialState.WAITING for t in trials):
                log.info("grid exhausted after %d trials (%d counted)", len(trials), len(counted))
                break
            if self.failures >= self.max_failures:
                raise SweepAborted(f"{self.failures} trials failed in this run (hydra.sweeper.max_failures="
                                   f"{self.max_failures}); the last: {self.last_failure}. See {self.sweep_dir}/trials.md")
            slots = min(self.n_jobs, self.n_trials - len(counted))
            asked = []
            for _ in range(slots):
                trial = self._ask()
                if trial is None:
                    break
                asked.append(trial)
            if asked:
                returns.extend(self._run_batch(asked))
            self._write_results()

    def _counted(self, trials) -> list:
        from optuna.trial import TrialState

        stale = self.heartbeats.stale_ids(self.study) if self.heartbeats.enabled else set()
        out = []
        for t in trials:
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
                out.append(t)
            elif t.state == TrialState.RUNNING and self._alive(t, stale):
                out.append(t)
        return out

    def _alive(self, trial, stale: set[int]) -> bool:
        worker = trial.user_attrs.get(WORKER_ATTR)
        state = local_worker_state(worker)
        if state != "unknown":
            return state == "alive"
        if worker is None and trial.datetime_start is not None and \
                (datetime.now() - trial.datetime_start).total_seconds() > ORPHAN_GRACE_S:
            return False  # killed between creating the trial and recording its worker
        return trial._trial_id not in stale

    def _recover_dead_trials(self) -> None:
        """RUNNING trials whose worker is gone: FAIL ("worker died ...") and enqueue their params."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        study = self.study
        storage = study._storage
        stale = self.heartbeats.stale_ids(study)
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if self._alive(t, stale):
                continue
            worker = t.user_attrs.get(WORKER_ATTR) or {}
            if not worker:
                how = "no worker recorded"
            elif t._trial_id in stale and local_worker_state(worker) == "unknown":
                how = "no heartbeat"
            else:
                how = "process gone"
            reason = f"worker died ({how}: pid {worker.get('pid', '?')} on {worker.get('host', '?')})"
            try:
                storage.set_trial_user_attr(t._trial_id, FAIL_REASON_ATTR, reason)
                won = storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            except UpdateFinishedTrialError:
                continue  # another worker got there first
            if not won:
                continue
            # a journal storage reports success to every worker that failed the trial: queue once
            if t.params and not any(o.user_attrs.get(RETRY_OF_ATTR) == t.number for o in study.get_trials(deepcopy=False)):
                log.warning("trial %d: %s; its parameters are queued again", t.number, reason)
                study.enqueue_trial(dict(t.params), user_attrs={RETRY_OF_ATTR: t.number})

    def _ask(self):
        """A new trial, or None when other workers took the remaining budget."""
        from optuna.trial import TrialState

        study = self.study
        attempts = 3
        for attempt in range(attempts):
            # the worker first, at once: a trial without one can only be judged by its age
            with warnings.catch_warnings():  # this sweeper records the heartbeats ask() warns about
                warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
                trial = study.ask()
            trial.set_user_attr(WORKER_ATTR, self.worker)
            self.heartbeats.add(trial._trial_id)
            for name, dist in self.space.distributions.items():
                suggest(trial, name, dist)
            trials = study.get_trials(deepcopy=False)
            ahead = [t for t in self._counted(trials) if t.number < trial.number]
            if len(ahead) >= self.n_trials:
                self._finish(trial, TrialState.FAIL, reason=OVER_BUDGET)
                log.info("trial %d: %s", trial.number, OVER_BUDGET)
                return None
            duplicate = self._duplicate_of(trial, trials) if attempt < attempts - 1 else None
            if duplicate is None:
                return trial
            # another worker uses the same sampler seed and proposes the same points: reseed ours
            study.sampler.reseed_rng()
            self._finish(trial, TrialState.FAIL, reason=f"duplicate of trial {duplicate} from another worker "
                                                         "(same sampler seed); resampled")
        return None

    def _duplicate_of(self, trial, trials) -> Optional[int]:
        """The number of another worker's trial with exactly the same continuous parameters."""
        from optuna.distributions import FloatDistribution
        from optuna.trial import TrialState

        continuous = [n for n, d in self.space.distributions.items() if isinstance(d, FloatDistribution) and d.step is None]
        if not continuous or "fixed_params" in self.study._storage.get_trial_system_attrs(trial._trial_id):
            return None
        for t in trials:
            if t.number == trial.number or t.state not in (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED):
                continue
            if (t.user_attrs.get(WORKER_ATTR) or {}).get("pid") == self.worker["pid"] and \
                    (t.user_attrs.get(WORKER_ATTR) or {}).get("host") == self.worker["host"]:
                continue
            if t.params == trial.params:
                return t.number
        return None

    def _finish(self, trial, state, values=None, reason: str | None = None, attrs: Mapping[str, Any] | None = None):
        """Set the trial's attrs (they cannot change once finished), then tell its state."""
        from optuna.exceptions import UpdateFinishedTrialError
        from optuna.trial import TrialState

        self.heartbeats.discard(trial._trial_id)
        try:
            for key, value in (attrs or {}).items():
                trial.set_user_attr(key, value)
            if reason is not None:
                trial.set_user_attr(PRUNE_REASON_ATTR if state == TrialState.PRUNED else FAIL_REASON_ATTR, reason)
        except UpdateFinishedTrialError:
            pass
        try:
            self.study.tell(trial, values, state=state, skip_if_finished=True)
        except RuntimeError as exc:
            # GridSampler.after_trial calls study.stop(), which only works inside optimize();
            # the state is stored before that (tell's finally)
            if "Study.stop" not in str(exc):
                raise
        except ValueError as exc:  # e.g. told FAIL by another worker as stale meanwhile
            log.warning("trial %d: could not record %s: %s", trial.number, state.name, exc)

    def _run_batch(self, trials: list) -> list:
        """Launch the trials (as consecutive job numbers = trial numbers) and tell their results."""
        from optuna.trial import TrialState

        ready = []
        for trial in trials:
            overrides = self._job_overrides(trial)
            trial.set_user_attr(OVERRIDES_ATTR, overrides)
            try:
                job_cfg = self._compose_job(overrides, trial.number)
            except Exception as exc:  # a sampled or fixed override that does not compose
                reason = f"{type(exc).__name__}: {_one_line(exc)}"
                self._fail(trial, reason)
                continue
            job_dir = str(Path(str(job_cfg.hydra.sweep.dir)) / str(job_cfg.hydra.sweep.subdir))
            try:
                too_big = self._predicted_not_to_fit(job_cfg)
            except Exception as exc:  # e.g. a sampled value the estimator cannot size: this trial only
                self._fail(trial, f"memory estimate failed: {type(exc).__name__}: {_one_line(exc)}")
                continue
            if too_big is not None:
                log.warning("trial %d skipped: %s", trial.number, too_big)
                self._finish(trial, TrialState.PRUNED, reason=too_big, attrs={SKIPPED_ATTR: "memory"})
                continue
            trial.set_user_attr(JOB_DIR_ATTR, job_dir)
            ready.append((trial, overrides))
        returns = []
        # job numbers are trial numbers (unique per study, so a resumed sweep never reuses a job
        # directory); the launcher numbers a batch consecutively, so split it where numbers jump
        runs: list[list] = []
        for item in ready:
            if runs and runs[-1][-1][0].number + 1 == item[0].number:
                runs[-1].append(item)
            else:
                runs.append([item])
        pending = [t for t, _ in ready]
        try:
            for run in runs:
                first = run[0][0].number
                for trial, overrides in run:
                    log.info("trial %d: %s", trial.number, " ".join(overrides[len(self.space.fixed):]))
                results = self.launcher.launch([o for _, o in run], initial_job_idx=first)
                for (trial, _), job_return in zip(run, results):
                    self._tell_result(trial, job_return)
                    pending.remove(trial)
                returns.append(results)
                if self.interrupted is not None:
                    raise self.interrupted
        except BaseException as exc:  # Ctrl-C, a stopped trial, a launcher failure: close the open trials
            reason = f"interrupted ({type(exc).__name__}) before it ran" if isinstance(exc, SweepInterrupted) \
                else f"interrupted ({type(exc).__name__})"
            for trial in pending:
                self._finish(trial, TrialState.FAIL, reason=reason)
                self.study.enqueue_trial(dict(trial.params), user_attrs={RETRY_OF_ATTR: trial.number})
            raise
        return returns

    def _job_overrides(self, trial) -> List[str]:
        overrides = self.space.overrides_for(trial.params)
        if self.report_metric is not None:
            overrides += [f"sweep.storage={quote(self.url)}", f"sweep.study_name={quote(self.study_name)}",
                          f"sweep.trial_number={trial.number}", f"sweep.report_metric={self.report_metric}"]
        return overrides

    def _compose_job(self, overrides: List[str], number: int) -> DictConfig:
        cfg = self.hydra_context.config_loader.load_sweep_config(master_config=self.config,
                                                                 sweep_overrides=list(overrides))
        with open_dict(cfg):
            cfg.hydra.job.num = number
            cfg.hydra.job.id = number
        return cfg

    def _predicted_not_to_fit(self, job_cfg: DictConfig) -> Optional[str]:
        """Why the trial would run out of memory (loralab's estimator), or None when it fits or
        cannot be predicted (no GPU and no memory_limit_gb, or no shipped architecture)."""
        if not self.skip_if_no_fit:
            return None
        from loralab.hardware import detect
        from loralab.memory import estimate

        limit = self.memory_limit_gb if self.memory_limit_gb is not None else detect().total_memory_gb
        if limit is None or not job_cfg.model.get("arch_config"):
            return None  # nothing to compare with, or no shipped architecture to count from
        predicted = estimate(job_cfg)
        if predicted.fits(limit):
            return None
        return (f"predicted peak memory {predicted.total_gb:.2f} GiB exceeds {limit:g} GiB "
                "(loralab-estimate with the same overrides shows the breakdown and a fallback)")

    def _fail(self, trial, reason: str, attrs: Mapping[str, Any] | None = None) -> None:
        from optuna.trial import TrialState

        self.failures += 1
        self.last_failure = f"trial {trial.number}: {reason}"
        log.warning("trial %d FAILED: %s", trial.number, reason)
        self._finish(trial, TrialState.FAIL, reason=reason, attrs=attrs)

    def _tell_result(self, trial, job_return) -> None:
        from optuna.trial import TrialState

        attrs: Dict[str, Any] = {}
        output_dir = OmegaConf.select(job_return.hydra_cfg, "hydra.runtime.output_dir", default=None) \
            if job_return.hydra_cfg is not None else None
        if output_dir:
            attrs[JOB_DIR_ATTR] = str(output_dir)
        if job_return.status == JobStatus.COMPLETED:
            result = job_return._return_value
        else:  # the job raised: pruned, diverged, bad config, ... (return_value would re-raise it)
            exc = job_return._return_value
            if type(exc).__name__ == "RunInterrupted":  # SIGINT/SIGTERM: the user stops the sweep
                self._finish(trial, TrialState.FAIL, reason=f"interrupted: {_one_line(exc)}", attrs=attrs)
                self.study.enqueue_trial(dict(trial.params), user_attrs={RETRY_OF_ATTR: trial.number})
                self.interrupted = SweepInterrupted(
                    f"trial {trial.number} was stopped ({_one_line(exc)}); the sweep stops here. Re-run the same "
                    "command to continue the study: the stopped point is queued to run again.",
                    int(getattr(exc, "exit_code", 130)))
                return
            if type(exc).__name__ == "TrialPruned":
                step = getattr(exc, "step", None)
                if step is None:
                    step = self.study._storage.get_trial(trial._trial_id).last_step
                attrs[PRUNED_AT_ATTR] = step
                log.info("trial %d PRUNED at step %s", trial.number, step)
                self._finish(trial, TrialState.PRUNED, reason=_one_line(exc), attrs=attrs)
            else:
                self._fail(trial, f"{type(exc).__name__}: {_one_line(exc)}", attrs)
            return
        if not isinstance(result, Mapping):
            self._fail(trial, f"the task returned {type(result).__name__}, not a dict of objectives", attrs)
            return
        attrs[OBJECTIVES_ATTR] = {k: v for k, v in result.items() if isinstance(v, (int, float, str, bool))}
        missing = [k for k in self.objectives if k not in result]
        if missing:
            self._fail(trial, f"objective {missing[0]!r} missing from the run's results; available: "
                              f"{sorted(result)}", attrs)
            return
        values = []
        for key in self.objectives:
            try:
                value = float(result[key])
            except (TypeError, ValueError):
                value = float("nan")
            if not math.isfinite(value):
                self._fail(trial, f"objective {key!r} is {result[key]!r}", attrs)
                return
            values.append(value)
        log.info("trial %d COMPLETE: %s", trial.number,
                 ", ".join(f"{k}={v:.6g}" for k, v in zip(self.objectives, values)))
        self._finish(trial, TrialState.COMPLETE, values=values, attrs=attrs)

    # -- results -------------------------------------------------------------------------------

    def _rows(self) -> tuple[list[str], list[dict]]:
        trials = self.study.get_trials(deepcopy=False)
        names = list(self.space.distributions)
        for t in trials:  # params of older search spaces of a resumed study too
            names += [n for n in t.params if n not in names]
        columns = ["number", "state", *self.objectives, *names, "duration_s", "reason", "job_dir"]
        rows = []
        for t in trials:
            row: Dict[str, Any] = {"number": t.number, "state": t.state.name}
            for i, key in enumerate(self.objectives):
                row[key] = t.values[i] if t.values is not None and i < len(t.values) else None
            params = t.params or t.system_attrs.get("fixed_params", {})  # WAITING: the queued point
            for n in names:
                row[n] = params.get(n)
            row["duration_s"] = round(t.duration.total_seconds(), 1) if t.duration is not None else None
            reason = t.user_attrs.get(FAIL_REASON_ATTR)
            if t.state.name == "PRUNED":
                reason = f"pruned at step {t.user_attrs.get(PRUNED_AT_ATTR, t.last_step)}"
            elif t.state.name == "WAITING" and RETRY_OF_ATTR in t.user_attrs:
                reason = f"queued again (trial {t.user_attrs[RETRY_OF_ATTR]})"
            elif t.state.name != "FAIL" and RETRY_OF_ATTR in t.user_attrs:
                reason = f"retry of trial {t.user_attrs[RETRY_OF_ATTR]}"
            row["reason"] = reason
            row["job_dir"] = t.user_attrs.get(JOB_DIR_ATTR)
            rows.append(row)
        return columns, rows

    def _summary(self) -> dict:
        from optuna.trial import TrialState

        study = self.study
        trials = study.get_trials(deepcopy=False)
        states = {s.name.lower(): sum(1 for t in trials if t.state == s) for s in TrialState}
        single = len(self.objectives) == 1
        out: Dict[str, Any] = {
            "name": "loralab_optuna",
            "study_name": self.study_name,
            "storage": redact(self.url),
            "direction": self.directions[0] if single else list(self.directions),
            "objective": self.objectives[0] if single else list(self.objectives),
            "n_trials": self.n_trials,
            "counted_trials": states["complete"] + states["pruned"],
            "trials": states,
        }
        if single:
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            if complete:
                best = study.best_trial
                out.update(best_trial=best.number, best_params=dict(best.params), best_value=best.value,
                           best_job_dir=best.user_attrs.get(JOB_DIR_ATTR))
            else:
                out.update(best_trial=None, best_params=None, best_value=None)
        else:
            out["best_trials"] = [{"number": t.number, "params": dict(t.params), "values": list(t.values),
                                   "job_dir": t.user_attrs.get(JOB_DIR_ATTR)} for t in study.best_trials]
        return out

    def _write_results(self) -> None:
        import yaml

        if not hasattr(self, "study"):
            return
        try:
            columns, rows = self._rows()
            write_text(self.sweep_dir / RESULTS_FILE, yaml.safe_dump(_plain(self._summary()), sort_keys=False))
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
            write_text(self.sweep_dir / "trials.csv", buf.getvalue())
            write_text(self.sweep_dir / "trials.md", _markdown(columns[:-1], rows, self._summary()))
        except Exception as exc:  # results are a report; never hide the sweep's own outcome
            log.warning("could not write the sweep results: %s", exc)

    def _print_table(self) -> None:
        from rich.console import Console
        from rich.table import Table

        columns, rows = self._rows()
        summary = self._summary()
        table = Table(title=f"study {self.study_name}: {summary['counted_trials']}/{self.n_trials} counted trials")
        for c in columns[:-1]:
            table.add_column(c, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(row[c]) for c in columns[:-1]))
        console = Console()
        if not console.is_terminal:  # a log file: do not fold the table to 80 columns
            console = Console(width=160)
        console.print(table)
        if summary.get("best_trial") is not None:
            console.print(f"best trial {summary['best_trial']}: {self.objectives[0]}={summary['best_value']:.6g} "
                          f"{summary['best_params']}")
        console.print(f"results: {self.sweep_dir / RESULTS_FILE}; storage: {summary['storage']}")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def _as_list(value: Any, name: str) -> List[str]:
    if isinstance(value, str):
        return [value]
    items = list(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value or [])
    if not items or not all(isinstance(v, str) for v in items):
        raise SweepConfigError(f"hydra.sweeper.{name} must be a string or a list of strings, got {value!r}")
    return items


def _container(value: Any) -> dict:
    if value is None:
        return {}
    if OmegaConf.is_config(value):
        return dict(OmegaConf.to_container(value, resolve=True))
    return dict(value)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or repr(exc)
    return " ".join(text.split())[:500]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _markdown(columns: List[str], rows: List[dict], summary: dict) -> str:
    lines = [f"# Study {summary['study_name']}", "",
             f"storage: `{summary['storage']}`; objective: {summary['objective']} ({summary['direction']}); "
             f"{summary['counted_trials']}/{summary['n_trials']} counted trials (COMPLETE + PRUNED)", ""]
    lines.append("| " + " | ".join(columns) + " |")
    lines.append("|" + "---|" * len(columns))
    for row in rows:
        lines.append("| " + " | ".join(_cell(row[c]).replace("|", "\\|") for c in columns) + " |")
    return "\n".join(lines) + "\n"
