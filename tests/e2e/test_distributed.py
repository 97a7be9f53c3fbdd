"""Scaling out (distributed.py): the `distributed` group's mapping onto training arguments, the
generated DeepSpeed configs checked by DeepSpeed itself, and a real 2-process DDP run (gloo on CPU)
through `torchrun ... -m loralab.cli.train`: both ranks train, rank 0 alone writes, one run directory,
bit-identical adapters on both ranks."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

import loralab
from loralab.errors import ConfigError
from loralab.distributed import adapter_digest, deepspeed_config, engine_config_record, training_kwargs
from loralab.training_args import checkpointing_argument
from loralab.hardware import Hardware, resolve_precision
from loralab.rundir import read_status
from loralab.batching import batch_plan
from loralab.training_args import sft_config_kwargs

from cli_helpers import tiny_overrides

A100 = Hardware("cuda", "NVIDIA A100-SXM4-80GB", (8, 0), True, False, 16, 79.2)
PINNED = ["trainer.micro_batch_size=4", "trainer.gradient_accumulation_steps=2", "trainer.max_steps=50",
          "optimizer.lr=2e-4", "optimizer.weight_decay=0.01", "optimizer.max_grad_norm=0.5"]


def gpu_kwargs(overrides: list[str]) -> dict:
    # the default experiment's time budget cannot time DeepSpeed or FSDP before training: it is dropped
    cfg = loralab.compose(["trainer.max_time=null", *overrides])
    return sft_config_kwargs(cfg, resolve_precision(cfg.precision.dtype, cfg.precision.tf32, A100), A100, "/tmp/run",
                             batch_plan(cfg.trainer, cfg.optimizer.lr))


def _autos(node, path="") -> list[str]:
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in _autos(v, f"{path}.{k}".lstrip("."))]
    return [path] if node == "auto" else []


# --------------------------------------------------------------------------- config mapping

@pytest.mark.parametrize("group", ["none", "ddp", "zero2", "zero3-offload", "fsdp"])
def test_every_group_turns_off_the_unused_parameter_search(group):
    kwargs = gpu_kwargs([f"distributed={group}"])
    assert kwargs["ddp_find_unused_parameters"] is False  # the Trainer would turn it on for a PeftModel
    assert kwargs["ddp_timeout"] == 1800 and kwargs["ddp_backend"] is None
    assert ("deepspeed" in kwargs) == group.startswith("zero")
    assert bool(kwargs.get("fsdp")) == (group == "fsdp")


def test_zero2_config_is_the_seeds_with_auto_fields():
    ds = gpu_kwargs(["distributed=zero2"])["deepspeed"]
    assert ds["zero_optimization"]["stage"] == 2 and "offload_optimizer" not in ds["zero_optimization"]
    assert set(_autos(ds)) == {"bf16.enabled", "fp16.enabled", "train_batch_size", "train_micro_batch_size_per_gpu",
                               "gradient_accumulation_steps", "gradient_clipping", "zero_optimization.reduce_bucket_size",
                               "optimizer.params.lr", "optimizer.params.betas", "optimizer.params.eps",
                               "optimizer.params.weight_decay"}
    assert "scheduler" not in ds  # the Trainer's cosine schedule drives DeepSpeed's optimizer


def test_zero3_offload_config_offloads_weights_and_optimizer():
    zero = gpu_kwargs(["distributed=zero3-offload"])["deepspeed"]["zero_optimization"]
    assert zero["stage"] == 3
    assert zero["offload_optimizer"]["device"] == zero["offload_param"]["device"] == "cpu"
    assert zero["stage3_gather_16bit_weights_on_model_save"] is True


def test_eight_bit_optimizers_stay_the_trainers_under_zero2():
    ds = gpu_kwargs(["distributed=zero2", "optimizer=paged-adamw-8bit"])["deepspeed"]
    assert "optimizer" not in ds


def test_fsdp_uses_its_own_activation_checkpointing():
    kwargs = gpu_kwargs(["distributed=fsdp"])
    assert kwargs["fsdp_config"]["activation_checkpointing"] is True and kwargs["fsdp_config"]["version"] == 2
    assert kwargs[checkpointing_argument()] is False


def test_sharding_engines_refuse_the_cpu_with_the_alternative():
    cfg = loralab.compose(["trainer.max_time=null", "distributed=fsdp"])
    with pytest.raises(ConfigError, match="distributed=ddp"):
        training_kwargs(cfg, "cpu")


def test_own_deepspeed_file_is_used_as_is(tmp_path):
    own = {"zero_optimization": {"stage": 1}, "train_micro_batch_size_per_gpu": "auto"}
    path = tmp_path / "ds.json"
    path.write_text(json.dumps(own))
    cfg = loralab.compose(["trainer.max_time=null", "distributed=zero2", f"distributed.deepspeed.config_file={path}"])
    assert deepspeed_config(cfg) == own
    assert engine_config_record(cfg) == ("deepspeed.json", own)


# --------------------------------------------------------------------------- validation

def test_qlora_with_zero3_is_refused_with_the_reason():
    with pytest.raises(ConfigError) as err:
        loralab.compose(["trainer.max_time=null", "distributed=zero3-offload", "model.quantization.mode=nf4"])
    assert "model.quantization.mode" in str(err.value) and "distributed=zero2 or ddp" in str(err.value)


def test_qlora_with_zero2_and_ddp_is_accepted():
    loralab.compose(["trainer.max_time=null", "distributed=zero2", "model.quantization.mode=nf4"])
    loralab.compose(["trainer.max_time=null", "distributed=ddp", "model.quantization.mode=nf4"])


def test_offloaded_optimizer_needs_adamw():
    with pytest.raises(ConfigError, match="optimizer=adamw"):
        loralab.compose(["trainer.max_time=null", "distributed=zero3-offload", "optimizer=paged-adamw-8bit"])


def test_missing_deepspeed_names_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepspeed" else real(name, *a))
    with pytest.raises(ConfigError, match=r"pip install 'loralab\[deepspeed\]'"):
        loralab.compose(["trainer.max_time=null", "distributed=zero2"])


# --------------------------------------------------------------------------- DeepSpeed's own check

@pytest.mark.parametrize("group", ["zero2", "zero3-offload"])
def test_generated_deepspeed_config_passes_deepspeeds_own_config_class(group):
    pytest.importorskip("deepspeed", reason="DeepSpeed is not installed (pip install 'loralab[deepspeed]')")
    from deepspeed.runtime.config import DeepSpeedConfig
    from transformers.integrations.deepspeed import HfTrainerDeepSpeedConfig

    kwargs = gpu_kwargs([f"distributed={group}", *PINNED])
    # transformers' own filling of the "auto" fields, from the arguments loralab hands the Trainer
    args = SimpleNamespace(world_size=1, adam_epsilon=1e-8, fp16_full_eval=False, bf16_full_eval=False,
                           save_on_each_node=False, **{k: kwargs[k] for k in (
                               "per_device_train_batch_size", "gradient_accumulation_steps", "max_grad_norm",
                               "learning_rate", "adam_beta1", "adam_beta2", "weight_decay", "fp16", "bf16")})
    args.get_warmup_steps = lambda n: math.ceil(n * kwargs["warmup_steps"])
    hf = HfTrainerDeepSpeedConfig(kwargs["deepspeed"])
    hf.trainer_config_process(args)
    hf.trainer_config_finalize(args, SimpleNamespace(config=SimpleNamespace(hidden_size=1536)), 50)
    assert _autos(hf.config) == []

    ds = DeepSpeedConfig(hf.config)  # raises on anything DeepSpeed does not accept
    assert ds.train_micro_batch_size_per_gpu == 4 and ds.gradient_accumulation_steps == 2
    assert ds.train_batch_size == 8 and ds.gradient_clipping == 0.5
    assert ds.bfloat16_config.enabled and not ds.float16_config.enabled
    assert ds.optimizer_name == "adamw" and ds.optimizer_params["lr"] == 2e-4
    assert ds.optimizer_params["weight_decay"] == 0.01
    assert ds.zero_optimization_stage == (3 if group == "zero3-offload" else 2)
    offloaded = ds.zero_config.offload_optimizer is not None and ds.zero_config.offload_optimizer.device == "cpu"
    assert offloaded == (group == "zero3-offload")


# --------------------------------------------------------------------------- real ranks on CPU

def _torchrun(args: list[str], cwd: Path, log_dir: Path, timeout: int = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--log-dir", str(log_dir), "--redirects", "3", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _rank_logs(log_dir: Path) -> dict[int, str]:
    return {int(p.parent.name): p.read_text() for p in log_dir.rglob("stdout.log")}


def test_ranks_started_apart_agree_on_the_launch_time(tmp_path):
    script = tmp_path / "stamp.py"
    script.write_text(textwrap.dedent("""
        import os, time
        from loralab.distributed import launch_time
        if os.environ["RANK"] == "1":
            time.sleep(1.5)  # a rank that starts late would otherwise name another run directory
        print("LAUNCH", launch_time().isoformat(), flush=True)
    """))
    proc = _torchrun([str(script)], tmp_path, tmp_path / "logs", timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stamps = {rank: next(line for line in log.splitlines() if line.startswith("LAUNCH"))
              for rank, log in _rank_logs(tmp_path / "logs").items()}
    assert sorted(stamps) == [0, 1] and stamps[0] == stamps[1]


@pytest.mark.integration
def test_ddp_two_ranks_train_and_rank0_alone_writes(tiny_model_dir, tmp_path):
    work, logs = tmp_path / "work", tmp_path / "logs"
    work.mkdir()
    # no hydra.run.dir: both ranks must agree on experiments/<date>/<time>_<run name> by themselves
    proc = _torchrun(["-m", "loralab.cli.train", *tiny_overrides(tiny_model_dir, "distributed=ddp", "eval.max_examples=8",
                                                             "eval.base_max_examples=8")], work, logs)
    rank_logs = _rank_logs(logs)
    assert proc.returncode == 0, proc.stderr[-3000:] + "".join(v[-2000:] for v in rank_logs.values())

    # one run directory, nothing else anywhere in the working directory
    runs = [p for p in (work / "experiments").glob("*/*") if p.is_dir()]
    assert len(runs) == 1 and sorted(p.name for p in work.iterdir()) == ["experiments"]
    run = runs[0]
    assert read_status(run)["state"] == "completed"
    for name in ("config.yaml", "manifest.json", "metrics.json", "eval.json", ".hydra/config.yaml", "train.log",
                 "adapter/adapter_model.safetensors", "adapter/tokenizer.json", "distributed.json"):
        assert (run / name).is_file(), name
    assert not list(run.glob(".*.tmp*")) and not (run / ".adapter.tmp").exists()

    # both ranks trained: each optimizer step consumed 2 x 8 rows, and rank 1 went all the way through
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["summary"]["global_step"] == 16
    rows = json.loads((run / "data_stats.json").read_text())["train"]["kept"]
    assert metrics["train"][-1]["epoch"] == pytest.approx(16 * 2 * 8 / rows, rel=0.05)
    assert json.loads((run / "manifest.json").read_text())["effective_batch"] == 16
    assert metrics["final"]["train_loss_last"] < metrics["final"]["train_loss_first"]
    assert metrics["final"]["eval_loss_last"] < metrics["final"]["eval_loss_first"]
    assert sorted(rank_logs) == [0, 1] and "run complete" in rank_logs[1]
    # rank 0 alone evaluated (rank 1 printed no evaluation table)
    assert "tool-call evaluation" in rank_logs[0] and "tool-call evaluation" not in rank_logs[1]

    # the replicas ended bit-identical, and the saved adapter is exactly that replica
    from safetensors.torch import load_file

    report = json.loads((run / "distributed.json").read_text())
    assert report["world_size"] == 2 and report["backend"] == "gloo" and report["replicas_identical"]
    digests = report["adapter_sha256_by_rank"]
    assert len(digests) == 2 and digests[0] == digests[1]
    assert adapter_digest(load_file(run / "adapter" / "adapter_model.safetensors")) == digests[0]
