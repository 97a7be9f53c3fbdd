"""One study, one problem: a sweep's study is keyed by the fingerprint of everything but the
searched parameters (config, data files, search space, objective); another problem gets another
study by default and is refused on an existing one; a trial killed with its sweep has its run
directory marked failed when the study re-queues it."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from hydra.core.plugins import Plugins

# Hydra's plugin scan re-executes plugin modules in place: scan first so the names below stay valid
Plugins.instance()

import loralab  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper import sweeper as sw  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper.search_space import describe, parse_search_space  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper.sweeper import SweepConfigError  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper.workers import Heartbeats, worker_identity  # noqa: E402
from loralab.rundir import read_status, set_status  # noqa: E402
from loralab.sweeps import identity  # noqa: E402
from loralab.sweeps.storage import open_storage  # noqa: E402

from .test_optuna_sweeper import run_sweep, sweep_args, tail  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

LR_RANK = {"optimizer.lr": "tag(log, interval(5e-5, 5e-4))", "lora.r": "choice(8, 16, 32, 64)"}


def problem(*overrides: str, params=LR_RANK, objective="eval_loss"):
    cfg = loralab.compose(list(overrides), validate=False)
    space = parse_search_space(params, [])
    fields = identity.problem_fields(cfg, {n: describe(d) for n, d in space.distributions.items()},
                                     [objective], ["minimize"])
    return fields, identity.fingerprint(fields)


def test_searched_keys_and_bookkeeping_are_not_part_of_the_problem():
    fields, fp = problem()
    assert "optimizer.lr" not in fields and "lora.r" not in fields  # searched
    assert not [k for k in fields if k.split(".")[0] in ("hydra", "paths", "logger", "sweep", "env", "run_name")
                and k not in ("hydra.sweeper.objective", "hydra.sweeper.direction")]
    assert fields["trainer.max_steps"] == 1250 and fields["data.generator.size"] == 3000
    assert fields["search_space.lora.r"] == "choice(8, 16, 32, 64)"
    assert fields["search_space.optimizer.lr"] == "float 5e-05..0.0005 log"
    assert fields["hydra.sweeper.objective"] == ["eval_loss"]
    # the searched keys' own values, names, output places, tracking and threads leave it unchanged
    _, same = problem("optimizer.lr=3e-4", "lora.r=64", "run_name=other", "paths.output_dir=/x",
                      "logger=tensorboard", "env.torch_num_threads=1", "trainer.logging_steps=1")
    assert same == fp
    assert identity.study_name("lr-rank-tiny-{fingerprint}", fp) == f"lr-rank-tiny-{fp[:8]}"


def test_another_step_budget_data_or_search_space_is_another_problem():
    old, fp = problem()
    for overrides, params, expected in [
        (["trainer.max_steps=80"], LR_RANK, "trainer.max_steps: 1250 -> 80"),
        (["data.generator.size=200"], LR_RANK, "data.generator.size: 3000 -> 200"),
        ([], {**LR_RANK, "lora.r": "choice(16, 32)"}, "search_space.lora.r: choice(8, 16, 32, 64) -> choice(16, 32)"),
    ]:
        new, other = problem(*overrides, params=params)
        assert other != fp
        assert identity.study_name("s-{fingerprint}", other) != identity.study_name("s-{fingerprint}", fp)
        assert identity.describe_differences(identity.differences(old, new)) == expected
    new, other = problem(objective="exact_call_accuracy")
    assert other != fp
    assert identity.describe_differences(identity.differences(old, new)) == \
        'hydra.sweeper.objective: ["eval_loss"] -> ["exact_call_accuracy"]'


def test_user_data_files_count_by_path_and_content(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the pipeline reads relative paths from the working directory
    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n')
    (tmp_path / "b.jsonl").write_text('{"text": "two"}\n')
    base = ["data=files", "data.train_file=a.jsonl"]
    old, fp = problem(*base)
    assert old["data.train_file"] == "a.jsonl" and len(old["data.train_file (sha256)"]) == 16
    new, _ = problem("data=files", "data.train_file=b.jsonl")
    diffs = identity.differences(old, new)
    assert [d[0] for d in diffs] == ["data.train_file", "data.train_file (sha256)"]
    assert identity.describe_differences(diffs, limit=1) == "data.train_file: a.jsonl -> b.jsonl (and 1 more)"
    # the same path with other rows
    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n{"text": "three"}\n')
    new, other = problem(*base)
    assert other != fp
    assert [d[0] for d in identity.differences(old, new)] == ["data.train_file (sha256)"]


def _sweeper(study, fields, allow=False):
    s = sw.LoralabOptunaSweeper(study_name=study.study_name, storage=None, direction="minimize",
                                objective="eval_loss", n_trials=2, n_jobs=1, sampler={"type": "random"},
                                pruner={"type": "median"}, allow_config_change=allow)
    s._validate()
    s.study = study
    s.problem, s.fingerprint = fields, identity.fingerprint(fields)
    return s


def test_existing_study_of_another_problem_is_refused_with_the_differing_fields(tmp_path):
    storage = open_storage(f"journal://{tmp_path}/study.log")
    study = optuna.create_study(study_name="qwen-lr-rank", storage=storage)
    old = {"trainer.max_steps": 40, "data.train_file": "a.jsonl", "seed": 1}
    _sweeper(study, old)._check_problem(study, "journal://x")  # a new study records its problem
    assert study.user_attrs[identity.STUDY_PROBLEM_ATTR] == old
    assert study.user_attrs[identity.STUDY_FINGERPRINT_ATTR] == identity.fingerprint(old)
    study.tell(study.ask(), 1.0)
    _sweeper(study, dict(old))._check_problem(study, "journal://x")  # the same problem resumes

    new = {"trainer.max_steps": 80, "data.train_file": "b.jsonl", "seed": 1}
    other = _sweeper(study, new)
    with pytest.raises(SweepConfigError) as err:
        other._check_problem(study, "journal://x")
    message = str(err.value)
    assert "trainer.max_steps: 40 -> 80; data.train_file: a.jsonl -> b.jsonl." in message
    assert f"hydra.sweeper.study_name=qwen-lr-rank-{other.fingerprint[:8]} to start another study" in message
    assert "hydra.sweeper.allow_config_change=true" in message
    _sweeper(study, new, allow=True)._check_problem(study, "journal://x")  # continued on request
    assert study.user_attrs[identity.STUDY_FINGERPRINT_ATTR] == identity.fingerprint(old)  # still the original


def test_dead_trials_run_directory_is_marked_failed(tmp_path):
    storage = open_storage(f"journal://{tmp_path}/study.log")
    study = optuna.create_study(study_name="unit", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    space = parse_search_space({"optimizer.lr": "interval(1e-4, 1e-3)"}, [])
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = {**worker_identity(), "pid": proc.pid, "start": None}
    killed = _sweeper(study, {"seed": 1})
    killed.space, killed.heartbeats, killed.worker = space, Heartbeats(study._storage), dead
    running, finished = killed._ask(), killed._ask()
    for trial, state in ((running, "running"), (finished, "completed")):
        job_dir = tmp_path / "sweep" / f"{trial.number}_run"
        set_status(job_dir, state)
        trial.set_user_attr("job_dir", str(job_dir))
    live = _sweeper(study, {"seed": 1})
    live.space, live.heartbeats = space, Heartbeats(study._storage)
    live._recover_dead_trials()
    assert [t.state for t in study.get_trials()[:2]] == [TrialState.FAIL, TrialState.FAIL]
    status = read_status(tmp_path / "sweep" / f"{running.number}_run")
    assert status["state"] == "failed" and status["trial"] == running.number
    assert status["error"].startswith(f"the sweep process died during this trial (process gone: pid {proc.pid}")
    assert "queued its parameters again" in status["error"]
    # a run that ended on its own keeps its status
    assert read_status(tmp_path / "sweep" / f"{finished.number}_run")["state"] == "completed"


def _study_of(url: str) -> optuna.Study:
    storage = open_storage(url)
    (name,) = optuna.get_all_study_names(storage)
    return optuna.load_study(study_name=name, storage=storage)


def test_same_command_resumes_another_problem_gets_another_study_or_is_refused(tiny_model_dir, tmp_path):
    args = sweep_args(tiny_model_dir, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/a")
    first = run_sweep(args, cwd=tmp_path)
    assert first.returncode == 0, tail(first)
    results = yaml.safe_load((tmp_path / "a" / "optimization_results.yaml").read_text())
    name = results["study_name"]
    assert re.fullmatch(r"lr-rank-tiny-[0-9a-f]{8}", name), name
    journals = tmp_path / "multirun" / "optuna"
    assert [p.name for p in journals.iterdir()] == [f"{name}.log"]
    url = f"journal://{journals}/{name}.log"
    study = _study_of(url)
    fp = study.user_attrs[identity.STUDY_FINGERPRINT_ATTR]
    assert name.endswith(fp[:8]) and results["fingerprint"] == fp
    assert study.user_attrs[identity.STUDY_PROBLEM_ATTR]["trainer.max_steps"] == 4
    rows = list(csv.DictReader((tmp_path / "a" / "trials.csv").open()))
    assert [r["fingerprint"] for r in rows] == [fp]

    # the same command with a larger budget resumes the same study
    again = run_sweep([*args, "hydra.sweeper.n_trials=2"], cwd=tmp_path)
    assert again.returncode == 0, tail(again)
    assert [p.name for p in journals.iterdir()] == [f"{name}.log"]
    assert [t.state for t in _study_of(url).get_trials()] == [TrialState.COMPLETE, TrialState.COMPLETE]

    # another dataset: another study under the default name
    other = run_sweep([*args, "data.generator.size=120", f"hydra.sweep.dir={tmp_path}/b"], cwd=tmp_path)
    assert other.returncode == 0, tail(other)
    other_name = yaml.safe_load((tmp_path / "b" / "optimization_results.yaml").read_text())["study_name"]
    assert other_name.startswith("lr-rank-tiny-") and other_name != name
    assert sorted(p.name for p in journals.iterdir()) == sorted([f"{name}.log", f"{other_name}.log"])
    assert len(_study_of(url).get_trials()) == 2

    # another step budget on the named study: refused before anything runs, naming the field
    changed = [*args, "trainer.max_steps=6", f"hydra.sweeper.study_name={name}", f"hydra.sweep.dir={tmp_path}/c"]
    refused = run_sweep(changed, cwd=tmp_path)
    out = refused.stdout + refused.stderr
    assert refused.returncode == 2, tail(refused)
    assert "trainer.max_steps: 4 -> 6" in out and "hydra.sweeper.study_name=" in out, tail(refused)
    assert "hydra.sweeper.allow_config_change=true" in out and "Traceback" not in out
    assert not (tmp_path / "c").exists()
    assert len(_study_of(url).get_trials()) == 2
    # ... and accepted when asked for (the budget is already full: nothing new runs)
    allowed = run_sweep([*changed, "hydra.sweeper.n_trials=2", "hydra.sweeper.allow_config_change=true"], cwd=tmp_path)
    assert allowed.returncode == 0, tail(allowed)
    assert "was created for another problem" in allowed.stdout + allowed.stderr
