"""sft_config_kwargs field by field: loralab's config is the only source of what the trainer gets."""

from __future__ import annotations

import pytest
import torch

import loralab
from loralab.hardware import Hardware, resolve_precision
from loralab.batching import batch_plan
from loralab.distributed import world_size_from_env
from loralab.memory import gradient_checkpointing
from loralab.training_args import build_sft_config, checkpointing_argument, sft_config_kwargs

CPU = Hardware("cpu", "AVX2-only CPU", None, False, False, 2, None)
CPU_BF16 = Hardware("cpu", "Sapphire Rapids", None, False, True, 16, None)
A100 = Hardware("cuda", "NVIDIA A100-SXM4-80GB", (8, 0), True, False, 16, 79.2)
T4 = Hardware("cuda", "Tesla T4", (7, 5), False, False, 8, 14.6)
RTX3060 = Hardware("cuda", "NVIDIA GeForce RTX 3060", (8, 6), True, False, 8, 11.6)
UNKNOWN_GPU = Hardware("cuda", "a GPU of unknown size", (8, 0), True, False, 8, None)
QWEN_4x512 = ["model=qwen-1.5b-nf4", "trainer.micro_batch_size=4", "trainer.max_length=512"]


def kwargs_for(overrides: list[str] | None = None, hw: Hardware = CPU, output_dir: str = "/tmp/run") -> dict:
    cfg = loralab.compose(overrides or [])
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, hw)
    # the batch plan as the recipe makes it: over the launcher's ranks (WORLD_SIZE)
    return sft_config_kwargs(cfg, precision, hw, output_dir,
                             batch_plan(cfg.trainer, cfg.optimizer.lr, world_size_from_env()))


# Known inputs (the seeds' trainer values), so each mapped field is checked against what was asked.
PINNED = ["optimizer.lr=2e-4", "optimizer.warmup_ratio=0.03", "trainer.max_steps=60", "trainer.eval_steps=15",
          "trainer.logging_steps=5", "trainer.micro_batch_size=8",
          "trainer.save_steps=15"]


@pytest.fixture(scope="module")
def default_cpu() -> dict:
    return kwargs_for(PINNED)


def test_precision_on_cpu_without_native_bf16_is_fp32_explicitly(default_cpu):
    # both flags set explicitly: TRL's own default would be bf16=True
    assert default_cpu["bf16"] is False and default_cpu["fp16"] is False
    assert default_cpu["tf32"] is None
    assert default_cpu["use_cpu"] is True


@pytest.mark.parametrize("hw,bf16,fp16", [(CPU, False, False), (CPU_BF16, True, False), (A100, True, False),
                                         (T4, False, True)], ids=["cpu", "cpu-bf16", "a100", "t4"])
def test_precision_flags_are_exactly_the_resolved_ones(hw, bf16, fp16):
    kw = kwargs_for(hw=hw)
    assert (kw["bf16"], kw["fp16"]) == (bf16, fp16)
    assert kw["use_cpu"] is (hw.device == "cpu")


def test_gradient_checkpointing_auto_is_off_on_cpu(default_cpu):
    name = checkpointing_argument()
    assert default_cpu[name] is False
    assert default_cpu[f"{name}_kwargs"] is None


@pytest.mark.parametrize("overrides, hw, on", [
    (QWEN_4x512, A100, False),          # predicted well within 80 GB: no recomputation
    (QWEN_4x512, RTX3060, True),        # predicted beyond 90 % of 11.6 GiB without it
    (QWEN_4x512, UNKNOWN_GPU, True),    # nothing to decide by: on, as memory is the limit on a GPU
    (QWEN_4x512 + ["trainer.micro_batch_size=64"], A100, True),
], ids=["qwen-a100", "qwen-3060", "qwen-unknown-gpu", "qwen-mb64-a100"])
def test_gradient_checkpointing_auto_on_cuda_follows_the_memory_estimate(overrides, hw, on):
    decision = gradient_checkpointing(loralab.compose(overrides), hw)
    assert decision.on is on and decision.reason.startswith("auto")
    kw = kwargs_for(overrides, hw=hw)
    assert kw[checkpointing_argument()] is on
    assert kw[f"{checkpointing_argument()}_kwargs"] == ({"use_reentrant": False} if on else None)


def test_gradient_checkpointing_auto_names_the_estimate_it_decided_by():
    assert "fit without it" in gradient_checkpointing(loralab.compose(QWEN_4x512), A100).reason
    assert "more than 90% of 11.6 GiB" in gradient_checkpointing(loralab.compose(QWEN_4x512), RTX3060).reason


@pytest.mark.parametrize("setting,hw,expected", [(True, CPU, True), (False, A100, False), (False, RTX3060, False),
                                                 (True, A100, True), (None, CPU_BF16, False)])
def test_gradient_checkpointing_explicit_setting_wins(setting, hw, expected):
    value = "null" if setting is None else str(setting).lower()
    cfg = loralab.compose([*QWEN_4x512, f"trainer.gradient_checkpointing={value}"])
    assert gradient_checkpointing(cfg, hw).on is expected


def test_gradient_checkpointing_from_a_yaml_boolean():
    # `trainer.gradient_checkpointing=true` from the command line is a bool in an Optional[bool] field
    assert kwargs_for(["trainer.gradient_checkpointing=true"])[checkpointing_argument()] is True
    assert kwargs_for(["trainer.gradient_checkpointing=false"], hw=A100)[checkpointing_argument()] is False


def test_warmup_is_the_ratio_as_a_float_when_steps_unset(default_cpu):
    assert type(default_cpu["warmup_steps"]) is float
    assert default_cpu["warmup_steps"] == pytest.approx(0.03)


def test_warmup_is_the_int_when_steps_set():
    kw = kwargs_for(["optimizer.warmup_steps=5"])
    assert type(kw["warmup_steps"]) is int and kw["warmup_steps"] == 5


def test_warmup_zero_steps_stays_an_int_zero():
    kw = kwargs_for(["optimizer.warmup_steps=0"])
    assert type(kw["warmup_steps"]) is int and kw["warmup_steps"] == 0


def test_batching_fields(default_cpu):
    assert default_cpu["per_device_train_batch_size"] == 8
    assert default_cpu["per_device_eval_batch_size"] == 16
    assert default_cpu["gradient_accumulation_steps"] == 1
    assert default_cpu["max_steps"] == 60
    assert default_cpu["num_train_epochs"] == 1.0
    assert default_cpu["max_length"] == 512 and default_cpu["packing"] is False


def test_batching_follows_overrides():
    kw = kwargs_for(["trainer.micro_batch_size=2", "trainer.gradient_accumulation_steps=8", "trainer.max_steps=20"])
    assert (kw["per_device_train_batch_size"], kw["gradient_accumulation_steps"], kw["max_steps"]) == (2, 8, 20)


def test_effective_batch_derives_the_accumulation_per_world_size():
    overrides = ["trainer.micro_batch_size=4", "trainer.effective_batch_size=32", "trainer.gradient_accumulation_steps=3"]
    for world, accumulation in ((1, 8), (2, 4), (4, 2)):
        cfg = loralab.compose(overrides)
        precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, CPU)
        kw = sft_config_kwargs(cfg, precision, CPU, "/tmp/run", batch_plan(cfg.trainer, cfg.optimizer.lr, world))
        assert kw["per_device_train_batch_size"] == 4
        assert kw["gradient_accumulation_steps"] == accumulation


def test_world_size_defaults_to_the_launcher_environment(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    kw = kwargs_for(["trainer.micro_batch_size=4", "trainer.effective_batch_size=32"])
    assert kw["gradient_accumulation_steps"] == 4


def test_learning_rate_is_the_scaled_one():
    kw = kwargs_for(["optimizer.lr=1e-4", "trainer.micro_batch_size=4", "trainer.effective_batch_size=64",
                     "trainer.lr_scaling=linear", "trainer.reference_batch_size=16"])
    assert kw["learning_rate"] == pytest.approx(4e-4)
    kw = kwargs_for(["optimizer.lr=1e-4", "trainer.micro_batch_size=4", "trainer.effective_batch_size=64",
                     "trainer.lr_scaling=sqrt", "trainer.reference_batch_size=16"])
    assert kw["learning_rate"] == pytest.approx(2e-4)


def test_optimisation_fields(default_cpu):
    assert default_cpu["optim"] == "adamw_torch"
    assert default_cpu["learning_rate"] == pytest.approx(2e-4)
    assert default_cpu["lr_scheduler_type"] == "cosine"
    assert default_cpu["lr_scheduler_kwargs"] == {}
    assert default_cpu["weight_decay"] == 0.0
    assert default_cpu["max_grad_norm"] == 1.0
    assert (default_cpu["adam_beta1"], default_cpu["adam_beta2"]) == (0.9, 0.999)


def test_optimisation_fields_follow_overrides():
    kw = kwargs_for(["optimizer.lr=1e-4", "optimizer.scheduler=linear", "optimizer.weight_decay=0.01",
                     "optimizer.max_grad_norm=0.3", "optimizer=adafactor"])
    assert kw["learning_rate"] == pytest.approx(1e-4) and kw["lr_scheduler_type"] == "linear"
    assert kw["weight_decay"] == pytest.approx(0.01) and kw["max_grad_norm"] == pytest.approx(0.3)
    assert kw["optim"] == "adafactor"


def test_cosine_with_min_lr_passes_the_min_lr_rate():
    kw = kwargs_for(["optimizer.scheduler=cosine_with_min_lr", "optimizer.min_lr_ratio=0.2"])
    assert kw["lr_scheduler_type"] == "cosine_with_min_lr"
    assert kw["lr_scheduler_kwargs"] == {"min_lr_rate": pytest.approx(0.2)}


def test_evaluation_and_checkpoint_fields(default_cpu):
    assert (default_cpu["eval_strategy"], default_cpu["eval_steps"]) == ("steps", 15)
    assert (default_cpu["save_strategy"], default_cpu["save_steps"]) == ("steps", 15)
    assert default_cpu["save_total_limit"] == 2
    assert default_cpu["load_best_model_at_end"] is True
    assert default_cpu["metric_for_best_model"] == "eval_loss"
    assert default_cpu["logging_steps"] == 5


def test_no_metric_for_best_model_without_evaluation():
    kw = kwargs_for(["trainer.eval_strategy=no", "trainer.load_best_model_at_end=false"])
    assert kw["eval_strategy"] == "no" and kw["load_best_model_at_end"] is False
    assert kw["metric_for_best_model"] is None


def test_report_to_none_for_logger_none(default_cpu):
    assert default_cpu["report_to"] == "none"


def test_run_name_is_the_runs_own():
    # transformers' W&B setup writes its arguments into the run's config, over loralab's run_name too
    assert kwargs_for(["run_name=my-run"])["run_name"] == "my-run"


def test_report_to_leaves_tensorboard_to_the_run_directorys_own_callback():
    # tracking.prepare_trackers adds TensorBoard's callback with the run's directory; report_to would add another
    assert kwargs_for(["logger=tensorboard"])["report_to"] == "none"
    assert kwargs_for(["logger=wandb-tensorboard"])["report_to"] == ["wandb"]


def test_group_by_length_becomes_the_sampling_strategy(default_cpu):
    assert default_cpu["train_sampling_strategy"] == "group_by_length"
    assert kwargs_for(["trainer.group_by_length=false"])["train_sampling_strategy"] == "random"
    # packed sequences have no meaningful length to group by
    assert kwargs_for(["trainer.packing=true"])["train_sampling_strategy"] == "random"


def test_run_identity_fields(default_cpu):
    assert default_cpu["output_dir"] == "/tmp/run"
    assert default_cpu["seed"] == 42 and default_cpu["data_seed"] == 42
    assert default_cpu["assistant_only_loss"] is False  # the mask arrives with the data


def test_pin_memory_only_on_cuda_with_auto(default_cpu):
    assert default_cpu["dataloader_pin_memory"] is False
    assert kwargs_for(hw=A100)["dataloader_pin_memory"] is True
    assert kwargs_for(["env.dataloader_pin_memory=false"], hw=A100)["dataloader_pin_memory"] is False


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks CPU-only construction")
@pytest.mark.parametrize("overrides", [[], ["logger=tensorboard", "optimizer.warmup_steps=3"],
                                       ["trainer.gradient_checkpointing=true", "trainer.group_by_length=false"]],
                         ids=["default", "tensorboard-warmup-steps", "gc-on"])
def test_build_sft_config_constructs_on_this_cpu(overrides, tmp_path):
    cfg = loralab.compose(overrides)
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, CPU)
    batch = batch_plan(cfg.trainer, cfg.optimizer.lr)
    kw = sft_config_kwargs(cfg, precision, CPU, str(tmp_path), batch)
    args = build_sft_config(cfg, precision, CPU, str(tmp_path), batch)
    assert type(args).__name__ == "SFTConfig"
    assert args.bf16 is kw["bf16"] is False
    assert args.fp16 is kw["fp16"] is False
    assert getattr(args, checkpointing_argument()) is kw[checkpointing_argument()]
    assert args.use_cpu is True
    assert args.max_steps == cfg.trainer.max_steps
    assert args.learning_rate == pytest.approx(cfg.optimizer.lr)
    assert args.warmup_steps == kw["warmup_steps"]


@pytest.mark.parametrize("overrides, flash, on", [
    ([], False, False),                                                   # micro-batch 1: nothing to pad
    (["trainer.micro_batch_size=4"], False, False),                       # sdpa: padded rows
    (["trainer.micro_batch_size=4"], True, True),                         # flash-attn: variable-length spans
    (["trainer.micro_batch_size=4", "trainer.padding_free=true"], False, True),
    (["trainer.micro_batch_size=4", "trainer.padding_free=false"], True, False),
    (["trainer.micro_batch_size=4", "model.trust_remote_code=true"], True, False),
    (["trainer.packing=true"], False, True),                              # packing is padding-free
], ids=["mb1", "sdpa", "flash", "forced-on", "forced-off", "remote-code", "packing"])
def test_padding_free_batches_where_the_attention_keeps_rows_apart(monkeypatch, overrides, flash, on):
    import loralab.training_args as training_args
    from loralab.training_args import padding_free

    monkeypatch.setattr(training_args, "attention_implementation",
                        lambda requested, hw: ("flash_attention_2" if flash else "sdpa", None))
    cfg = loralab.compose(overrides)
    decision = padding_free(cfg, A100)
    assert decision.on is on and decision.attention == ("flash_attention_2" if flash else "sdpa")
    kw = sft_config_kwargs(cfg, resolve_precision("auto", None, A100), A100, "/tmp/run",
                           batch_plan(cfg.trainer, cfg.optimizer.lr, 1))
    assert kw["padding_free"] is on
    # TRL cannot truncate padding-free unpacked rows; ours arrive truncated already
    assert kw["max_length"] == (None if on and not cfg.trainer.packing else cfg.trainer.max_length)


def test_flash_attention_falls_back_to_sdpa_off_cuda_and_says_why():
    from loralab.hardware import attention_implementation

    assert attention_implementation("sdpa", A100) == ("sdpa", None)
    chosen, why = attention_implementation("flash_attention_2", CPU)
    assert chosen == "sdpa" and "needs CUDA" in why
