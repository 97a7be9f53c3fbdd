"""The Optuna pruner of a sweep, built from its spec (``hydra.sweeper.pruner``) by the sweeper and
again by every trial process, which re-opens the study from the storage: the pruner is
configuration, not storage, so the sweeper records its spec as the study user attr
``PRUNER_STUDY_ATTR``.

Pure Optuna (imported when a pruner is built), so the training side needs nothing of the Hydra
plugin."""

from __future__ import annotations

from typing import Any, Mapping

PRUNERS = ("median", "percentile", "hyperband", "none")
# study user attr: the pruner a trial process should use (see build_pruner)
PRUNER_STUDY_ATTR = "loralab.pruner"


def build_pruner(spec: Mapping[str, Any] | None):
    """The pruner a spec (hydra.sweeper.pruner, also stored as the study user attr
    ``loralab.pruner``) describes. A trial process that re-opens its study should use it:
    ``study.pruner = build_pruner(study.user_attrs.get(PRUNER_STUDY_ATTR))``. An unknown type is
    a ValueError; the sweeper rejects it earlier, as a SweepConfigError, before any trial."""
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
    raise ValueError(f"hydra.sweeper.pruner.type={kind!r}: expected one of {PRUNERS}")
