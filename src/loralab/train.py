"""``loralab-train``: the Hydra entry point. ``loralab-train --help`` lists the config groups;
``loralab-train --cfg job`` prints the composed config without running."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from .config.paths import config_dir
from .config.schema import register_configs

register_configs()


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def _main(cfg: DictConfig) -> float | None:
    from .errors import exit_on_user_error
    from .recipe import train

    # Inside the task function: Hydra would otherwise print a traceback for a user's mistake.
    with exit_on_user_error():
        result = train(cfg, HydraConfig.get().runtime.output_dir)
    return result.objective()


def main() -> None:
    _main()


if __name__ == "__main__":
    sys.exit(main())
