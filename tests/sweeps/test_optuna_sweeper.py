"""Real sweeps through the `loralab-train` CLI on the tiny model (a few seconds per trial):
results match the storage, a killed sweep resumes exactly, a clearly worse arm is pruned and a
broken one fails while the sweep goes on, and an unreachable storage fails cleanly."""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from loralab.config.paths import config_dir
from loralab.rundir import read_status
from loralab.sweeps.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)

# conf/hparams_search/lr-rank.yaml names it lr-rank-${model.name}-{fingerprint}
STUDY = re.compile(r"lr-rank-tiny-[0-9a-f]{8}")
COUNTED = (TrialState.COMPLETE, TrialState.PRUNED)

# Every trial: 4 steps, evaluations at steps 0, 2 and 4, no checkpoints, no generation.
SHRINK = [
    "model.source=hub", "model.name=tiny", "data.generator.size=100", "data.max_eval_examples=8",
    "trainer.max_steps=4", "trainer.eval_steps=2", "trainer.eval_on_start=true", "trainer.logging_steps=1",
    "trainer.micro_batch_size=4",
    "trainer.save_strategy=no", "trainer.load_best_model_at_end=false", "eval.at_end=false",
    "eval.compare_base=false", "env.torch_num_threads=1",
]


def hparams_search(name: str = "lr-rank") -> str:
    # `hparams_search=` once conf/train.yaml lists the group (`- optional hparams_search: null`),
    # `+hparams_search=` until then
    defaults = (config_dir() / "train.yaml").read_text()
    return f"{'' if 'hparams_search' in defaults else '+'}hparams_search={name}"


def sweep_args(model_dir: Path, *extra: str) -> list[str]:
    return [hparams_search(), f"model.name_or_path={model_dir}", *SHRINK, *extra]


def cli() -> str:
    return str(Path(sys.executable).parent / "loralab-train")


def run_sweep(args: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run([cli(), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=os.environ.copy())
    return proc


def tail(proc) -> str:
    return (proc.stdout or "")[-4000:] + "\n--- stderr ---\n" + (proc.stderr or "")[-4000:]


def load(url: str) -> optuna.Study:
    """The storage's one study (named lr-rank-tiny-<fingerprint>)."""
    storage = open_storage(url)
    (name,) = optuna.get_all_study_names(storage)
    assert STUDY.fullmatch(name), name
    return optuna.load_study(study_name=name, storage=storage)


def counted(study) -> list:
    return [t for t in study.get_trials() if t.state in COUNTED]


@pytest.fixture(scope="module")
def four_trials(tiny_model_dir, tmp_path_factory):
    """A finished 4-trial sweep on SQLite (RDB storage, heartbeats)."""
    root = tmp_path_factory.mktemp("sweep4")
    url = f"sqlite:///{root}/study.db"
    started = time.perf_counter()
    proc = run_sweep(sweep_args(tiny_model_dir, "hydra.sweeper.n_trials=4", f"hydra.sweeper.storage={url}",
                                # no pruning among these four: they are the reference for test_worse_arm...
                                "hydra.sweeper.pruner.n_startup_trials=10", f"hydra.sweep.dir={root}/sweep"),
                     cwd=root)
    return root, url, proc, time.perf_counter() - started


def test_sweep_results_match_the_study_in_storage(four_trials):
    root, url, proc, seconds = four_trials
    assert proc.returncode == 0, tail(proc)
    assert seconds < 180
    study = load(url)
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    results = yaml.safe_load((root / "sweep" / "optimization_results.yaml").read_text())
    assert results["best_value"] == pytest.approx(study.best_value)
    assert results["best_params"] == study.best_params
    assert results["best_trial"] == study.best_trial.number
    assert results["study_name"] == study.study_name and results["direction"] == "minimize" and results["n_trials"] == 4
    assert results["storage"] == url and results["counted_trials"] == 4
    rows = list(csv.DictReader((root / "sweep" / "trials.csv").open()))
    assert len(rows) == 4
    assert {r["state"] for r in rows} == {"COMPLETE"}
    assert "| number | state | eval_loss | optimizer.lr | lora.r |" in (root / "sweep" / "trials.md").read_text()
    for t in trials:
        # the search space of conf/hparams_search/lr-rank.yaml, alpha = 2r by the lora defaults
        assert 5e-5 <= t.params["optimizer.lr"] <= 5e-4 and t.params["lora.r"] in (8, 16, 32, 64)
        # the run reported its eval loss after every evaluation (steps 0, 2, 4) for the pruner
        assert sorted(t.intermediate_values) == [0, 2, 4]
        assert t.value == pytest.approx(min(t.intermediate_values.values()))
        job_dir = Path(t.user_attrs["job_dir"])
        assert job_dir.parent == root / "sweep" and job_dir.name.startswith(f"{t.number}_")
        assert read_status(job_dir)["state"] == "completed"
        assert f"lora.r={t.params['lora.r']}" in t.user_attrs["overrides"]
        assert t.user_attrs["worker"]["pid"] > 0
    assert "counted trials" in proc.stdout  # the rich table


def test_worse_arm_is_pruned_and_broken_arm_fails_while_the_sweep_goes_on(four_trials, tiny_model_dir, tmp_path):
    """Continue the finished study (resume) with three queued points: a good learning rate, one
    that fails validation (FAIL, not counted) and one so small it cannot learn (pruned by the
    median pruner once enough trials completed)."""
    root, url, proc, _ = four_trials
    assert proc.returncode == 0, tail(proc)
    db = tmp_path / "study.db"
    shutil.copy(root / "study.db", db)
    url = f"sqlite:///{db}"
    study = load(url)
    for lr in (5e-3, 0.5, 2e-7):
        study.enqueue_trial({"optimizer.lr": lr, "lora.r": 8})
    run = run_sweep(sweep_args(tiny_model_dir, "hydra.sweeper.n_trials=6", f"hydra.sweeper.storage={url}",
                               "hydra.sweeper.pruner.n_startup_trials=4", f"hydra.sweep.dir={tmp_path}/sweep"),
                    cwd=tmp_path)
    assert run.returncode == 0, tail(run)
    trials = load(url).get_trials()
    assert [t.number for t in trials] == list(range(7))
    good, broken, worse = trials[4], trials[5], trials[6]
    assert good.state == TrialState.COMPLETE and good.params["optimizer.lr"] == 5e-3
    assert broken.state == TrialState.FAIL
    assert broken.user_attrs["fail_reason"].startswith("ConfigError") and "optimizer.lr" in broken.user_attrs["fail_reason"]
    assert worse.state == TrialState.PRUNED, worse
    assert worse.user_attrs["pruned_at_step"] == 2 and worse.value == worse.intermediate_values[2]
    assert read_status(Path(worse.user_attrs["job_dir"]))["state"] == "pruned"
    assert len([t for t in trials if t.state in COUNTED]) == 6
    rows = {r["number"]: r for r in csv.DictReader((tmp_path / "sweep" / "trials.csv").open())}
    assert rows["6"]["reason"] == "pruned at step 2" and rows["5"]["reason"].startswith("ConfigError")


def journal_url(cwd: Path) -> str | None:
    """The default storage of the lr-rank study, relative to the cwd, once it exists."""
    found = sorted((cwd / "multirun" / "optuna").glob("lr-rank-tiny-*.log"))
    return f"journal://{found[0]}" if found else None


def running_after_a_complete(url: str | None) -> int | None:
    """The number of a RUNNING (launched) trial that follows a COMPLETE one, if any."""
    if url is None:
        return None
    try:
        trials = load(url).get_trials()
    except (KeyError, ValueError):  # the study is being created
        return None
    if not trials or trials[0].state != TrialState.COMPLETE:
        return None
    # training: the job directory is recorded right before the launch, and the run marks it running
    running = [t.number for t in trials if t.state == TrialState.RUNNING and "job_dir" in t.user_attrs
               and read_status(Path(t.user_attrs["job_dir"]))["state"] == "running"]
    return running[0] if running else None


def test_killed_sweep_resumes_without_duplicates(tiny_model_dir, tmp_path):
    """SIGKILL the sweeper while trial k >= 1 runs, re-run the same command: the completed trials
    are kept, trial k is failed as "worker died" and its point evaluated again, numbering
    continues and the study ends with exactly n_trials counted trials. The killed trial's run
    directory, left "running" by the SIGKILL, is marked failed."""
    args = sweep_args(tiny_model_dir, "hydra.sweeper.n_trials=3")
    url = None
    proc = subprocess.Popen([cli(), *args], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=os.environ.copy())
    deadline = time.monotonic() + 180
    killed = None
    try:
        while killed is None:
            assert proc.poll() is None, "the sweep ended before it could be killed during a trial"
            assert time.monotonic() < deadline, "no trial after the first one ever ran"
            url = url or journal_url(tmp_path)
            if running_after_a_complete(url) is not None:
                # a warm trial takes ~2 s: freeze the process, then make sure the trial still runs
                os.kill(proc.pid, signal.SIGSTOP)
                killed = running_after_a_complete(url)
                if killed is None:
                    os.kill(proc.pid, signal.SIGCONT)
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    before = load(url).get_trials()
    assert before[killed].state == TrialState.RUNNING
    assert all(t.state == TrialState.COMPLETE for t in before[:killed])
    killed_dir = Path(before[killed].user_attrs["job_dir"])
    assert read_status(killed_dir)["state"] == "running"

    rerun = run_sweep(args, cwd=tmp_path)
    assert rerun.returncode == 0, tail(rerun)
    trials = load(url).get_trials()
    numbers = [t.number for t in trials]
    assert numbers == sorted(set(numbers)) == list(range(len(trials)))
    for old in before[:killed]:  # kept as they were
        assert trials[old.number].state == TrialState.COMPLETE and trials[old.number].value == old.value
    assert trials[killed].state == TrialState.FAIL
    assert trials[killed].user_attrs["fail_reason"].startswith("worker died")
    status = read_status(killed_dir)
    assert status["state"] == "failed" and status["trial"] == killed
    assert status["error"].startswith("the sweep process died during this trial (process gone")
    retry = [t for t in trials if t.user_attrs.get("retry_of") == killed]
    assert len(retry) == 1 and retry[0].params == before[killed].params and retry[0].state in COUNTED
    assert retry[0].number == len(before)  # the first trial the re-run asked for
    assert len(counted(load(url))) == 3
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    # the re-run's job directories are new ones (job number = trial number)
    job_dirs = [t.user_attrs["job_dir"] for t in trials if "job_dir" in t.user_attrs]
    assert len(set(job_dirs)) == len(job_dirs)


def test_unreachable_storage_fails_cleanly(tiny_model_dir, tmp_path):
    proc = run_sweep(sweep_args(tiny_model_dir, "hydra.sweeper.storage=postgresql://x:secret@127.0.0.1:1/none",
                                f"hydra.sweep.dir={tmp_path}/sweep"), cwd=tmp_path, timeout=120)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, tail(proc)
    assert "error: hydra.sweeper.storage=postgresql://x:***@127.0.0.1:1/none" in out, tail(proc)
    assert "Traceback" not in out
    assert "secret" not in out
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "multirun").exists()


def test_trials_predicted_not_to_fit_are_skipped_without_running(tmp_path):
    # The embedded model's shipped architecture gives a prediction; a 0.05 GiB budget fits nothing,
    # so no trial loads a model and both are recorded PRUNED with the estimator's reason.
    args = [hparams_search(), "hydra.sweeper.n_trials=2", "hydra.sweeper.memory_limit_gb=0.05",
            "hydra.sweeper.study_name=too-big", f"hydra.sweep.dir={tmp_path}/sweep"]
    proc = run_sweep(args, tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    study = optuna.load_study(study_name="too-big", storage=open_storage(
        f"journal:///{tmp_path}/multirun/optuna/too-big.log"))
    assert [t.state for t in study.trials] == [TrialState.PRUNED, TrialState.PRUNED]
    for trial in study.trials:
        assert trial.user_attrs["skipped"] == "memory"
        assert "exceeds 0.05 GiB" in trial.user_attrs["prune_reason"]
    assert not list((tmp_path / "sweep").rglob("status.json"))  # nothing was launched
