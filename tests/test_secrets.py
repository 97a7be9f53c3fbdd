"""Secrets never reach a file or a tracker: loralab.secrets.redact and friends."""

from __future__ import annotations

import json

import yaml
from omegaconf import OmegaConf

from loralab.rundir import redact_file, redact_hydra_record
from loralab.secrets import MASK, is_secret_key, redact, redact_argv, redact_text, redacted_environment

HF = "hf_" + "AbCdEfGh12" * 4          # a Hugging Face token shape (hf_ + 40 alnum)
WANDB_KEY = "0123456789abcdef" * 2 + "01234567"   # 40 hex, a W&B API key shape
SK = "sk-proj-" + "Zy9" * 10


def test_secret_keys_are_recognised_by_their_words():
    for key in ("HF_TOKEN", "hub_token", "token", "access_token", "WANDB_API_KEY", "apiKey", "api-key", "apikey",
                "password", "db_password", "client_secret", "secret", "credentials", "auth", "Authorization",
                "use_auth_token", "aws_secret_access_key", "private_key"):
        assert is_secret_key(key), key
    for key in ("max_new_tokens", "num_input_tokens_seen", "train_tokens_per_s", "tokenizer", "token_type_ids",
                "author", "authors", "pad_token", "end_of_turn_token", "eos_token", "key", "monkey", "keys",
                "lr", "git_sha", "tokens", None):
        assert not is_secret_key(key), key


def test_redact_masks_values_under_secret_keys_and_keeps_the_rest():
    cfg = {
        "model": {"name": "tiny", "revision": None, "pad_token": "<|endoftext|>", "end_of_turn_token": "<|im_end|>"},
        "env": {"variables": {"HF_TOKEN": "anything-at-all", "TOKENIZERS_PARALLELISM": "false"}},
        "eval": {"max_new_tokens": 32, "use_auth_token": True},
        "logger": {"wandb_api_key": "short", "api_key": None, "token": ""},
        "db": {"credentials": {"user": "bob", "password": "pw", "port": 5432}},
        "lists": [{"secret": "s1"}, "plain"],
    }
    out = redact(cfg)
    assert out["model"] == cfg["model"]  # special tokens of a tokenizer are not secrets
    assert out["env"]["variables"] == {"HF_TOKEN": MASK, "TOKENIZERS_PARALLELISM": "false"}
    assert out["eval"] == {"max_new_tokens": 32, "use_auth_token": True}  # numbers and booleans are kept
    assert out["logger"] == {"wandb_api_key": MASK, "api_key": None, "token": ""}
    assert out["db"]["credentials"] == {"user": MASK, "password": MASK, "port": 5432}
    assert out["lists"] == [{"secret": MASK}, "plain"]
    # a deep copy: the input is untouched and nothing is shared
    assert cfg["env"]["variables"]["HF_TOKEN"] == "anything-at-all"
    out["model"]["name"] = "changed"
    assert cfg["model"]["name"] == "tiny"


def test_token_shaped_values_are_masked_wherever_they_are():
    out = redact({"revision": HF, "note": f"loaded with {HF} today", "openai": SK, "misc": WANDB_KEY,
                  "nested": [[HF]], "tup": (HF, 1)})
    assert out == {"revision": MASK, "note": f"loaded with {MASK} today", "openai": MASK, "misc": MASK,
                   "nested": [[MASK]], "tup": (MASK, 1)}


def test_hashes_are_not_mistaken_for_wandb_keys():
    sha = "a" * 40
    out = redact({"git_sha": sha, "commit": sha, "data_fingerprint": "f" * 40, "message": f"at commit {sha}"})
    assert out == {"git_sha": sha, "commit": sha, "data_fingerprint": "f" * 40, "message": f"at commit {sha}"}


def test_generic_credentials_under_special_token_keys_are_masked():
    blob = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
    assert redact({"pad_token": blob}) == {"pad_token": MASK}
    assert redact({"pad_token": "<pad>"}) == {"pad_token": "<pad>"}


def test_url_passwords_are_masked_and_the_rest_of_the_url_kept():
    assert redact_text("postgresql://user:pw@host:5432/db") == f"postgresql://user:{MASK}@host:5432/db"
    assert redact_text("postgresql+psycopg2://optuna:s3cr%21t@db.example/optuna?sslmode=require") == \
        f"postgresql+psycopg2://optuna:{MASK}@db.example/optuna?sslmode=require"
    assert redact({"storage": "https://u:p@h/x"}) == {"storage": f"https://u:{MASK}@h/x"}
    for untouched in ("https://huggingface.co/org/model", "sqlite:///x.db", "journal:multirun/optuna/x.log",
                      "user@host:/path"):
        assert redact_text(untouched) == untouched


def test_assignments_in_text_and_command_lines():
    argv = ["loralab-train", f"+env.variables.HF_TOKEN={HF}", "env.variables.WANDB_API_KEY=abc",
            "optimizer.lr=1e-4", "model.pad_token=<pad>", "eval.max_new_tokens=64", "hub_token='quoted value'"]
    assert redact_argv(argv) == ["loralab-train", f"+env.variables.HF_TOKEN={MASK}",
                                 f"env.variables.WANDB_API_KEY={MASK}", "optimizer.lr=1e-4", "model.pad_token=<pad>",
                                 "eval.max_new_tokens=64", f"hub_token='{MASK}'"]
    line = "password: hunter2, Authorization: Bearer abc.def.ghi and max_new_tokens: 12"
    assert redact_text(line) == f"password: {MASK}, Authorization: {MASK} and max_new_tokens: 12"
    assert redact_text("use_auth_token=true") == "use_auth_token=true"


def test_omegaconf_configs_are_resolved_and_redacted():
    cfg = OmegaConf.create({"a": {"token": "${b}"}, "b": "value", "c": HF})
    assert redact(cfg) == {"a": {"token": MASK}, "b": "value", "c": MASK}


def test_redact_file_rewrites_yaml_json_and_text(tmp_path):
    hydra = tmp_path / ".hydra"
    hydra.mkdir()
    (hydra / "overrides.yaml").write_text(f"- model.name=tiny\n- +env.variables.HF_TOKEN={HF}\n- optimizer.lr=5e-3\n")
    (hydra / "config.yaml").write_text(f"model:\n  name: tiny\n  revision: {HF}\nenv:\n  variables:\n"
                                       f"    HF_TOKEN: abc\n    TOKENIZERS_PARALLELISM: 'false'\n"
                                       "paths:\n  cache_dir: ${{oc.env:HOME}}/x\n".replace("{{", "{").replace("}}", "}"))
    (hydra / "hydra.yaml").write_text("hydra:\n  mode: RUN\n")
    changed = redact_hydra_record(tmp_path)
    assert changed == ["config.yaml", "overrides.yaml"]
    assert yaml.safe_load((hydra / "overrides.yaml").read_text()) == \
        ["model.name=tiny", f"+env.variables.HF_TOKEN={MASK}", "optimizer.lr=5e-3"]
    config = OmegaConf.load(hydra / "config.yaml")  # still a valid config, interpolations kept
    assert config.model.revision == MASK and config.env.variables.HF_TOKEN == MASK
    assert OmegaConf.to_container(config.paths)["cache_dir"] == "${oc.env:HOME}/x"
    assert config.env.variables.TOKENIZERS_PARALLELISM == "false"

    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"environment": {"HF_TOKEN": HF, "X": "1"}, "git_sha": "b" * 40}))
    assert redact_file(manifest)
    assert json.loads(manifest.read_text()) == {"environment": {"HF_TOKEN": MASK, "X": "1"}, "git_sha": "b" * 40}
    log = tmp_path / "train.log"
    log.write_text(f"ok\nloaded token {HF}\n")
    assert redact_file(log) and HF not in log.read_text()
    assert not redact_file(log)  # nothing left to change
    assert not redact_file(tmp_path / "missing.yaml")


def test_redacted_environment_records_presence_not_values():
    env = {"HF_TOKEN": HF, "WANDB_API_KEY": WANDB_KEY, "CUDA_VISIBLE_DEVICES": "0,1", "HOME": "/root",
           "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True", "AWS_SECRET_ACCESS_KEY": "x", "NCCL_DEBUG": "INFO",
           "WANDB_MODE": "offline", "PATH": "/bin"}
    out = redacted_environment(env)
    assert out == {"CUDA_VISIBLE_DEVICES": "0,1", "HF_TOKEN": MASK, "NCCL_DEBUG": "INFO",
                   "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True", "WANDB_API_KEY": MASK, "WANDB_MODE": "offline"}
    assert isinstance(redacted_environment(), dict)
