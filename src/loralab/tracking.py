"""Experiment trackers (Weights & Biases, TensorBoard) wired through transformers' own callbacks.

The trainer is built with ``report_to=cfg.logger.report_to``; transformers then adds its
``WandbCallback`` / ``TensorBoardCallback``, which take their settings from environment variables.
``prepare_trackers`` sets those variables (before the Trainer is built: both callbacks read them in
their constructors) and returns the extra callbacks loralab adds; ``finish_trackers`` writes the
run's final numbers and closes the trackers; ``abort_trackers`` closes them after a failure.

W&B never goes online by accident: the run is online only when credentials exist
(``WANDB_API_KEY`` or a netrc entry for the W&B host) and offline otherwise, under the run directory,
ready for ``wandb sync``. A ``WANDB_MODE`` / ``WANDB_DIR`` set by the user wins. Everything sent to a
tracker (the full resolved config, the command line) goes through :func:`loralab.secrets.redact`.
"""

from __future__ import annotations

import logging
import netrc
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from omegaconf import DictConfig, OmegaConf

from .distributed import is_main_process
from .secrets import redact, redact_argv

log = logging.getLogger(__name__)

SEP = "·"
# Groups that are Hydra's own, not the run's (hydra/launcher, hydra/sweeper ...).
_SKIP_CHOICE_PREFIXES = ("hydra",)
# Values set by prepare_trackers in this process (name -> value), and what they replaced, so that a
# later run in the same process (a sweep's next job) can tell its own settings from the user's.
_SET_BY_US: dict[str, str] = {}
_REPLACED: dict[str, str | None] = {}
_ARGV: list[str] | None = None


# --------------------------------------------------------------------------- paths and context

def tensorboard_dir(run_dir: str | Path) -> Path:
    """Where TensorBoard event files go: ``<run dir>/tensorboard`` (``tensorboard --logdir experiments``).

    transformers 5 has no ``TrainingArguments.logging_dir`` any more: its TensorBoardCallback reads
    ``TENSORBOARD_LOGGING_DIR`` when it is constructed, which prepare_trackers sets to this path."""
    return Path(run_dir) / "tensorboard"


def wandb_dir(run_dir: str | Path) -> Path:
    """The directory wandb writes into: ``$WANDB_DIR/wandb`` (``<run dir>/wandb`` unless the user set WANDB_DIR)."""
    root = os.environ.get("WANDB_DIR") if _user_set("WANDB_DIR") else None
    return Path(root or run_dir) / "wandb"


def hydra_record(run_dir: str | Path) -> dict:
    """What Hydra recorded about a run: {choices, overrides, mode, sweep_dir, job_num}.

    Read from the live HydraConfig when this process is running that job, else from
    ``<run_dir>/.hydra/hydra.yaml``; empty values when neither exists (the Python API)."""
    run_dir = Path(run_dir)
    out: dict[str, Any] = {"choices": {}, "overrides": [], "mode": "RUN", "sweep_dir": None, "job_num": None}
    hydra_cfg = None
    try:
        from hydra.core.hydra_config import HydraConfig

        if HydraConfig.initialized():
            live = HydraConfig.get()
            if Path(str(live.runtime.output_dir)).resolve() == run_dir.resolve():
                hydra_cfg = live
    except Exception:  # pragma: no cover - hydra is a dependency, but never fail a run over a name
        hydra_cfg = None
    if hydra_cfg is None:
        path = run_dir / ".hydra" / "hydra.yaml"
        if not path.is_file():
            return out
        try:
            hydra_cfg = OmegaConf.load(path).hydra
        except Exception:
            return out
    runtime = hydra_cfg.get("runtime") or {}
    choices = OmegaConf.to_container(runtime.get("choices") or {}, resolve=False) if runtime else {}
    out["choices"] = {str(k): v for k, v in (choices or {}).items()}
    overrides = (hydra_cfg.get("overrides") or {}).get("task") or []
    out["overrides"] = [str(o) for o in overrides]
    mode = hydra_cfg.get("mode")
    out["mode"] = str(getattr(mode, "name", mode) or "RUN")
    if out["mode"] == "MULTIRUN":
        output_dir = runtime.get("output_dir") if runtime else None
        sweep = _raw(hydra_cfg, "sweep")
        job = _raw(hydra_cfg, "job")
        raw_dir, raw_sub = sweep.get("dir"), sweep.get("subdir")
        if output_dir and raw_sub is not None and "/" not in str(raw_sub):
            out["sweep_dir"] = str(Path(str(output_dir)).parent)  # the resolved one, whatever ${now:} said
        elif raw_dir and "${" not in str(raw_dir):
            out["sweep_dir"] = str(raw_dir)
        num = job.get("num")
        out["job_num"] = num if isinstance(num, int) else None
    return out


def _raw(node, key: str) -> dict:
    """A sub-config as plain containers, interpolations left unresolved (they may point outside the node)."""
    try:
        value = node.get(key)
        return OmegaConf.to_container(value, resolve=False) if value is not None else {}
    except Exception:
        return {}


def _choices(cfg: DictConfig, choices: dict | None) -> dict[str, str]:
    out = {k: str(v) for k, v in (choices or {}).items()
           if v is not None and not str(k).startswith(_SKIP_CHOICE_PREFIXES)}
    for group in ("model", "lora", "precision", "optimizer", "data", "trainer", "logger"):
        if group not in out:
            name = OmegaConf.select(cfg, f"{group}.name", default=None)
            if name:
                out[group] = str(name)
    return out


def override_keys(overrides: list[str] | None) -> set[str]:
    """``["+lora.r=16", "optimizer.lr=1e-4", "~x"]`` -> {"lora.r", "optimizer.lr", "x"}."""
    keys = set()
    for o in overrides or []:
        key = str(o).lstrip("+~").split("=", 1)[0].strip()
        if key:
            keys.add(key)
    return keys


def format_lr(lr: float) -> str:
    """2e-4 -> "2e-4", 1.5e-4 -> "1.5e-4", 0.01 -> "1e-2"."""
    mantissa, exponent = f"{float(lr):.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def run_name(cfg: DictConfig, choices: dict | None = None, overrides: list[str] | None = None) -> str:
    """``model·lora·precision·lr`` plus ``r`` when ``lora.r`` was overridden and the Optuna trial
    number in a sweep: ``qwen-1.5b-nf4·r16·bf16-a100·lr2e-4``, ``smollm2-135m·r8-all-linear·auto·lr1e-4·r32·t3``."""
    chosen = _choices(cfg, choices)
    parts = []
    for group in ("model", "lora", "precision"):
        name = OmegaConf.select(cfg, f"{group}.name", default=None) or chosen.get(group)
        if name:
            parts.append(str(name))
    parts.append(f"lr{format_lr(cfg.optimizer.lr)}")
    keys = override_keys(overrides)
    if "lora.r" in keys:
        parts.append(f"r{cfg.lora.r}")
    if "lora.alpha" in keys and cfg.lora.alpha is not None:
        parts.append(f"a{cfg.lora.alpha}")
    trial = OmegaConf.select(cfg, "sweep.trial_number", default=None)
    if trial is not None:
        parts.append(f"t{trial}")
    return SEP.join(parts)


def run_group(record: dict) -> str | None:
    """The sweep's id for a job of a multirun: its sweep directory's name (``2026-05-01_12-00-00`` for
    Hydra's default ``multirun/<date>/<time>``); None for a single run."""
    sweep_dir = record.get("sweep_dir")
    if record.get("mode") != "MULTIRUN" or not sweep_dir:
        return None
    path = Path(str(sweep_dir))
    name, parent = path.name, path.parent.name
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", parent or ""):
        return f"{parent}_{name}"
    return name or None


def run_tags(cfg: DictConfig, choices: dict | None) -> list[str]:
    """``group:option`` for every config group (model:smollm2-135m, lora:r8-all-linear ...), plus the
    Optuna study and trial in a sweep. W&B tags are at most 64 characters and WANDB_TAGS is comma-separated."""
    tags = [f"{group}:{option}" for group, option in _choices(cfg, choices).items()]
    study = OmegaConf.select(cfg, "sweep.study_name", default=None)
    trial = OmegaConf.select(cfg, "sweep.trial_number", default=None)
    if study:
        tags.append(f"study:{study}")
    if trial is not None:
        tags.append(f"trial:{trial}")
    return [t.replace(",", ";")[:64] for t in tags]


# --------------------------------------------------------------------------- W&B mode

def wandb_credentials() -> str | None:
    """Where W&B credentials come from ("WANDB_API_KEY", "netrc:<path>", ...), or None when there are none.
    Mirrors wandb's own lookup: the env variables, then $NETRC / ~/.netrc / ~/_netrc for the W&B host."""
    if os.environ.get("WANDB_API_KEY"):
        return "WANDB_API_KEY"
    if os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return "WANDB_IDENTITY_TOKEN_FILE"
    host = urlsplit(os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").netloc
    candidates = [Path(os.environ["NETRC"]).expanduser()] if os.environ.get("NETRC") else \
        [Path("~/.netrc").expanduser(), Path("~/_netrc").expanduser()]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            creds = netrc.netrc(str(path)).authenticators(host)
        except (netrc.NetrcParseError, OSError):
            continue
        if creds and creds[2]:
            return f"netrc:{path}"
    return None


def _user_set(name: str) -> bool:
    """Set in the environment by someone other than a previous prepare_trackers in this process."""
    return name in os.environ and _SET_BY_US.get(name) != os.environ[name]


def _setenv(name: str, value: str | None) -> None:
    if name not in _REPLACED:
        _REPLACED[name] = None if name in _SET_BY_US and os.environ.get(name) == _SET_BY_US[name] \
            else os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
        _SET_BY_US.pop(name, None)
    else:
        os.environ[name] = value
        _SET_BY_US[name] = value


def _restore_env() -> None:
    """Put back what prepare_trackers replaced, so the next job of a sweep starts from the user's environment."""
    global _ARGV
    for name, previous in _REPLACED.items():
        if _SET_BY_US.get(name) == os.environ.get(name):
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        _SET_BY_US.pop(name, None)
    _REPLACED.clear()
    if _ARGV is not None:
        sys.argv[:] = _ARGV
        _ARGV = None


def wandb_mode() -> tuple[str, str]:
    """(mode, why): the user's WANDB_MODE when set, else online with credentials and offline without."""
    if _user_set("WANDB_MODE"):
        return os.environ["WANDB_MODE"], "WANDB_MODE is set"
    source = wandb_credentials()
    if source:
        return "online", f"credentials from {source.split(':', 1)[0]}"
    return "offline", "no WANDB_API_KEY and no netrc entry for the W&B host"


# --------------------------------------------------------------------------- callbacks

def tracker_config(cfg: DictConfig, record: dict, choices: dict, overrides: list[str]) -> dict:
    """The full resolved config, redacted, plus how Hydra composed it and the Optuna trial, for W&B's run config."""
    payload = redact(OmegaConf.to_container(cfg, resolve=True))
    payload["hydra"] = {"choices": dict(choices), "overrides": redact_argv(list(overrides)),
                        "mode": record.get("mode"), "sweep_dir": record.get("sweep_dir"),
                        "job_num": record.get("job_num")}
    trial = OmegaConf.select(cfg, "sweep.trial_number", default=None)
    if trial is not None:
        payload["optuna"] = redact({"trial_number": trial, "study_name": cfg.sweep.study_name,
                                    "params": _trial_params(cfg, overrides)})
    return payload


def _trial_params(cfg: DictConfig, overrides: list[str]) -> dict:
    """The trial's sampled parameters: from the study storage, else from the job's overrides."""
    if cfg.sweep.storage and cfg.sweep.study_name:
        try:
            from .sweeps.trial import open_trial

            return dict(open_trial(cfg.sweep.storage, cfg.sweep.study_name, cfg.sweep.trial_number).params)
        except Exception as exc:  # storage gone or unreachable: the overrides carry the same values
            log.debug("could not read trial params from the study storage: %s", exc)
    params = {}
    for o in overrides:
        key, _, value = str(o).lstrip("+~").partition("=")
        if key and not key.startswith("sweep."):
            params[key] = value
    return params


def _callback_base():
    from transformers import TrainerCallback

    return TrainerCallback


WANDB_ID_FILE = ".wandb_run_id"


def _wandb_config_callback(payload: dict, run_dir: Path):
    class WandbRunConfig(_callback_base()):
        """Adds loralab's resolved (redacted) config to the W&B run transformers' WandbCallback opened
        (that callback comes first: report_to callbacks precede the user's), and records the run's id
        in the run directory so that a resumed run continues the same W&B run."""

        def __init__(self, config: dict, run_dir: Path):
            self.config = config
            self.run_dir = run_dir

        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            import wandb

            if wandb.run is not None:
                wandb.run.config.update(self.config, allow_val_change=True)
                run_id = getattr(wandb.run, "id", None)
                if run_id:
                    try:
                        from .rundir import write_text

                        write_text(self.run_dir / WANDB_ID_FILE, f"{run_id}\n")
                    except OSError as exc:
                        log.warning("could not record the wandb run id: %s", exc)

    return WandbRunConfig(payload, run_dir)


def prepare_trackers(cfg: DictConfig, run_dir: str | Path, choices: dict | None = None,
                     overrides: list[str] | None = None) -> list:
    """Configure the trackers named in ``cfg.logger.report_to``; call before the Trainer is built and
    append the returned callbacks to the Trainer's. ``choices`` / ``overrides`` default to what Hydra
    recorded for ``run_dir`` (live HydraConfig or ``.hydra/hydra.yaml``)."""
    global _ARGV
    report_to = [str(r) for r in (cfg.logger.report_to or [])]
    run_dir = Path(run_dir)
    callbacks: list = []
    if not report_to or not is_main_process():
        return callbacks  # under torchrun only rank 0 tracks (transformers' tracker callbacks agree)
    record = hydra_record(run_dir)
    choices = _choices(cfg, record["choices"] if choices is None else choices)
    overrides = list(record["overrides"] if overrides is None else overrides)

    if "tensorboard" in report_to:
        tb = tensorboard_dir(run_dir)
        tb.mkdir(parents=True, exist_ok=True)
        _setenv("TENSORBOARD_LOGGING_DIR", str(tb))

    if "wandb" in report_to:
        mode, why = wandb_mode()
        if not _user_set("WANDB_MODE"):
            _setenv("WANDB_MODE", mode)
        if not _user_set("WANDB_DIR"):
            run_dir.mkdir(parents=True, exist_ok=True)
            _setenv("WANDB_DIR", str(run_dir))
        wandb_dir(run_dir).mkdir(parents=True, exist_ok=True)  # wandb falls back to /tmp when it is missing
        _setenv("WANDB_PROJECT", str(cfg.logger.wandb_project))
        if cfg.logger.wandb_entity:
            _setenv("WANDB_ENTITY", str(cfg.logger.wandb_entity))
        elif not _user_set("WANDB_ENTITY"):
            _setenv("WANDB_ENTITY", None)  # the default entity of the API key
        _setenv("WANDB_NAME", run_name(cfg, choices, overrides))
        group = run_group(record)
        if group:
            _setenv("WANDB_RUN_GROUP", group)
        elif not _user_set("WANDB_RUN_GROUP"):
            _setenv("WANDB_RUN_GROUP", None)
        _setenv("WANDB_TAGS", ",".join(run_tags(cfg, choices)))
        if not _user_set("WANDB_LOG_MODEL"):
            _setenv("WANDB_LOG_MODEL", "false")  # adapters live in the run directory, not in W&B artifacts
        # wandb records sys.argv in the run's metadata: mask secret overrides there too
        clean = redact_argv(sys.argv)
        if clean != sys.argv:
            _ARGV = list(sys.argv)
            sys.argv[:] = clean
        from .console import console

        where = f" in {wandb_dir(run_dir)}" if os.environ["WANDB_MODE"] == "offline" else ""
        console.print(f"wandb: {os.environ['WANDB_MODE']} ({why}){where}; project {cfg.logger.wandb_project}, "
                      f"run {os.environ['WANDB_NAME']}", soft_wrap=True, markup=False)
        id_file = run_dir / WANDB_ID_FILE
        if _resuming(cfg, run_dir) and id_file.is_file() and not _user_set("WANDB_RUN_ID"):
            _setenv("WANDB_RUN_ID", id_file.read_text(encoding="utf-8").strip())  # continue the same W&B run
            _setenv("WANDB_RESUME", "allow")
        else:
            for name in ("WANDB_RUN_ID", "WANDB_RESUME"):
                if not _user_set(name):
                    _setenv(name, None)
        callbacks.append(_wandb_config_callback(tracker_config(cfg, record, choices, overrides), run_dir))
    return callbacks


def _resuming(cfg: DictConfig, run_dir: Path) -> bool:
    """A continued run: the recipe marks it in status.json (``resumed_from``) before training, and
    hands the run's saved config (with ``resume`` cleared) to the trainer."""
    from .rundir import read_status

    return bool(read_status(run_dir).get("resumed_from") or OmegaConf.select(cfg, "resume", default=None))


# --------------------------------------------------------------------------- end of run

def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def tracker_summary(metrics: dict, eval_report: dict | None) -> dict[str, float]:
    """The run's final numbers, flat: ``final/*`` (first/last/best losses), ``best/eval_loss``,
    throughput, and the tool-call rates per split, ``eval/<split>/<metric>`` (fine-tuned) and
    ``eval_base/<split>/<metric>`` (base model)."""
    out: dict[str, Any] = {}
    final = (metrics or {}).get("final") or {}
    for key, value in final.items():
        if _number(value):
            out[f"final/{key}"] = value
    if _number(final.get("eval_loss_best")):
        out["best/eval_loss"] = final["eval_loss_best"]
    summary = (metrics or {}).get("summary") or {}
    if _number(summary.get("best_metric")):
        out["best/metric"] = summary["best_metric"]
    for key, name in (("train_tokens_per_s", "train/tokens_per_s"), ("s_per_step", "train/s_per_step"),
                      ("train_runtime", "train/runtime_s"), ("train_tokens", "train/tokens"),
                      ("time_to_first_step_s", "train/time_to_first_step_s"), ("setup_s", "train/setup_s")):
        if _number(summary.get(key)):
            out[name] = summary[key]
    if eval_report:
        out["eval/primary_split"] = eval_report.get("primary")
        for split, entry in (eval_report.get("splits") or {}).items():
            if _number(entry.get("n")):
                out[f"eval/{split}/n"] = entry["n"]
            for side, prefix in (("fine_tuned", "eval"), ("base", "eval_base")):
                block = entry.get(side) or {}
                for metric, rate in ((block.get("report") or {}).get("rates") or {}).items():
                    if isinstance(rate, dict) and _number(rate.get("value")):
                        out[f"{prefix}/{split}/{metric}"] = rate["value"]
                speed = (block.get("throughput") or {}).get("examples_per_s")
                if _number(speed):
                    out[f"{prefix}/{split}/examples_per_s"] = speed
    return out


def finish_trackers(cfg: DictConfig, run_dir: str | Path, metrics: dict, eval_report: dict | None) -> None:
    """After training and evaluation: write the final numbers to the trackers and close them."""
    report_to = [str(r) for r in (cfg.logger.report_to or [])]
    try:
        if not report_to:
            return
        summary = tracker_summary(metrics, eval_report)
        step = int(((metrics or {}).get("summary") or {}).get("global_step") or 0)
        if "tensorboard" in report_to and is_main_process():
            _finish_tensorboard(cfg, Path(run_dir), summary, step)
        if "wandb" in report_to:
            _finish_wandb({**summary, "status": "completed"}, exit_code=0)
    finally:
        _restore_env()


def abort_trackers(cfg: DictConfig, run_dir: str | Path, state: str = "failed") -> None:
    """After a failed / interrupted / pruned run: mark and close the W&B run (so that the next job of a
    sweep in this process does not log into it) and restore the environment. Never raises."""
    try:
        if "wandb" in [str(r) for r in (cfg.logger.report_to or [])]:
            _finish_wandb({"status": state}, exit_code=0 if state == "pruned" else 1)
    except Exception as exc:  # closing a tracker must not hide the run's own error
        log.warning("could not close the wandb run: %s", exc)
    finally:
        _restore_env()


def _finish_wandb(summary: dict, exit_code: int) -> None:
    if "wandb" not in sys.modules:
        return
    import wandb

    run = wandb.run
    if run is None:
        return
    run.summary.update(summary)
    offline = str(getattr(run.settings, "mode", "")) == "offline" or bool(getattr(run.settings, "_offline", False))
    sync_dir = getattr(run.settings, "sync_dir", None)
    wandb.finish(exit_code=exit_code)
    if offline and sync_dir:
        from .console import console

        console.print(f"wandb: offline run saved; upload it with: [bold]wandb sync {sync_dir}[/bold]", soft_wrap=True)


def _finish_tensorboard(cfg: DictConfig, run_dir: Path, summary: dict, step: int) -> None:
    """The final tool-call rates as scalars and the resolved (redacted) config as text, next to the
    trainer's own event file."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # pragma: no cover
        return
    import yaml

    writer = SummaryWriter(log_dir=str(tensorboard_dir(run_dir)))
    try:
        for key, value in summary.items():
            if _number(value):
                writer.add_scalar(key, value, step)
        text = yaml.safe_dump(redact(OmegaConf.to_container(cfg, resolve=True)), sort_keys=False)
        writer.add_text("loralab/config", "```yaml\n" + text + "\n```", step)
    finally:
        writer.close()
