"""The training recipe: composed config in, finished run directory out. Read top to bottom:
validate → environment → data → model + LoRA → SFTTrainer → adapter → tool-call evaluation."""

from __future__ import annotations

import errno
import logging
import shutil
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from .config.validation import validate
from .batching import batch_plan
from .console import console, print_config_tree, print_summary
from . import rundir
from .distributed import (adopt_submitit_tasks, engine_config_record, is_main_process, main_process_only,
                          world_size_from_env)
from .rundir import base_manifest, read_status, redact_hydra_record
from .secrets import redact
from .tracking import abort_trackers, finish_trackers, prepare_trackers
from .errors import DiskFull, OutOfMemoryLadderExhausted, RunDirError, RunInterrupted
from .sweeps.trial import TrialPruned

log = logging.getLogger(__name__)

# Under torchrun / accelerate launch every rank runs this recipe; rank 0 alone writes the run directory.
set_status, write_json, write_text = map(main_process_only, (rundir.set_status, rundir.write_json, rundir.write_text))


_NO_SPACE = ("No space left on device", "StorageFull", "os error 28")


def _disk_full(exc: BaseException, run_dir: Path | None = None) -> bool:
    """ENOSPC as an OSError, or wrapped by torch.save, safetensors or the tokenizers library (each
    words it differently, and torch.save's stream writer may only say "unexpected pos"): by the
    error, or else by the run directory's file system having no space left."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    if any(text in str(exc) for text in _NO_SPACE):
        return True
    if run_dir is None or not isinstance(exc, Exception):
        return False
    import os

    try:
        fs = os.statvfs(run_dir)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < 1 << 20


_RESERVE = ".disk-reserve"


def _reserve_space(run_dir: Path) -> None:
    """64 KiB held while the run trains, given back when the disk fills: the status file, which
    says the run failed and how to continue it, must still fit then."""
    if is_main_process():
        (run_dir / _RESERVE).write_bytes(b"\0" * (1 << 16))


def _release_space(run_dir: Path) -> None:
    if is_main_process():
        (run_dir / _RESERVE).unlink(missing_ok=True)


def _remove_partial_checkpoints(run_dir: Path) -> list[Path]:
    """Checkpoints without the completion marker: what a failed save left. They can never be
    resumed from, and removing them frees the space the status file needs."""
    from .resume import MARKER

    root = run_dir / "checkpoints"
    partial = [p for p in root.glob("checkpoint-*") if p.is_dir() and not (p / MARKER).is_file()] \
        if root.is_dir() else []
    for path in partial:
        shutil.rmtree(path, ignore_errors=True)
    return partial


def _previous_oom_fallbacks(run_dir: Path) -> list[dict]:
    """A resumed run keeps the record of the fallbacks its earlier attempts took."""
    import json

    try:
        return list(json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("oom_fallbacks") or [])
    except (OSError, ValueError):
        return []


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
    if not is_main_process():
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    # secrets come from the environment; none is written into the run directory
    write_text(run_dir / "config.yaml", OmegaConf.to_yaml(redact(cfg)))
    redact_hydra_record(run_dir)
    engine = engine_config_record(cfg)  # deepspeed.json / fsdp.json, as generated (reusable as is)
    if engine is not None:
        write_json(run_dir / engine[0], engine[1])


def train(cfg: DictConfig, run_dir: str | Path) -> RunResult:
    """Run one fine-tuning job into ``run_dir``; the status file records how it ended.
    With ``resume`` set, continue that run (its saved config, its directory) instead."""
    adopt_submitit_tasks()  # a submitit job with several tasks becomes one DDP group
    checkpoint, resuming, resumed = None, bool(cfg.resume), None
    if resuming:
        from .resume import cli_overrides, resolve_resume

        resumed = resolve_resume(cfg, cli_overrides())  # the honoured command-line overrides applied
        run_dir, cfg, checkpoint = resumed.run_dir, resumed.cfg, resumed.checkpoint
        console.print(f"resuming {run_dir} from {checkpoint or 'the start (no complete checkpoint)'}")
    validate(cfg)  # before anything is written or loaded
    from .hardware import detect
    from .memory import refuse_far_beyond_memory

    refuse_far_beyond_memory(cfg, detect())
    batch_plan(cfg.trainer, cfg.optimizer.lr, world_size_from_env())  # the world size is known only now
    run_dir = Path(run_dir)
    from .runlock import RunLock

    # one live process per run directory: a second start or resume there is refused (rank 0 holds it)
    lock = RunLock.acquire(run_dir, "resume" if resuming else "train in") if is_main_process() else RunLock(None)
    try:
        return _run(cfg, run_dir, checkpoint, resumed)
    finally:
        lock.release()  # however the run ended


def _run(cfg: DictConfig, run_dir: Path, checkpoint: Path | None, resumed) -> RunResult:
    """The run, once its directory is locked; the status file records how it ended."""
    if resumed is None:
        _prepare_run_dir(run_dir, cfg)
    else:
        resumed.record()  # config.yaml with the honoured overrides, and resumes.json
    set_status(run_dir, "running", resumed_from=str(checkpoint) if checkpoint else None,
               **({"resume_overrides": resumed.overrides} if resumed is not None and resumed.overrides else {}))
    try:
        _reserve_space(run_dir)
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
        full = _disk_full(exc, run_dir)
        removed = []
        if full:
            _release_space(run_dir)
            removed = _remove_partial_checkpoints(run_dir) if is_main_process() else []
        written = True
        try:
            abort_trackers(cfg, run_dir, "failed")
            set_status(run_dir, "failed", error=redact(f"{type(exc).__name__}: {exc}"),
                       traceback=redact(traceback.format_exc()),
                       **({"disk_full": True, "continue_with": f"loralab-train resume={run_dir}"} if full else {}))
        except OSError as status_exc:  # the disk is full for the status file too: say so, keep the cause
            if not (full or _disk_full(status_exc, run_dir)):
                raise
            full, written = True, False
        if full:
            raise DiskFull(run_dir, exc, written, removed) from exc
        raise
    finally:
        _release_space(run_dir)
    set_status(run_dir, "completed")
    console.print(f"[bold green]run complete:[/bold green] {run_dir}")
    return result


def _train(cfg: DictConfig, run_dir: Path, checkpoint: Path | None = None) -> RunResult:
    from .runtime.environment import apply_environment

    from .run_record import Phases

    phases = Phases()  # record.json: where the wall time went
    env_applied = apply_environment(cfg.env)
    from .hardware import detect, resolve_precision  # imports torch: after the environment is set

    hw = detect()
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, hw)
    print_config_tree(OmegaConf.create(redact(cfg)))
    console.print(f"precision: [bold]{precision.name}[/bold] ({precision.reason}) on {hw.device} {hw.device_name}")
    from .memory import summary_for_run

    console.print(summary_for_run(cfg, hw))  # predicted peak vs this device: before anything is loaded

    import torch

    from .data.check import check_data, print_report
    from .data.pipeline import duplicates_across_splits, has_conversations, load_splits
    from .data.prompting import describe_prompt
    from .modeling import build_tokenizer, model_location, parameter_counts
    from .oom import free_memory, in_evaluation, next_rung, record
    from .resume import newest_complete_checkpoint
    from .training_args import cuda_only_by_default, gradient_checkpointing_enabled

    import datasets

    datasets.disable_progress_bars()  # the data are small; the trainer's progress bar is the one to watch
    started = time.perf_counter()
    with phases.timed("data"):
        splits = load_splits(cfg.data)  # every invalid row reported at once, before any model file is touched
    with phases.timed("model"):  # the embedded model is materialised here on first use
        location = model_location(cfg.model, cfg.paths.cache_dir)
        tokenizer = build_tokenizer(cfg.model, location)
    data_started = time.perf_counter()
    report = check_data(cfg, tokenizer, splits)  # what loralab-data-check prints: lengths, truncation, duplicates
    report.raise_if_problems()
    print_report(report, cfg)
    train_set, eval_set = _tokenize(cfg, splits, tokenizer)
    data_stats = {"fingerprint": splits.fingerprint(cfg.data), "train": train_set.stats,
                  "validation": eval_set.stats if eval_set else None,
                  "rows_per_split": {k: len(v) for k, v in splits.records.items()},
                  "duplicates_with_train": duplicates_across_splits(splits.records), "check": report.to_dict()}
    write_json(run_dir / "data_stats.json", data_stats)
    phases.seconds["data"] += round(time.perf_counter() - data_started, 1)

    gc = gradient_checkpointing_enabled(cfg.trainer.gradient_checkpointing, hw)
    # one rank running out of memory while the others go on would desynchronise them: single process only
    ladder_on = cuda_only_by_default(cfg.trainer.oom_fallback, hw) and world_size_from_env() == 1
    oom_history: list[dict] = _previous_oom_fallbacks(run_dir) if checkpoint is not None else []
    tool_callback = _tool_call_callback(cfg, splits, tokenizer) if eval_set and cfg.eval.during_training else None
    budget = None  # trainer.max_time: one clock for every attempt (time_budget.py)
    while True:  # one pass per attempt: more than one only when the OOM ladder steps in
        with phases.timed("model"):
            model = _build_peft_model(cfg, location, precision, hw, gc, tokenizer)
        counts = parameter_counts(model)
        batch = batch_plan(cfg.trainer, cfg.optimizer.lr, world_size_from_env())  # the ladder changes it
        _announce(cfg, location, counts, train_set, precision, gc, batch,
                  describe_prompt(cfg.data.system_prompt, cfg.data.tools_in_prompt, splits.tools,
                                  splits.records["train"]))
        manifest = {**base_manifest(), "run_dir": str(run_dir), "model_location": location,
                    "hardware": hw.to_dict(), "precision": precision.to_dict(), "environment": env_applied,
                    "data_fingerprint": data_stats["fingerprint"], "parameters": counts,
                    "effective_batch": batch.effective_batch_size, "batching": batch.to_dict(),
                    "oom_fallbacks": oom_history,
                    # the hub commit actually loaded (transformers records it); None for local directories
                    "model_revision": {"requested": cfg.model.revision,
                                       "resolved": getattr(model.config, "_commit_hash", None)}}
        write_json(run_dir / "manifest.json", redact(manifest))
        trainer = _build_trainer(cfg, model, tokenizer, train_set, eval_set, run_dir, precision, hw, tool_callback,
                                 summary_seed={"setup_s": round(time.perf_counter() - started, 2),
                                               "effective_batch": batch.effective_batch_size,
                                               "learning_rate": batch.lr,
                                               "trainable_parameters": counts["trainable"]})
        recorder = _callback(trainer, "MetricsRecorder")
        if checkpoint is not None:
            recorder.keep_history_until(checkpoint)
            trainer.args.eval_on_start = False  # the start was evaluated before
        if cfg.trainer.max_time is not None:  # measure, set the steps the schedule spans, stop when spent
            from .time_budget import TimeBudget

            budget = budget or TimeBudget(cfg.trainer.max_time)
            with phases.timed("training"):  # the warm-up that measures the speed
                manifest["time_budget"] = recorder.summary["time_budget"] = budget.apply(trainer, checkpoint)
            write_json(run_dir / "manifest.json", redact(manifest))
        try:
            with phases.timed("training"):  # the evaluations during training included
                trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
            break
        except torch.OutOfMemoryError as exc:
            rung = next_rung(cfg, during_evaluation=in_evaluation(exc)) if ladder_on else None
            if rung is None:
                if not ladder_on:
                    raise
                raise OutOfMemoryLadderExhausted(oom_history, exc) from exc
            entry = record(oom_history, rung, cfg, trainer.state.global_step, str(exc))
        # outside the except block: the traceback and the activations it pins are gone
        stop = _callback(trainer, "GracefulStop")
        stop.on_train_end(None, None, None)  # on_train_end never ran: restore the signal handlers
        stop.step = trainer.state.global_step
        stop.raise_if_stopped()  # Ctrl-C / SIGTERM came before the OOM: stop, do not retry
        if tool_callback is not None:
            tool_callback.trainer = None  # it would keep the old trainer (model, optimizer) alive
        del trainer, model, recorder, stop
        free_memory()
        console.print(f"[bold yellow]out of memory at step {entry['at_step']}[/bold yellow]; retrying with {entry['change']}")
        log.warning("OOM fallback: %s", entry["change"])
        cfg = rung.apply(cfg)
        write_text(run_dir / "config.yaml", OmegaConf.to_yaml(redact(cfg)))  # resume continues with what runs
        if rung.restart:  # the adapter's shape changed: earlier checkpoints cannot be loaded
            shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
            checkpoint = None
        else:
            checkpoint = newest_complete_checkpoint(run_dir)
        entry["resumed_from"] = str(checkpoint) if checkpoint else None
        if "trainer.max_length" in rung.overrides:
            train_set, eval_set = _tokenize(cfg, splits, tokenizer)
            data_stats.update(train=train_set.stats, validation=eval_set.stats if eval_set else None)
            write_json(run_dir / "data_stats.json", data_stats)
        if tool_callback is not None:
            tool_callback = _tool_call_callback(cfg, splits, tokenizer)
    _callback(trainer, "GracefulStop").raise_if_stopped()
    metrics = recorder.write(trainer.state, **_throughput(recorder.summary, trainer.state, recorder.train))
    if "time_budget" in manifest:  # the steps run and whether the budget stopped them
        write_json(run_dir / "manifest.json", redact(manifest))
    reporter = _callback(trainer, "TrialReporter")
    if reporter is not None:
        reporter.raise_if_pruned()
    _save_adapter(trainer, tokenizer, run_dir)
    _report_losses(metrics)

    eval_report = None
    if cfg.eval.at_end and _evaluates_here(cfg, run_dir) and any(has_conversations(splits.records.get(s))
                                                                  for s in cfg.eval.splits):
        from .evaluation.runner import evaluate_after_training

        with phases.timed("evaluation"):
            eval_report = evaluate_after_training(cfg, run_dir, trainer.model, tokenizer, splits, location)
    finish_trackers(cfg, run_dir, metrics, eval_report)
    from .run_record import record

    write_json(run_dir / "record.json", redact(record(cfg, phases, metrics, eval_report)))
    return RunResult(run_dir, metrics, eval_report)


def _tokenize(cfg: DictConfig, splits, tokenizer):
    from .data.pipeline import tokenize_split

    train_records = splits.records["train"][: cfg.data.max_train_examples or None]
    train_set = tokenize_split(train_records, tokenizer, cfg.data, splits.tools, cfg.trainer.max_length, "train")
    eval_set = None
    if cfg.trainer.eval_strategy != "no" and splits.records.get("validation"):
        eval_records = splits.records["validation"][: cfg.data.max_eval_examples or None]
        eval_set = tokenize_split(eval_records, tokenizer, cfg.data, splits.tools, cfg.trainer.max_length, "validation",
                                  sort_by_length=True)
    return train_set, eval_set


def _build_peft_model(cfg: DictConfig, location: str, precision, hw, gradient_checkpointing: bool, tokenizer):
    from transformers import set_seed

    from .modeling import added_token_ids, apply_lora, build_model

    set_seed(cfg.seed)  # LoRA's random init happens before the Trainer seeds anything
    model = build_model(cfg.model, location, precision, hw, gradient_checkpointing, tokenizer=tokenizer)
    return apply_lora(model, cfg.lora, added_token_ids(tokenizer, cfg.model))  # added tokens' rows train too


def _announce(cfg: DictConfig, location: str, counts: dict, train_set, precision, gc: bool, batch, prompt: str) -> None:
    """Print the start-of-run summary (the ETA follows once the first steps are timed)."""
    from .modeling import lora_alpha

    t = cfg.trainer
    tokens_per_row = train_set.stats["tokens"] / max(1, train_set.stats["kept"])
    length = t.max_steps if t.max_steps > 0 else f"{t.num_epochs} epochs"
    summary = {
        "model": f"{cfg.model.name} ({location})",
        "trainable parameters": f"{counts['trainable']:,} of {counts['total']:,} ({100 * counts['trainable_share']:.3f} %)",
        "LoRA modules": counts["lora_modules"],
        "LoRA scale alpha/r": f"{lora_alpha(cfg.lora)}/{cfg.lora.r} = {lora_alpha(cfg.lora) / cfg.lora.r:g}",
        "effective batch": batch.describe(),
        "tokens per optimiser step": (f"up to {t.max_length * batch.effective_batch_size:,} (packed rows)" if t.packing
                                      else f"~{int(tokens_per_row * batch.effective_batch_size):,}"),
        "planned steps": (length if t.max_time is None
                          else f"what the {t.max_time} budget holds, at most {length} (timed below)"),
        "train rows": f"{train_set.stats['kept']:,} (truncated {train_set.stats['truncated']}, dropped {train_set.stats['dropped']})",
        "prompt": prompt,
        "precision": precision.name,
        "gradient checkpointing": str(gc),
    }
    print_summary("run summary", summary)


def _callback(trainer, name: str):
    return next((cb for cb in trainer.callback_handler.callbacks if type(cb).__name__ == name), None)


def _tool_call_callback(cfg, splits, tokenizer):
    from .evaluation.callback import ToolCallEvalCallback
    from .evaluation.runner import max_new_tokens_for, tool_call_format_of

    records = splits.records["validation"][: cfg.eval.during_training_examples]
    max_new = cfg.eval.max_new_tokens or max_new_tokens_for(records, tokenizer, cfg.data, splits.tools)
    return ToolCallEvalCallback(records, splits.tools, cfg.data, tokenizer, cfg.eval.batch_size, max_new,
                                tool_call_format_of(cfg.model))


def _build_trainer(cfg, model, tokenizer, train_set, eval_set, run_dir, precision, hw, tool_callback, summary_seed):
    from transformers import EarlyStoppingCallback
    from .callbacks import MetricsRecorder, NonFiniteLossGuard
    from .resume import CheckpointMarker, GracefulStop
    from .sft_trainer import LoralabSFTTrainer
    from .training_args import build_sft_config, cuda_only_by_default

    args = build_sft_config(cfg, precision, hw, str(run_dir / "checkpoints"))
    callbacks = [MetricsRecorder(run_dir, dict(summary_seed)), NonFiniteLossGuard(summary_seed["learning_rate"]),
                 CheckpointMarker(), GracefulStop(run_dir)]
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
                                callbacks=callbacks, fused_lm_head=cuda_only_by_default(cfg.trainer.fused_lm_head, hw),
                                loraplus_lr_ratio=cfg.optimizer.loraplus_lr_ratio)
    if tool_callback is not None:
        tool_callback.trainer = trainer
    return trainer


def _throughput(summary: dict, state, train_log: list[dict]) -> dict:
    """Tokens/s counts real tokens (TRL's ``num_tokens``, from the attention mask); the positions the
    model processed (``num_input_tokens_seen``, padding included) give the padding fraction."""
    runtime = summary.get("train_runtime")
    processed = getattr(state, "num_input_tokens_seen", 0)
    tokens = next((e["num_tokens"] for e in reversed(train_log) if e.get("num_tokens")), processed)
    if not runtime or not tokens:
        return {}
    out = {"train_tokens": tokens, "train_tokens_per_s": round(tokens / runtime, 1),
           "s_per_step": round(runtime / max(1, state.global_step), 3)}
    if processed:
        out["padding_fraction"] = round(max(0.0, 1 - tokens / processed), 4)
    return out


def _evaluates_here(cfg: DictConfig, run_dir: Path) -> bool:
    """The tool-call evaluation runs in rank 0 alone, on its full replica; sharded weights (ZeRO-3,
    FSDP) are evaluated afterwards from the saved adapter."""
    from .distributed import sharded_weights

    if sharded_weights(cfg):
        console.print(f"{cfg.distributed.name}: each rank holds a shard of the weights; evaluate the saved adapter "
                      f"with: loralab-eval {run_dir}")
        return False
    return is_main_process()


def _save_adapter(trainer, tokenizer, run_dir: Path) -> None:
    """Save the (best, when load_best_model_at_end) adapter under a temporary name, then rename.
    Every rank calls this: sharded weights are gathered from all ranks; rank 0 alone writes."""
    import os

    from .distributed import record_replicas, weights_sharded_in

    record_replicas(trainer, run_dir)  # DDP: every rank's adapter digest, into distributed.json
    final, tmp = run_dir / "adapter", run_dir / ".adapter.tmp"
    sharded = weights_sharded_in(trainer)
    if is_main_process():
        shutil.rmtree(tmp, ignore_errors=True)
    if sharded:
        trainer.save_model(str(tmp))  # gathers the shards from every rank; the Trainer writes on rank 0
    if not is_main_process():
        return
    try:
        if not sharded:
            trainer.model.save_pretrained(tmp)
            tokenizer.save_pretrained(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a failed save (disk full) leaves no partial adapter


def _report_losses(metrics: dict) -> None:
    final = metrics["final"]
    if "eval_loss_first" in final:
        console.print(f"eval loss: first {final['eval_loss_first']:.4f} -> last {final['eval_loss_last']:.4f} "
                      f"(best {final['eval_loss_best']:.4f})")
    if "train_loss_first" in final:
        console.print(f"train loss: first {final['train_loss_first']:.4f} -> last {final['train_loss_last']:.4f}")
