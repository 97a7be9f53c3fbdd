"""Two sweeper processes, one study on PostgreSQL: together exactly n_trials counted trials.

Needs LORALAB_TEST_PG_URL (postgresql://user:password@127.0.0.1:5432/db; .ci/run starts a local
server and sets it). Skipped when it is unset or unreachable, except in CI (CI=true), where the
test must run and fails instead."""

from __future__ import annotations

import os
import subprocess
import uuid

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from loralab.sweeps.storage import open_storage, with_installed_driver
from loralab.errors import StorageUnreachable

from .test_optuna_sweeper import COUNTED, cli, sweep_args

PG_URL = os.environ.get("LORALAB_TEST_PG_URL", "")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="module")
def pg_url() -> str:
    if not PG_URL:
        reason = "LORALAB_TEST_PG_URL is not set (a postgresql:// URL of a database the test may write to)"
    else:
        try:
            # as the sweeper does: a plain postgresql:// URL gets the installed driver's name
            optuna.get_all_study_summaries(open_storage(with_installed_driver(PG_URL)))
            return PG_URL
        except (StorageUnreachable, Exception) as exc:  # noqa: BLE001  driver errors vary
            reason = f"LORALAB_TEST_PG_URL is unreachable: {type(exc).__name__}: {exc}"
    if IN_CI:
        pytest.fail(f"{reason}; in CI (CI=true) this test must run: .ci/run starts PostgreSQL and sets it")
    pytest.skip(reason)


def test_two_workers_share_one_study_exactly(pg_url, tiny_model_dir, tmp_path):
    study_name = f"two-workers-{uuid.uuid4().hex[:8]}"
    n_trials = 4
    args = sweep_args(tiny_model_dir, f"hydra.sweeper.storage={pg_url}", f"hydra.sweeper.study_name={study_name}",
                      f"hydra.sweeper.n_trials={n_trials}",
                      f"hydra.sweep.dir={tmp_path}/sweep")
    logs = [(tmp_path / f"worker{i}.log").open("w") for i in range(2)]
    workers = [subprocess.Popen([cli(), *args], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
               for log in logs]
    try:
        codes = [w.wait(timeout=300) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        for log in logs:
            log.close()
    outputs = "\n".join((tmp_path / f"worker{i}.log").read_text()[-3000:] for i in range(2))
    assert codes == [0, 0], outputs
    storage = open_storage(with_installed_driver(pg_url))
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
        trials = study.get_trials()
        numbers = [t.number for t in trials]
        assert len(numbers) == len(set(numbers)) and numbers == list(range(len(trials)))
        counted = [t for t in trials if t.state in COUNTED]
        assert len(counted) == n_trials, [(t.number, t.state.name, t.user_attrs.get("fail_reason")) for t in trials]
        assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
        # every extra trial is bookkeeping, never a lost training run
        for t in trials:
            if t.state == TrialState.FAIL:
                reason = t.user_attrs.get("fail_reason", "")
                assert reason.startswith(("over budget", "duplicate of trial")), reason
        # both processes took part, and they did not evaluate the same point twice
        assert len({t.user_attrs["worker"]["pid"] for t in trials}) == 2, outputs
        assert len({tuple(sorted(t.params.items())) for t in counted}) == n_trials
        results = yaml.safe_load((tmp_path / "sweep" / "optimization_results.yaml").read_text())
        assert results["counted_trials"] == n_trials and results["best_value"] == pytest.approx(study.best_value)
        assert "@" in results["storage"] and (":***@" in results["storage"] or pg_url == results["storage"])
    finally:
        optuna.delete_study(study_name=study_name, storage=storage)
