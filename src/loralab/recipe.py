"""The training recipe: composed config in, finished run directory out. Read top to bottom:
``train`` validates and locks the run directory, ``_run`` records how the run ends, and ``_train``
runs the stages: ``setup_machine`` (environment, hardware, precision) → ``setup_data`` (splits,
tokenizer, the data check, the training sets) → ``fit`` (model + LoRA, the SFTTrainer, training,
with the OOM ladder) → ``save`` (metrics, adapter) → ``evaluate`` (tool calls, base vs fine-tuned)."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .config.validation import validate
from .batching import batch_plan
from .console import console, print_config_tree, print_summary
from . import rundir
from .distributed import (adopt_submitit_tasks, engine_config_record, is_main_process, main_process_only,
                          refuse_several_gpus_in_one_process, world_size_from_env)
from .rundir import base_manifest, read_status, redact_hydra_record
from .secrets import redact
from .tracking import abort_trackers, finish_trackers, prepare_trackers
from .errors import DiskFull, RunDirError, RunInterrupted
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
    refuse_several_gpus_in_one_process()
    from .hardware import detect
    from .liger import liger_kernels
    from .memory import refuse_far_beyond_memory
    from .memory.micro_batch import resolve_micro_batch

    # trainer.micro_batch_size=auto becomes a number here, so config.yaml and a resume keep it
    cfg, micro = resolve_micro_batch(cfg, detect(), world_size_from_env())
    refuse_far_beyond_memory(cfg, detect())
    liger_kernels(cfg, detect())  # a trainer.liger_kernels=true that cannot apply fails here (the family: at load)
    batch_plan(cfg.trainer, cfg.optimizer.lr, world_size_from_env())  # the world size is known only now
    run_dir = Path(run_dir)
    from .runlock import RunLock

    # one live process per run directory: a second start or resume there is refused (rank 0 holds it)
    lock = RunLock.acquire(run_dir, "resume" if resuming else "train in") if is_main_process() else RunLock(None)
    try:
        return _run(cfg, run_dir, checkpoint, resumed, micro)
    finally:
        lock.release()  # however the run ended


def _run(cfg: DictConfig, run_dir: Path, checkpoint: Path | None, resumed, micro=None) -> RunResult:
    """The run, once its directory is locked; the status file records how it ended."""
    if resumed is None:
        _prepare_run_dir(run_dir, cfg)
    else:
        resumed.record()  # config.yaml with the honoured overrides, and resumes.json
    set_status(run_dir, "running", resumed_from=str(checkpoint) if checkpoint else None,
               **({"resume_overrides": resumed.overrides} if resumed is not None and resumed.overrides else {}))
    try:
        _reserve_space(run_dir)
        result = _train(cfg, run_dir, checkpoint, micro)
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


def _train(cfg: DictConfig, run_dir: Path, checkpoint: Path | None = None, micro=None) -> RunResult:
    """The run in its stages: the machine, the data, training (with the OOM ladder), the adapter,
    the tool-call evaluation."""
    from .run_record import Phases, record

    phases = Phases()  # record.json: where the wall time went
    machine = setup_machine(cfg, micro)
    data = setup_data(cfg, run_dir, phases)
    fitted = fit(cfg, run_dir, machine, data, checkpoint, phases)
    cfg = fitted.cfg  # what the last attempt ran with (the OOM ladder may have changed it)
    metrics = save(cfg, run_dir, fitted, data)
    eval_report = evaluate(cfg, run_dir, fitted, data, phases)
    finish_trackers(cfg, run_dir, metrics, eval_report)
    write_json(run_dir / "record.json", redact(record(cfg, phases, metrics, eval_report)))
    return RunResult(run_dir, metrics, eval_report)


@dataclass
class Machine:
    """Where the run trains: the hardware, the precision chosen for it, the environment applied."""

    hw: Any
    precision: Any
    environment: dict
    micro_batch: Any = None  # how trainer.micro_batch_size=auto was sized (memory.micro_batch), if it was


def setup_machine(cfg: DictConfig, micro=None) -> Machine:
    """The process environment (the CUDA allocator's settings go to torch itself), the hardware and
    its precision, and the predicted peak memory against this device, printed before anything loads."""
    from .runtime.environment import apply_environment

    environment = apply_environment(cfg.env)
    from .hardware import detect, resolve_precision
    from .memory import summary_for_run

    hw = detect()
    if hw.device == "cpu" and "DS_ACCELERATOR" not in os.environ:
        # DeepSpeed, which transformers imports when it is installed, would warn that it guessed so
        os.environ["DS_ACCELERATOR"] = environment["DS_ACCELERATOR"] = "cpu"
    precision = resolve_precision(cfg.precision.dtype, cfg.precision.tf32, hw)
    print_config_tree(OmegaConf.create(redact(cfg)))
    console.print(f"precision: [bold]{precision.name}[/bold] ({precision.reason}) on {hw.device} {hw.device_name}")
    if micro is not None:
        console.print(f"micro-batch: [bold]{micro.size}[/bold] ({micro.reason})")
    console.print(summary_for_run(cfg, hw))
    return Machine(hw, precision, environment, micro)


@dataclass
class PreparedData:
    """The splits, the tokenizer, the data check (every row tokenized once) and the training sets."""

    splits: Any
    location: str  # the model's directory or hub id (its tokenizer is loaded from there)
    tokenizer: Any
    report: Any
    train_set: Any
    eval_set: Any
    stats: dict  # data_stats.json
    started: float  # when setting up began (the run's setup_s)

    def rebuild(self, cfg: DictConfig, run_dir: Path) -> None:
        """The training sets again after trainer.max_length changed, from the rows tokenized once."""
        self.train_set, self.eval_set = _training_sets(cfg, self.report)
        self.stats.update(train=self.train_set.stats, validation=self.eval_set.stats if self.eval_set else None)
        write_json(run_dir / "data_stats.json", self.stats)


def setup_data(cfg: DictConfig, run_dir: Path, phases) -> PreparedData:
    """Load every split (all invalid rows reported at once, before any model file is touched), the
    tokenizer, the data check as loralab-data-check prints it, and the training sets built from the
    rows it tokenized."""
    import datasets

    from .data.check import check_data, print_report
    from .data.pipeline import duplicates_across_splits, load_splits
    from .modeling import build_tokenizer, model_location

    datasets.disable_progress_bars()  # the data are small; the trainer's progress bar is the one to watch
    started = time.perf_counter()
    with phases.timed("data"):
        splits = load_splits(cfg.data)
    with phases.timed("model"):  # the embedded model is materialised here on first use
        location = model_location(cfg.model, cfg.paths.cache_dir)
        tokenizer = build_tokenizer(cfg.model, location)
    with phases.timed("data"):
        report = check_data(cfg, tokenizer, splits)  # lengths, truncation, duplicates, problems
        report.raise_if_problems()
        print_report(report, cfg)
        train_set, eval_set = _training_sets(cfg, report)
        # the test splits' rows are not needed again: only train and validation can be rebuilt
        report.encoded = {k: v for k, v in report.encoded.items() if k in ("train", "validation")}
        stats = {"fingerprint": splits.fingerprint(cfg.data), "train": train_set.stats,
                 "validation": eval_set.stats if eval_set else None,
                 "rows_per_split": {k: len(v) for k, v in splits.records.items()},
                 "duplicates_with_train": duplicates_across_splits(splits.records), "check": report.to_dict()}
        write_json(run_dir / "data_stats.json", stats)
    return PreparedData(splits, location, tokenizer, report, train_set, eval_set, stats, started)


def _training_sets(cfg: DictConfig, report):
    """The train set (data.max_train_examples) and the validation set (data.max_eval_examples,
    longest first), cut at trainer.max_length from the rows the data check tokenized."""
    from .data.pipeline import build_split

    max_length = cfg.trainer.max_length
    train_set = build_split(report.encoded["train"][: cfg.data.max_train_examples or None], max_length, "train")
    eval_set = None
    if cfg.trainer.eval_strategy != "no" and report.encoded.get("validation"):
        eval_set = build_split(report.encoded["validation"][: cfg.data.max_eval_examples or None], max_length,
                               "validation", sort_by_length=True)
    return train_set, eval_set


@dataclass
class RunCallbacks:
    """loralab's Trainer callbacks, held by what they do. ``all`` gives the Trainer's order: the
    trackers first (they see every log, the one a loss guard stops on too), the tool-call
    evaluation before the trial reporter and early stopping, which read what it adds."""

    recorder: Any  # metrics.json as the run goes
    loss_guard: Any  # stops on a NaN / infinite loss
    checkpoint_marker: Any  # marks each checkpoint complete
    stop: Any  # Ctrl-C / SIGTERM: checkpoint, then stop
    tool_eval: Any = None  # tool-call metrics at every evaluation (eval.during_training)
    reporter: Any = None  # a sweep trial's intermediate values, and its pruning
    early_stopping: Any = None
    trackers: list = field(default_factory=list)  # TensorBoard (W&B's comes with report_to)

    def all(self) -> list:
        return [cb for cb in (*self.trackers, self.recorder, self.loss_guard, self.checkpoint_marker, self.stop,
                              self.tool_eval, self.reporter, self.early_stopping) if cb is not None]


class Fit:
    """Training, in one attempt or, when the OOM ladder steps in, several: holds what the next
    attempt needs (the checkpoint to continue from, one time budget for all of them) and what the
    last one left (its trainer, callbacks, manifest and config)."""

    def __init__(self, cfg: DictConfig, run_dir: Path, machine: Machine, data: PreparedData,
                 checkpoint: Path | None, phases):
        self.cfg, self.run_dir, self.machine, self.data, self.checkpoint = cfg, run_dir, machine, data, checkpoint
        self.phases = phases
        self.history: list[dict] = _previous_oom_fallbacks(run_dir) if checkpoint is not None else []
        self.tool_eval = _tool_call_callback(cfg, data) if data.eval_set and cfg.eval.during_training else None
        self.budget = None  # trainer.max_time: one clock for every attempt (time_budget.py)
        self.trainer = self.callbacks = self.manifest = None

    def attempt(self, cfg: DictConfig) -> None:
        """Model + LoRA, the batch plan, the start-of-run summary and manifest, the Trainer, training."""
        from .data.prompting import describe_prompt
        from .memory import gradient_checkpointing
        from .modeling import parameter_counts
        from .training_args import padding_free

        self.cfg, data, hw = cfg, self.data, self.machine.hw
        checkpointing = gradient_checkpointing(cfg, hw)  # per attempt: the OOM ladder may switch it on
        flat = padding_free(cfg, hw)
        with self.phases.timed("model"):
            model, liger = _build_peft_model(cfg, data.location, self.machine.precision, hw, checkpointing.on,
                                             data.tokenizer)
        counts = parameter_counts(model)
        batch = batch_plan(cfg.trainer, cfg.optimizer.lr, world_size_from_env())  # the ladder may change it
        _announce(cfg, data.location, counts, data.train_set, self.machine.precision,
                  {"gradient checkpointing": checkpointing.describe(), "padding-free batches": flat.describe(),
                   "Liger kernels": liger.describe()},
                  batch, describe_prompt(cfg.data.system_prompt, cfg.data.tools_in_prompt, data.splits.tools,
                                         data.splits.records["train"]))
        self.manifest = {**base_manifest(), "run_dir": str(self.run_dir), "model_location": data.location,
                         "hardware": hw.to_dict(), "precision": self.machine.precision.to_dict(),
                         "environment": self.machine.environment, "data_fingerprint": data.stats["fingerprint"],
                         "parameters": counts, "effective_batch": batch.effective_batch_size,
                         "batching": batch.to_dict(), "oom_fallbacks": self.history,
                         "gradient_checkpointing": asdict(checkpointing), "padding_free": asdict(flat),
                         "liger_kernels": asdict(liger), "compile": cfg.trainer.compile,
                         "micro_batch_auto": asdict(self.machine.micro_batch) if self.machine.micro_batch else None,
                         # the hub commit actually loaded (transformers records it); None for local directories
                         "model_revision": {"requested": cfg.model.revision,
                                            "resolved": getattr(model.config, "_commit_hash", None)}}
        write_json(self.run_dir / "manifest.json", redact(self.manifest))
        self.trainer, self.callbacks = _build_trainer(
            cfg, model, data, self.run_dir, self.machine, batch, self.tool_eval,
            summary_seed={"setup_s": round(time.perf_counter() - data.started, 2),
                          "effective_batch": batch.effective_batch_size, "learning_rate": batch.lr,
                          "trainable_parameters": counts["trainable"]})
        if self.checkpoint is not None:
            self.callbacks.recorder.keep_history_until(self.checkpoint)
            self.trainer.args.eval_on_start = False  # the start was evaluated before
        if cfg.trainer.max_time is not None:  # measure, set the steps the schedule spans, stop when spent
            from .time_budget import TimeBudget

            self.budget = self.budget or TimeBudget(cfg.trainer.max_time)
            with self.phases.timed("training"):  # the warm-up that measures the speed
                self.manifest["time_budget"] = self.callbacks.recorder.summary["time_budget"] = \
                    self.budget.apply(self.trainer, self.checkpoint)
            write_json(self.run_dir / "manifest.json", redact(self.manifest))
        with self.phases.timed("training"):  # the evaluations during training included
            self.trainer.train(resume_from_checkpoint=str(self.checkpoint) if self.checkpoint else None)

    def retry(self, cfg: DictConfig, rung, error: str) -> DictConfig:
        """After an out-of-memory error: release the attempt, record the rung, and prepare the next
        attempt's config, checkpoint and data (oom.train_with_fallback then frees the memory)."""
        from .oom import record
        from .resume import newest_complete_checkpoint

        stop, step = self.callbacks.stop, self.trainer.state.global_step
        stop.on_train_end(None, None, None)  # on_train_end never ran: restore the signal handlers
        stop.step = step
        stop.raise_if_stopped()  # Ctrl-C / SIGTERM came before the OOM: stop, do not retry
        if self.tool_eval is not None:
            self.tool_eval.trainer = None  # it would keep the old trainer (model, optimizer) alive
        self.trainer = self.callbacks = None
        entry = record(self.history, rung, cfg, step, error)
        console.print(f"[bold yellow]out of memory at step {step}[/bold yellow]; retrying with {entry['change']}")
        log.warning("OOM fallback: %s", entry["change"])
        cfg = rung.apply(cfg)
        write_text(self.run_dir / "config.yaml", OmegaConf.to_yaml(redact(cfg)))  # resume continues with what runs
        if rung.restart:  # the adapter's shape changed: earlier checkpoints cannot be loaded
            shutil.rmtree(self.run_dir / "checkpoints", ignore_errors=True)
            self.checkpoint = None
        else:
            self.checkpoint = newest_complete_checkpoint(self.run_dir)
        entry["resumed_from"] = str(self.checkpoint) if self.checkpoint else None
        if "trainer.max_length" in rung.overrides:
            self.data.rebuild(cfg, self.run_dir)
        if self.tool_eval is not None:
            self.tool_eval = _tool_call_callback(cfg, self.data)
        return cfg


def fit(cfg: DictConfig, run_dir: Path, machine: Machine, data: PreparedData, checkpoint: Path | None,
        phases) -> Fit:
    """Train, and on CUDA out-of-memory retry down the OOM ladder (oom.py): on one process only, since
    one rank running out of memory while the others go on would desynchronise them."""
    from .hardware import cuda_only_by_default
    from .oom import train_with_fallback

    fitted = Fit(cfg, run_dir, machine, data, checkpoint, phases)
    ladder = cuda_only_by_default(cfg.trainer.oom_fallback, machine.hw) and world_size_from_env() == 1
    train_with_fallback(fitted.attempt, cfg, enabled=ladder, history=fitted.history, retry=fitted.retry,
                        training_started=lambda: fitted.trainer is not None)
    fitted.callbacks.stop.raise_if_stopped()
    return fitted


def save(cfg: DictConfig, run_dir: Path, fitted: Fit, data: PreparedData) -> dict:
    """metrics.json (with throughput), the time budget's outcome, the pruning verdict of a sweep
    trial, then the adapter (the best one when load_best_model_at_end)."""
    trainer, recorder = fitted.trainer, fitted.callbacks.recorder
    metrics = recorder.write(trainer.state, **_throughput(recorder.summary, trainer.state, recorder.train))
    if "time_budget" in fitted.manifest:  # the steps run and whether the budget stopped them
        write_json(run_dir / "manifest.json", redact(fitted.manifest))
    if fitted.callbacks.reporter is not None:
        fitted.callbacks.reporter.raise_if_pruned()
    _save_adapter(trainer, data.tokenizer, run_dir)
    _report_losses(metrics)
    return metrics


def evaluate(cfg: DictConfig, run_dir: Path, fitted: Fit, data: PreparedData, phases) -> dict | None:
    """The tool-call evaluation of the trained model (and the base model on the same examples), where
    it runs here and the evaluated splits hold conversations."""
    from .data.pipeline import has_conversations

    if not (cfg.eval.at_end and _evaluates_here(cfg, run_dir)
            and any(has_conversations(data.splits.records.get(s)) for s in cfg.eval.splits)):
        return None
    from .evaluation.runner import evaluate_after_training

    with phases.timed("evaluation"):
        return evaluate_after_training(cfg, run_dir, fitted.trainer.model, data.tokenizer, data.splits, data.location)


def _build_peft_model(cfg: DictConfig, location: str, precision, hw, gradient_checkpointing: bool, tokenizer):
    from transformers import set_seed

    from .liger import apply_liger_kernels, liger_kernels
    from .modeling import added_token_ids, apply_lora, build_model

    set_seed(cfg.seed)  # LoRA's random init happens before the Trainer seeds anything
    model = build_model(cfg.model, location, precision, hw, gradient_checkpointing, tokenizer=tokenizer)
    liger = liger_kernels(cfg, hw, model.config.model_type)
    if liger.on:  # into the base model's layers, which LoRA then wraps
        apply_liger_kernels(model)
    # added tokens' rows train too
    return apply_lora(model, cfg.lora, added_token_ids(tokenizer, cfg.model)), liger


def _announce(cfg: DictConfig, location: str, counts: dict, train_set, precision, decisions: dict[str, str], batch,
              prompt: str) -> None:
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
        **decisions,  # the auto switches as decided for this machine, and why
    }
    print_summary("run summary", summary)


def _tool_call_callback(cfg: DictConfig, data: PreparedData):
    from .evaluation.callback import ToolCallEvalCallback
    from .evaluation.runner import max_new_tokens_for, tool_call_format_of

    records = data.splits.records["validation"][: cfg.eval.during_training_examples]
    max_new = cfg.eval.max_new_tokens or max_new_tokens_for(records, data.tokenizer, cfg.data, data.splits.tools)
    return ToolCallEvalCallback(records, data.splits.tools, cfg.data, data.tokenizer, cfg.eval.batch_size, max_new,
                                tool_call_format_of(cfg.model))


def _build_trainer(cfg: DictConfig, model, data: PreparedData, run_dir: Path, machine: Machine, batch,
                   tool_eval, summary_seed: dict):
    from transformers import EarlyStoppingCallback

    from .callbacks import MetricsRecorder, NonFiniteLossGuard
    from .resume import CheckpointMarker, GracefulStop
    from .hardware import cuda_only_by_default
    from .sft_trainer import LoralabSFTTrainer
    from .training_args import build_sft_config

    args = build_sft_config(cfg, machine.precision, machine.hw, str(run_dir / "checkpoints"), batch)
    callbacks = RunCallbacks(MetricsRecorder(run_dir, dict(summary_seed)),
                             NonFiniteLossGuard(summary_seed["learning_rate"]), CheckpointMarker(),
                             GracefulStop(run_dir), tool_eval)
    if cfg.sweep.trial_number is not None:
        from .sweeps.trial import TrialReporter, open_trial

        trial = open_trial(cfg.sweep.storage, cfg.sweep.study_name, cfg.sweep.trial_number)
        callbacks.reporter = TrialReporter(trial, cfg.sweep.report_metric)
    if cfg.trainer.early_stopping_patience:
        callbacks.early_stopping = EarlyStoppingCallback(cfg.trainer.early_stopping_patience,
                                                         cfg.trainer.early_stopping_threshold)
    # before the Trainer: transformers' WandbCallback joins the run started here
    callbacks.trackers = prepare_trackers(cfg, run_dir)
    trainer = LoralabSFTTrainer(model=model, args=args, train_dataset=data.train_set.dataset,
                                eval_dataset=data.eval_set.dataset if data.eval_set else None,
                                processing_class=data.tokenizer, callbacks=callbacks.all(),
                                fused_lm_head=cuda_only_by_default(cfg.trainer.fused_lm_head, machine.hw),
                                loraplus_lr_ratio=cfg.optimizer.loraplus_lr_ratio)
    if tool_eval is not None:
        tool_eval.trainer = trainer
    return trainer, callbacks


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
