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
  enqueued again, so re-running a killed sweep evaluates the point it was evaluating; a dead
  trial's run directory still marked ``running`` is marked ``failed`` with that reason.

One study, one problem (``loralab.sweeps.identity``): the study records the fingerprint of the
resolved config without the searched keys, the data files, the search space and the objective
when it is created; a sweep of another problem is refused (naming the fields that differ) unless
``allow_config_change``. ``{fingerprint}`` in ``study_name`` (as in the default names) becomes the
fingerprint's first 8 hex digits: another problem starts another study, the same command resumes.

Several workers (processes, hosts) running the same command against one RDB storage finish with
exactly ``n_trials`` counted trials: before asking, a worker counts COMPLETE + PRUNED + RUNNING
(alive); after ``ask`` it counts again the trials numbered below its own, and if those alone fill
the budget its trial is told FAIL ("over budget ...") without being launched. Trial numbers are
allocated by the storage, so a tie is decided the same way by every worker.

The parts, one job each: ``search_space`` (override grammar <-> Optuna distributions),
``samplers`` (and ``loralab.sweeps.pruners``, shared with the trial processes), ``workers``
(liveness, heartbeats), ``results`` (tables and files), ``attrs`` (trial user attr names),
``_errors``; ``loralab.sweeps.storage`` opens the storage.

Imported by Hydra's plugin scan on every ``loralab-train`` start: Optuna is imported lazily. No
``from __future__ import annotations``: the scan executes modules outside sys.modules, where
dataclasses cannot resolve string annotations.
"""


import logging
import math
import os
import sys
import time
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobStatus
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from loralab.rundir import read_status, set_status
from loralab.sweeps import identity
from loralab.sweeps.pruners import PRUNER_STUDY_ATTR, PRUNERS, build_pruner
from loralab.secrets import redact_text
from loralab.sweeps.storage import default_storage_url, with_installed_driver

from ._errors import SweepAborted, SweepConfigError, SweepInterrupted, SweepStorageError
from .attrs import (FAIL_REASON_ATTR, FINGERPRINT_ATTR, JOB_DIR_ATTR, OBJECTIVES_ATTR, OVERRIDES_ATTR,
                    PRUNE_REASON_ATTR, PRUNED_AT_ATTR, RETRY_OF_ATTR, SKIPPED_ATTR, WORKER_ATTR)
from .config import DIRECTIONS, SAMPLERS
from .results import print_table, study_summary, trial_rows, write_results
from .samplers import build_sampler
from .search_space import describe, parse_search_space, quote, suggest
from .workers import Heartbeats, local_worker_state, worker_identity

log = logging.getLogger(__name__)

OVER_BUDGET = "over budget (another worker took the last slot)"
# how often a worker whose budget is held by other workers' running trials looks again
WAIT_POLL_S = 2.0
# a RUNNING trial that recorded no worker this long after its start was left by a killed sweeper
ORPHAN_GRACE_S = 60


# ---------------------------------------------------------------------------------------------
# The sweeper
# ---------------------------------------------------------------------------------------------

class LoralabOptunaSweeper(Sweeper):
    def __init__(self, study_name: str, storage: Optional[str], direction: Any, objective: Any, n_trials: int,
                 n_jobs: int, sampler: Any, pruner: Any, params: Optional[Mapping[str, str]] = None,
                 max_failures: Optional[int] = None, skip_if_no_fit: bool = True,
                 memory_limit_gb: Optional[float] = None, allow_config_change: bool = False) -> None:
        super().__init__()
        self.study_name = str(study_name)  # "{fingerprint}" is filled in when the sweep starts
        self.allow_config_change = bool(allow_config_change)
        self.problem: Dict[str, Any] = {}
        self.fingerprint: Optional[str] = None
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
        self.problem = identity.problem_fields(self._problem_config(space),
                                               {n: describe(d) for n, d in space.distributions.items()},
                                               self.objectives, self.directions)
        self.fingerprint = identity.fingerprint(self.problem)
        self.study_name = identity.study_name(self.study_name, self.fingerprint)
        # the trials open the same URL (sweep.storage), so it names its driver here
        url = with_installed_driver(self.storage_url or default_storage_url(self.study_name))
        storage = self._open_storage(url)
        sampler_seed = self.sampler_spec.get("seed")
        study = optuna.create_study(study_name=self.study_name, storage=storage, load_if_exists=True,
                                    directions=self.directions, pruner=build_pruner(self.pruner_spec))
        if [d.name.lower() for d in study.directions] != self.directions:
            raise SweepConfigError(f"study {self.study_name!r} in {redact_text(url)} was created with directions "
                                   f"{[d.name.lower() for d in study.directions]}, not {self.directions}: "
                                   "use the same hydra.sweeper.direction or another hydra.sweeper.study_name")
        self._check_problem(study, url)
        existing = len(study.get_trials(deepcopy=False))
        seed = None if sampler_seed is None else int(sampler_seed) + existing
        study.sampler = build_sampler(self.sampler_spec, space, seed)
        study.set_user_attr(PRUNER_STUDY_ATTR, self.pruner_spec)
        study.set_user_attr("loralab.objectives", self.objectives)
        if existing:
            log.info("resuming study %s (%d trials in %s)", self.study_name, existing, redact_text(url))
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

    def _problem_config(self, space) -> DictConfig:
        """The config every trial composes, before its sampled values: the master config with the
        fixed overrides (command line and non-sweep hydra.sweeper.params)."""
        try:
            return self.hydra_context.config_loader.load_sweep_config(master_config=self.config,
                                                                      sweep_overrides=list(space.fixed))
        except Exception as exc:  # every trial will fail to compose and say why; the master config is the best record
            log.debug("fixed overrides do not compose (%s): fingerprinting the master config", exc)
            return self.config

    def _check_problem(self, study, url: str) -> None:
        """Record the problem in a new study; refuse another problem's sweep on an existing one."""
        stored = study.user_attrs.get(identity.STUDY_FINGERPRINT_ATTR)
        if stored == self.fingerprint:
            return
        if stored is None:
            if study.get_trials(deepcopy=False):
                log.warning("study %s records no problem fingerprint (created by an older loralab): recording "
                            "this sweep's", self.study_name)
            study.set_user_attr(identity.STUDY_FINGERPRINT_ATTR, self.fingerprint)
            study.set_user_attr(identity.STUDY_PROBLEM_ATTR, self.problem)
            return
        diffs = identity.differences(study.user_attrs.get(identity.STUDY_PROBLEM_ATTR) or {}, self.problem)
        changed = identity.describe_differences(diffs) or f"fingerprint {stored} -> {self.fingerprint}"
        if self.allow_config_change:
            log.warning("study %s was created for another problem (%s); adding this sweep's trials to it "
                        "(hydra.sweeper.allow_config_change=true)", self.study_name, changed)
            return
        short = identity.SHORT_LENGTH
        base = self.study_name.removesuffix(f"-{stored[:short]}")  # a name that carries the old fingerprint
        raise SweepConfigError(
            f"study {self.study_name!r} in {redact_text(url)} holds trials of another problem: {changed}. "
            f"Use hydra.sweeper.study_name={base}-{self.fingerprint[:short]} to start another study, or "
            "hydra.sweeper.allow_config_change=true to add this sweep's trials to it anyway")

    def _open_storage(self, url: str):
        from optuna.exceptions import ExperimentalWarning

        from loralab.sweeps.storage import open_storage
        from loralab.errors import StorageUnreachable

        hint = "Or leave hydra.sweeper.storage unset (null) to use a local journal file under multirun/optuna/."
        given = redact_text(self.storage_url or url)  # as the user wrote it (without the password)
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
        from loralab.evaluation.aggregate import DURING_TRAINING, DURING_TRAINING_PREFIX

        during = bool(OmegaConf.select(self.config, "eval.during_training", default=False))
        if objective in DURING_TRAINING and during:
            return f"{DURING_TRAINING_PREFIX}{objective}", None
        return None, (f"the objective {objective!r} is not reported during training (only eval_loss is, and "
                      f"{', '.join(DURING_TRAINING)} with eval.during_training=true)")

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
            self._close_run_dir(t, f"the sweep process died during this trial ({how}: pid {worker.get('pid', '?')} "
                                   f"on {worker.get('host', '?')}); the study marked it FAIL and queued its "
                                   "parameters again")
            # a journal storage reports success to every worker that failed the trial: queue once
            if t.params and not any(o.user_attrs.get(RETRY_OF_ATTR) == t.number for o in study.get_trials(deepcopy=False)):
                log.warning("trial %d: %s; its parameters are queued again", t.number, reason)
                study.enqueue_trial(dict(t.params), user_attrs={RETRY_OF_ATTR: t.number})

    @staticmethod
    def _close_run_dir(trial, reason: str) -> None:
        """A dead trial's run never recorded how it ended: its status.json says running."""
        job_dir = trial.user_attrs.get(JOB_DIR_ATTR)
        if not job_dir or read_status(Path(job_dir)).get("state") != "running":
            return  # never started, already ended, or on a file system this host cannot see
        try:
            set_status(Path(job_dir), "failed", error=reason, trial=trial.number)
        except OSError as exc:
            log.warning("trial %d: could not mark %s failed: %s", trial.number, job_dir, exc)

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
            if self.fingerprint is not None:
                trial.set_user_attr(FINGERPRINT_ATTR, self.fingerprint)
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
            # absolute: a resumed sweep started from another directory still finds it
            job_dir = os.path.abspath(Path(str(job_cfg.hydra.sweep.dir)) / str(job_cfg.hydra.sweep.subdir))
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

    def _results(self) -> tuple[list[str], list[dict], dict]:
        columns, rows = trial_rows(self.study, list(self.space.distributions), self.objectives)
        summary = study_summary(self.study, self.study_name, self.url, self.directions, self.objectives,
                                self.n_trials, self.fingerprint)
        return columns, rows, summary

    def _write_results(self) -> None:
        if not hasattr(self, "study"):
            return
        try:
            write_results(self.sweep_dir, *self._results())
        except Exception as exc:  # results are a report; never hide the sweep's own outcome
            log.warning("could not write the sweep results: %s", exc)

    def _print_table(self) -> None:
        print_table(*self._results(), self.sweep_dir)


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

