"""Experiment trackers (Weights & Biases, TensorBoard) beside transformers' own callbacks.

``prepare_trackers`` runs before the Trainer is built. For W&B it opens the run itself with
``wandb.init`` (its name, group, tags and the redacted config), and transformers' WandbCallback,
which ``report_to`` adds, logs into that active run. For TensorBoard it returns transformers'
TensorBoardCallback pointed at ``<run dir>/tensorboard`` (training_args.py leaves TensorBoard out
of ``report_to``, so there is one). ``finish_trackers`` writes the run's final numbers and closes
the trackers; ``abort_trackers`` closes them after a failure.

W&B never goes online by accident: the run is online only when credentials exist
(``WANDB_API_KEY`` or a netrc entry for the W&B host) and offline otherwise, under the run directory,
ready for ``wandb sync``. A ``WANDB_MODE`` / ``WANDB_DIR`` set by the user wins. Everything sent to a
tracker (the full resolved config, the command line) goes through :func:`loralab.secrets.redact`.
Nothing here changes the environment."""

from __future__ import annotations

import contextlib
import logging
import netrc
import os
import sys
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from omegaconf import DictConfig, OmegaConf

from .distributed import is_main_process
from .run_naming import group_choices, run_group, run_name, run_tags
from .rundir import finite_number
from .secrets import redact, redact_argv

log = logging.getLogger(__name__)

WANDB_ID_FILE = ".wandb_run_id"
# the run directory whose W&B run this process started and has not finished yet: a second Trainer
# for the same run (the OOM ladder's next attempt) logs into the same W&B run
_wandb_run_dir: Path | None = None


# --------------------------------------------------------------------------- paths and context

def tensorboard_dir(run_dir: str | Path) -> Path:
    """Where TensorBoard event files go: ``<run dir>/tensorboard`` (``tensorboard --logdir experiments``).

    transformers 5 has no ``TrainingArguments.logging_dir`` any more: prepare_trackers hands this
    path to the TensorBoardCallback it builds."""
    return Path(run_dir) / "tensorboard"


def wandb_dir(run_dir: str | Path) -> Path:
    """The directory wandb writes into: ``$WANDB_DIR/wandb`` (``<run dir>/wandb`` unless the user set WANDB_DIR)."""
    return Path(os.environ.get("WANDB_DIR") or run_dir) / "wandb"


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


def wandb_mode() -> tuple[str, str]:
    """(mode, why): the user's WANDB_MODE when set, else online with credentials and offline without."""
    if os.environ.get("WANDB_MODE"):
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


def wandb_init_kwargs(cfg: DictConfig, run_dir: Path, record: dict, choices: dict, overrides: list[str]) -> dict:
    """The arguments of ``wandb.init`` for this run. A setting the user made in the environment
    (WANDB_ENTITY, WANDB_RUN_GROUP outside a sweep, WANDB_RUN_ID) is left to wandb to read."""
    mode, _ = wandb_mode()
    kwargs: dict[str, Any] = {
        "project": str(cfg.logger.wandb_project), "entity": cfg.logger.wandb_entity or None,
        "name": run_name(cfg, choices, overrides), "group": run_group(record), "tags": run_tags(cfg, choices),
        "config": tracker_config(cfg, record, choices, overrides), "dir": str(wandb_dir(run_dir).parent),
        "mode": mode, "reinit": "finish_previous",  # a sweep's jobs share this process: one run each
    }
    id_file = run_dir / WANDB_ID_FILE
    if _resuming(cfg, run_dir) and id_file.is_file() and not os.environ.get("WANDB_RUN_ID"):
        kwargs.update(id=id_file.read_text(encoding="utf-8").strip(), resume="allow")  # continue the same W&B run
    return kwargs


@contextlib.contextmanager
def _secrets_masked_in_argv() -> Iterator[None]:
    """wandb records the command line (``sys.argv``) in the run's metadata while it starts the run:
    secret overrides are masked for that moment, then the command line is put back."""
    original = list(sys.argv)
    sys.argv[:] = redact_argv(original)
    try:
        yield
    finally:
        sys.argv[:] = original


def _start_wandb(cfg: DictConfig, run_dir: Path, record: dict, choices: dict, overrides: list[str]) -> None:
    global _wandb_run_dir
    import wandb

    from .console import console
    from .rundir import write_text

    if wandb.run is not None and _wandb_run_dir == run_dir:
        return  # the same run, trained again after an out-of-memory error: its W&B run goes on
    if wandb.run is not None and _wandb_run_dir is None:  # the caller's own run (the Python API): log into it
        wandb.run.config.update(tracker_config(cfg, record, choices, overrides), allow_val_change=True)
        return

    kwargs = wandb_init_kwargs(cfg, run_dir, record, choices, overrides)
    wandb_dir(run_dir).mkdir(parents=True, exist_ok=True)  # wandb falls back to /tmp when it is missing
    _, why = wandb_mode()
    where = f" in {wandb_dir(run_dir)}" if kwargs["mode"] == "offline" else ""
    console.print(f"wandb: {kwargs['mode']} ({why}){where}; project {kwargs['project']}, run {kwargs['name']}",
                  soft_wrap=True, markup=False)
    with _secrets_masked_in_argv():
        run = wandb.init(**kwargs)
    _wandb_run_dir = run_dir
    if getattr(run, "id", None):  # a resumed run continues this W&B run
        try:
            write_text(run_dir / WANDB_ID_FILE, f"{run.id}\n")
        except OSError as exc:
            log.warning("could not record the wandb run id: %s", exc)


def _tensorboard_callback(run_dir: Path):
    from transformers.integrations import TensorBoardCallback

    callback = TensorBoardCallback()
    callback.logging_dir = str(tensorboard_dir(run_dir))  # its writer opens there at the first log
    return callback


def prepare_trackers(cfg: DictConfig, run_dir: str | Path, choices: dict | None = None,
                     overrides: list[str] | None = None) -> list:
    """Start the trackers named in ``cfg.logger.report_to``; call before the Trainer is built and
    append the returned callbacks to the Trainer's. ``choices`` / ``overrides`` default to what Hydra
    recorded for ``run_dir`` (live HydraConfig or ``.hydra/hydra.yaml``)."""
    report_to = [str(r) for r in (cfg.logger.report_to or [])]
    run_dir = Path(run_dir)
    callbacks: list = []
    if not report_to or not is_main_process():
        return callbacks  # under torchrun only rank 0 tracks (transformers' tracker callbacks agree)
    record = hydra_record(run_dir)
    choices = group_choices(cfg, record["choices"] if choices is None else choices)
    overrides = list(record["overrides"] if overrides is None else overrides)
    if "tensorboard" in report_to:
        tensorboard_dir(run_dir).mkdir(parents=True, exist_ok=True)
        callbacks.append(_tensorboard_callback(run_dir))
    if "wandb" in report_to:
        _start_wandb(cfg, run_dir, record, choices, overrides)
    return callbacks


def _resuming(cfg: DictConfig, run_dir: Path) -> bool:
    """A continued run: the recipe marks it in status.json (``resumed_from``) before training, and
    hands the run's saved config (with ``resume`` cleared) to the trainer."""
    from .rundir import read_status

    return bool(read_status(run_dir).get("resumed_from") or OmegaConf.select(cfg, "resume", default=None))


# --------------------------------------------------------------------------- end of run

def tracker_summary(metrics: dict, eval_report: dict | None) -> dict[str, float]:
    """The run's final numbers, flat: ``final/*`` (first/last/best losses), ``best/eval_loss``,
    throughput, and the tool-call rates per split, ``eval/<split>/<metric>`` (fine-tuned) and
    ``eval_base/<split>/<metric>`` (base model)."""
    out: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        number = finite_number(value)
        if number is not None:
            out[name] = number

    final = (metrics or {}).get("final") or {}
    for key, value in final.items():
        put(f"final/{key}", value)
    put("best/eval_loss", final.get("eval_loss_best"))
    summary = (metrics or {}).get("summary") or {}
    put("best/metric", summary.get("best_metric"))
    for key, name in (("train_tokens_per_s", "train/tokens_per_s"), ("s_per_step", "train/s_per_step"),
                      ("train_runtime", "train/runtime_s"), ("train_tokens", "train/tokens"),
                      ("time_to_first_step_s", "train/time_to_first_step_s"), ("setup_s", "train/setup_s")):
        put(name, summary.get(key))
    if eval_report:
        out["eval/primary_split"] = eval_report.get("primary")
        for split, entry in (eval_report.get("splits") or {}).items():
            put(f"eval/{split}/n", entry.get("n"))
            for side, prefix in (("fine_tuned", "eval"), ("base", "eval_base")):
                block = entry.get(side) or {}
                for metric, rate in ((block.get("report") or {}).get("rates") or {}).items():
                    if isinstance(rate, dict):
                        put(f"{prefix}/{split}/{metric}", rate.get("value"))
                put(f"{prefix}/{split}/examples_per_s", (block.get("throughput") or {}).get("examples_per_s"))
    return out


def finish_trackers(cfg: DictConfig, run_dir: str | Path, metrics: dict, eval_report: dict | None) -> None:
    """After training and evaluation: write the final numbers to the trackers and close them."""
    report_to = [str(r) for r in (cfg.logger.report_to or [])]
    if not report_to:
        return
    summary = tracker_summary(metrics, eval_report)
    step = int(((metrics or {}).get("summary") or {}).get("global_step") or 0)
    if "tensorboard" in report_to and is_main_process():
        _finish_tensorboard(cfg, Path(run_dir), summary, step)
    if "wandb" in report_to:
        _finish_wandb({**summary, "status": "completed"}, exit_code=0)


def abort_trackers(cfg: DictConfig, run_dir: str | Path, state: str = "failed") -> None:
    """After a failed / interrupted / pruned run: mark and close the W&B run (so that the next job of a
    sweep in this process does not log into it). Never raises."""
    try:
        if "wandb" in [str(r) for r in (cfg.logger.report_to or [])]:
            _finish_wandb({"status": state}, exit_code=0 if state == "pruned" else 1)
    except Exception as exc:  # closing a tracker must not hide the run's own error
        log.warning("could not close the wandb run: %s", exc)


def _finish_wandb(summary: dict, exit_code: int) -> None:
    global _wandb_run_dir
    _wandb_run_dir = None
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
            if finite_number(value) is not None:  # the summary's numbers (not the primary split's name)
                writer.add_scalar(key, value, step)
        text = yaml.safe_dump(redact(OmegaConf.to_container(cfg, resolve=True)), sort_keys=False)
        writer.add_text("loralab/config", "```yaml\n" + text + "\n```", step)
    finally:
        writer.close()
