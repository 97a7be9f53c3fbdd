"""Fast unit tests of loralab's Optuna sweeper: the search-space grammar, samplers and pruners,
and the bookkeeping that keeps a resumed or multi-worker study exact (no training)."""

from __future__ import annotations

import subprocess
import sys
import time

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hydra.core.plugins import Plugins

# Hydra's plugin scan re-executes plugin modules in place (legacy load_module), which would give
# SweepConfigError a new identity after this import; scan first so the names below stay valid.
Plugins.instance()

from hydra.core.override_parser.overrides_parser import OverridesParser  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper import sweeper as sw  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper.samplers import build_sampler  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper.search_space import grid_search_space, parse_search_space, quote  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper.sweeper import SweepConfigError  # noqa: E402
from hydra_plugins.loralab_optuna_sweeper.workers import Heartbeats, local_worker_state, worker_identity  # noqa: E402
from loralab.sweeps.pruners import build_pruner  # noqa: E402
from loralab.secrets import redact_text as redact  # noqa: E402
from loralab.sweeps.storage import default_storage_url, with_installed_driver  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_log_interval_is_a_log_float_distribution():
    space = parse_search_space({"optimizer.lr": "tag(log, interval(5e-5, 5e-4))"}, [])
    assert space.distributions == {"optimizer.lr": FloatDistribution(5e-5, 5e-4, log=True)}
    assert space.fixed == []


def test_plain_interval_is_a_float_and_int_interval_an_int_distribution():
    space = parse_search_space({"lora.dropout": "interval(0.0, 0.2)", "lora.r": "int(interval(8, 64))",
                                "trainer.max_steps": "tag(log, int(interval(10, 1000)))"}, [])
    assert space.distributions["lora.dropout"] == FloatDistribution(0.0, 0.2)
    assert space.distributions["lora.r"] == IntDistribution(8, 64)
    assert space.distributions["trainer.max_steps"] == IntDistribution(10, 1000, log=True)


def test_choice_is_categorical_and_keeps_value_types():
    space = parse_search_space({"lora.r": "choice(8, 16, 32, 64)", "optimizer.optim": "choice(adamw_torch, adafactor)"}, [])
    assert space.distributions["lora.r"] == CategoricalDistribution([8, 16, 32, 64])
    assert space.distributions["optimizer.optim"] == CategoricalDistribution(["adamw_torch", "adafactor"])
    # the simple comma form is a choice too
    assert parse_search_space({}, ["lora.r=8,16"]).distributions["lora.r"] == CategoricalDistribution([8, 16])


def test_range_follows_hydra_and_excludes_stop():
    space = parse_search_space({"lora.r": "range(8, 65, 8)", "trainer.max_steps": "range(1, 4)"}, [])
    assert space.distributions["lora.r"] == IntDistribution(8, 64, step=8)
    assert space.distributions["trainer.max_steps"] == IntDistribution(1, 3)
    floats = parse_search_space({"lora.dropout": "range(0.0, 0.3, 0.1)"}, []).distributions["lora.dropout"]
    assert isinstance(floats, FloatDistribution) and floats.step == pytest.approx(0.1)
    shuffled = parse_search_space({"seed": "shuffle(range(3))"}, []).distributions["seed"]
    assert isinstance(shuffled, CategoricalDistribution) and sorted(shuffled.choices) == [0, 1, 2]


def test_cli_sweep_override_wins_over_params():
    space = parse_search_space({"lora.r": "choice(8, 16, 32, 64)", "optimizer.lr": "tag(log, interval(5e-5, 5e-4))"},
                               ["lora.r=choice(8,16)"])
    assert space.distributions["lora.r"] == CategoricalDistribution([8, 16])
    assert space.distributions["optimizer.lr"] == FloatDistribution(5e-5, 5e-4, log=True)


def test_cli_plain_override_fixes_a_param_for_every_trial():
    space = parse_search_space({"lora.r": "choice(8, 16)", "optimizer.lr": "interval(1e-4, 1e-3)"},
                               ["optimizer.lr=3e-4", "trainer.max_steps=16", "+hparams_search=lr-rank"])
    assert set(space.distributions) == {"lora.r"}
    assert space.fixed == ["optimizer.lr=3e-4", "trainer.max_steps=16", "+hparams_search=lr-rank"]
    assert space.overrides_for({"lora.r": 16}) == [*space.fixed, "lora.r=16"]


def test_sampled_values_become_override_text_hydra_parses_back():
    space = parse_search_space({}, ["a=choice('x y', b, [1,2], {k: 1}, true)", "b=tag(log, interval(1e-5, 1e-3))",
                                    "+c=choice(1,2)"])
    overrides = space.overrides_for({"a": "x y", "b": 1.234e-05, "c": 2})
    parser = OverridesParser.create()
    parsed = {o.key_or_group: o.value() for o in parser.parse_overrides(overrides)}
    assert parsed == {"a": "x y", "b": 1.234e-05, "c": 2}
    assert "+c=2" in overrides
    for choice, value in (("[1,2]", [1, 2]), ("{k:1}", {"k": 1}), (True, True)):
        (override,) = space.overrides_for({"a": choice})
        assert parser.parse_override(override).value() == value


@pytest.mark.parametrize("bad", ["interval(5, 1)", "tag(log, interval(0.0, 1.0))", "range(5, 1)", "glob(*)"])
def test_unusable_sweeps_are_config_errors_naming_the_key(bad):
    with pytest.raises(SweepConfigError, match="optimizer.lr"):
        parse_search_space({"optimizer.lr": bad}, [])


def test_grid_needs_discrete_params():
    space = parse_search_space({"lora.r": "choice(8, 16)", "trainer.max_steps": "range(1, 3)"}, [])
    assert grid_search_space(space) == {"lora.r": [8, 16], "trainer.max_steps": [1, 2]}
    with pytest.raises(SweepConfigError, match="optimizer.lr"):
        grid_search_space(parse_search_space({"optimizer.lr": "interval(1e-4, 1e-3)"}, []))


def test_pruners_and_samplers_from_specs():
    assert isinstance(build_pruner({"type": "median", "n_startup_trials": 2}), optuna.pruners.MedianPruner)
    assert isinstance(build_pruner({"type": "hyperband", "max_resource": 16}), optuna.pruners.HyperbandPruner)
    assert isinstance(build_pruner({"type": "none"}), optuna.pruners.NopPruner)
    space = parse_search_space({"lora.r": "choice(8, 16)"}, [])
    tpe = build_sampler({"type": "tpe", "seed": 1, "constant_liar": True}, space, 1)
    assert isinstance(tpe, optuna.samplers.TPESampler) and tpe._constant_liar
    assert isinstance(build_sampler({"type": "grid"}, space, 0), optuna.samplers.GridSampler)
    with pytest.raises(ValueError, match="hydra.sweeper.pruner.type"):
        build_pruner({"type": "nope"})
    # the sweeper rejects it first, as a config error, before any trial
    bad = sw.LoralabOptunaSweeper(study_name="x", storage=None, direction="minimize", objective="eval_loss",
                                  n_trials=1, n_jobs=1, sampler={}, pruner={"type": "nope"})
    with pytest.raises(SweepConfigError, match="hydra.sweeper.pruner.type"):
        bad._validate()


def test_storage_urls_never_show_a_password(tmp_path):
    assert redact("postgresql://bob:s3cret@db:5432/optuna") == "postgresql://bob:***@db:5432/optuna"
    assert "s3cret" not in redact("postgresql+psycopg2://bob:s3cret@db/optuna")
    assert redact("sqlite:///a/b.db") == "sqlite:///a/b.db"
    assert default_storage_url("lr-rank-tiny", tmp_path) == f"journal://{tmp_path}/multirun/optuna/lr-rank-tiny.log"
    assert default_storage_url("a/../b c", tmp_path).endswith("/multirun/optuna/a_.._b_c.log")
    assert quote("journal:///tmp/x.log") == "journal:///tmp/x.log"
    assert quote("postgresql://u:p,w@h/d") == "'postgresql://u:p,w@h/d'"


def test_plain_postgresql_urls_name_the_installed_driver():
    import importlib.util

    url = with_installed_driver("postgresql://u:p@h/d")
    if importlib.util.find_spec("psycopg") or importlib.util.find_spec("psycopg2"):
        assert url.startswith(("postgresql+psycopg://", "postgresql+psycopg2://")) and url.endswith("://u:p@h/d")
    assert with_installed_driver("postgresql+asyncpg://h/d") == "postgresql+asyncpg://h/d"
    assert with_installed_driver("sqlite:///x.db") == "sqlite:///x.db"


def test_worker_liveness():
    me = worker_identity()
    assert local_worker_state(me) == "alive"
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert local_worker_state({**me, "pid": proc.pid, "start": None}) == "dead"
    assert local_worker_state({**me, "start": (me["start"] or 0) + 1}) == "dead"  # pid reused
    assert local_worker_state({**me, "host": "elsewhere"}) == "unknown"
    assert local_worker_state(None) == "unknown"


# -- the bookkeeping of the ask/tell loop, on a real journal storage without training ----------

def _worker(study, space, n_trials, identity=None):
    w = sw.LoralabOptunaSweeper(study_name=study.study_name, storage=None, direction="minimize",
                                objective="eval_loss", n_trials=n_trials, n_jobs=1, sampler={"type": "random"},
                                pruner={"type": "median"})
    w._validate()
    w.study, w.space, w.heartbeats = study, space, Heartbeats(study._storage)
    if identity:
        w.worker = identity
    return w


@pytest.fixture
def study(tmp_path):
    from loralab.sweeps.storage import open_storage

    storage = open_storage(f"journal://{tmp_path}/study.log")
    return optuna.create_study(study_name="unit", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))


def test_the_last_slot_goes_to_the_lower_trial_number(study):
    space = parse_search_space({"optimizer.lr": "interval(1e-4, 1e-3)"}, [])
    a, b = _worker(study, space, 2), _worker(study, space, 2)
    study.tell(study.ask(space.distributions), 1.0)  # one counted trial: one slot left
    first = a._ask()
    assert first is not None and first.number == 1
    # b asked concurrently (it counted 1 before a's trial existed): its trial is over budget
    assert b._ask() is None
    over = study.trials[2]
    assert over.state == TrialState.FAIL and over.user_attrs["fail_reason"] == sw.OVER_BUDGET
    counted = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)]
    assert len(counted) == 2


def test_running_trial_of_a_dead_worker_is_failed_and_its_point_queued_again(study):
    space = parse_search_space({"optimizer.lr": "interval(1e-4, 1e-3)"}, [])
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = {**worker_identity(), "pid": proc.pid, "start": None}
    killed = _worker(study, space, 3, identity=dead)
    orphan = killed._ask()  # left RUNNING by a worker that no longer exists
    live = _worker(study, space, 3)
    assert len(live._counted(study.get_trials())) == 0
    live._recover_dead_trials()
    live._recover_dead_trials()  # idempotent: queued once
    trials = study.get_trials()
    assert trials[orphan.number].state == TrialState.FAIL
    assert trials[orphan.number].user_attrs["fail_reason"].startswith("worker died")
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(waiting) == 1 and waiting[0].user_attrs["retry_of"] == orphan.number
    retry = live._ask()
    assert retry.number == waiting[0].number and retry.params == orphan.params


def test_trial_without_a_worker_is_an_orphan_only_after_a_grace_period(study, monkeypatch):
    space = parse_search_space({"optimizer.lr": "interval(1e-4, 1e-3)"}, [])
    orphan = study.ask()  # as if killed between creating the trial and recording its worker
    live = _worker(study, space, 2)
    assert [t.number for t in live._counted(study.get_trials())] == [orphan.number]
    monkeypatch.setattr(sw, "ORPHAN_GRACE_S", -1)
    live._recover_dead_trials()
    failed = study.get_trials()[orphan.number]
    assert failed.state == TrialState.FAIL and "no worker recorded" in failed.user_attrs["fail_reason"]
    assert not study.get_trials(states=(TrialState.WAITING,))  # no parameters: nothing to evaluate again


def test_trial_of_another_host_is_dead_when_its_heartbeat_stops(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path}/hb.db", heartbeat_interval=1, grace_period=1)
    study = optuna.create_study(study_name="hb", storage=storage)
    space = parse_search_space({"optimizer.lr": "interval(1e-4, 1e-3)"}, [])
    remote = _worker(study, space, 2, identity={**worker_identity(), "host": "elsewhere"})
    trial = remote._ask()  # records one heartbeat, then nothing (its sweeper "died")
    remote.heartbeats.discard(trial._trial_id)
    local = _worker(study, space, 2)
    assert local.heartbeats.enabled
    assert [t.number for t in local._counted(study.get_trials())] == [trial.number]  # alive: fresh heartbeat
    time.sleep(2.2)
    assert local._counted(study.get_trials()) == []
    local._recover_dead_trials()
    failed = study.get_trials()[trial.number]
    assert failed.state == TrialState.FAIL and failed.user_attrs["fail_reason"].startswith("worker died (no heartbeat")
    assert study.get_trials(states=(TrialState.WAITING,))[0].system_attrs["fixed_params"] == trial.params
    remote.heartbeats.close()
