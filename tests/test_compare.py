"""loralab-compare on real tiny runs: a three-job learning-rate multirun (one CLI process) plus an
unfinished run directory."""

from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest

from loralab import compare
from loralab.cli import compare as compare_cli

from e2e.conftest import run_cli, tiny_overrides

LRS = (1e-3, 5e-3, 1e-2)
FAST = ["trainer.max_steps=4", "trainer.eval_steps=2", "trainer.save_steps=4", "trainer.logging_steps=1",
        "trainer.micro_batch_size=4", "data.max_eval_examples=8", "trainer.eval_on_start=false",
        "eval.max_examples=4", "eval.compare_base=false", "eval.max_new_tokens=32", "data.generator.size=200"]


@pytest.fixture(scope="module")
def sweep(tiny_model_dir, tmp_path_factory):
    """<root>/sweep/{0,1,2}_tiny-r8-all-linear (completed, lr 1e-3 / 5e-3 / 1e-2) and
    <root>/sweep/9_unfinished (status running). Learning rates stay within validation's (1e-7, 1e-2]."""
    root = tmp_path_factory.mktemp("compare")
    sweep_dir = root / "sweep"
    overrides = [o for o in tiny_overrides(tiny_model_dir, *FAST) if not o.startswith("optimizer.lr=")]
    proc = run_cli(["-m", *overrides, "optimizer.lr=" + ",".join(f"{lr:g}" for lr in LRS),
                    f"hydra.sweep.dir={sweep_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    finished = sorted(p.parent for p in sweep_dir.glob("*/status.json"))
    assert len(finished) == 3, finished
    unfinished = sweep_dir / "9_unfinished"
    unfinished.mkdir()
    for name in ("config.yaml", "metrics.json"):
        shutil.copy(finished[0] / name, unfinished / name)
    shutil.copytree(finished[0] / ".hydra", unfinished / ".hydra")
    (unfinished / "status.json").write_text(json.dumps({"state": "running"}))
    (unfinished / "checkpoints" / "x").mkdir(parents=True)  # a run's inner directories are not runs
    (unfinished / "checkpoints" / "x" / "config.yaml").write_text("{}")
    (unfinished / "checkpoints" / "x" / "status.json").write_text("{}")
    return root, finished, unfinished


def _expected(run_dir) -> dict:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    report = json.loads((run_dir / "eval.json").read_text())
    rates = report["splits"][report["primary"]]["fine_tuned"]["report"]["rates"]
    import yaml

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    return {"run": run_dir.name, "status": "completed", "model": "smollm2-135m", "lora": "r8-all-linear",
            "precision": "auto", "optimizer": "adamw", "lr": config["optimizer"]["lr"], "r": 16,
            "steps": metrics["summary"]["global_step"], "train_loss": metrics["final"]["train_loss_last"],
            "eval_loss": metrics["final"]["eval_loss_best"], "exact": rates["exact_call_accuracy"]["value"],
            "tool_name": rates["tool_name_accuracy"]["value"], "valid_json": rates["valid_json"]["value"],
            "runtime_s": metrics["summary"]["train_runtime"], "tokens_per_s": metrics["summary"]["train_tokens_per_s"]}


def _csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_table_rows_match_each_runs_files(sweep, tmp_path, capsys):
    root, finished, _ = sweep
    out = tmp_path / "out"
    assert compare_cli.main([str(root), "--out", str(out), "--sort", "lr"]) == 0
    printed = capsys.readouterr().out
    assert "skipped 1 incomplete run" in printed

    runs, skipped = compare.collect([root], [], include_all=False)
    assert skipped == 1
    by_name = {r.values["run"]: r for r in runs}
    assert sorted(by_name) == sorted(p.name for p in finished)
    for run_dir in finished:
        expected = _expected(run_dir)
        row = by_name[run_dir.name].values
        assert row == pytest.approx(expected), run_dir.name
        assert run_dir.name in printed and f"{expected['eval_loss']:.4f}" in printed
        assert f"{expected['train_loss']:.4f}" in printed and f"{100 * expected['exact']:.1f}%" in printed
    assert sorted(r.values["lr"] for r in runs) == pytest.approx(sorted(LRS))

    rows = _csv(out / "runs.csv")  # sorted by lr, ascending
    assert [float(r["lr"]) for r in rows] == pytest.approx(sorted(LRS))
    for row in rows:
        expected = _expected(root / "sweep" / row["run"])
        assert row["status"] == "completed" and row["model"] == "smollm2-135m" and row["r"] == "16"
        for key in ("lr", "steps", "train_loss", "eval_loss", "exact", "tool_name", "valid_json", "runtime_s",
                    "tokens_per_s"):
            # an undefined rate (no answer in its denominator, e.g. valid_json when none attempts a call)
            # is an empty cell, never a zero
            assert (None if row[key] == "" else float(row[key])) == pytest.approx(expected[key]), key


def test_report_png_is_a_real_picture(sweep, tmp_path):
    import matplotlib.image as mpimg

    root, _, _ = sweep
    assert compare_cli.main([str(root), "--out", str(tmp_path)]) == 0
    image = mpimg.imread(tmp_path / "report.png")
    assert image.ndim == 3 and image.shape[0] > 600 and image.shape[1] > 1000
    rgb = image[..., :3]
    assert rgb.std() > 0.05  # not blank
    colours = {tuple(c) for c in np.round(rgb.reshape(-1, 3), 1)}
    assert len(colours) >= 8  # text, axes, and one colour per run


def test_sort_filter_and_all(sweep, tmp_path, capsys):
    root, finished, unfinished = sweep
    assert compare_cli.main([str(root), "--out", str(tmp_path / "a"), "--all", "--sort", "-lr", "--no-plot"]) == 0
    rows = _csv(tmp_path / "a" / "runs.csv")
    assert len(rows) == 4 and {r["status"] for r in rows} == {"completed", "running"}
    lrs = [float(r["lr"]) for r in rows]
    assert lrs == sorted(lrs, reverse=True)
    assert not (tmp_path / "a" / "report.png").exists()
    assert "skipped" not in capsys.readouterr().out

    assert compare_cli.main([str(root), "--out", str(tmp_path / "b"), "--filter", "optimizer.lr=5e-3",
                         "--filter", "lora=r8-all-linear", "--sort=-eval_loss"]) == 0
    rows = _csv(tmp_path / "b" / "runs.csv")
    assert len(rows) == 1 and float(rows[0]["lr"]) == 5e-3

    assert compare_cli.main([str(root), "--out", str(tmp_path / "c"), "--filter", "model=qwen-1.5b-nf4"]) == 1
    assert "no completed runs" in capsys.readouterr().out

    with pytest.raises(SystemExit):
        compare_cli.main([str(root), "--sort", "nonsense"])
    with pytest.raises(SystemExit):
        compare_cli.main([str(root), "--filter", "lora"])


def test_sorting_puts_empty_cells_last_and_accepts_headers():
    def run(name, loss):
        return compare.Run(path=compare.Path(name), values={"run": name, "eval_loss": loss}, choices={}, config={})

    runs = [run("a", 2.0), run("b", None), run("c", 1.0)]
    assert [r.values["run"] for r in compare.sort_runs(runs, "eval_loss")] == ["c", "a", "b"]
    assert [r.values["run"] for r in compare.sort_runs(runs, "-best eval loss")] == ["a", "c", "b"]
    assert compare.column_key("tokens/s") == "tokens_per_s" and compare.column_key("Exact-Call") == "exact"
    assert compare_cli._fix_negative_sort(["--sort", "-lr", "x"]) == ["--sort=-lr", "x"]
