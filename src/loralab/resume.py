"""Crash safety and continuation: complete-checkpoint markers, graceful SIGINT/SIGTERM, and
``resume=<run dir>|latest``.

transformers writes a checkpoint directory in place, so a crash mid-save leaves a directory that
looks like a checkpoint. A marker file written after the save completes is what makes a
checkpoint usable: resume only ever picks the newest checkpoint that carries it."""

from __future__ import annotations

import json
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from transformers import TrainerCallback

from . import rundir, runlock
from .console import console
from .distributed import main_process_only
from .rundir import now, read_status, write_json
from .errors import ResumeError, RunInterrupted

MARKER = "loralab-complete.json"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


class CheckpointMarker(TrainerCallback):
    """Marks each checkpoint complete once the Trainer has finished writing it."""

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if ckpt.is_dir():
                write_json(ckpt / MARKER, {"step": state.global_step, "saved": now()})


class GracefulStop(TrainerCallback):
    """First SIGINT/SIGTERM: finish the current step, save a checkpoint, stop. A second one aborts."""

    def __init__(self, run_dir: str | Path | None = None):
        self.run_dir = run_dir  # named in the message that says how to continue
        self.signum: int | None = None
        self.step = 0
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame):
        if self.signum is not None:  # second signal: stop now
            raise KeyboardInterrupt
        self.signum = signum

    def on_train_begin(self, args, state, control, **kwargs):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread (e.g. a launcher's worker): keep default handling
                pass

    def on_step_end(self, args, state, control, **kwargs):
        self._agree_across_ranks()
        if self.signum is not None:
            self.step = state.global_step
            control.should_save = True
            control.should_training_stop = True

    def _agree_across_ranks(self) -> None:
        """Under torchrun a signal may reach one rank only (or the ranks at different steps): all ranks
        stop at the same step, or the others would wait for it in the next collective forever."""
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
            return
        import torch

        device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        flag = torch.tensor([self.signum or 0], dtype=torch.int64, device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if flag.item() and self.signum is None:
            self.signum = int(flag.item())

    def on_train_end(self, args, state, control, **kwargs):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def raise_if_stopped(self) -> None:
        if self.signum is not None:
            raise RunInterrupted(self.signum, self.step, self.run_dir)


def newest_complete_checkpoint(run_dir: Path) -> Path | None:
    root = run_dir / "checkpoints"
    if not root.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in root.iterdir() if (m := _CHECKPOINT.match(p.name)) and (p / MARKER).is_file()]
    return max(found)[1] if found else None



# --------------------------------------------------------------------------- resume=latest

@dataclass
class Candidate:
    run_dir: Path
    state: str
    resumable: bool
    why: str  # what the run is, for the message: "interrupted at step 40", "failed without a complete checkpoint"


def assess(run_dir: Path) -> Candidate:
    """Whether ``run_dir`` can be resumed, and why (or why not). Resumable: ``interrupted``; ``running``
    whose owner is gone (a crash or a kill); ``failed`` with a complete checkpoint (e.g. a full disk).
    Not: completed or pruned runs, a failure before any checkpoint (nothing to continue from), and a
    run whose owner is alive or on another host."""
    status = read_status(run_dir)
    state = status.get("state", "unknown")
    owner = runlock.inspect(run_dir)
    if owner is not None and owner.blocks():
        where = "on another host" if owner.state == "foreign" else "alive"
        return Candidate(run_dir, state, False, f"{state}, its process {where} ({owner.describe()})")
    checkpoint = newest_complete_checkpoint(run_dir)
    if state == "interrupted":
        step = status.get("step")
        return Candidate(run_dir, state, True, f"interrupted at step {step}" if step is not None else "interrupted")
    if state == "running":
        if owner is not None and owner.same_launch:  # rank 0 of this torchrun launch resumes it already
            return Candidate(run_dir, state, True, "running, this launch")
        if owner is not None and owner.info:
            return Candidate(run_dir, state, True, f"running but its process (pid {owner.info.get('pid')}) is gone")
        return Candidate(run_dir, state, True, "running with no live owner")
    if state == "failed":
        if checkpoint is None:
            return Candidate(run_dir, state, False, "failed without a complete checkpoint")
        return Candidate(run_dir, state, True, f"failed after {checkpoint.name}")
    return Candidate(run_dir, state, False, state)


def latest_run(roots: tuple[str, ...] = ("experiments",)) -> Path:
    """The newest resumable run under ``roots`` (by its status file's time), announced with the reason."""
    runs = [p.parent for root in roots for p in Path(root).glob("**/status.json")]
    if not runs:
        raise ResumeError(f"resume=latest: no run directory under {', '.join(roots)}")

    def changed(run: Path) -> float:
        try:
            return (run / "status.json").stat().st_mtime
        except OSError:
            return 0.0

    seen = [assess(run) for run in sorted(runs, key=changed, reverse=True)]
    picked = next((c for c in seen if c.resumable), None)
    if picked is None:
        counts: dict[str, int] = {}
        for c in seen:
            counts[c.why] = counts.get(c.why, 0) + 1
        states = ", ".join(f"{n} {label}" for label, n in counts.items())
        raise ResumeError(f"resume=latest: none of the {len(seen)} run(s) under {', '.join(roots)} can be resumed "
                          f"({states}). Start a new run, or pass resume=<run dir>.")
    console.print(f"resume=latest: picked {picked.run_dir} ({picked.why}; newest resumable of {len(seen)} run(s))",
                  soft_wrap=True)  # one line: greppable, the path unbroken
    return picked.run_dir


# --------------------------------------------------------------------------- overrides on resume

# What a resumed run may change: how long it trains, how often it evaluates, saves and logs, the
# evaluation and the trackers, and speed knobs that leave the results alone. Anything else (model,
# LoRA, data, tokenization, precision, optimizer and lr, batch, seed...) would make the checkpoint
# continue a different run, so it is refused. A dotted prefix covers everything under it.
RESUME_HONOURS = (
    "trainer.max_steps", "trainer.num_epochs", "trainer.eval_steps", "trainer.save_steps",
    "trainer.logging_steps", "trainer.save_total_limit", "trainer.eval_batch_size",
    "eval", "logger", "env.torch_num_threads", "env.dataloader_num_workers", "paths.cache_dir",
)


def honoured(path: str) -> bool:
    return any(path == h or path.startswith(h + ".") for h in RESUME_HONOURS)


def cli_overrides() -> list[str] | None:
    """The command line's overrides under ``loralab-train``; None from the Python API, whose config
    cannot say which values the caller chose and which are defaults: a resume from the API continues
    with the saved config alone (change a saved run's length from the command line)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return None
    return list(HydraConfig.get().overrides.task)


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def override_changes(cfg: DictConfig, saved: DictConfig, overrides: list[str]) -> tuple[dict[str, dict], list[str]]:
    """Compare what each command-line override sets in the composed ``cfg`` with the run's ``saved``
    config. Returns (the honoured changes ``{key: {"from", "to"}}``, one description per refused
    override). An override equal to the saved value is no change (re-running the original command
    with resume= added is fine). A group choice (``lora=r16``) counts as the keys it changes."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from .config.paths import config_dir
    from .secrets import redact

    groups = {p.name for p in config_dir().iterdir() if p.is_dir()}
    current = OmegaConf.to_container(cfg, resolve=True)
    current.pop("resume", None)
    # the saved config was redacted when written: compare like with like
    now_leaves, saved_leaves = _leaves(redact(current)), _leaves(OmegaConf.to_container(saved, resolve=True))
    saved_leaves.pop("resume", None)
    missing = object()
    changes: dict[str, dict] = {}
    refused: list[str] = []
    for override, text in zip(OverridesParser.create().parse_overrides(overrides), overrides):
        key = override.key_or_group
        if key == "resume":
            continue
        scope = key
        if key in groups or "/" in key or override.package is not None:
            # a group choice changes its node's keys; one that is not a node (experiment=, hparams_search=)
            # or is placed elsewhere (@package) may change anything
            scope = key if key in current and override.package is None else ""
        paths = [p for p in {*now_leaves, *saved_leaves} if not scope or p == scope or p.startswith(scope + ".")]
        differ = sorted(p for p in paths if now_leaves.get(p, missing) != saved_leaves.get(p, missing))
        bad = [p for p in differ if not honoured(p)]
        if bad:
            detail = (f"the run has {saved_leaves.get(bad[0])!r}" if bad == [key] else f"changes {', '.join(bad)}")
            refused.append(f"{text} ({detail})")
            continue
        for p in differ:
            changes[p] = {"from": saved_leaves.get(p), "to": now_leaves.get(p)}
    return changes, refused


# --------------------------------------------------------------------------- resume=<run dir>|latest

@dataclass
class Resumed:
    run_dir: Path
    cfg: DictConfig  # the saved config, with the honoured overrides applied
    checkpoint: Path | None
    overrides: dict[str, dict] = field(default_factory=dict)  # {key: {"from", "to"}}

    def record(self) -> None:
        """Write what this resume changed: config.yaml holds what runs now (a later resume continues
        with it), resumes.json keeps one entry per resume."""
        _record(self.run_dir, self.cfg, self.checkpoint, self.overrides)


@main_process_only
def _record(run_dir: Path, cfg: DictConfig, checkpoint: Path | None, overrides: dict) -> None:
    from .secrets import redact

    if overrides:
        rundir.write_text(run_dir / "config.yaml", OmegaConf.to_yaml(redact(cfg)))
    try:
        history = json.loads((run_dir / "resumes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        history = []
    history.append({"at": now(), "from_checkpoint": str(checkpoint) if checkpoint else None,
                    "overrides": overrides})
    write_json(run_dir / "resumes.json", history)


def resolve_resume(cfg: DictConfig, overrides: list[str] | None = None) -> Resumed:
    """The run ``cfg.resume`` names (or the newest resumable one), its saved config with the honoured
    ``overrides`` applied, and its newest complete checkpoint. Refuses a completed run, a run whose
    process is alive, and overrides a resume cannot honour (naming them)."""
    run_dir = latest_run() if cfg.resume == "latest" else Path(cfg.resume)
    if not (run_dir / "config.yaml").is_file():
        raise ResumeError(f"resume={cfg.resume}: {run_dir} is not a loralab run directory (no config.yaml)")
    state = read_status(run_dir).get("state")
    if state == "completed":
        raise ResumeError(f"resume={cfg.resume}: {run_dir} already completed; nothing to resume")
    owner = runlock.inspect(run_dir)
    if owner is not None and owner.blocks():
        raise ResumeError(f"resume={cfg.resume}: {runlock.refusal(run_dir, owner, 'resume')}")
    from .config.schema import typed_run

    # onto the schema: a run saved before a field existed resumes with that field's default
    written = _typed_switches(OmegaConf.load(run_dir / "config.yaml"))
    saved = OmegaConf.merge(typed_run(OmegaConf.select(written, "data.source")), written)
    saved.resume = None
    checkpoint = newest_complete_checkpoint(run_dir)
    if overrides is None:
        return Resumed(run_dir, saved, checkpoint)
    changes, refused = override_changes(cfg, saved, overrides)
    if refused:
        raise ResumeError(f"resume={cfg.resume}: a resumed run keeps its model, LoRA, data, precision, optimizer, "
                          f"batch and seed, so it cannot take {'; '.join(refused)}. It can change: "
                          f"{', '.join(RESUME_HONOURS)}. Drop the others, or start a new run without resume=.")
    for key in changes:
        OmegaConf.update(saved, key, OmegaConf.select(cfg, key), merge=False)
    step = int(checkpoint.name.rsplit("-", 1)[1]) if checkpoint else 0
    max_steps = saved.trainer.max_steps
    if "trainer.max_steps" in changes and 0 < max_steps <= step:
        raise ResumeError(f"resume={cfg.resume}: trainer.max_steps={max_steps} is not beyond the checkpoint's step "
                          f"{step} ({checkpoint}); nothing would be trained. Choose more steps.")
    if changes:
        console.print("resume overrides: " + ", ".join(f"{k} {c['from']!r} -> {c['to']!r}" for k, c in changes.items()),
                      soft_wrap=True)
    return Resumed(run_dir, saved, checkpoint, changes)


# auto/on/off switches that were strings ("auto" | "true" | "false") before they became Optional[bool]
_SWITCHES = ("trainer.gradient_checkpointing", "trainer.fused_lm_head", "trainer.oom_fallback",
             "env.dataloader_pin_memory")


def _typed_switches(saved: DictConfig) -> DictConfig:
    """A run saved by an earlier loralab wrote its switches as strings; they resume as null/true/false."""
    for key in _SWITCHES:
        value = OmegaConf.select(saved, key)
        if isinstance(value, str):
            OmegaConf.update(saved, key, {"auto": None, "true": True, "false": False}.get(value.lower(), value),
                             merge=False)
    return saved
