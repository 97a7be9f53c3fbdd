"""The data check (check_data and loralab-data-check): rows, token lengths, truncation,
duplicates and every invalid row with its file and line, before any training."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import loralab
from loralab.cli.data_check import main
from loralab.data.check import check_data
from loralab.errors import DataError
from loralab.modeling import build_tokenizer

from .test_files import write_jsonl

EOT = "<|im_end|>"


@pytest.fixture(scope="module")
def model_overrides(tiny_model_dir) -> list[str]:
    return ["model.source=hub", f"model.name_or_path='{tiny_model_dir}'"]


@pytest.fixture(scope="module")
def tokenizer(model_overrides, tiny_model_dir):
    return build_tokenizer(loralab.compose(model_overrides).model, str(tiny_model_dir))


def files_cfg(model_overrides, train, *extra):
    return loralab.compose([*model_overrides, "data=files", f"data.train_file='{train}'", *extra])


def n_tokens(tokenizer, text: str) -> int:
    return len(tokenizer(text)["input_ids"]) + 1  # + the end token


def test_lengths_truncation_and_drops(tmp_path, model_overrides, tokenizer):
    texts = [" ".join(["beam"] * k) for k in range(1, 42, 4)]  # 11 rows of growing length
    prompt_only_long = {"prompt": "node " * 60, "completion": "ok"}
    path = write_jsonl(tmp_path / "train.jsonl", [{"text": t} for t in texts] + [prompt_only_long])
    lengths = sorted([n_tokens(tokenizer, t) for t in texts] +
                     [len(tokenizer(prompt_only_long["prompt"])["input_ids"]) + n_tokens(tokenizer, "ok")])
    max_length = lengths[8]  # the 3 longest rows are cut, and the long prompt loses its answer
    cfg = files_cfg(model_overrides, path, f"trainer.max_length={max_length}")
    report = check_data(cfg, tokenizer)
    assert report.ok and report.max_length == max_length
    stats = report.stats["train"]
    # nearest-rank percentiles over the 12 untruncated lengths
    assert stats["length"] == {"p50": lengths[6], "p90": lengths[10], "p99": lengths[11], "max": lengths[11]}
    assert (stats["rows"], stats["truncated"], stats["dropped"], stats["kept"]) == (12, 3, 1, 11)
    assert report.to_dict()["splits"]["train"]["truncated_share"] == 0.25


def test_every_invalid_row_of_every_split_with_file_and_line(tmp_path, model_overrides, tokenizer):
    train = write_jsonl(tmp_path / "train.jsonl", [{"text": "a"}, {"input": "x"}, {"text": "b"}, {"text": ""}])
    val = tmp_path / "val.jsonl"
    val.write_text('{"text": "c"}\n{"text": broken}\n', encoding="utf-8")
    cfg = files_cfg(model_overrides, train, f"data.validation_file='{val}'", "data.test_file=nowhere.jsonl")
    report = check_data(cfg, tokenizer)
    assert not report.ok and report.problems.count == 4
    starts = [m.split(": ")[0] for m in report.problems.messages]
    assert starts == [f"{train}:2", f"{train}:4", f"{val}:2", "nowhere.jsonl does not exist"]
    # the valid rows are still measured
    assert report.stats["train"]["rows"] == 2 and report.stats["validation"]["rows"] == 1
    assert report.stats["test"] == {"rows": 0}
    # training stops with the same message the check prints
    with pytest.raises(DataError) as err:
        report.raise_if_problems()
    assert str(err.value) == report.problems.summary()


def test_a_split_with_no_answer_left_is_a_problem(tmp_path, model_overrides, tokenizer):
    train = write_jsonl(tmp_path / "train.jsonl", [{"text": "beam"}])
    val = write_jsonl(tmp_path / "val.jsonl", [{"prompt": "node " * 40, "completion": "ok"}])
    cfg = files_cfg(model_overrides, train, f"data.validation_file='{val}'", "trainer.max_length=16")
    report = check_data(cfg, tokenizer)
    assert [m.split(":")[0] for m in report.problems.messages] == ["validation split"]
    assert "trainer.max_length=16" in report.problems.messages[0]


def test_duplicates_within_and_across_splits(tmp_path, model_overrides, tokenizer):
    a, b, c = {"text": "a"}, {"text": "b"}, {"text": "c"}
    train = write_jsonl(tmp_path / "train.jsonl", [a, b, a])
    val = write_jsonl(tmp_path / "val.jsonl", [c, b])
    report = check_data(files_cfg(model_overrides, train, f"data.validation_file='{val}'"), tokenizer)
    assert report.ok  # duplicates are reported, not refused
    assert report.duplicate_counts() == {"train": {"train": 1}, "validation": {"train": 1}}


def test_field_template_with_ratio_split(tmp_path, model_overrides, tokenizer):
    rows = [{"question": f"질문 {i}", "answer": f"답변 {i}"} for i in range(30)]
    path = tmp_path / "SFTlabel.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    cfg = loralab.compose([*model_overrides, "data=qa-template", f"data.train_file='{path}'"])
    report = check_data(cfg, tokenizer)
    assert report.ok
    assert {k: s["rows"] for k, s in report.stats.items()} == {"train": 24, "validation": 3, "test": 3}
    record = report.splits.records["validation"][0]
    assert record["prompt"].startswith("### 질문: 질문 ") and record["completion"].startswith(" 답변 ")


def test_the_bundled_task_passes(model_overrides, tokenizer):
    report = check_data(loralab.compose([*model_overrides, "data.generator.size=200"]), tokenizer)
    assert report.ok and {"train", "validation", "test"} <= set(report.stats)
    assert report.stats["train"]["truncated"] == 0


# ---- the command line --------------------------------------------------------------------------

def test_cli_passes_on_good_data_and_writes_json(tmp_path, model_overrides, capsys):
    train = write_jsonl(tmp_path / "train.jsonl", [{"text": "beam one"}, {"text": "beam two"}])
    out = tmp_path / "report.json"
    assert main([*model_overrides, "data=files", f"data.train_file={train}", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "p50" in printed and "data check passed" in printed
    assert json.loads(out.read_text())["splits"]["train"]["rows"] == 2


def test_cli_fails_on_a_bad_file_naming_file_and_line(tmp_path, model_overrides, capsys):
    long_dir = tmp_path / ("a-directory-name-long-enough-to-wrap-a-terminal-line-" * 2)
    long_dir.mkdir()
    train = write_jsonl(long_dir / "train.jsonl", [{"text": "ok"}, {"text": "ok too"}, {"prompt": "no completion"}])
    assert main([*model_overrides, "data=files", f"data.train_file={train}"]) == 1
    printed = capsys.readouterr().out
    assert f"error: {train}:3: missing 'messages'" in printed  # one unwrapped line: greppable
    assert "['prompt']" in printed  # the row's keys, printed as text, not as rich markup


def test_cli_config_error_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["data=files"])
    assert exit_.value.code == 2
    assert "data.train_file" in capsys.readouterr().err


def test_cli_malformed_override_exits_2(capsys):
    assert main(["data.no_such_key=1"]) == 2
    assert "no_such_key" in capsys.readouterr().err


def test_cli_as_a_module_in_a_subprocess(tmp_path, model_overrides):
    train = write_jsonl(tmp_path / "train.jsonl", [{"text": "ok"}, {"messages": [{"role": "user", "content": "hi"}]}])
    proc = subprocess.run([sys.executable, "-m", "loralab.cli.data_check", *model_overrides, "data=files",
                           f"data.train_file={train}"], capture_output=True, text=True, timeout=300,
                          env=os.environ.copy())
    assert proc.returncode == 1, proc.stderr
    assert f"{train}:2: no assistant turn" in proc.stdout
