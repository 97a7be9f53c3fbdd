"""Scaling out with the engines transformers already drives: torch DDP, DeepSpeed ZeRO, PyTorch FSDP.

loralab writes no distributed code of its own. The same ``loralab-train`` runs under ``torchrun`` or
``accelerate launch``; the Trainer does the distribution. This module only
- maps the ``distributed`` config group onto training arguments (:func:`training_kwargs`), including
  the DeepSpeed JSON built like the common ZeRO-2 / ZeRO-3-offload files with the HF integration's
  ``"auto"`` fields (:func:`deepspeed_config`), so batch, accumulation, clipping, precision and the
  optimizer's hyper-parameters always come from our config, never from a second file;
- tells the ranks apart (:func:`is_main_process`): every rank runs the whole recipe, rank 0 alone
  writes the run directory, the metrics, the trackers and the adapter;
- makes every rank agree on the run directory (:func:`launch_time`, a Hydra resolver): its name has
  a timestamp, and ranks started a second apart would otherwise each create their own.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig

log = logging.getLogger(__name__)

# optimizer.optim values DeepSpeed replaces with its own AdamW (fused on GPU, DeepSpeedCPUAdam when
# the optimizer is offloaded); other optimizers (8-bit, paged, Adafactor) stay the Trainer's.
DEEPSPEED_ADAMW = ("adamw_torch", "adamw_torch_fused")
LAUNCH_TIME_ENV = "LORALAB_LAUNCH_TIME"


# --------------------------------------------------------------------------- ranks

def process_rank() -> int:
    """This process's global rank: torchrun / accelerate / deepspeed set ``RANK``; a SLURM or submitit
    job with several tasks per job (and no launcher inside) has the task id."""
    for name in ("RANK", "SLURM_PROCID", "SUBMITIT_LOCAL_GLOBALID"):
        value = os.environ.get(name)
        if value not in (None, ""):
            return int(value)
    return 0


def world_size_from_env() -> int:
    """Ranks of a torchrun / accelerate / deepspeed launch (``WORLD_SIZE``); 1 for a plain run."""
    return max(1, int(os.environ.get("WORLD_SIZE", 1)))


def refuse_several_gpus_in_one_process() -> None:
    """One process that sees several GPUs gets ``nn.DataParallel`` from the Trainer, which TRL
    refuses, but only once the model is loaded: stop before anything loads, with both ways out."""
    import torch

    gpus = torch.cuda.device_count()
    launched = "LOCAL_RANK" in os.environ  # torchrun / accelerate: one GPU per process, even alone
    if gpus > 1 and world_size_from_env() == 1 and not launched:
        from .errors import LaunchError

        raise LaunchError(
            f"this process sees {gpus} GPUs and was not started by a launcher; the Trainer would then "
            "replicate the model with nn.DataParallel, which TRL does not train. On all of them: "
            f"`torchrun --nproc_per_node {gpus} -m loralab.cli.train distributed=ddp <overrides>`; "
            "on one: `CUDA_VISIBLE_DEVICES=0 loralab-train <overrides>`")


def is_main_process() -> bool:
    return process_rank() == 0


def main_process_only(fn: Callable) -> Callable:
    """``fn`` on rank 0, a no-op returning None on the other ranks (for writers of the run directory)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if is_main_process():
            return fn(*args, **kwargs)
        return None

    return wrapper


def adopt_submitit_tasks() -> None:
    """A submitit job with several tasks (``hydra.launcher.tasks_per_node`` > 1) runs this recipe once
    per task: export the torch.distributed variables (RANK, WORLD_SIZE, MASTER_ADDR, ...) so that the
    Trainer sees one DDP group, as torchrun would have set them. No-op under a launcher or for one task."""
    if os.environ.get("RANK") is not None:
        return
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm":  # set by submitit's sbatch script, not by a plain sbatch
        tasks = os.environ.get("SLURM_NTASKS")
    else:
        tasks = os.environ.get("SUBMITIT_LOCAL_NTASKS") if os.environ.get("SUBMITIT_LOCAL_JOB_ID") else None
    if not tasks or int(tasks) <= 1:
        return
    from submitit.helpers import TorchDistributedEnvironment

    TorchDistributedEnvironment().export(set_cuda_visible_devices=False)


# --------------------------------------------------------------------------- one run directory for all ranks

_LAUNCH_TIME: dt.datetime | None = None


def launch_time() -> dt.datetime:
    """When this run was launched, the same on every rank.

    Rank 0's clock, shared through the key-value store torchrun's agent already serves at
    MASTER_ADDR:MASTER_PORT (torchrun and ``accelerate launch`` both use it); ``LORALAB_LAUNCH_TIME``
    (ISO 8601) wins when set, e.g. by a job script for launchers without that store. Cached per process."""
    global _LAUNCH_TIME
    if _LAUNCH_TIME is None:
        _LAUNCH_TIME = _agreed_launch_time(dt.datetime.now())
    return _LAUNCH_TIME


def _agreed_launch_time(mine: dt.datetime) -> dt.datetime:
    if os.environ.get(LAUNCH_TIME_ENV):
        return dt.datetime.fromisoformat(os.environ[LAUNCH_TIME_ENV])
    if world_size_from_env() <= 1:
        return mine
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True" or not os.environ.get("MASTER_ADDR"):
        if is_main_process():
            log.warning("ranks cannot agree on the run directory's timestamp under this launcher: pass "
                        "hydra.run.dir=<dir> (or export %s) to every rank", LAUNCH_TIME_ENV)
        return mine
    from torch.distributed import TCPStore

    store = TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                     timeout=dt.timedelta(seconds=600))
    key = f"loralab/launch_time/{os.environ.get('TORCHELASTIC_RESTART_COUNT', '0')}"
    if is_main_process():
        store.set(key, mine.isoformat())
    return dt.datetime.fromisoformat(store.get(key).decode())  # waits for rank 0


# --------------------------------------------------------------------------- config -> training arguments

def deepspeed_config(cfg: DictConfig) -> dict[str, Any]:
    """The DeepSpeed config for ``distributed.deepspeed``: the user's own file when given, else built like
    the common ZeRO-2 / ZeRO-3-offload files. Every value the Trainer also knows is ``"auto"``, filled by
    transformers' HfTrainerDeepSpeedConfig from the training arguments, so the two can never disagree.

    No ``scheduler`` block: the Trainer's scheduler (``optimizer.scheduler`` with its warmup) drives
    DeepSpeed's optimizer (a supported mix); a WarmupLR block would silently turn a cosine schedule
    into a constant one."""
    ds = cfg.distributed.deepspeed
    if ds.config_file:
        return json.loads(Path(ds.config_file).expanduser().read_text(encoding="utf-8"))
    zero: dict[str, Any] = {"stage": int(ds.zero_stage), "overlap_comm": bool(ds.overlap_comm),
                            "contiguous_gradients": bool(ds.contiguous_gradients), "reduce_bucket_size": "auto"}
    if ds.zero_stage <= 2:
        zero.update(allgather_partitions=True, allgather_bucket_size=int(2e8), reduce_scatter=True)
    else:
        zero.update(sub_group_size=int(1e9), stage3_prefetch_bucket_size="auto",
                    stage3_param_persistence_threshold="auto", stage3_max_live_parameters=int(1e9),
                    stage3_max_reuse_distance=int(1e9),
                    # the adapter is saved from gathered 16-bit weights; without it ranks hold only shards
                    stage3_gather_16bit_weights_on_model_save=True)
    if ds.offload_optimizer != "none":
        zero["offload_optimizer"] = {"device": ds.offload_optimizer, "pin_memory": True}
    if ds.offload_params != "none":
        zero["offload_param"] = {"device": ds.offload_params, "pin_memory": True}
    config: dict[str, Any] = {
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto", "loss_scale": 0, "loss_scale_window": 1000, "initial_scale_power": 16,
                 "hysteresis": 2, "min_loss_scale": 1},
        "zero_optimization": zero,
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "steps_per_print": 1_000_000,  # the Trainer logs; DeepSpeed's own step prints would duplicate it
        "wall_clock_breakdown": False,
    }
    if cfg.optimizer.optim in DEEPSPEED_ADAMW:
        config["optimizer"] = {"type": "AdamW",
                               "params": {"lr": "auto", "betas": "auto", "eps": "auto", "weight_decay": "auto"}}
    return config


def fsdp_config(cfg: DictConfig) -> dict[str, Any]:
    """transformers' ``fsdp_config`` (FSDP2). The Trainer wraps a PEFT model with peft's own auto-wrap
    policy. Activation checkpointing is FSDP's own (the Trainer's would add an all-gather per layer),
    on unless ``trainer.gradient_checkpointing=false``: null means on here, since the memory
    estimate that decides it elsewhere does not model sharded runs."""
    f = cfg.distributed.fsdp
    checkpointing = cfg.trainer.gradient_checkpointing is not False
    config: dict[str, Any] = {"version": 2, "reshard_after_forward": bool(f.reshard_after_forward),
                              "cpu_offload": bool(f.cpu_offload), "activation_checkpointing": checkpointing,
                              "state_dict_type": "FULL_STATE_DICT"}
    if f.transformer_layer_cls_to_wrap:
        config["transformer_layer_cls_to_wrap"] = list(f.transformer_layer_cls_to_wrap)
    return config


def training_kwargs(cfg: DictConfig, device: str) -> dict[str, Any]:
    """The training arguments the ``distributed`` group sets; merged last by training_args.py."""
    from .errors import ConfigError, Problem

    d = cfg.distributed
    kwargs: dict[str, Any] = {
        # LoRA trains every adapter parameter at every step: searching for unused ones costs a graph
        # traversal per step (and the Trainer turns it on for any non-PreTrainedModel, e.g. a PeftModel)
        "ddp_find_unused_parameters": bool(d.find_unused_parameters),
        "ddp_backend": d.backend,
        "ddp_timeout": int(d.timeout_s),
    }
    if d.strategy in ("deepspeed", "fsdp") and device != "cuda":
        raise ConfigError([Problem("distributed", d.name, f"{d.strategy} shards across CUDA GPUs, and this run "
                                   f"is on {device}: use distributed=ddp (gloo) to train on several CPU processes")])
    if d.strategy == "deepspeed":
        kwargs["deepspeed"] = deepspeed_config(cfg)  # a dict: no rank reads a file another rank is writing
    elif d.strategy == "fsdp":
        # FSDP's own activation_checkpointing (fsdp_config) replaces the Trainer's (training_args.py)
        kwargs.update({"fsdp": True, "fsdp_config": fsdp_config(cfg)})
    return kwargs


def sharded_weights(cfg: DictConfig) -> bool:
    """ZeRO-3 and FSDP hold only a shard of the weights on each rank: generating text (the tool-call
    evaluation) and saving need every rank, so evaluation runs afterwards with ``loralab-eval``."""
    d = cfg.distributed
    return d.strategy == "fsdp" or (d.strategy == "deepspeed" and int(d.deepspeed.zero_stage) == 3)


def engine_config_record(cfg: DictConfig) -> tuple[str, dict] | None:
    """(file name, content) of the engine config this run hands the Trainer, for the run directory."""
    if cfg.distributed.strategy == "deepspeed":
        return "deepspeed.json", deepspeed_config(cfg)
    if cfg.distributed.strategy == "fsdp":
        return "fsdp.json", fsdp_config(cfg)
    return None


# --------------------------------------------------------------------------- replicas

def adapter_digest(state_dict: dict) -> str:
    """sha256 over the adapter's tensors (name, dtype, shape, bytes) in name order: equal digests mean
    bit-identical adapters. Works on peft's adapter state dict and on a loaded adapter_model.safetensors."""
    import torch

    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def weights_sharded_in(trainer) -> bool:
    """Whether this trainer holds only a shard of the weights on each rank (ZeRO-3 or FSDP)."""
    if getattr(trainer, "is_fsdp_enabled", False):
        return True
    if getattr(trainer, "is_deepspeed_enabled", False):
        plugin = trainer.accelerator.state.deepspeed_plugin
        return plugin is not None and int(plugin.zero_stage) == 3
    return False


def record_replicas(trainer, run_dir: Path) -> dict[str, Any] | None:
    """Gather every rank's adapter digest (a collective: call it on every rank) and have rank 0 write
    them to ``distributed.json``. Under DDP and ZeRO-1/2 each rank ends with its own full replica of
    the adapter, and they must be bit-identical; a mismatch is logged loudly. None for one process
    and for sharded weights (ZeRO-3, FSDP), where no rank holds the whole adapter."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or weights_sharded_in(trainer):
        return None
    from peft import get_peft_model_state_dict

    from .rundir import write_json

    digests: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(digests, adapter_digest(get_peft_model_state_dict(trainer.model)))
    report = {"world_size": dist.get_world_size(), "backend": str(dist.get_backend()),
              "local_world_size": int(os.environ.get("LOCAL_WORLD_SIZE", dist.get_world_size())),
              "adapter_sha256_by_rank": digests, "replicas_identical": len(set(digests)) == 1}
    if not report["replicas_identical"]:
        log.error("the ranks' adapters differ after training (%s): the replicas diverged", digests)
    if is_main_process():
        write_json(run_dir / "distributed.json", report)
    return report
