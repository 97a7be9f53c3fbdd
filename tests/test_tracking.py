"""Trackers: W&B (offline unless credentials exist, the run started by loralab's own wandb.init) and
TensorBoard, through transformers' own callbacks. Unit tests of the naming / mode / init arguments,
then real tiny runs through the
CLI whose tracker files are read back with wandb's protobuf records and TensorBoard's reader.
No test goes online: WANDB_API_KEY is never set and NETRC points at a missing file."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from loralab import run_naming, tracking
from loralab.config.schema import RunConfig

from e2e.conftest import run_cli, tiny_overrides

FAKE_HF = "hf_" + "FakeTokenForTests" * 2 + "0123"   # must never appear in any file of a run
# Shorter than the e2e default run: 4 steps, evaluation on 4 test examples, no base-model pass.
FAST = ["trainer.max_steps=4", "trainer.eval_steps=2", "trainer.save_steps=4", "trainer.logging_steps=1",
        "trainer.micro_batch_size=4", "data.max_eval_examples=8", "trainer.eval_on_start=false",
        "eval.max_examples=4", "eval.compare_base=false", "eval.max_new_tokens=32", "data.generator.size=200"]
WANDB_VARS = ("WANDB_MODE", "WANDB_API_KEY", "WANDB_DIR", "WANDB_PROJECT", "WANDB_ENTITY", "WANDB_NAME",
              "WANDB_RUN_GROUP", "WANDB_TAGS", "WANDB_RUN_ID", "WANDB_RESUME", "WANDB_LOG_MODEL", "WANDB_BASE_URL",
              "WANDB_IDENTITY_TOKEN_FILE", "TENSORBOARD_LOGGING_DIR")


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No W&B settings or credentials from the machine running the tests."""
    for name in WANDB_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    monkeypatch.setenv("WANDB_DATA_DIR", str(tmp_path / "wandb-data"))
    yield monkeypatch


def _cfg(**overrides):
    cfg = OmegaConf.structured(RunConfig)
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


# --------------------------------------------------------------------------- naming

def test_format_lr():
    assert [run_naming.format_lr(x) for x in (2e-4, 1.5e-4, 0.01, 5e-3, 1e-3, 3.3333e-5)] == \
        ["2e-4", "1.5e-4", "1e-2", "5e-3", "1e-3", "3.333e-5"]


def test_run_name_is_model_lora_precision_lr_plus_overridden_rank_and_trial():
    cfg = _cfg(**{"model.name": "qwen-1.5b-nf4", "lora.name": "r16", "precision.name": "bf16-a100",
                  "optimizer.lr": 2e-4, "lora.r": 16})
    assert run_naming.run_name(cfg, {}, ["model=qwen-1.5b-nf4"]) == "qwen-1.5b-nf4·r16·bf16-a100·lr2e-4"
    assert run_naming.run_name(cfg, {}, ["lora.r=16", "optimizer.lr=2e-4"]) == "qwen-1.5b-nf4·r16·bf16-a100·lr2e-4·r16"
    cfg.sweep.trial_number = 3
    assert run_naming.run_name(cfg, {}, ["+lora.r=16"]).endswith("·r16·t3")


def test_tags_are_group_choices_plus_study_and_trial():
    cfg = _cfg(**{"sweep.study_name": "lr-rank-tiny", "sweep.trial_number": 2})
    choices = {"model": "smollm2-135m", "lora": "r8-all-linear", "hydra/launcher": "basic", "hydra": "default",
               "experiment": "quickstart-cpu", "hparams_search": None}
    tags = run_naming.run_tags(cfg, choices)
    assert tags[:3] == ["model:smollm2-135m", "lora:r8-all-linear", "experiment:quickstart-cpu"]
    assert "precision:auto" in tags and "optimizer:adamw" in tags  # from the config when not in choices
    assert tags[-2:] == ["study:lr-rank-tiny", "trial:2"]
    assert not any(t.startswith("hydra") or "None" in t for t in tags)


def _hydra_yaml(run_dir: Path, mode: str, output_dir: str, overrides=("lora.r=16",)) -> None:
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "hydra.yaml").write_text(OmegaConf.to_yaml({"hydra": {
        "mode": mode,
        "sweep": {"dir": "multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}", "subdir": "${hydra.job.num}_${run_name}"},
        "overrides": {"task": list(overrides)},
        "job": {"num": 3 if mode == "MULTIRUN" else "???"},
        "runtime": {"output_dir": output_dir, "choices": {"model": "smollm2-135m", "hydra/sweeper": "basic"}}}}))


def test_group_is_the_sweep_id_in_a_multirun_and_none_otherwise(tmp_path):
    job = tmp_path / "multirun" / "2026-05-01" / "12-00-00" / "3_tiny"
    _hydra_yaml(job, "MULTIRUN", str(job))
    record = tracking.hydra_record(job)
    assert record["choices"] == {"model": "smollm2-135m", "hydra/sweeper": "basic"}
    assert record["overrides"] == ["lora.r=16"] and record["job_num"] == 3
    assert run_naming.run_group(record) == "2026-05-01_12-00-00"
    single = tmp_path / "single"
    _hydra_yaml(single, "RUN", str(single))
    assert run_naming.run_group(tracking.hydra_record(single)) is None
    assert tracking.hydra_record(tmp_path / "nothing")["choices"] == {}


# --------------------------------------------------------------------------- mode and environment

def test_wandb_is_offline_without_credentials_and_online_with_them(clean_env, tmp_path):
    assert tracking.wandb_mode()[0] == "offline"
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "f" * 40 + "\n")
    netrc.chmod(0o600)
    clean_env.setenv("NETRC", str(netrc))
    assert tracking.wandb_credentials() == f"netrc:{netrc}"
    assert tracking.wandb_mode()[0] == "online"
    clean_env.setenv("WANDB_BASE_URL", "https://wandb.example.com")  # the entry is for another host
    assert tracking.wandb_mode()[0] == "offline"
    clean_env.setenv("WANDB_API_KEY", "k" * 40)
    assert tracking.wandb_mode() == ("online", "credentials from WANDB_API_KEY")
    clean_env.setenv("WANDB_MODE", "disabled")  # the user's choice wins
    assert tracking.wandb_mode()[0] == "disabled"


def _init_kwargs(cfg, run_dir):
    record = tracking.hydra_record(run_dir)
    return tracking.wandb_init_kwargs(cfg, Path(run_dir), record, run_naming.group_choices(cfg, record["choices"]),
                                      record["overrides"])


def test_wandb_init_gets_name_tags_mode_dir_and_the_redacted_config(clean_env, tmp_path):
    run_dir = tmp_path / "run"
    _hydra_yaml(run_dir, "RUN", str(run_dir), overrides=("lora.r=16", f"+env.variables.HF_TOKEN={FAKE_HF}"))
    cfg = _cfg(**{"logger.report_to": ["wandb", "tensorboard"], "logger.name": "wandb-tensorboard",
                  "lora.r": 16, "optimizer.lr": 1e-4})
    before = dict(os.environ)
    kwargs = _init_kwargs(cfg, run_dir)
    assert kwargs["mode"] == "offline" and kwargs["dir"] == str(run_dir) and kwargs["project"] == "loralab"
    assert kwargs["name"] == "smollm2-135m·r8-all-linear·auto·lr1e-4·r16"
    assert "model:smollm2-135m" in kwargs["tags"] and kwargs["group"] is None and kwargs["entity"] is None
    assert "id" not in kwargs and kwargs["reinit"] == "finish_previous"
    config = kwargs["config"]
    assert config["lora"]["r"] == 16 and config["hydra"]["choices"]["model"] == "smollm2-135m"
    assert FAKE_HF not in json.dumps(config) and config["hydra"]["overrides"][1] == "+env.variables.HF_TOKEN=***"
    # the user's own settings win, and nothing is written into the environment
    clean_env.setenv("WANDB_DIR", str(tmp_path / "user-wandb-dir"))
    clean_env.setenv("WANDB_MODE", "disabled")
    kwargs = _init_kwargs(cfg, tmp_path / "run2")
    assert kwargs["dir"] == str(tmp_path / "user-wandb-dir") and kwargs["mode"] == "disabled"
    assert tracking.wandb_dir(tmp_path / "run2") == tmp_path / "user-wandb-dir" / "wandb"
    assert {k: v for k, v in os.environ.items() if k not in ("WANDB_DIR", "WANDB_MODE")} == \
        {k: v for k, v in before.items() if k not in ("WANDB_DIR", "WANDB_MODE")}


def test_tensorboard_callback_writes_into_the_run_directory(clean_env, tmp_path):
    from transformers.integrations import TensorBoardCallback

    cfg = _cfg(**{"logger.report_to": ["tensorboard"], "logger.name": "tensorboard"})
    before = dict(os.environ)
    (callback,) = tracking.prepare_trackers(cfg, tmp_path / "run")
    assert isinstance(callback, TensorBoardCallback)
    assert callback.logging_dir == str(tmp_path / "run" / "tensorboard") and (tmp_path / "run" / "tensorboard").is_dir()
    assert dict(os.environ) == before


def test_sweep_job_gets_group_trial_tags_and_params(clean_env, tmp_path):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"journal://{tmp_path / 'optuna' / 'study.log'}"  # loralab's journal-file storage URL
    from loralab.sweeps.storage import open_storage

    study = optuna.create_study(study_name="lr-rank-tiny", storage=open_storage(storage))
    trial = study.ask({"optimizer.lr": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True),
                       "lora.r": optuna.distributions.CategoricalDistribution([8, 16])})
    job = tmp_path / "multirun" / "2026-05-01" / "12-00-00" / f"{trial.number}_tiny"
    overrides = [f"optimizer.lr={trial.params['optimizer.lr']}", f"lora.r={trial.params['lora.r']}",
                 f"sweep.storage={storage}", "sweep.study_name=lr-rank-tiny", f"sweep.trial_number={trial.number}"]
    _hydra_yaml(job, "MULTIRUN", str(job), overrides=overrides)
    cfg = _cfg(**{"logger.report_to": ["wandb"], "sweep.storage": storage, "sweep.study_name": "lr-rank-tiny",
                  "sweep.trial_number": trial.number, "optimizer.lr": trial.params["optimizer.lr"],
                  "lora.r": trial.params["lora.r"]})
    kwargs = _init_kwargs(cfg, job)
    assert kwargs["group"] == "2026-05-01_12-00-00"
    assert kwargs["name"].endswith(f"·r{trial.params['lora.r']}·t{trial.number}")
    assert {"study:lr-rank-tiny", f"trial:{trial.number}"} <= set(kwargs["tags"])
    assert kwargs["config"]["optuna"] == {"trial_number": trial.number, "study_name": "lr-rank-tiny",
                                          "params": trial.params}
    assert kwargs["config"]["hydra"]["sweep_dir"] == str(job.parent) and kwargs["config"]["hydra"]["job_num"] == 3


def test_a_resumed_run_continues_its_wandb_run(clean_env, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / tracking.WANDB_ID_FILE).write_text("abc123xy\n")
    cfg = _cfg(**{"logger.report_to": ["wandb"]})
    kwargs = _init_kwargs(cfg, run_dir)  # a fresh run into the directory: a new W&B run
    assert "id" not in kwargs and "resume" not in kwargs
    (run_dir / "status.json").write_text(json.dumps({"state": "running", "resumed_from": "checkpoints/checkpoint-8"}))
    kwargs = _init_kwargs(cfg, run_dir)
    assert kwargs["id"] == "abc123xy" and kwargs["resume"] == "allow"
    clean_env.setenv("WANDB_RUN_ID", "users-own")  # the user's id wins (wandb reads it)
    assert "id" not in _init_kwargs(cfg, run_dir)


def test_no_trackers_no_side_effects(clean_env, tmp_path):
    before = dict(os.environ)
    assert tracking.prepare_trackers(_cfg(), tmp_path / "run") == []
    tracking.finish_trackers(_cfg(), tmp_path / "run", {"final": {}}, None)
    assert dict(os.environ) == before and not (tmp_path / "run").exists()


def test_tracker_summary_flattens_final_best_and_tool_call_rates():
    metrics = {"final": {"train_loss_last": 1.5, "eval_loss_best": 1.2, "eval_loss_last": 1.3},
               "summary": {"best_metric": 1.2, "train_tokens_per_s": 900.0, "global_step": 16, "best_checkpoint": "x"}}
    report = {"primary": "test", "splits": {"test": {"n": 16, "fine_tuned": {
        "report": {"rates": {"exact_call_accuracy": {"value": 0.25, "ci95": [0.1, 0.5], "k": 4, "n": 16},
                             "hallucinated_tool_rate": {"value": None, "ci95": [0, 1], "k": 0, "n": 0}}},
        "throughput": {"examples_per_s": 1.5}}, "base": {"report": {"rates": {
            "exact_call_accuracy": {"value": 0.0, "ci95": [0, 0.2], "k": 0, "n": 16}}}}}}}
    out = tracking.tracker_summary(metrics, report)
    assert out == {"final/train_loss_last": 1.5, "final/eval_loss_best": 1.2, "final/eval_loss_last": 1.3,
                   "best/eval_loss": 1.2, "best/metric": 1.2, "train/tokens_per_s": 900.0,
                   "eval/primary_split": "test", "eval/test/n": 16, "eval/test/exact_call_accuracy": 0.25,
                   "eval/test/examples_per_s": 1.5, "eval_base/test/exact_call_accuracy": 0.0}


# --------------------------------------------------------------------------- real runs

def wandb_records(path: Path):
    """The records of a ``.wandb`` transaction log (a LevelDB-style log of protobuf ``Record``s:
    a 7-byte ``:W&B`` header, 32 KiB blocks, 7-byte chunk headers). wandb 0.31 ships no Python reader."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:7]
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # block trailer
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk = data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind == 1:
            full = chunk
        elif kind == 2:
            pending = chunk
            continue
        elif kind == 3:
            pending += chunk
            continue
        elif kind == 4:
            full, pending = pending + chunk, b""
        else:  # zero padding at the end of a block
            pos += block - pos % block if pos % block else 0
            continue
        record = pb.Record()
        record.ParseFromString(full)
        yield record


def read_offline_run(run_path: Path) -> dict:
    """{run, config, history, summary} of an offline run directory (``offline-run-*``)."""
    (log,) = run_path.glob("run-*.wandb")
    out = {"run": None, "config": {}, "history": [], "summary": {}}
    for record in wandb_records(log):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = record.run
            items = record.run.config.update
        elif kind == "config":
            items = record.config.update
        elif kind == "history":
            out["history"].append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item})
            continue
        elif kind == "summary":
            for i in record.summary.update:
                out["summary"][i.key or "/".join(i.nested_key)] = json.loads(i.value_json)
            continue
        else:
            continue
        for i in items:
            out["config"][i.key or "/".join(i.nested_key)] = json.loads(i.value_json)
    return out


def files_containing(root: Path, needle: str) -> list[str]:
    raw = needle.encode()
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and raw in p.read_bytes())


@pytest.fixture(scope="module")
def wandb_run(tiny_model_dir, tmp_path_factory):
    """One tiny run with logger=wandb, no credentials, WANDB_MODE unset, and a planted fake HF token
    (in the environment and as a config override)."""
    tmp = tmp_path_factory.mktemp("wandb-run")
    run_dir = tmp / "run"
    with pytest.MonkeyPatch.context() as mp:
        for name in WANDB_VARS:
            mp.delenv(name, raising=False)
        mp.setenv("NETRC", str(tmp / "no-netrc"))
        mp.setenv("WANDB_CONFIG_DIR", str(tmp / "wandb-config"))
        mp.setenv("WANDB_CACHE_DIR", str(tmp / "wandb-cache"))
        mp.setenv("WANDB_DATA_DIR", str(tmp / "wandb-data"))
        mp.setenv("HF_TOKEN", FAKE_HF)
        proc = run_cli([*tiny_overrides(tiny_model_dir, *FAST, "logger=wandb", f"+env.variables.HF_TOKEN={FAKE_HF}"),
                        f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return run_dir, proc


def test_wandb_run_is_offline_under_the_run_dir(wandb_run):
    run_dir, proc = wandb_run
    runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list((run_dir / "wandb").iterdir())
    assert "wandb sync" in proc.stdout + proc.stderr
    run_id = (run_dir / tracking.WANDB_ID_FILE).read_text().strip()
    assert runs[0].name.endswith(run_id)


def test_wandb_run_has_name_tags_config_history_and_summary(wandb_run):
    run_dir, _ = wandb_run
    (run_path,) = (run_dir / "wandb").glob("offline-run-*")
    run = read_offline_run(run_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    report = json.loads((run_dir / "eval.json").read_text())

    assert run["run"].display_name == "tiny·r8-all-linear·auto·lr5e-3·r16"
    assert run["run"].project == "loralab" and run["run"].run_group == ""
    assert {"model:smollm2-135m", "lora:r8-all-linear", "logger:wandb", "precision:auto"} <= set(run["run"].tags)

    config = run["config"]  # loralab's resolved config next to transformers' own arguments
    assert config["lora"]["r"] == 16 and config["optimizer"]["lr"] == 5e-3
    assert config["run_name"] == OmegaConf.load(run_dir / "config.yaml").run_name  # loralab's, not the Trainer's
    assert config["trainer"]["max_steps"] == 4 and config["learning_rate"] == 5e-3
    assert config["hydra"]["choices"]["logger"] == "wandb"
    assert config["env"]["variables"]["HF_TOKEN"] == "***"

    history = [(h["train/global_step"], h["train/loss"]) for h in run["history"] if "train/loss" in h]
    assert history == [(e["step"], pytest.approx(e["loss"])) for e in metrics["train"]]
    assert len(history) == 4
    assert [h["eval/loss"] for h in run["history"] if "eval/loss" in h] == \
        pytest.approx([e["eval_loss"] for e in metrics["eval"]])

    summary = run["summary"]
    assert summary["final/eval_loss_last"] == pytest.approx(metrics["final"]["eval_loss_last"])
    assert summary["best/eval_loss"] == pytest.approx(metrics["final"]["eval_loss_best"])
    assert summary["final/train_loss_last"] == pytest.approx(metrics["final"]["train_loss_last"])
    rates = report["splits"]["test"]["fine_tuned"]["report"]["rates"]
    for name in ("exact_call_accuracy", "tool_name_accuracy", "valid_json"):
        # a rate with an empty denominator (valid_json when no answer attempts a call) is not logged
        assert summary.get(f"eval/test/{name}") == pytest.approx(rates[name]["value"]), name
    assert summary["eval/test/n"] == 4 and summary["status"] == "completed"


def test_no_file_of_the_run_holds_the_planted_secret(wandb_run):
    """config.yaml, manifest.json, the Hydra record and every wandb file (binary log included)."""
    run_dir, _ = wandb_run
    assert (run_dir / "wandb").is_dir() and (run_dir / "manifest.json").is_file()
    assert files_containing(run_dir, FAKE_HF) == []


def test_tensorboard_run_writes_event_files_in_the_run_dir(tiny_model_dir, tmp_path, clean_env):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = tmp_path / "run"
    proc = run_cli([*tiny_overrides(tiny_model_dir, *FAST, "logger=tensorboard", "eval.at_end=false"),
                    f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not (run_dir / "wandb").exists() and not (run_dir / "checkpoints" / "runs").exists()
    events = EventAccumulator(str(tracking.tensorboard_dir(run_dir)))
    events.Reload()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    losses = [(e.step, e.value) for e in events.Scalars("train/loss")]
    assert losses == [(e["step"], pytest.approx(e["loss"], rel=1e-5)) for e in metrics["train"]]
    assert [e.value for e in events.Scalars("eval/loss")] == \
        pytest.approx([e["eval_loss"] for e in metrics["eval"]], rel=1e-5)
    assert events.Scalars("best/eval_loss")[0].value == pytest.approx(metrics["final"]["eval_loss_best"], rel=1e-5)
    assert "loralab/config/text_summary" in events.Tags()["tensors"]
