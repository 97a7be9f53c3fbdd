"""loralab's Optuna sweeper for Hydra (``hydra/sweeper=loralab_optuna``): Optuna >= 4 ask/tell,
pruning through the training run's evaluations, resumable studies, several workers per study.

Hydra finds it by scanning the ``hydra_plugins`` namespace package; importing this package only
registers the config (Optuna is imported when a sweep runs)."""

from .config import LoralabOptunaSweeperConf, PrunerConf, SamplerConf  # noqa: F401  (registers the config)
