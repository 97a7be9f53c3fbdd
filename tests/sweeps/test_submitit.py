"""Clusters through Hydra's submitit launcher: `hydra/launcher=slurm` composes into submitit's SLURM
launcher, and the same code path runs for real with submitit's local executor (`submitit_local`):
every job is a complete run directory, loralab's multirun summary still runs, and a job with two
tasks becomes one DDP group."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from loralab.rundir import read_status

from cli_helpers import run_cli, tiny_overrides

pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                    reason="hydra-submitit-launcher is not installed (pip install 'loralab[slurm]')")

SHORT = ["trainer.max_steps=6", "trainer.eval_steps=3", "trainer.save_steps=3", "eval.at_end=false"]


def test_slurm_launcher_option_composes():
    proc = run_cli(["--cfg", "hydra", "hydra/launcher=slurm", "hydra.launcher.partition=gpu",
                    "hydra.launcher.gpus_per_node=4"], timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    launcher = yaml.safe_load(proc.stdout)["hydra"]["launcher"]
    assert launcher["_target_"].endswith("submitit_launcher.SlurmLauncher")
    assert launcher["partition"] == "gpu" and launcher["gpus_per_node"] == 4
    assert launcher["tasks_per_node"] == "${.gpus_per_node}"  # one task (rank) per GPU
    for key in ("timeout_min", "nodes", "cpus_per_task", "mem_gb"):
        assert key in launcher


@pytest.mark.integration
def test_submitit_local_multirun_completes_both_jobs(tiny_model_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = run_cli(["-m", "hydra/launcher=submitit_local", *tiny_overrides(tiny_model_dir, *SHORT),
                    "optimizer.lr=1e-4,5e-3", f"hydra.sweep.dir={sweep_dir}"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = sorted(p for p in sweep_dir.iterdir() if (p / "status.json").is_file())
    assert len(jobs) == 2
    for job in jobs:
        assert read_status(job)["state"] == "completed"
        for name in ("adapter/adapter_model.safetensors", "metrics.json", "manifest.json", ".hydra/overrides.yaml"):
            assert (job / name).is_file(), f"{job.name}/{name}"
    assert list((sweep_dir / ".submitit").glob("*/*_log.out"))  # the jobs really went through submitit
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))  # loralab's MultirunSummary callback
    assert len(rows) == 2 and {float(r["lr"]) for r in rows} == {1e-4, 5e-3}


@pytest.mark.integration
def test_submitit_job_with_two_tasks_is_one_ddp_group(tiny_model_dir, tmp_path):
    sweep_dir = tmp_path / "sweep"
    proc = run_cli(["-m", "hydra/launcher=submitit_local", "hydra.launcher.tasks_per_node=2",
                    *tiny_overrides(tiny_model_dir, *SHORT), f"hydra.sweep.dir={sweep_dir}"])
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [p for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(jobs) == 1 and read_status(jobs[0])["state"] == "completed"
    report = json.loads((jobs[0] / "distributed.json").read_text())
    assert report["world_size"] == 2 and report["replicas_identical"]
    assert (jobs[0] / "adapter" / "adapter_model.safetensors").is_file()
