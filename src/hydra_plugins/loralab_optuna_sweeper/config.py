"""The sweeper's config, ``hydra/sweeper=loralab_optuna`` (see ``conf/hparams_search/lr-rank.yaml``).

Imported by Hydra's plugin scan on every ``loralab-train`` start: keep it free of heavy imports
(Optuna is imported by the sweeper only when a sweep runs)."""


from dataclasses import dataclass, field
from typing import Any, Dict, Optional

from hydra.core.config_store import ConfigStore

SAMPLERS = ("tpe", "random", "grid")
DIRECTIONS = ("minimize", "maximize")


@dataclass
class SamplerConf:
    # "tpe" | "random" | "grid" (grid takes choice/range params only and stops when exhausted)
    type: str = "tpe"
    # None: a fresh random seed. A resumed study offsets it by the number of trials already in the
    # study, so a re-run does not propose the same first points again.
    seed: Optional[int] = None
    # tpe: treat running trials as if they had the worst value, so concurrent trials (n_jobs > 1,
    # several workers) do not all probe the same point
    constant_liar: bool = True
    # tpe: random trials before the model kicks in
    n_startup_trials: int = 10
    # tpe: model the joint distribution of the parameters (e.g. lr x rank), not each one alone
    multivariate: bool = False


@dataclass
class PrunerConf:
    # "median" | "percentile" | "hyperband" | "none"
    type: str = "median"
    # median/percentile: prune only once this many trials have completed
    n_startup_trials: int = 5
    # median/percentile: never prune before this training step
    n_warmup_steps: int = 0
    interval_steps: int = 1
    n_min_trials: int = 1
    # percentile only
    percentile: float = 50.0
    # hyperband: resources are training steps at which the eval metric is reported
    min_resource: int = 1
    # "auto" or an int
    max_resource: Any = "auto"
    reduction_factor: int = 3


@dataclass
class LoralabOptunaSweeperConf:
    _target_: str = "hydra_plugins.loralab_optuna_sweeper.sweeper.LoralabOptunaSweeper"
    # one study per name in one storage; re-running the same command continues the study.
    # "{fingerprint}" becomes the first 8 hex digits of the problem's fingerprint: the resolved
    # config without the searched keys, the data files' content, the search space and the
    # objective (loralab.sweeps.identity lists what is left out: run_name, paths, logger, env,
    # hydra.*, ...). Another dataset, step budget or search space then starts another study.
    study_name: str = "${hydra.job.name}-{fingerprint}"
    # A study records its problem's fingerprint when created; a sweep of another problem on it is
    # refused (the error names the fields that differ). true: add this sweep's trials anyway (the
    # sampler then learns from trials of both problems, and "best" compares across them).
    allow_config_change: bool = False
    # Optuna storage URL: sqlite:///path.db, postgresql://user@host/db, journal:///abs/path.log.
    # None: journal:///<cwd>/multirun/optuna/<study_name>.log: Optuna's append-only journal with a
    # file lock, safe for parallel local processes (SQLite is not, under concurrent writers).
    # Several machines: postgresql:// (heartbeats detect dead workers). Each trial receives this
    # URL as sweep.storage (in its overrides.yaml): keep passwords in ~/.pgpass or PGPASSWORD.
    storage: Optional[str] = None
    # "minimize" | "maximize", or a list (one per objective) for multi-objective studies
    direction: Any = "minimize"
    # key(s) of the dict the training run returns: eval_loss, exact_call_accuracy, valid_json, ...
    # Pruning: each run reports its eval loss after every evaluation, so an eval_loss objective is
    # pruned as it trains; a tool-call objective only with eval.during_training=true (the run then
    # reports eval_tool_<name>); otherwise, and for several objectives, pruning is off.
    objective: Any = "eval_loss"
    # counted trials (COMPLETE + PRUNED) the study should hold when the sweep ends
    n_trials: int = 8
    # trials handed to the launcher per round (run concurrently by a parallel launcher; Hydra's
    # basic launcher runs them one after another in this process)
    n_jobs: int = 1
    # stop the sweep (exit 1) after this many failed trials in one invocation; None: n_trials
    max_failures: Optional[int] = None
    # skip (as PRUNED, with the reason) a trial whose predicted peak memory (loralab-estimate)
    # exceeds memory_limit_gb, instead of launching it into an out-of-memory error
    skip_if_no_fit: bool = True
    # None: the memory of this machine's GPU (nothing is skipped without a GPU)
    memory_limit_gb: Optional[float] = None
    sampler: SamplerConf = field(default_factory=SamplerConf)
    pruner: PrunerConf = field(default_factory=PrunerConf)
    # key -> Hydra override grammar: choice(8,16,32), range(1,9,2), interval(1e-5,1e-3),
    # tag(log, interval(5e-5, 5e-4)), int(interval(8, 64)). Sweep overrides given on the command
    # line (lora.r=choice(8,16)) are added to these and win over them.
    params: Optional[Dict[str, str]] = None


ConfigStore.instance().store(group="hydra/sweeper", name="loralab_optuna", node=LoralabOptunaSweeperConf,
                             provider="loralab_optuna_sweeper")
