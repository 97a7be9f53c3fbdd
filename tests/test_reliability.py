"""Hostile-but-realistic probes of the command-line tools: nothing lost, nothing mixed up, nothing
silently ignored. ``PROBES`` is the table of every probe and its outcome; each row names the test
that holds it (``test_every_probe_names_a_test`` checks that those tests exist)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from loralab.rundir import read_status

from cli_helpers import tiny_overrides
from test_bad_input import GOOD, TOOLS, USER, _call, train_cli, write_jsonl

TESTS = Path(__file__).parent

# (probe, outcome, test that holds it: file::function)
PROBES = [
    # crash recovery: solid before this pass, kept under test
    ("kill -9 after a checkpoint, then resume", "same adapter as an uninterrupted run",
     "e2e/test_resume.py::test_sigkill_then_resume_matches_uninterrupted_run"),
    ("SIGTERM during training", "checkpoint, status interrupted, the real resume command",
     "e2e/test_resume.py::test_sigterm_saves_checkpoint_and_resume_finishes"),
    # data loss
    ("loralab-merge --output <a directory of user files>", "refused before loading; files kept byte for byte",
     "test_merge_safety.py::test_a_directory_of_user_files_is_refused_and_kept"),
    ("loralab-merge --output <the run directory>", "refused; run untouched",
     "test_merge_safety.py::test_the_run_itself_is_never_an_output"),
    ("loralab-merge fails half-way", "the previous merge intact, no temporary directory left",
     "test_merge_safety.py::test_a_merge_failing_half_way_keeps_the_previous_one"),
    ("disk full while saving a checkpoint", "'disk full' with the path, status failed with the resume "
     "command, no partial checkpoint", "test_reliability.py::test_disk_full_while_saving_a_checkpoint"),
    ("disk full while writing the final adapter", "'disk full', status failed, no partial adapter",
     "test_reliability.py::test_disk_full_while_writing_the_adapter"),
    ("disk full, wrapped in an error that only says 'unexpected pos'", "recognised by the free space left",
     "test_reliability.py::test_disk_full_is_recognised_by_free_space"),
    # mixed-up results
    ("a sweep re-run with another dataset or step budget", "another study by default; a named study refuses, "
     "naming the differing fields", "sweeps/test_study_identity.py::"
     "test_same_command_resumes_another_problem_gets_another_study_or_is_refused"),
    ("resume=latest after a run failed at start-up", "picks the newest resumable run and says which",
     "test_resume_rules.py::test_latest_skips_a_run_that_failed_at_start_up"),
    ("resume of a run that is still alive", "refused while its owner lives",
     "e2e/test_resume.py::test_live_run_is_locked_then_resumed_with_more_steps"),
    ("resume of a run whose owner died", "the stale lock is taken over, with a message",
     "test_resume_rules.py::test_stale_lock_is_taken_over_with_a_message"),
    ("resume=RUN trainer.max_steps=N / lora.r=32", "the first applied and recorded, the second refused by name",
     "test_resume_rules.py::test_resume_refuses_overrides_that_change_the_run"),
    ("a sweep trial killed with the sweep", "its run marked failed when the sweep resumes",
     "sweeps/test_study_identity.py::test_dead_trials_run_directory_is_marked_failed"),
    ("a failed start (bad value)", "no stray run directory",
     "test_reliability.py::test_a_failed_start_leaves_no_run_directory"),
    ("-m 'lora.r=-1,300'", "each job failed with its error in status.json, summary.md written, exit 1",
     "test_reliability.py::test_multirun_with_a_bad_value_records_each_job"),
    # silently ignored input
    ("+trainer.max_stepz=3, +trainer.foo=1", "refused with 'did you mean'",
     "test_reliability.py::test_added_unknown_keys_are_refused"),
    ("trainer.max_steps=0, trainer.num_epochs=nan", "refused by name",
     "test_reliability.py::test_zero_steps_and_nan_epochs_are_refused"),
    ("trainer.max_length=10000000", "refused: beyond the model's positions",
     "test_reliability.py::test_max_length_beyond_the_models_positions"),
    ("trainer.micro_batch_size=64 trainer.max_length=8192 on a small machine", "refused unless forced",
     "test_reliability.py::test_memory_estimate_far_beyond_the_machine"),
    ("loralab-train on a machine with 4 GPUs, without a launcher", "refused before anything loads, naming "
     "torchrun and CUDA_VISIBLE_DEVICES",
     "test_reliability.py::test_several_gpus_in_one_process_are_refused_before_anything_loads"),
    ("model.name_or_path=<path> with the embedded source", "refused: says model.source=hub",
     "test_reliability.py::test_embedded_source_with_a_path"),
    ("a CSV whose tools cell is empty", "the data check says the calls were checked against no schema",
     "test_reliability.py::test_unchecked_calls_are_reported"),
    ("the README's own-data command", "the user's tools and prompt are kept; the summary shows them",
     "test_reliability.py::test_own_data_keeps_its_prompt_and_tools"),
    ("loralab-estimate --gpu-memory-gb -4 / nan", "argparse error naming the option",
     "test_estimate.py::test_cli_refuses_a_gpu_memory_that_is_not_a_positive_size"),
    ("loralab-merge --force with no adapter", "error naming RUN/adapter and the fix",
     "test_merge_safety.py::test_forcing_a_run_without_an_adapter_names_the_fix"),
]


def _test_exists(ref: str) -> bool:
    path, _, name = ref.partition("::")
    source = (TESTS / path).read_text(encoding="utf-8") if (TESTS / path).is_file() else None
    return source is not None and (not name or f"def {name}(" in source)


def test_every_probe_names_a_test():
    missing = [ref for _, _, ref in PROBES if not _test_exists(ref)]
    assert not missing, missing


# --- silently ignored input ---------------------------------------------------------------------

def _compose_problems(*overrides: str) -> str:
    import loralab
    from loralab.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        loralab.compose(list(overrides))
    return str(info.value)


def test_added_unknown_keys_are_refused(tmp_path):
    assert "trainer.max_stepz" in _compose_problems("+trainer.max_stepz=3")
    assert "did you mean trainer.max_steps" in _compose_problems("+trainer.max_stepz=3")
    assert "trainer.foo" in _compose_problems("+trainer.foo=1")
    # on the command line: refused before Hydra composes anything, nothing written
    code, output = train_cli(tmp_path / "run", "+trainer.max_stepz=3")
    assert code == 2 and "did you mean trainer.max_steps" in output
    assert not (tmp_path / "run").exists()


def test_zero_steps_and_nan_epochs_are_refused():
    assert "trainer.max_steps = 0" in _compose_problems("trainer.max_steps=0")
    assert "or -1 to train for trainer.num_epochs" in _compose_problems("trainer.max_steps=0")
    message = _compose_problems("trainer.max_steps=-1", "trainer.num_epochs=nan")
    assert "trainer.num_epochs = nan" in message and "finite" in message
    assert "optimizer.weight_decay" in _compose_problems("optimizer.weight_decay=nan")


def test_max_length_beyond_the_models_positions():
    message = _compose_problems("trainer.max_length=10000000")
    assert "trainer.max_length = 10000000" in message and "8,192 positions" in message


def test_memory_estimate_far_beyond_the_machine(tmp_path):
    code, output = train_cli(tmp_path / "run", "trainer.max_length=8192", "trainer.micro_batch_size=64")
    flat = " ".join(output.split())
    assert code == 2 and "GiB" in flat and "trainer.ignore_memory_estimate=true" in flat
    assert not (tmp_path / "run").exists()  # refused before the run directory was written


def test_several_gpus_in_one_process_are_refused_before_anything_loads(tmp_path, monkeypatch):
    """The Trainer would wrap the model in nn.DataParallel, which TRL refuses after the load."""
    import torch

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    code, output = train_cli(tmp_path / "run")
    flat = " ".join(output.split())
    assert code == 2 and "sees 4 GPUs" in flat, output[-1500:]
    assert "torchrun --nproc_per_node 4 -m loralab.cli.train distributed=ddp" in flat
    assert "CUDA_VISIBLE_DEVICES=0 loralab-train" in flat
    assert not (tmp_path / "run").exists()  # refused before the run directory was written
    # started by a launcher, each rank sees them all and trains on its own (LOCAL_RANK)
    from loralab.distributed import refuse_several_gpus_in_one_process

    monkeypatch.setenv("WORLD_SIZE", "4")
    refuse_several_gpus_in_one_process()
    # `torchrun --nproc_per_node 1`: one rank, on its own GPU
    monkeypatch.setenv("WORLD_SIZE", "1")
    monkeypatch.setenv("LOCAL_RANK", "0")
    refuse_several_gpus_in_one_process()


def test_embedded_source_with_a_path(tmp_path):
    message = _compose_problems(f"model.name_or_path={tmp_path}")
    assert "model.name_or_path" in message and "model.source=hub" in message
    import loralab

    loralab.compose(["model.source=hub", f"model.name_or_path={tmp_path}"])  # the fix is accepted


def test_unchecked_calls_are_reported(tiny_model_dir, tmp_path):
    from loralab.api import compose
    from loralab.data.check import check_data, print_report
    from loralab.modeling import tokenizer_for

    rows = [{"messages": json.dumps([USER, _call("POST /db/node", {"id": i})]), "tools": ""} for i in range(12)]
    path = tmp_path / "train.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["messages", "tools"])
        writer.writeheader()
        writer.writerows(rows)
    overrides = tiny_overrides(tiny_model_dir, "data=files", f"data.train_file={path}")
    cfg = compose(overrides)
    report = check_data(cfg, tokenizer_for(cfg))
    assert report.unchecked_calls == {"train": 12}
    from loralab.console import console

    with console.capture() as captured:
        print_report(report, cfg)
    text = " ".join(captured.get().split())
    assert text.count("checked against no tool schema") == 1 and "data.tools_file" in text
    # with a schema, nothing to say
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(TOOLS), encoding="utf-8")
    with_tools = compose([*overrides, f"data.tools_file={tools}"])
    assert check_data(with_tools, tokenizer_for(with_tools)).unchecked_calls == {}


def test_own_data_keeps_its_prompt_and_tools(tiny_model_dir, tmp_path):
    """The README's own-data command with the default experiment: the preset's compact prompt and
    `tools_in_prompt: none` are for the bundled data; the user's data keeps its tool listing."""
    import loralab

    cfg = loralab.compose(["data=files", f"data.train_file={tmp_path / 'train.jsonl'}"])
    assert cfg.data.tools_in_prompt == "full" and cfg.data.system_prompt == ""
    assert cfg.lora.top_layers == 15  # the rest of the preset still applies
    bundled = loralab.compose([])
    assert bundled.data.tools_in_prompt == "none" and bundled.data.system_prompt.startswith("GEN NX")

    from loralab.data.prompting import describe_prompt

    line = describe_prompt("", "full", TOOLS, [GOOD])
    assert "listed in full" in line and "1 from the tool schema" in line and "system prompt none" in line
    line = describe_prompt(bundled.data.system_prompt, "none", TOOLS * 9, [])
    assert "not listed" in line and '"GEN NX assistant:' in line

    train = write_jsonl(tmp_path / "train.jsonl", [GOOD] * 24)
    run_dir = tmp_path / "run"
    code, output = train_cli(run_dir, *tiny_overrides(tiny_model_dir, "trainer.max_steps=1",
                                                     "trainer.eval_strategy=no", "trainer.load_best_model_at_end=false",
                                                     "eval.at_end=false", "data=files", f"data.train_file={train}"))
    assert code == 0, output[-2000:]
    assert "tools listed in full" in " ".join(output.split())
    saved = (run_dir / "config.yaml").read_text(encoding="utf-8")
    assert "tools_in_prompt: full" in saved


# --- failed starts ------------------------------------------------------------------------------

def test_a_failed_start_leaves_no_run_directory(tmp_path):
    root = tmp_path / "experiments" / "2026-12-02"
    code, output = train_cli(root / "10-00-00_bad", "lora.r=-1")
    assert code == 2 and "lora.r = -1" in output
    assert not root.exists()  # the run directory and its now empty date directory
    # a directory that holds anything else is left alone
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine", encoding="utf-8")
    code, _ = train_cli(keep, "lora.r=-1")
    assert code == 2 and (keep / "notes.txt").read_text(encoding="utf-8") == "mine"


@pytest.mark.integration  # a loralab-train process with two jobs
def test_multirun_with_a_bad_value_records_each_job(tmp_path):
    cli = Path(sys.executable).parent / "loralab-train"
    proc = subprocess.run([str(cli), "-m", "lora.r=-1,300", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "2 of 2 jobs failed" in proc.stderr
    jobs = sorted(p for p in (tmp_path / "sweep").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(jobs) == 2
    for job, value in zip(jobs, ("-1", "300")):
        status = read_status(job)
        assert status["state"] == "failed" and f"lora.r = {value}" in status["error"]
    summary = (tmp_path / "sweep" / "summary.md").read_text(encoding="utf-8")
    assert summary.count("| failed |") == 2


# --- disk full, for real: a small tmpfs filled at the moment of the save ------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs (needs root, as CI has); skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=10)


def _fill(disk: Path) -> None:
    """Take every free byte of ``disk``, as another process filling the disk would."""
    with (disk / "filler").open("wb") as f:
        try:
            while True:
                f.write(b"\0" * (1 << 16))
                f.flush()
        except OSError:
            pass


def _run_filling_disk_at(monkeypatch, disk: Path, model_dir: Path, target: str) -> tuple[int, str, Path]:
    import loralab.recipe as recipe
    from transformers import Trainer

    if target == "checkpoint":
        real = Trainer._save_checkpoint

        def save_checkpoint(self, *args, **kwargs):
            if self.state.global_step >= 4:
                _fill(disk)
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Trainer, "_save_checkpoint", save_checkpoint)
    else:
        real_save = recipe._save_adapter

        def save_adapter(*args, **kwargs):
            _fill(disk)
            return real_save(*args, **kwargs)

        monkeypatch.setattr(recipe, "_save_adapter", save_adapter)
    run_dir = disk / "run"
    code, output = train_cli(run_dir, *tiny_overrides(model_dir, "trainer.max_steps=4", "trainer.eval_steps=2",
                                                     "trainer.save_steps=2", "trainer.load_best_model_at_end=false"))
    return code, " ".join(output.split()), run_dir


def test_disk_full_while_saving_a_checkpoint(tiny_model_dir, small_disk, monkeypatch):
    code, output, run_dir = _run_filling_disk_at(monkeypatch, small_disk, tiny_model_dir, "checkpoint")
    assert code == 2 and "Traceback" not in output, output[-3000:]
    assert "disk full" in output and f"resume={run_dir}" in output and str(run_dir) in output
    status = read_status(run_dir)
    assert status["state"] == "failed" and status["continue_with"] == f"loralab-train resume={run_dir}"
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").glob("checkpoint-*"))
    assert checkpoints == ["checkpoint-2"]  # complete; the partial checkpoint-4 is gone
    assert (run_dir / "checkpoints" / "checkpoint-2" / "loralab-complete.json").is_file()
    assert not (run_dir / "adapter").exists()


def test_disk_full_while_writing_the_adapter(tiny_model_dir, small_disk, monkeypatch):
    code, output, run_dir = _run_filling_disk_at(monkeypatch, small_disk, tiny_model_dir, "adapter")
    assert code == 2 and "Traceback" not in output, output[-3000:]
    assert "disk full" in output and f"resume={run_dir}" in output
    assert read_status(run_dir)["state"] == "failed"
    assert not (run_dir / "adapter").exists() and not (run_dir / ".adapter.tmp").exists()
    assert (run_dir / "checkpoints" / "checkpoint-4" / "loralab-complete.json").is_file()


def test_disk_full_is_recognised_by_free_space(small_disk):
    from loralab.recipe import _disk_full

    stream_error = RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 4461440 vs 4461332")
    assert not _disk_full(stream_error, small_disk)  # plenty of space: some other failure
    _fill(small_disk)
    assert _disk_full(stream_error, small_disk)
    assert _disk_full(Exception("No space left on device (os error 28)"))  # the tokenizers library's wording
