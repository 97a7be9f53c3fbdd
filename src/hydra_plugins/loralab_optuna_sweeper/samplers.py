"""The Optuna sampler a ``hydra.sweeper.sampler`` spec describes (the pruner is built on the
training side too: ``loralab.sweeps.pruners``). Optuna is imported when a sampler is built."""


from typing import Any, Mapping, Optional

from ._errors import SweepConfigError
from .config import SAMPLERS
from .search_space import SearchSpace, grid_search_space


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

