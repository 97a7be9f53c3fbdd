"""A finished run leaves record.json (the unit tests are in tests/test_run_record.py)."""

from __future__ import annotations

import json


def test_a_run_writes_its_record(tiny_run):
    rec = json.loads((tiny_run / "record.json").read_text(encoding="utf-8"))
    assert rec["scoring"] == "strict" and rec["command"].startswith("loralab-train")
    assert rec["steps"] == 16 and rec["train_tokens_per_s"] > 0
    phases = rec["phases_s"]
    assert {"setup", "data", "model", "training", "evaluation", "total"} <= set(phases)
    assert sum(v for k, v in phases.items() if k != "total") <= phases["total"] + 1
    assert "exact_call_accuracy" in rec["metrics"] and "exact_call_accuracy_base" in rec["metrics"]
