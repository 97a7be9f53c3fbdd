"""End to end on the tiny fixture model: train through the CLI, evaluate, merge, refuse misuse."""

from __future__ import annotations

import json
import re

import pytest
import torch

import loralab
from loralab.rundir import read_status

from cli_helpers import run_cli, tiny_overrides


def test_cli_run_completes_with_every_artifact(tiny_run):
    assert read_status(tiny_run)["state"] == "completed"
    for name in ("config.yaml", "manifest.json", "metrics.json", "data_stats.json", "eval.json", "eval.md",
                 ".hydra/overrides.yaml", "adapter/adapter_model.safetensors", "adapter/adapter_config.json",
                 "adapter/tokenizer.json", "adapter/chat_template.jinja"):
        assert (tiny_run / name).is_file(), name
    manifest = json.loads((tiny_run / "manifest.json").read_text())
    assert manifest["precision"]["name"] in ("fp32", "bf16")
    assert manifest["data_fingerprint"] and manifest["packages"]["transformers"]
    assert "trainer.max_steps=16" in (tiny_run / ".hydra/overrides.yaml").read_text()
    assert manifest["model_revision"] == {"requested": None, "resolved": None}  # a local directory has no hub commit
    assert manifest["oom_fallbacks"] == []
    # the auto switches as decided on this CPU, each with why
    assert manifest["gradient_checkpointing"] == {"on": False, "reason": "auto: a CPU, where it only costs time"}
    assert manifest["padding_free"]["on"] is False and manifest["padding_free"]["attention"] == "sdpa"
    assert manifest["micro_batch_auto"] is None
    assert manifest["liger_kernels"] == {"on": False, "reason": "auto: Liger's kernels are Triton GPU kernels, "
                                                                "and this run is on cpu"}
    assert manifest["compile"] is False


def test_a_default_run_prints_no_warning(tiny_run):
    # the libraries' warnings a run cannot act on (bitsandbytes' Hub kernel on a CPU, DeepSpeed's
    # accelerator guess, peft's deprecated attribute read) are kept off the console
    console = (tiny_run.parent / "console.txt").read_text(encoding="utf-8")
    warnings = [line for line in console.splitlines() if re.search(r"\bWARNING\b|Warning\b", line)
                # transformers' checkpoint rotation, when two checkpoints were written within a second:
                # only a tiny model saves that fast (a default run saves minutes apart)
                and "mtime may not be reliable" not in line]
    assert not warnings, warnings


def test_loading_or_merging_a_run_warns_nothing(tiny_run, tmp_path):
    # what loralab-eval and loralab-merge do: the base model, then the run's adapter through peft
    import warnings

    from loralab.merge import merge_run
    from loralab.runs import load_for_inference, open_run

    run_dir, cfg = open_run(tiny_run)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_for_inference(cfg, run_dir, "adapter")
        merge_run(run_dir, cfg, tmp_path / "merged", dtype="float32")
    # the categories Python shows a user by default (deprecations inside libraries stay hidden)
    hidden = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, hidden)]
    assert not shown, shown


def test_cli_run_losses_fall(tiny_run):
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    final = metrics["final"]
    assert len(metrics["eval"]) >= 2
    assert final["eval_loss_last"] < final["eval_loss_first"]
    assert final["train_loss_last"] < final["train_loss_first"]
    assert metrics["summary"]["global_step"] == 16
    assert metrics["summary"]["train_tokens_per_s"] > 0
    assert 0 <= metrics["summary"]["padding_fraction"] < 0.5  # group_by_length keeps padding small
    assert metrics["summary"]["train_tokens"] == metrics["train"][-1]["num_tokens"]  # real tokens, not padding
    # the start-of-run ETA, timed on the steady steps after the first
    summary = metrics["summary"]
    assert summary["s_per_step_early"] > 0
    assert summary["eta_s"] == pytest.approx(summary["s_per_step_early"] * (16 - 4), rel=1e-2, abs=0.2)


def test_eval_report_has_every_metric_in_unit_interval(tiny_run):
    payload = json.loads((tiny_run / "eval.json").read_text())
    entry = payload["splits"][payload["primary"]]
    assert entry["n"] == 16
    for side in ("fine_tuned", "base"):
        rates = entry[side]["report"]["rates"]
        for name in ("valid_json", "tool_name_accuracy", "exact_call_accuracy", "irrelevance_accuracy",
                     "relevance", "hallucinated_tool_rate", "missed_call_rate", "spurious_call_rate"):
            assert name in rates
            value = rates[name]["value"]
            assert value is None or 0.0 <= value <= 1.0
        assert entry[side]["throughput"]["examples_per_s"] > 0
    assert {row["metric"] for row in entry["comparison"]} >= {"exact_call_accuracy", "valid_json"}
    md = (tiny_run / "eval.md").read_text()
    assert "exact_call_accuracy" in md and "invalid_json" in md


def test_merged_model_matches_adapter_logits(tiny_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from loralab.merge import merge_run
    from loralab.runs import load_for_inference, open_run

    run_dir, cfg = open_run(tiny_run)
    merged_dir = merge_run(run_dir, cfg, tiny_run / "merged", dtype="float32")
    # loads with plain transformers, no loralab involved
    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    assert tokenizer.chat_template and "<|im_start|>" in tokenizer.chat_template
    cfg.precision.dtype = "fp32"  # compare both in float32 (the run itself may have used bf16)
    adapter_model, _, _ = load_for_inference(cfg, run_dir, "adapter")
    batch = tokenizer(["Create node 7 at x=1, y=2, z=3", "노드 3번 삭제"], return_tensors="pt", padding=True)
    with torch.no_grad():
        a = adapter_model(**batch).logits
        b = merged(**batch).logits
    mask = batch["attention_mask"].bool()
    assert torch.allclose(a[mask], b[mask], atol=1e-4, rtol=1e-4)


def test_an_auto_micro_batch_is_sized_saved_and_recorded(tiny_model_dir, tmp_path):
    """trainer.micro_batch_size=auto: 1 on a CPU; config.yaml keeps the number (a resume reuses it),
    the manifest says why, and accumulation keeps the effective batch."""
    run_dir = tmp_path / "auto"
    proc = run_cli([*tiny_overrides(tiny_model_dir), "trainer.micro_batch_size=auto", "trainer.effective_batch_size=4",
                    "trainer.max_steps=2", "trainer.eval_strategy=no", "trainer.save_strategy=no",
                    "trainer.load_best_model_at_end=false", "eval.at_end=false", f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "micro-batch: 1 (auto: a CPU" in " ".join(proc.stdout.split())
    from omegaconf import OmegaConf

    saved = OmegaConf.load(run_dir / "config.yaml")
    assert saved.trainer.micro_batch_size == 1
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["micro_batch_auto"]["size"] == 1
    assert manifest["batching"]["gradient_accumulation_steps"] == 4 and manifest["effective_batch"] == 4


def test_second_run_into_completed_dir_is_refused(tiny_run, tiny_model_dir):
    before = (tiny_run / "metrics.json").read_text()
    proc = run_cli([*tiny_overrides(tiny_model_dir), f"hydra.run.dir={tiny_run}"])
    assert proc.returncode == 2
    assert "already holds a completed run" in proc.stderr + proc.stdout
    assert (tiny_run / "metrics.json").read_text() == before


def test_qlora_nf4_trains_on_cpu(tiny_model_dir, tmp_path):
    cfg = loralab.compose(tiny_overrides(tiny_model_dir, "model.quantization.mode=nf4", "precision=fp32",
                                         "trainer.max_steps=6", "trainer.eval_steps=3", "trainer.save_steps=3",
                                         "eval.at_end=false"))
    result = loralab.train(cfg, tmp_path / "qlora")
    assert read_status(result.run_dir)["state"] == "completed"
    assert (result.run_dir / "adapter" / "adapter_model.safetensors").is_file()
    assert result.metrics["final"]["eval_loss_last"] < result.metrics["final"]["eval_loss_first"]


def test_failure_is_recorded_in_the_run_directory(tiny_model_dir, tmp_path):
    cfg = loralab.compose(tiny_overrides(tiny_model_dir, "data=files", f"data.train_file={tmp_path / 'missing.jsonl'}"))
    with pytest.raises(Exception, match="does not exist"):
        loralab.train(cfg, tmp_path / "failed")
    status = read_status(tmp_path / "failed")
    assert status["state"] == "failed" and "missing.jsonl" in status["error"]
    assert not (tmp_path / "failed" / "adapter").exists()
