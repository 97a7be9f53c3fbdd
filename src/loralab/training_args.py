"""The one place where loralab's config becomes library arguments (TRL's SFTConfig, which
extends transformers' TrainingArguments). Library API drift is fixed here and only here, and
tests check it field by field.

Nothing is left to library defaults that matter: TRL 1.x defaults to bf16=True and gradient
checkpointing on, even on a CPU (18x slower there), so both are always set explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from omegaconf import DictConfig

from .batching import BatchPlan
from .distributed import training_kwargs as distributed_kwargs
from .hardware import Hardware, Precision, attention_implementation, cuda_only_by_default
from .memory import gradient_checkpointing


def checkpointing_argument() -> str:
    """transformers renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (the old name
    warns now, and goes in v6); older releases, still common on GPU machines, know only the old one."""
    import dataclasses

    from trl import SFTConfig

    names = {f.name for f in dataclasses.fields(SFTConfig)}
    return "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"


@dataclass(frozen=True)
class PaddingFree:
    on: bool
    attention: str  # the attention implementation the model is built with
    reason: str

    def describe(self) -> str:
        return f"{'on' if self.on else 'off'} ({self.reason})"


def padding_free(cfg: DictConfig, hw: Hardware) -> PaddingFree:
    """Whether a micro-batch trains as one sequence of its rows (TRL's padding-free collator:
    position ids restart per row, no pad token is computed), and why. transformers keeps the rows
    apart by their position ids: flash-attn as variable-length spans; sdpa and eager with a
    block-diagonal mask over all the micro-batch's tokens (tests/test_packing.py)."""
    t = cfg.trainer
    attention, _ = attention_implementation(cfg.model.attn_implementation, hw)
    if t.packing:
        return PaddingFree(True, attention, "packing is padding-free")
    if t.padding_free is not None:
        return PaddingFree(bool(t.padding_free), attention, "trainer.padding_free")
    if t.micro_batch_size == 1:
        return PaddingFree(False, attention, "auto: one row per micro-batch has no padding")
    if cfg.model.trust_remote_code:
        return PaddingFree(False, attention, "auto: the model's own code builds its attention mask")
    if attention == "flash_attention_2":
        return PaddingFree(True, attention, "auto: flash_attention_2 keeps the rows apart as variable-length spans")
    return PaddingFree(False, attention, f"auto: {attention} would need a mask over all the micro-batch's tokens; "
                                         "rows padded to the longest instead")


def sft_config_kwargs(cfg: DictConfig, precision: Precision, hw: Hardware, output_dir: str, batch: BatchPlan) -> dict:
    """``batch``: the run's batch plan (batching.batch_plan over all ranks), whose accumulation and
    learning rate the trainer takes."""
    t, opt = cfg.trainer, cfg.optimizer
    # under FSDP its own activation_checkpointing (distributed.fsdp_config) replaces the Trainer's
    gc = gradient_checkpointing(cfg, hw).on and cfg.distributed.strategy != "fsdp"
    flat = padding_free(cfg, hw)
    # transformers 5 removed warmup_ratio: warmup_steps takes a float < 1 as a ratio.
    warmup = opt.warmup_steps if opt.warmup_steps is not None else float(opt.warmup_ratio)
    scheduler_kwargs = {"min_lr_rate": opt.min_lr_ratio} if opt.scheduler == "cosine_with_min_lr" else {}
    kwargs = dict(
        output_dir=output_dir,
        seed=cfg.seed,
        data_seed=cfg.seed,
        full_determinism=t.deterministic,
        # precision: decided by hardware.resolve_precision, never by the library
        use_cpu=hw.device == "cpu",
        bf16=precision.bf16,
        fp16=precision.fp16,
        tf32=precision.tf32,
        **{checkpointing_argument(): gc,
           f"{checkpointing_argument()}_kwargs": {"use_reentrant": False} if gc else None},
        # batching
        per_device_train_batch_size=t.micro_batch_size,
        per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=batch.gradient_accumulation_steps,
        num_train_epochs=t.num_epochs,
        max_steps=t.max_steps,
        train_sampling_strategy="group_by_length" if t.group_by_length and not t.packing else "random",
        # sequence handling (data arrive pre-tokenized and already truncated, see data/pipeline.py;
        # TRL refuses max_length with padding-free unpacked rows, as it cannot truncate them)
        max_length=None if flat.on and not t.packing else t.max_length,
        packing=t.packing,
        padding_free=flat.on,
        # "bfd" keeps samples whole and makes TRL's collator padding-free: position_ids restart per
        # sample, from which transformers builds a block-diagonal mask (sdpa, eager) or varlen spans
        # (flash-attn), so packed samples never attend to each other (tests/test_packing.py).
        # "wrapped" would cut samples and let them see each other: pinned, not left to TRL's default.
        packing_strategy="bfd",
        # evaluation rows stay whole and unpacked (eval loss comparable with unpacked runs); the shared
        # padding-free collator still drops their padding
        eval_packing=False,
        assistant_only_loss=False,  # the assistant mask is already in the data; TRL builds labels from it
        # optimisation
        optim=opt.optim,
        learning_rate=batch.lr,
        lr_scheduler_type=opt.scheduler,
        lr_scheduler_kwargs=scheduler_kwargs,
        warmup_steps=warmup,
        weight_decay=opt.weight_decay,
        max_grad_norm=opt.max_grad_norm,
        adam_beta1=opt.adam_beta1,
        adam_beta2=opt.adam_beta2,
        neftune_noise_alpha=t.neftune_noise_alpha,
        torch_compile=t.compile,
        # evaluation, checkpoints, logging
        eval_strategy=t.eval_strategy,
        eval_steps=t.eval_steps,
        eval_on_start=t.eval_on_start and t.eval_strategy != "no",
        save_strategy=t.save_strategy,
        save_steps=t.save_steps,
        save_total_limit=t.save_total_limit,
        load_best_model_at_end=t.load_best_model_at_end,
        metric_for_best_model=t.metric_for_best_model if t.eval_strategy != "no" else None,
        greater_is_better=t.greater_is_better,
        logging_steps=t.logging_steps,
        logging_first_step=True,
        include_num_input_tokens_seen="all",  # positions processed, padding included (TRL's num_tokens: real ones)
        # TensorBoard's callback comes from tracking.prepare_trackers, pointed at the run directory
        report_to=[r for r in cfg.logger.report_to if r != "tensorboard"] or "none",
        run_name=cfg.run_name,  # transformers' W&B setup writes its arguments into the run config too
        dataloader_num_workers=cfg.env.dataloader_num_workers,
        dataloader_pin_memory=cuda_only_by_default(cfg.env.dataloader_pin_memory, hw),
        remove_unused_columns=True,
        save_only_model=False,
    )
    # several ranks (torchrun / accelerate launch): DDP settings, the DeepSpeed config or FSDP's
    kwargs.update(distributed_kwargs(cfg, hw.device))
    return kwargs


def build_sft_config(cfg: DictConfig, precision: Precision, hw: Hardware, output_dir: str, batch: BatchPlan):
    from trl import SFTConfig

    return SFTConfig(**sft_config_kwargs(cfg, precision, hw, output_dir, batch))
