"""Composition of the Hydra config groups: every shipped option, strictness, derived values."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

import loralab
from loralab.config.paths import config_dir
from loralab.errors import ConfigError
from loralab.modeling import chat_template_text, lora_alpha

CONF = config_dir()

# Options that cannot validate on their own: the extra overrides a user must give with them.
# Every data option reading user files (source: files) needs its train file, and so does an
# experiment that selects one.
FILE_DATA = {p.stem for p in (CONF / "data").glob("*.yaml") if OmegaConf.load(p).get("source") == "files"}


def _data_choice(experiment: Path) -> str | None:
    for entry in OmegaConf.load(experiment).get("defaults", []):
        if not isinstance(entry, str) and "override /data" in entry:
            return entry["override /data"]
    return None


REQUIRED_WITH = {("data", stem): ["data.train_file=train.jsonl"] for stem in FILE_DATA} | {
    ("experiment", p.stem): ["data.train_file=train.jsonl"] for p in (CONF / "experiment").glob("*.yaml")
    if _data_choice(p) in FILE_DATA} | {
    # the engines that wrap the model only when training starts cannot be timed before it: the
    # default experiment's time budget is refused with them, and the error says to drop it
    ("distributed", engine): ["trainer.max_time=null"] for engine in ("zero2", "zero3-offload", "fsdp")}


def group_options() -> list[tuple[str, str]]:
    """(group, option) for every conf/<group>/<option>.yaml: new options are covered automatically."""
    return sorted((p.parent.name, p.stem) for p in CONF.glob("*/*.yaml"))


def options_of(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


def test_option_discovery_finds_the_shipped_groups():
    groups = {g for g, _ in group_options()}
    assert {"model", "lora", "precision", "optimizer", "data", "trainer", "logger"} <= groups
    assert {"r8-all-linear", "r16", "r64", "qv-fallback", "attention-only", "mlp-only"} <= set(options_of("lora"))
    assert {"default", "debug", "stable"} <= set(options_of("trainer"))


@pytest.mark.parametrize("group,option", group_options(), ids=lambda v: v)
def test_every_group_option_composes_and_validates(group, option):
    overrides = [f"{group}={option}", *REQUIRED_WITH.get((group, option), [])]
    cfg = loralab.compose(overrides)  # validates: raises ConfigError on any problem
    if group in cfg and "name" in cfg[group]:
        # run names and reports use the option's `name`: it must be the file's name
        assert cfg[group].name == option


@pytest.mark.parametrize("model", options_of("model"))
@pytest.mark.parametrize("lora", options_of("lora"))
def test_every_lora_option_fits_every_model(model, lora):
    cfg = loralab.compose([f"model={model}", f"lora={lora}"])
    assert cfg.run_name == f"{model}-{lora}"


@pytest.mark.parametrize("experiment", options_of("experiment"))
@pytest.mark.parametrize("trainer", options_of("trainer"))
def test_every_trainer_preset_composes_under_every_experiment(trainer, experiment):
    """Experiments come after the trainer group in train.yaml: what a preset sets itself wins."""
    needed = REQUIRED_WITH.get(("experiment", experiment), [])
    cfg = loralab.compose([f"trainer={trainer}", f"experiment={experiment}", *needed])
    alone = loralab.compose([f"experiment={experiment}", *needed])
    assert cfg.trainer.name == trainer
    own = OmegaConf.load(CONF / "experiment" / f"{experiment}.yaml")
    for group in ("trainer", "optimizer"):
        for key in own.get(group, {}):
            assert cfg[group][key] == alone[group][key], f"{group}.{key}"


def test_debug_trainer_is_a_quick_test():
    # `~experiment` drops the default (quickstart) preset, which would set its own steps and logging
    t = loralab.compose(["trainer=debug", "~experiment"]).trainer
    assert (t.max_steps, t.logging_steps) == (100, 1)
    assert (t.eval_strategy, t.save_strategy, t.load_best_model_at_end) == ("no", "no", False)
    # the rest is trainer/default's
    default = loralab.compose(["~experiment"]).trainer
    assert (t.micro_batch_size, t.max_length) == (default.micro_batch_size, default.max_length)


def test_debug_trainer_under_the_default_experiment_still_skips_evaluation_and_checkpoints():
    t = loralab.compose(["trainer=debug"]).trainer
    assert (t.eval_strategy, t.save_strategy, t.load_best_model_at_end) == ("no", "no", False)


@pytest.mark.parametrize("optimizer", options_of("optimizer"))
def test_stable_trainer_sets_the_optimizer_schedule_for_any_optimizer(optimizer):
    cfg = loralab.compose(["trainer=stable", f"optimizer={optimizer}", "~experiment"])
    assert cfg.optimizer.name == optimizer
    assert cfg.optimizer.lr == pytest.approx(1e-4)
    assert cfg.optimizer.warmup_ratio == pytest.approx(0.1)
    assert cfg.optimizer.weight_decay == pytest.approx(0.05)
    # the trainer node itself is trainer/default's
    default = loralab.compose(["~experiment"]).trainer
    assert {k: v for k, v in cfg.trainer.items() if k != "name"} == {k: v for k, v in default.items() if k != "name"}


def test_experiment_overrides_what_stable_sets_and_keeps_the_rest():
    cfg = loralab.compose(["trainer=stable", "experiment=rtx3060-qwen-tools"])
    assert cfg.optimizer.lr == pytest.approx(2e-4) and cfg.optimizer.warmup_ratio == pytest.approx(0.03)
    assert cfg.optimizer.weight_decay == pytest.approx(0.05)  # the experiment leaves it


def test_files_option_needs_its_train_file():
    with pytest.raises(ConfigError) as err:
        loralab.compose(["data=files"])
    assert [p.field for p in err.value.problems] == ["data.train_file"]


@pytest.mark.parametrize("model", options_of("model"))
def test_every_model_option_names_an_existing_chat_template(model):
    cfg = loralab.compose([f"model={model}"])
    text = chat_template_text(cfg.model.chat_template)
    # the training template must mark the assistant's tokens for the loss mask
    assert "{% generation %}" in text.replace("{%-", "{%").replace(" -%}", " %}")


def test_misspelled_key_is_rejected_naming_the_key():
    with pytest.raises(ConfigCompositionException) as err:
        loralab.compose(["trainer.max_stepz=3"])
    assert "trainer.max_stepz" in str(err.value)
    # the schema, not a YAML file, is what rejects it
    assert "Key 'max_stepz' not in 'TrainerConfig'" in str(err.value.__cause__)


def test_misspelled_key_is_rejected_even_without_validation():
    with pytest.raises(ConfigCompositionException, match="max_stepz"):
        loralab.compose(["trainer.max_stepz=3"], validate=False)


def test_wrong_type_is_rejected_at_compose_time():
    with pytest.raises(ConfigCompositionException) as err:
        loralab.compose(["trainer.max_steps=lots"])
    assert "trainer.max_steps=lots" in str(err.value)
    assert "lots" in str(err.value.__cause__)


def test_unknown_group_option_is_rejected_naming_option_and_alternatives():
    with pytest.raises(MissingConfigException) as err:
        loralab.compose(["lora=r7"])
    message = str(err.value)
    assert "lora/r7" in message
    for option in options_of("lora"):
        assert option in message


@pytest.mark.parametrize("option,alpha", [("r8-all-linear", 16), ("r16", 32), ("r64", 128), ("qv-fallback", 16),
                                          ("attention-only", 16), ("mlp-only", 16)])
def test_alpha_is_twice_r_by_default(option, alpha):
    lora = loralab.compose([f"lora={option}"]).lora
    assert lora.alpha is None
    assert lora_alpha(lora) == alpha == 2 * lora.r


def test_explicit_alpha_wins_over_the_ratio():
    lora = loralab.compose(["lora=r16", "lora.alpha=8"]).lora
    assert lora_alpha(lora) == 8


def test_alpha_ratio_is_applied_to_r():
    lora = loralab.compose(["lora=r64", "lora.alpha_ratio=0.5"]).lora
    assert lora_alpha(lora) == 32


def test_readme_cli_overrides():
    cfg = loralab.compose(["lora=r16", "precision=fp32", "optimizer.lr=1e-4", "trainer.max_steps=20"])
    assert cfg.lora.name == "r16" and cfg.lora.r == 16 and lora_alpha(cfg.lora) == 32
    assert list(cfg.lora.target_modules) == ["all-linear"]
    assert cfg.precision.name == "fp32" and cfg.precision.dtype == "fp32" and cfg.precision.tf32 is False
    assert cfg.optimizer.lr == pytest.approx(1e-4)
    assert cfg.trainer.max_steps == 20
    # the rest stays at the defaults of train.yaml (the quickstart experiment)
    default = loralab.compose([])
    assert cfg.model.name == "smollm2-135m" and cfg.optimizer.name == "adamw"
    assert cfg.trainer.eval_steps == default.trainer.eval_steps and cfg.eval == default.eval
    assert cfg.run_name == "smollm2-135m-r16"


def test_cache_dir_follows_loralab_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LORALAB_CACHE", str(tmp_path))
    assert loralab.compose([]).paths.cache_dir == str(tmp_path)


def test_compose_and_validate_is_fast_including_the_first_call():
    """Measured in a fresh interpreter so the first (cold) call really is the first."""
    script = textwrap.dedent("""
        import json, time
        t0 = time.perf_counter()
        import loralab
        times = []
        for overrides in ([], ["lora=r16", "precision=fp32"], ["model=qwen-1.5b-nf4", "optimizer=paged-adamw-8bit"]):
            t = time.perf_counter()
            loralab.compose(overrides)
            times.append(time.perf_counter() - t)
        print(json.dumps({"times": times, "total": time.perf_counter() - t0}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["times"][0] < 3.0, result
    assert max(result["times"]) < 3.0, result
