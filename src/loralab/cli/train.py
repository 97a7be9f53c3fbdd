"""``loralab-train``: the Hydra entry point. ``loralab-train --help`` lists the config groups;
``loralab-train --cfg job`` prints the composed config without running."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ..config.paths import config_dir
from ..config.schema import register_configs
from ..distributed import is_main_process
from ..rundir import discard_if_nothing_written, record_failed_start

register_configs()


@hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="train")
def _main(cfg: DictConfig) -> dict[str, float]:
    """Returns the run's objectives (eval loss, tool-call rates) for sweepers."""
    from hydra.types import RunMode

    from ..errors import exit_on_user_error
    from ..recipe import train

    output_dir = HydraConfig.get().runtime.output_dir
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        try:
            return train(cfg, output_dir).objectives()
        except Exception as exc:
            record_failed_start(cfg, output_dir, exc)
            if _basic_sweeper():
                # Hydra's basic sweeper would end the whole sweep on this job's exception, before the
                # summary: the job is recorded as failed and the other jobs go on (the exit code says so).
                print(f"error: job {HydraConfig.get().job.num} ({output_dir}): {exc}", file=sys.stderr)
                return {"failed": f"{type(exc).__name__}: {exc}"}
            raise  # loralab's Optuna sweeper records the exception in the study (FAIL / PRUNED)
    # A single run: a user's mistake gets a message and exit code 2, not a traceback.
    try:
        with exit_on_user_error():
            result = train(cfg, output_dir)
    except BaseException:
        if is_main_process():
            discard_if_nothing_written(output_dir)  # a failed start leaves no stray directory behind
        raise
    return result.objectives()


def _basic_sweeper() -> bool:
    return HydraConfig.get().sweeper.get("_target_", "").endswith("BasicSweeper")


def main() -> None:
    from ..config.overrides import unknown_key_problems
    from ..data import sources

    if not sources.task_names():  # the bundled data options need the task's settings schema
        print(f"error: {sources.NOT_REGISTERED}", file=sys.stderr)
        sys.exit(2)
    groups = {p.name for p in config_dir().iterdir() if p.is_dir()}
    problems = unknown_key_problems(sys.argv[1:], groups)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    _main()


if __name__ == "__main__":
    sys.exit(main())
