"""record.json: phases of the wall time, the machine, versions and headline numbers of a run."""

from __future__ import annotations

import time

from loralab.run_record import Phases, headline, machine


def test_phases_count_from_the_wall_start(monkeypatch):
    monkeypatch.setenv("LORALAB_WALL_START", str(time.time() - 30))  # `make train` started 30 s ago
    phases = Phases()
    assert 29 <= phases.seconds["setup"] <= 40
    with phases.timed("data"):
        time.sleep(0.2)
    with phases.timed("data"):  # phases add up over several blocks
        time.sleep(0.2)
    out = phases.to_dict()
    assert 0.3 <= out["data"] <= 1.0 and out["total"] >= out["setup"] + out["data"] - 0.2


def test_machine_names_the_cpu_kind():
    m = machine()
    assert m["cores"] >= 1 and isinstance(m["avx512_bf16"], bool) and "cpu" in m and "gpu" in m


def test_headline_pairs_fine_tuned_and_base():
    rate = lambda v: {"value": v, "ci95": [v - 0.1, v + 0.1], "k": 1, "n": 10}  # noqa: E731
    report = {"primary": "test", "splits": {"test": {
        "n": 64, "comparison_n": 64,
        "fine_tuned": {"report": {"rates": {"exact_call_accuracy": rate(0.5)}}},
        "base": {"report": {"rates": {"exact_call_accuracy": rate(0.1)}}}}}}
    out = headline(report)
    assert out["exact_call_accuracy"] == 0.5 and out["exact_call_accuracy_base"] == 0.1
    assert out["n"] == 64 and out["base_n"] == 64 and out["split"] == "test"
    assert headline(None) == {}
