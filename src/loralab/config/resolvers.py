"""The Hydra resolvers conf/hydra/default.yaml uses, registered before Hydra composes anything:

- ``${loralab.now:%H-%M-%S}``: the launch time agreed by all ranks (Hydra's ``now`` is per process),
  so every rank of a torchrun job names the same run directory;
- ``${loralab.rank0:X}``: X on rank 0 and null elsewhere (so only rank 0 writes ``.hydra/``);
- ``${loralab.rank0_log:PATH}``: PATH on rank 0 and the null device elsewhere (the job log file)."""

from __future__ import annotations

import os

from omegaconf import OmegaConf

from ..distributed import is_main_process, launch_time


def register_resolvers() -> None:
    resolvers = {
        "loralab.now": lambda fmt: launch_time().strftime(fmt),
        "loralab.rank0": lambda value: value if is_main_process() else None,
        "loralab.rank0_log": lambda path: path if is_main_process() else os.devnull,
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
