"""bench/gpu.py: its plan, its steady-state arithmetic, its time guard and, on the CPU, a whole run."""

from __future__ import annotations

import json
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import pytest

import loralab
from loralab.config.validation import validate
from loralab.modeling import lora_alpha

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))
import gpu  # noqa: E402


def run_bench(*args: str, timeout: int = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BENCH / "gpu.py"), *args], capture_output=True, text=True,
                          timeout=timeout)


def test_plan_runs_what_the_targets_need_first():
    names = ["A", "L", *(f"E {e}" for e in gpu.ENGINES), *(f"L {o}" for o in gpu.ABLATIONS)]
    order = [c.id for c in gpu.plan(gpu.MODELS, names)]
    assert order[:4] == ["qwen2.5-1.5b b4 A", "qwen2.5-1.5b b4 L", "llama-3.1-8b b2 A", "llama-3.1-8b b2 L"]
    targets = [f"{m} L {o}" for m in ("qwen2.5-1.5b b4", "llama-3.1-8b b2") for o in gpu.TARGET_ABLATIONS]
    assert order[4:8] == targets and "L trainer.gradient_checkpointing=true" in targets[0]
    assert order[8:11] == [f"qwen2.5-1.5b b4 E {e}" for e in gpu.ENGINES]
    assert order[11:15] == ["qwen2.5-1.5b b16 A", "qwen2.5-1.5b b16 L", "llama-3.1-8b b8 A", "llama-3.1-8b b8 L"]
    others = order[15:]
    assert len(order) == len(set(order)) == 8 + 3 + 4 * len(gpu.ABLATIONS)
    assert others[0] == "qwen2.5-1.5b b16 L " + gpu.ABLATIONS[0]
    assert others.index("llama-3.1-8b b8 L trainer.compile=true") < others.index(
        "qwen2.5-1.5b b4 L trainer.fused_lm_head=false")
    quick = gpu.models_of(Namespace(cpu=False, quick=True, models=None))
    assert [c.id for c in gpu.plan(quick, ["A", "L"])] == ["qwen2.5-1.5b b4 A", "qwen2.5-1.5b b4 L"]


@pytest.mark.parametrize("engine", sorted(gpu.ENGINES))
def test_engine_runs_compose_validate_and_map_onto_the_trainer(engine, tmp_path):
    from loralab.batching import batch_plan
    from loralab.hardware import Hardware, resolve_precision
    from loralab.training_args import sft_config_kwargs

    spec = gpu.MODELS["qwen2.5-1.5b"]
    a = Namespace(warmup=3, steps=10, max_length=512, rows=1000)
    overrides = gpu.engine_overrides(spec, tmp_path / "tok", spec.batches[0], a, tmp_path / "run", engine)
    cfg = loralab.compose([o for o in overrides if not o.startswith("hydra.")])
    validate(cfg)
    assert cfg.distributed.name == engine and cfg.trainer.max_steps == gpu.ENGINE_STEPS
    # ZeRO-3 and FSDP cannot shard 4-bit weights here: bf16 LoRA; ZeRO-2 keeps the QLoRA base
    assert cfg.model.quantization.mode == ("nf4" if engine == "zero2" else "none")
    h200 = Hardware("cuda", "NVIDIA H200", (9, 0), True, False, 16, 139.8)
    kwargs = sft_config_kwargs(cfg, resolve_precision(cfg.precision.dtype, cfg.precision.tf32, h200), h200,
                               str(tmp_path / "out"), batch_plan(cfg.trainer, cfg.optimizer.lr))
    assert bool(kwargs.get("deepspeed")) == engine.startswith("zero") and bool(kwargs.get("fsdp")) == (engine == "fsdp")


def test_engine_rows_are_reported_with_what_ran_or_why_not():
    report = {"device": "NVIDIA H200", "commit": "abc", "manifest": {"created": "now"}, "results": [], "models": {},
              "skipped": [], "settings": {"warmup": 3, "steps": 10, "max_length": 512},
              "engines": [{"model": "qwen2.5-1.5b", "micro_batch": 4, "contender": "E fsdp", "wall_s": 61.0,
                           "steps": 4, "train_loss_last": 2.5, "adapter_saved": True, "reloaded_examples": 4,
                           "eval_wall_s": 20.0},
                          {"model": "qwen2.5-1.5b", "micro_batch": 4, "contender": "E zero2",
                           "skipped": "DeepSpeed is not installed here"}]}
    text = gpu.report_md(report)
    assert ("- `distributed=fsdp` (qwen2.5-1.5b, micro-batch 4): 4 steps, last loss 2.500, adapter saved: yes, "
            "reloaded and scored on 4 examples (61 s + 20 s)") in text
    assert "- `distributed=zero2` (qwen2.5-1.5b, micro-batch 4): not run: DeepSpeed is not installed here" in text


@pytest.mark.parametrize("model", sorted(gpu.MODELS))
def test_loralab_contender_composes_a_random_nf4_model_with_the_shared_lora(model, tmp_path):
    spec = gpu.MODELS[model]
    a = Namespace(warmup=3, steps=10, max_length=512, rows=3000)
    overrides = gpu.loralab_overrides(spec, tmp_path / "tok", spec.batches[-1], a, tmp_path / "run")
    cfg = loralab.compose([o for o in overrides if not o.startswith("hydra.")])
    validate(cfg)
    m, t = cfg.model, cfg.trainer
    assert (m.init, m.allow_random_init, m.arch_config) == ("random", True, spec.arch)
    assert m.name_or_path == str(tmp_path / "tok")
    assert (m.quantization.mode, m.quantization.double_quant, m.quantization.compute_dtype) == ("nf4", True, "auto")
    assert (cfg.lora.r, lora_alpha(cfg.lora), cfg.lora.dropout, cfg.lora.top_layers) == (8, 16, 0.05, None)
    assert list(cfg.lora.target_modules) == [gpu.fo.LORA["target_modules"]]
    assert (t.max_steps, t.max_length, t.gradient_accumulation_steps) == (13, 512, 1)
    assert t.micro_batch_size == spec.batches[-1]
    # L's GPU defaults stay as they are: the ablations switch each off
    assert (t.fused_lm_head, t.liger_kernels, t.gradient_checkpointing, t.group_by_length) == (None, None, None, True)
    assert t.compile is False  # an ablation turns it on
    assert (t.eval_strategy, t.save_strategy, cfg.eval.at_end) == ("no", "no", False)
    # loralab's own defaults, not the CPU quickstart's recipe (LoRA+, a time budget)
    assert cfg.optimizer.loraplus_lr_ratio is None and cfg.trainer.get("max_time") is None


def test_steady_state_leaves_out_the_warmup_steps():
    record = {"train_begin_s": 0.0, "step_end_s": [5.0, 6.0, 7.0, 9.0], "tokens": [100, 40, 60, 100],
              "input_tokens": [128, 64, 64, 128], "peak_allocated_gib": 1.5}
    m = gpu.measured(record, warmup=1)
    assert m["steps_timed"] == 3 and m["tokens_per_s"] == pytest.approx(200 / 4)
    assert m["s_per_step"] == pytest.approx(4 / 3) and m["padding_fraction"] == pytest.approx(1 - 200 / 256)
    assert "error" in gpu.measured(record, warmup=4)
    # the median step leaves a stall out; the peak's micro-batch counts the warm-up too
    stalled = {**record, "step_end_s": [5.0, 6.0, 7.0, 30.0, 31.0], "tokens": [100] * 5, "input_tokens": [128] * 5}
    assert gpu.measured(stalled, warmup=1)["median_s_per_step"] == pytest.approx(1.0)
    assert gpu.measured(record, warmup=1)["longest_micro_batch_tokens"] == 128
    assert gpu.measured(record, warmup=1)["tokens_per_step"] == pytest.approx(200 / 3)
    assert gpu.measured(record, warmup=0)["s_per_step"] == pytest.approx(9 / 4)  # from the start of training


def test_time_guard_skips_what_does_not_fit_and_says_so(tmp_path):
    proc = run_bench("--cpu", "--budget-s", "1", "--workdir", str(tmp_path / "work"),
                     "--out", str(tmp_path / "out"), timeout=120)
    assert proc.returncode == 1
    report = json.loads((tmp_path / "out" / "gpu_failed.json").read_text())
    assert report["results"] == []
    assert {s["id"] for s in report["skipped"]} == {"tiny b4 A", "tiny b4 L", *(f"tiny b4 L {o}" for o in gpu.ABLATIONS)}
    assert all("no time left" in s["note"] or "time guard" in s["note"] for s in report["skipped"])


@pytest.mark.integration
def test_cpu_mode_measures_both_contenders_on_the_same_nf4_model(tmp_path):
    out = tmp_path / "out"
    proc = run_bench("--cpu", "--contenders", "A,L", "--workdir", str(tmp_path / "work"), "--out", str(out),
                     "--commit", "abc123")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((out / "gpu_cpu-smoke.json").read_text())
    assert report["commit"] == "abc123" and "--cpu" in report["command"] and report["device"]
    assert report["manifest"]["packages"]["transformers"] and report["manifest"]["created"]
    assert report["peak_matmul_tflops"] > 0
    rows = {r["contender"]: r for r in report["results"]}
    assert set(rows) == {"A", "L"}
    for row in rows.values():
        assert "error" not in row, row
        assert row["steps_timed"] == 2 and row["tokens_per_s"] > 0 and 0 < row["mfu"] < 1
        assert row["setup"]["linear_4bit"] == 2 * 7  # both train the NF4 tiny architecture
        assert row["estimated_allocated_gib"] > 0 and row["setup"]["liger_kernels"] is False  # no Triton on a CPU
        # the estimate for what ran: its longest micro-batch, checkpointing as it ran
        assert row["longest_micro_batch_tokens"] <= 4 * report["settings"]["max_length"]
        assert row["estimated_for_longest_micro_batch_gib"] > 0
    # TRL's default checkpoints; loralab does not on a CPU
    assert (rows["A"]["setup"]["gradient_checkpointing"], rows["L"]["setup"]["gradient_checkpointing"]) == (True, False)
    # the plain script samples at random, loralab groups rows of similar length: the padding is real
    assert rows["A"]["setup"]["sampling"] == "random" and rows["L"]["setup"]["sampling"] == "group_by_length"
    assert rows["A"]["padding_fraction"] > rows["L"]["padding_fraction"]
    prep = report["models"]["tiny"]
    assert 100 < prep["mean_length"] < 256 and prep["estimated_for"] == "planned CUDA GPU"
    assert {k.split(" ", 1)[1] for k in prep["estimates"]} == {"A", "L", *(f"L {o}" for o in gpu.ABLATIONS)}
    assert "| tiny | 4 | L |" in (out / "gpu_cpu-smoke.md").read_text()
    # --reestimate: the current estimator beside a results file's peaks, the measurements untouched
    before = [(r["estimated_for_longest_micro_batch_gib"], r["tokens_per_s"]) for r in report["results"]]
    for row in report["results"]:
        row["estimated_for_longest_micro_batch_gib"] = None
    (out / "gpu_cpu-smoke.json").write_text(json.dumps(report))
    assert run_bench("--reestimate", str(out / "gpu_cpu-smoke.json")).returncode == 0
    again = json.loads((out / "gpu_cpu-smoke.json").read_text())
    assert again["reestimated"]["commit"]
    after = [(r["estimated_for_longest_micro_batch_gib"], r["tokens_per_s"]) for r in again["results"]]
    assert after == before


def test_trim_wheel_keeps_the_named_native_builds_and_a_matching_record(tmp_path):
    import zipfile

    import trim_wheel

    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    names = ["pkg/__init__.py", "pkg/libpkg_cpu.so", "pkg/libpkg_cuda118.so", "pkg/libpkg_cuda130.so",
             "pkg/libpkg_rocm64.so"]
    with zipfile.ZipFile(wheel, "w") as z:
        for name in names:
            z.writestr(name, b"x" * 1000)
        z.writestr("pkg-1.0.dist-info/RECORD", "\n".join(f"{n},sha256=abc,1000" for n in names) + "\n")
    before, after = trim_wheel.trim(wheel, {"cuda130"})
    assert after < before
    with zipfile.ZipFile(wheel) as z:
        kept = set(z.namelist())
        record = z.read("pkg-1.0.dist-info/RECORD").decode()
    assert kept == {"pkg/__init__.py", "pkg/libpkg_cpu.so", "pkg/libpkg_cuda130.so", "pkg-1.0.dist-info/RECORD"}
    assert "cuda118" not in record and "rocm64" not in record and "libpkg_cuda130.so" in record
