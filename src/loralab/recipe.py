"""The training recipe: composed config in, finished run directory out. Read top to bottom:
validate → environment → data → model + LoRA → SFTTrainer → adapter → tool-call evaluation."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .config.validation import validate
from .console import console, print_config_tree, print_summary
from .rundir import base_manifest, read_status, set_status, write_json, write_text
from .secrets import redact, redact_hydra_record
from .tracking import abort_trackers, finish_trackers, prepare_trackers
from .resume import RunInterrupted
from .sweeps.trial import TrialPruned

log = logging.getLogger(__name__)


class RunDirError(RuntimeError):
    pass


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict
    eval_report: dict | None

    def objectives(self) -> dict[str, float]:
        """Flat numbers a sweeper can optimise: the best eval loss and the primary split's tool-call rates."""
        out = {}
        best = self.metrics.get("final", {}).get("eval_loss_best")
        if best is not None:
            out["eval_loss"] = best
        if self.eval_report:
            primary = self.eval_report["splits"].get(self.eval_report["primary"], {})
            for name, rate in primary.get("fine_tuned", {}).get("report", {}).get("rates", {}).items():
                if rate.get("value") is not None:
                    out[name] = rate["value"]
        return out


def _prepare_run_dir(run_dir: Path, cfg: DictConfig) -> None:
    if read_status(run_dir).get("state") == "completed":
        raise RunDirError(f"{run_dir} already holds a completed run; refusing to overwrite it. "
                          "Choose another hydra.run.dir or delete the directory first.")
    run_dir.mkdir(parents=True, exist_ok=True)
    # secrets come from the environment; none is written into the run directory
    write_text(run_dir / "config.yaml", OmegaConf.to_yaml(redact(cfg)))
    redact_hydra_record(run_dir)


def train(cfg: DictConfig, run_dir: str | Path) -> RunResult:
    """Run one fine-tuning job into ``run_dir``; the status file records how it ended.
    With ``resume`` set, continue that run (its saved config, its directory) instead."""
    checkpoint, resuming = None, bool(cfg.resume)
    if resuming:
        from .resume import resolve_resume

        run_dir, cfg, checkpoint = resolve_resume(cfg)
        console.print(f"resuming {run_dir} from {checkpoint or 'the start (no complete checkpoint)'}")
    validate(cfg)  # before anything is written or loaded
    run_dir = Path(run_dir)
    if not resuming:
        _prepare_run_dir(run_dir, cfg)
    set_status(run_dir, "running", resumed_from=str(checkpoint) if checkpoint else None)
    try:
        result = _train(cfg, run_dir, checkpoint)
    except RunInterrupted as exc:
        abort_trackers(cfg, run_dir, "interrupted")
        set_status(run_dir, "interrupted", reason=str(exc), step=exc.step)
        raise
    except KeyboardInterrupt:
        abort_trackers(cfg, run_dir, "interrupted")
        set_status(run_dir, "interrupted", reason="KeyboardInterrupt")
        raise
    except TrialPruned as exc:
        abort_trackers(cfg, run_dir, "pruned")
        set_status(run_dir, "pruned", reason=str(exc), step=exc.step, value=exc.value)
        raise
    except BaseException as exc:
        abort_trackers(cfg, run_dir, "failed")
        set_status(run_dir, "failed", error=redact(f"{type(exc).__name__}: {exc}"),
                   traceback=redact(traceback.format_exc()))
        raise
    set_status(run_dir, "completed")
    console.print(f"[bold green]run complete:[/bold green] {run_dir}")
    return result


def _train(cfg: DictConfig, run_dir: Path, checkpoint: Path | None = None) -> RunResult:
    from .runtime.environment import apply_environment

    env_applied = apply_environment(cfg.env)
    from .hardware import detect, resolve_precision  # imports torch: after the environment is set

    hw = detect()
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, hw)
    print_config_tree(OmegaConf.create(redact(cfg)))
    console.print(f"precision: [bold]{precision.name}[/bold] ({precision.reason}) on {hw.device} {hw.device_name}")

    from .data.pipeline import duplicates_across_splits, load_splits, tokenize_split
    from .modeling import apply_lora, build_model, build_tokenizer, lora_alpha, model_location, parameter_counts
    from .training_args import gradient_checkpointing_enabled

    import datasets

    datasets.disable_progress_bars()  # the data are small; the trainer's progress bar is the one to watch
    started = time.perf_counter()
    splits = load_splits(cfg.data)
    location = model_location(cfg.model, cfg.paths.cache_dir)
    tokenizer = build_tokenizer(cfg.model, location)
    train_records = splits.records["train"][: cfg.data.max_train_examples or None]
    train_set = tokenize_split(train_records, tokenizer, cfg.data, splits.tools, cfg.trainer.max_length, "train")
    eval_set = None
    if cfg.trainer.eval_strategy != "no" and splits.records.get("validation"):
        eval_records = splits.records["validation"][: cfg.data.max_eval_examples or None]
        eval_set = tokenize_split(eval_records, tokenizer, cfg.data, splits.tools, cfg.trainer.max_length, "validation",
                                  sort_by_length=True)
    data_stats = {"fingerprint": splits.fingerprint(cfg.data), "train": train_set.stats,
                  "validation": eval_set.stats if eval_set else None,
                  "rows_per_split": {k: len(v) for k, v in splits.records.items()},
                  "duplicates_with_train": duplicates_across_splits(splits.records)}
    write_json(run_dir / "data_stats.json", data_stats)

    gc = gradient_checkpointing_enabled(cfg.trainer.gradient_checkpointing, hw)
    from transformers import set_seed

    set_seed(cfg.seed)  # LoRA's random init happens before the Trainer seeds anything
    model = apply_lora(build_model(cfg.model, location, precision, hw, gc), cfg.lora)
    counts = parameter_counts(model)
    t = cfg.trainer
    effective_batch = t.micro_batch_size * t.gradient_accumulation_steps * max(1, _world_size())
    tokens_per_row = train_set.stats["tokens"] / max(1, train_set.stats["kept"])
    summary = {
        "model": f"{cfg.model.name} ({location})",
        "trainable parameters": f"{counts['trainable']:,} of {counts['total']:,} ({100 * counts['trainable_share']:.3f} %)",
        "LoRA modules": counts["lora_modules"],
        "LoRA scale alpha/r": f"{lora_alpha(cfg.lora)}/{cfg.lora.r} = {lora_alpha(cfg.lora) / cfg.lora.r:g}",
        "effective batch": f"{t.micro_batch_size} micro x {t.gradient_accumulation_steps} accum x {_world_size()} ranks = {effective_batch}",
        "tokens per optimiser step": f"~{int(tokens_per_row * effective_batch):,}",
        "planned steps": t.max_steps if t.max_steps > 0 else f"{t.num_epochs} epochs",
        "train rows": f"{train_set.stats['kept']:,} (truncated {train_set.stats['truncated']}, dropped {train_set.stats['dropped']})",
        "precision": precision.name,
        "gradient checkpointing": str(gc),
    }
    print_summary("run summary", summary)
    manifest = {**base_manifest(), "run_dir": str(run_dir), "model_location": location,
                "hardware": hw.to_dict(), "precision": precision.to_dict(), "environment": env_applied,
                "data_fingerprint": data_stats["fingerprint"], "parameters": counts, "effective_batch": effective_batch}
    write_json(run_dir / "manifest.json", redact(manifest))

    tool_callback = _tool_call_callback(cfg, splits, tokenizer) if eval_set and cfg.eval.during_training else None
    trainer = _build_trainer(cfg, model, tokenizer, train_set, eval_set, run_dir, precision, hw, tool_callback, summary_seed={
        "setup_s": round(time.perf_counter() - started, 2), "effective_batch": effective_batch,
        "trainable_parameters": counts["trainable"]})
    recorder = _callback(trainer, "MetricsRecorder")
    if checkpoint is not None:
        recorder.keep_history_until(checkpoint)
        trainer.args.eval_on_start = False  # the start was evaluated before the crash
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    _callback(trainer, "GracefulStop").raise_if_stopped()
    metrics = recorder.write(trainer.state, **_throughput(recorder.summary, trainer.state))
    reporter = _callback(trainer, "TrialReporter")
    if reporter is not None:
        reporter.raise_if_pruned()
    _save_adapter(trainer, tokenizer, run_dir)
    _report_losses(metrics)

    eval_report = None
    if cfg.eval.at_end and any(splits.records.get(s) for s in cfg.eval.splits):
        from .evaluation.runner import evaluate_after_training

        eval_report = evaluate_after_training(cfg, run_dir, trainer.model, tokenizer, splits, location)
    finish_trackers(cfg, run_dir, metrics, eval_report)
    return RunResult(run_dir, metrics, eval_report)


def _callback(trainer, name: str):
    return next((cb for cb in trainer.callback_handler.callbacks if type(cb).__name__ == name), None)


def _world_size() -> int:
    import os

    return int(os.environ.get("WORLD_SIZE", 1))


def _tool_call_callback(cfg, splits, tokenizer):
    from .evaluation.callback import ToolCallEvalCallback
    from .evaluation.runner import max_new_tokens_for

    records = splits.records["validation"][: cfg.eval.during_training_examples]
    max_new = cfg.eval.max_new_tokens or max_new_tokens_for(records, tokenizer, cfg.data, splits.tools)
    return ToolCallEvalCallback(records, splits.tools, cfg.data, tokenizer, cfg.eval.batch_size, max_new)


def _build_trainer(cfg, model, tokenizer, train_set, eval_set, run_dir, precision, hw, tool_callback, summary_seed):
    from transformers import EarlyStoppingCallback
    from .callbacks import MetricsRecorder, NonFiniteLossGuard
    from .resume import CheckpointMarker, GracefulStop
    from .sft_trainer import LoralabSFTTrainer
    from .training_args import build_sft_config, cuda_only_by_default

    args = build_sft_config(cfg, precision, hw, str(run_dir / "checkpoints"))
    callbacks = [MetricsRecorder(run_dir, dict(summary_seed)), NonFiniteLossGuard(cfg.optimizer.lr),
                 CheckpointMarker(), GracefulStop()]
    if tool_callback is not None:
        callbacks.append(tool_callback)  # before the reporter and early stopping, which read the metrics it adds
    if cfg.sweep.trial_number is not None:
        from .sweeps.trial import TrialReporter, open_trial

        trial = open_trial(cfg.sweep.storage, cfg.sweep.study_name, cfg.sweep.trial_number)
        callbacks.append(TrialReporter(trial, cfg.sweep.report_metric))
    if cfg.trainer.early_stopping_patience:
        callbacks.append(EarlyStoppingCallback(cfg.trainer.early_stopping_patience, cfg.trainer.early_stopping_threshold))
    callbacks += prepare_trackers(cfg, run_dir)  # before the Trainer: its tracker callbacks read the env then
    trainer = LoralabSFTTrainer(model=model, args=args, train_dataset=train_set.dataset,
                                eval_dataset=eval_set.dataset if eval_set else None, processing_class=tokenizer,
                                callbacks=callbacks, fused_lm_head=cuda_only_by_default(cfg.trainer.fused_lm_head, hw))
    if tool_callback is not None:
        tool_callback.trainer = trainer
    return trainer


def _throughput(summary: dict, state) -> dict:
    runtime = summary.get("train_runtime")
    tokens = getattr(state, "num_input_tokens_seen", 0)
    if not runtime or not tokens:
        return {}
    return {"train_tokens": tokens, "train_tokens_per_s": round(tokens / runtime, 1),
            "s_per_step": round(runtime / max(1, state.global_step), 3)}


def _save_adapter(trainer, tokenizer, run_dir: Path) -> None:
    """Save the (best, when load_best_model_at_end) adapter under a temporary name, then rename."""
    import os
    import shutil

    final, tmp = run_dir / "adapter", run_dir / ".adapter.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def _report_losses(metrics: dict) -> None:
    final = metrics["final"]
    if "eval_loss_first" in final:
        console.print(f"eval loss: first {final['eval_loss_first']:.4f} -> last {final['eval_loss_last']:.4f} "
                      f"(best {final['eval_loss_best']:.4f})")
    if "train_loss_first" in final:
        console.print(f"train loss: first {final['train_loss_first']:.4f} -> last {final['train_loss_last']:.4f}")
