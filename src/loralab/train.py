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
def _main(cfg: DictConfig) -> dict[str, float]:
    """Returns the run's objectives (eval loss, tool-call rates) for sweepers."""
    from hydra.types import RunMode

    from .errors import exit_on_user_error
    from .recipe import train

    output_dir = HydraConfig.get().runtime.output_dir
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        # In a sweep a failing job must not end the sweep: the exception is recorded by the sweeper.
        return train(cfg, output_dir).objectives()
    # A single run: a user's mistake gets a message and exit code 2, not a traceback.
    with exit_on_user_error():
        result = train(cfg, output_dir)
    return result.objectives()


def main() -> None:
    from .config.overrides import unknown_key_problems

    groups = {p.name for p in config_dir().iterdir() if p.is_dir()}
    problems = unknown_key_problems(sys.argv[1:], groups)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    _main()


if __name__ == "__main__":
    sys.exit(main())
