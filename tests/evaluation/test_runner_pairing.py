"""The base model is scored on the very examples the fine-tuned model answers (the first
eval.base_max_examples of the same list), so the before/after comparison is paired (McNemar), and
eval.json keeps every example's outcome. Generation is replaced by canned answers."""

from __future__ import annotations

import contextlib
import json
from types import SimpleNamespace

import pytest
import torch
from omegaconf import OmegaConf

from loralab.evaluation import runner
from loralab.tasks.gennx.tools import TOOLS


def node(i: int) -> dict:
    return {"name": "POST /db/node", "arguments": {"id": i, "x": 0.0, "y": 0.0, "z": 3.0}}


RECORDS = [{"id": f"r{i}", "messages": [
    {"role": "user", "content": f"create node {i} at (0, 0, 3)"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": node(i)}]}]}
    for i in range(1, 7)]
RIGHT = {r["id"]: "<tool_call>\n" + json.dumps(node(int(r["id"][1:]))) + "\n</tool_call>" for r in RECORDS}


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    state = {"base": False, "base_calls": 0}

    def fake_generate(model, tokenizer, records, tools, data_cfg, batch_size, max_new):
        if state["base"]:   # the base model gets only r1 right
            state["base_calls"] += 1
            return [RIGHT[r["id"]] if r["id"] == "r1" else "I cannot." for r in records], {"examples": len(records)}
        return [RIGHT[r["id"]] for r in records], {"examples": len(records), "seconds": 1.0, "examples_per_s": 6.0,
                                                   "batch_size": 8}

    @contextlib.contextmanager
    def base_context():
        state["base"] = True
        try:
            yield
        finally:
            state["base"] = False

    monkeypatch.setattr(runner, "generate_answers", fake_generate)

    def evaluate(base_max_examples, model=None, batch_size=8):
        cfg = OmegaConf.create({"eval": {"splits": ["test"], "max_examples": None,
                                         "base_max_examples": base_max_examples, "batch_size": batch_size,
                                         "max_new_tokens": 32},
                                "paths": {"cache_dir": str(tmp_path / "cache")},
                                "data": {"system_prompt": "", "tools_in_prompt": "none"},
                                "model": {"tool_call_format": "hermes"}})
        splits = SimpleNamespace(records={"test": RECORDS}, tools=TOOLS, fingerprint=lambda data_cfg: "fp")
        model = torch.nn.Linear(2, 2) if model is None else model
        return runner.evaluate_splits(cfg, tmp_path, model, SimpleNamespace(chat_template="t"), splits,
                                      base_key="model", base_model_context=base_context)
    return evaluate, state, tmp_path


def test_the_base_answers_the_first_examples_of_the_same_list_and_the_comparison_is_paired(setup):
    evaluate, state, run_dir = setup
    entry = evaluate(4)["splits"]["test"]
    base, tuned = entry["base"]["report"], entry["fine_tuned"]["report"]
    assert [e["id"] for e in base["examples"]] == ["r1", "r2", "r3", "r4"]
    assert [e["id"] for e in tuned["examples"]] == [r["id"] for r in RECORDS]
    assert entry["comparison_n"] == 4 and entry["fine_tuned_on_base_examples"]["report"]["n"] == 4
    exact = next(row for row in entry["comparison"] if row["metric"] == "exact_call_accuracy")
    assert exact["test"] == "mcnemar" and (exact["before"], exact["after"]) == (0.25, 1.0)
    assert exact["p_value"] == pytest.approx(0.25)   # 3 discordant examples, all one way
    # every outcome is on disk, for both models
    payload = json.loads((run_dir / "eval.json").read_text(encoding="utf-8"))
    assert [e["outcome"] for e in payload["splits"]["test"]["base"]["report"]["examples"]] == [
        "correct", "missing_call", "missing_call", "missing_call"]
    lines = [json.loads(x) for x in (run_dir / "eval_answers.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(x["model"], x["id"]) for x in lines if x["model"] == "base"] == [("base", f"r{i}") for i in range(1, 5)]
    assert "Compared on the first 4 of the 6 examples" in (run_dir / "eval.md").read_text(encoding="utf-8")

    # the base's raw answers are cached and scored again, not its old scores
    again = evaluate(4)["splits"]["test"]
    assert state["base_calls"] == 1 and again["base"]["cached"]
    assert again["comparison"] == entry["comparison"]


def test_base_answers_are_reused_only_for_the_same_numerics(setup):
    """Greedy answers depend on the dtype, the quantization and the batch: answers cached in fp32 are
    not reused in bf16, nor at another batch size, nor under another compute dtype."""
    evaluate, state, _ = setup
    evaluate(4)
    evaluate(4, model=torch.nn.Linear(2, 2).to(torch.bfloat16))
    assert state["base_calls"] == 2
    evaluate(4, batch_size=16)
    assert state["base_calls"] == 3
    assert evaluate(4)["splits"]["test"]["base"]["cached"] and state["base_calls"] == 3
    # QLoRA keeps the unquantized weights in fp32 whatever it computes in: the compute dtype counts
    for compute in ("bfloat16", "float16", "bfloat16"):
        quantized = torch.nn.Linear(2, 2)
        quantized.config = SimpleNamespace(quantization_config={"load_in_4bit": True,
                                                                "bnb_4bit_compute_dtype": compute})
        evaluate(4, model=quantized)
    assert state["base_calls"] == 5


def test_without_a_cap_the_base_answers_every_example(setup):
    evaluate, state, _ = setup
    entry = evaluate(None)["splits"]["test"]
    assert entry["base"]["report"]["n"] == 6 and entry["comparison_n"] == 6
    assert "fine_tuned_on_base_examples" not in entry
    exact = next(row for row in entry["comparison"] if row["metric"] == "exact_call_accuracy")
    # 5 of 6 fixed and none broken is still noise for an exact paired test: p = 2 / 2**5
    assert exact["test"] == "mcnemar" and exact["p_value"] == pytest.approx(0.0625) and not exact["significant"]
