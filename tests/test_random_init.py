"""model.init=random: random weights from a shipped architecture, for benchmarks and tests only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import loralab
from compose_helpers import refusal
from loralab.config.validation import validate
from loralab.errors import ConfigError
from loralab.modeling import model_location
from loralab.rundir import read_status
from loralab.tiny import build_tiny_tokenizer

from cli_helpers import run_cli, tiny_overrides

RANDOM = ["model.source=hub", "model.init=random", "model.allow_random_init=true", "model.arch_config=tiny-llama"]


@pytest.fixture()
def tokenizer_dir(tmp_path) -> Path:
    path = tmp_path / "tokenizer"
    build_tiny_tokenizer("chatml").save_pretrained(path)
    return path


def random_cfg(tokenizer: Path, *extra: str):
    return loralab.compose([*RANDOM, f"model.name_or_path={tokenizer}", *extra])


def weights(location: str) -> dict[str, torch.Tensor]:
    return load_file(Path(location) / "model.safetensors")


def test_random_init_is_refused_without_the_force_flag():
    with pytest.raises(ConfigError) as err:
        validate(loralab.compose(["model.init=random", "model.arch_config=tiny-llama"]))
    message = str(err.value)
    assert "model.init = 'random'" in message and "fits no real model" in message
    assert "model.allow_random_init=true" in message


def test_random_init_needs_a_shipped_architecture():
    with pytest.raises(ConfigError) as err:
        validate(loralab.compose(["model.init=random", "model.allow_random_init=true", "model.arch_config=null"]))
    assert "model.arch_config = None" in str(err.value) and "'tiny-llama'" in str(err.value)
    assert "Invalid value 'fresh', expected one of [pretrained, random]" in refusal(["model.init=fresh"])


def test_the_weights_seed_is_the_runs_unless_set():
    assert loralab.compose(["seed=7"]).model.init_seed == 7
    assert loralab.compose(["seed=7", "model.init_seed=3"]).model.init_seed == 3


def test_random_weights_follow_the_architecture_and_the_seed(tokenizer_dir, tmp_path):
    torch.manual_seed(123)
    expected_draw = torch.rand(3)
    torch.manual_seed(123)
    first = model_location(random_cfg(tokenizer_dir, "seed=5").model, str(tmp_path / "cache"))
    assert torch.equal(torch.rand(3), expected_draw)  # drawing the weights left the run's generator alone

    config = json.loads((Path(first) / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"], config["vocab_size"]) == (64, 2, 1024)
    assert (Path(first) / "tokenizer.json").read_text() == (tokenizer_dir / "tokenizer.json").read_text()
    # the same seed gives the same weights in another cache; the cached directory is reused
    again = model_location(random_cfg(tokenizer_dir, "seed=5").model, str(tmp_path / "other-cache"))
    assert weights(again).keys() == weights(first).keys()
    assert all(torch.equal(weights(again)[k], w) for k, w in weights(first).items())
    assert model_location(random_cfg(tokenizer_dir, "seed=5").model, str(tmp_path / "cache")) == first
    other = model_location(random_cfg(tokenizer_dir, "seed=6").model, str(tmp_path / "cache"))
    name = "model.layers.0.mlp.up_proj.weight"
    assert other != first and not torch.equal(weights(other)[name], weights(first)[name])


def test_a_tokenizer_larger_than_the_architecture_is_refused(tmp_path):
    tokenizer = build_tiny_tokenizer("chatml")
    tokenizer.add_tokens([f"<extra_{i}>" for i in range(1100 - len(tokenizer))])
    tokenizer.save_pretrained(tmp_path / "big")
    with pytest.raises(ConfigError) as err:
        model_location(random_cfg(tmp_path / "big").model, str(tmp_path / "cache"))
    assert "model.arch_config = 'tiny-llama'" in str(err.value) and "1,100 tokens" in str(err.value)
    assert not list((tmp_path / "cache" / "models" / "random").glob("tiny-llama-*/config.json"))  # nothing half-built


def test_cli_refuses_random_init_without_the_force_flag(tiny_model_dir, tmp_path):
    proc = run_cli([*tiny_overrides(tiny_model_dir, "model.init=random", "model.arch_config=tiny-llama"),
                    f"hydra.run.dir={tmp_path / 'run'}"])
    assert proc.returncode == 2
    assert "model.init = 'random'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()


def test_cli_trains_a_random_tiny_architecture(tiny_model_dir, tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli([*tiny_overrides(tiny_model_dir, *RANDOM[1:], "eval.at_end=false"), f"hydra.run.dir={run_dir}"])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert read_status(run_dir)["state"] == "completed"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "/models/random/tiny-llama-seed42-" in manifest["model_location"]
    assert manifest["parameters"]["lora_modules"] == 2 * 7
    final = json.loads((run_dir / "metrics.json").read_text())["final"]
    assert final["train_loss_last"] < final["train_loss_first"]
    assert final["eval_loss_last"] < final["eval_loss_first"]


def test_random_init_trains_in_nf4_on_cpu(tiny_model_dir, tmp_path):
    cfg = loralab.compose(tiny_overrides(tiny_model_dir, *RANDOM[1:], "model.quantization.mode=nf4", "precision=fp32",
                                         "trainer.max_steps=6", "trainer.eval_steps=3", "trainer.save_steps=3",
                                         "eval.at_end=false"))
    result = loralab.train(cfg, tmp_path / "qlora")
    assert read_status(result.run_dir)["state"] == "completed"
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert "/models/random/tiny-llama-" in manifest["model_location"]
    assert result.metrics["final"]["eval_loss_last"] < result.metrics["final"]["eval_loss_first"]
