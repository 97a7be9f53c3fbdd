"""Hydra multirun: every combination is a complete run directory, and a summary table of the jobs
(best first) is written as markdown and CSV at the end."""

from __future__ import annotations

import csv

from loralab.rundir import read_status

from cli_helpers import run_cli, tiny_overrides


def test_multirun_jobs_and_summary(tiny_model_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    args = ["-m", *tiny_overrides(tiny_model_dir, "trainer.max_steps=6", "trainer.eval_steps=3",
                                  "trainer.save_steps=3", "eval.at_end=false"),
            "optimizer.lr=1e-4,5e-3", f"hydra.sweep.dir={sweep_dir}"]
    proc = run_cli(args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / "status.json").is_file())
    assert len(jobs) == 2 and all(read_status(j)["state"] == "completed" for j in jobs)
    assert all((j / "adapter" / "adapter_model.safetensors").is_file() for j in jobs)

    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert len(rows) == 2
    losses = [float(r["eval_loss"]) for r in rows]
    assert losses == sorted(losses)  # best first
    assert {float(r["lr"]) for r in rows} == {1e-4, 5e-3}
    md = (sweep_dir / "summary.md").read_text()
    assert "optimizer.lr=0.0001" in md and "optimizer.lr=0.005" in md
