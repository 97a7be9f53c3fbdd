"""The trial side of an Optuna sweep: report the evaluation metric after every evaluation and
stop the run when the pruner says so. The trial is re-opened from the shared storage by number,
so this works whether the job runs in the sweeper's process or on another machine."""

from __future__ import annotations

import math

from transformers import TrainerCallback


class TrialPruned(Exception):
    """Raised after a pruned run has been stopped; the sweeper records the trial as PRUNED."""

    def __init__(self, message: str, step: int, value: float):
        super().__init__(message)
        self.step, self.value = step, value


def open_trial(storage_url: str, study_name: str, number: int):
    import optuna

    from .pruners import PRUNER_STUDY_ATTR, build_pruner
    from .storage import open_storage

    study = optuna.load_study(study_name=study_name, storage=open_storage(storage_url))
    # the pruner is configuration, not storage: rebuild the sweep's own from the study's record
    study.pruner = build_pruner(study.user_attrs.get(PRUNER_STUDY_ATTR))
    trial_id = study._storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    return optuna.trial.Trial(study, trial_id)


class TrialReporter(TrainerCallback):
    def __init__(self, trial, metric: str):
        self.trial = trial
        self.metric = metric if metric.startswith("eval_") else f"eval_{metric}"
        self.pruned_at: tuple[int, float] | None = None
        self.last: tuple[int, float] | None = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        value = (metrics or {}).get(self.metric)
        if value is None or not math.isfinite(value):
            return
        self.last = (state.global_step, float(value))
        self.trial.report(float(value), step=state.global_step)
        if self.trial.should_prune():
            self.pruned_at = self.last
            control.should_training_stop = True

    def raise_if_pruned(self) -> None:
        if self.pruned_at is not None:
            step, value = self.pruned_at
            raise TrialPruned(f"trial {self.trial.number} pruned at step {step} ({self.metric}={value:.4g})", step, value)
