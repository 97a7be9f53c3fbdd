"""The sweeper's exceptions, raised before or instead of a trial.

The leading underscore keeps Hydra's plugin scan (which re-executes every other module of this
package in place) from executing this module again, so each class has one identity however the
sweeper's modules are imported."""


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
