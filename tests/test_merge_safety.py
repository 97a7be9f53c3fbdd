"""``loralab-merge`` never destroys what it was not asked to replace: an --output that holds user
data, the run itself or a part of it is refused before any model loads; an earlier merge is
replaced only once the new one is complete; a run without an adapter gets a message, not a trace."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from omegaconf import OmegaConf

import loralab.merge as merge_module
from loralab.cli.merge import main
from loralab.merge import MARKER, write_merge
from loralab.rundir import read_status, set_status

from cli_helpers import tiny_overrides


def tree(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and directory (None) under root."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def leftovers(parent: Path, name: str) -> list[str]:
    """Temporary or backup siblings a merge into parent/name left behind."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def merge_cli(capsys, *argv: str) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, " ".join((captured.err + captured.out).split())  # rich wraps lines: compare word by word


@pytest.fixture
def no_model_load(monkeypatch):
    """Any attempt to load the base model fails the test: refusals must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the output was checked")

    monkeypatch.setattr("loralab.modeling.build_model", refuse)


@pytest.fixture
def fake_run(tmp_path) -> Path:
    """A completed run directory as loralab-train leaves it (adapter, checkpoints), no real weights."""
    run = tmp_path / "runs" / "r1"
    (run / "adapter").mkdir(parents=True)
    (run / "adapter" / "adapter_config.json").write_text('{"r": 8}\n')
    (run / "adapter" / "adapter_model.safetensors").write_bytes(b"\x00adapter weights\xff")
    (run / "checkpoints" / "checkpoint-8").mkdir(parents=True)
    (run / "checkpoints" / "checkpoint-8" / "optimizer.pt").write_bytes(b"optimizer state")
    (run / "config.yaml").write_text("model:\n  name_or_path: nowhere\n")
    set_status(run, "completed")
    return run


# --- refused before anything loads ------------------------------------------------------------------

def test_a_directory_of_user_files_is_refused_and_kept(capsys, fake_run, tmp_path, no_model_load):
    data = tmp_path / "my-data"
    (data / "sub").mkdir(parents=True)
    (data / "notes.txt").write_text("do not lose me")
    (data / "sub" / "table.csv").write_bytes(b"a,b\n1,2\n")
    before = tree(data)
    code, err = merge_cli(capsys, fake_run, "--output", data)
    assert code == 2
    assert f"--output {data} is a non-empty directory that holds no earlier merge (no {MARKER})" in err
    assert "choose another --output" in err and "remove it yourself" in err
    assert tree(data) == before
    assert leftovers(tmp_path, "my-data") == []


def test_an_existing_file_is_refused_and_kept(capsys, fake_run, tmp_path, no_model_load):
    target = tmp_path / "model.bin"
    target.write_bytes(b"precious")
    code, err = merge_cli(capsys, fake_run, "--output", target)
    assert code == 2
    assert f"--output {target} is an existing file, not a directory" in err and "remove it yourself" in err
    assert target.read_bytes() == b"precious"


@pytest.mark.parametrize(("where", "expected"), [
    (lambda run: run, "is the run directory"),
    (lambda run: run.parent.parent, "contains the run directory"),
    (lambda run: run / "adapter", "is inside the run's adapter/"),
    (lambda run: run / "checkpoints" / "checkpoint-8" / "merged", "is inside the run's checkpoints/"),
    (lambda run: run / ".." / "r1", "is the run directory"),
], ids=["run-dir", "ancestor", "adapter", "inside-checkpoints", "run-dir-by-another-name"])
def test_the_run_itself_is_never_an_output(capsys, fake_run, no_model_load, where, expected):
    before = tree(fake_run)
    output = where(fake_run)
    code, err = merge_cli(capsys, fake_run, "--output", output)
    assert code == 2
    assert f"--output {output} {expected}" in err and "choose another --output" in err
    assert tree(fake_run) == before
    assert read_status(fake_run)["state"] == "completed"


def test_a_symlink_to_the_run_is_the_run(capsys, fake_run, tmp_path, no_model_load):
    link = tmp_path / "link"
    link.symlink_to(fake_run, target_is_directory=True)
    before = tree(fake_run)
    code, err = merge_cli(capsys, fake_run, "--output", link)
    assert code == 2 and f"--output {link} is the run directory" in err
    assert tree(fake_run) == before


def test_forcing_a_run_without_an_adapter_names_the_fix(capsys, fake_run, no_model_load):
    set_status(fake_run, "failed", error="CUDA out of memory")
    for path in (fake_run / "adapter").iterdir():
        path.unlink()
    (fake_run / "adapter").rmdir()
    code, err = merge_cli(capsys, fake_run, "--force")
    assert code == 2
    assert f"{fake_run / 'adapter'} is missing" in err and "the run saved no adapter" in err
    assert f"loralab-train resume={fake_run}" in err and "Traceback" not in err
    assert not (fake_run / "merged").exists()


# --- the swap ---------------------------------------------------------------------------------------

def previous_merge(path: Path) -> dict[str, bytes | None]:
    path.mkdir(parents=True)
    (path / MARKER).write_text('{"run": "earlier"}\n')
    (path / "model.safetensors").write_bytes(b"earlier merged weights")
    return tree(path)


def test_a_failed_swap_puts_the_previous_merge_back(fake_run, monkeypatch):
    output = fake_run / "merged"
    before = previous_merge(output)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src).name.endswith(".tmp") and Path(dst) == output:
            raise OSError(errno.EIO, "Input/output error", str(dst))
        return real_rename(src, dst)

    monkeypatch.setattr(merge_module.os, "rename", rename)
    with pytest.raises(OSError, match="Input/output error"):
        write_merge(fake_run, output, lambda d: (d / "model.safetensors").write_bytes(b"new"), {"run": "new"})
    assert tree(output) == before
    assert leftovers(fake_run, "merged") == []


def test_an_empty_directory_or_a_new_path_is_written(fake_run, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    fresh = tmp_path / "a" / "b" / "merged"
    for output in (empty, fresh):
        written = write_merge(fake_run, output, lambda d: (d / "model.safetensors").write_bytes(b"w"), {"run": "r"})
        assert written == output.resolve()
        assert tree(output) == {MARKER: b'{\n  "run": "r"\n}\n', "model.safetensors": b"w"}
        assert leftovers(output.parent, output.name) == []


# --- real merges of the tiny fixture model ----------------------------------------------------------

@pytest.fixture
def tiny_run(tiny_model_dir, tmp_path) -> Path:
    """A completed run of the tiny model: its composed config and a (random, untrained) LoRA adapter."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    import loralab

    run = tmp_path / "tiny-run"
    run.mkdir()
    OmegaConf.save(loralab.compose(tiny_overrides(tiny_model_dir, "precision=fp32")), run / "config.yaml")
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(run / "adapter")
    set_status(run, "completed")
    return run


def test_a_merge_is_marked_and_replaces_only_a_previous_merge(capsys, tiny_run):
    code, out = merge_cli(capsys, tiny_run, "--dtype", "float32")
    assert code == 0, out
    merged = tiny_run / "merged"
    marker = json.loads((merged / MARKER).read_text())
    assert marker["run"] == str(tiny_run.resolve()) and marker["dtype"] == "float32" and marker["created"]
    assert (merged / "model.safetensors").is_file() and (merged / "chat_template.jinja").is_file()
    (merged / "from-the-first-merge.txt").write_text("stale")
    weights = (merged / "model.safetensors").read_bytes()

    code, out = merge_cli(capsys, tiny_run, "--dtype", "float32")
    assert code == 0, out
    assert not (merged / "from-the-first-merge.txt").exists()  # replaced as a whole, not merged into
    assert (merged / "model.safetensors").read_bytes() == weights  # the same merge, written again
    assert json.loads((merged / MARKER).read_text())["run"] == str(tiny_run.resolve())
    assert leftovers(tiny_run, "merged") == []
    assert (tiny_run / "adapter" / "adapter_config.json").is_file()


def test_a_merge_failing_half_way_keeps_the_previous_one(capsys, tiny_run, monkeypatch):
    output = tiny_run / "merged"
    before = previous_merge(output)
    from loralab.modeling import build_tokenizer as real_build_tokenizer


    def build_tokenizer(*args, **kwargs):
        tokenizer = real_build_tokenizer(*args, **kwargs)

        def save_pretrained(directory, **_):  # the weights are written by now; the disk fills up
            (Path(directory) / "tokenizer.json").write_text("{")
            raise OSError(errno.ENOSPC, "No space left on device", str(directory))

        tokenizer.save_pretrained = save_pretrained
        return tokenizer

    monkeypatch.setattr("loralab.modeling.build_tokenizer", build_tokenizer)
    with pytest.raises(OSError, match="No space left on device"):
        main([str(tiny_run), "--dtype", "float32"])
    assert tree(output) == before
    assert leftovers(tiny_run, "merged") == []
