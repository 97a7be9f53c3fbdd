"""The config's environment block: variables set unless the user set them, and the CUDA
allocator's settings handed to torch directly, since the run has imported it (and asked for the
device) before the config is known, and torch reads the variable only once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from omegaconf import OmegaConf

from loralab.runtime.environment import ALLOCATOR_SETTINGS, apply_environment

# Reading the settings back needs a torch that has the call (2.13 has it; 2.11 does not); the GPU
# check at the end asks the allocator itself instead, so it runs on any torch with CUDA.
settings = getattr(torch._C, "_accelerator_getAllocatorSettings", None)
restore = getattr(torch._C, "_accelerator_setAllocatorSettings", None)  # the real one, also where a test replaces it


@pytest.fixture()
def allocator(monkeypatch):
    if settings is None or restore is None:
        pytest.skip("this torch cannot read its allocator settings back")
    for key in (*ALLOCATOR_SETTINGS, "LORALAB_TEST_VARIABLE"):
        monkeypatch.delenv(key, raising=False)
    before = settings()
    yield
    restore(before or "expandable_segments:False")


def env(**variables):
    return OmegaConf.create({"variables": variables, "torch_num_threads": None})


def test_with_cuda_the_allocator_settings_reach_torch_now(allocator, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    applied = apply_environment(env(PYTORCH_CUDA_ALLOC_CONF="expandable_segments:True", LORALAB_TEST_VARIABLE="1"))
    assert applied == {"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True", "LORALAB_TEST_VARIABLE": "1"}
    assert settings() == "expandable_segments:True"
    assert os.environ["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"   # for child processes


@pytest.mark.parametrize("name", ["PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF"])
def test_a_value_the_user_set_under_either_name_wins_and_is_left_to_torch(allocator, monkeypatch, name):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv(name, "expandable_segments:False")
    before = settings()
    applied = apply_environment(env(PYTORCH_CUDA_ALLOC_CONF="expandable_segments:True"))
    assert applied == {name: "expandable_segments:False"}
    assert os.environ.get("PYTORCH_CUDA_ALLOC_CONF") == applied.get("PYTORCH_CUDA_ALLOC_CONF")  # not set over it
    assert settings() == before


def test_without_cuda_only_the_variable_is_set(allocator, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    before = settings()
    apply_environment(env(PYTORCH_CUDA_ALLOC_CONF="expandable_segments:True"))
    assert os.environ["PYTORCH_CUDA_ALLOC_CONF"] == "expandable_segments:True"
    assert settings() == before


def test_settings_torch_refuses_leave_the_run_going_with_a_warning(allocator, monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)

    def refuse(text):
        raise RuntimeError(f"unrecognized option {text}")

    monkeypatch.setattr(torch._C, "_accelerator_setAllocatorSettings", refuse)
    with caplog.at_level("WARNING"):
        applied = apply_environment(env(PYTORCH_CUDA_ALLOC_CONF="no_such_option:1"))
    assert applied == {"PYTORCH_CUDA_ALLOC_CONF": "no_such_option:1 (child processes only: this process's torch "
                                                  "refused it)"}
    assert "did not take" in caplog.text and "unrecognized option" in caplog.text
    assert "env.variables.PYTORCH_CUDA_ALLOC_CONF='no_such_option:1'" in caplog.text


def test_the_settings_in_effect_are_the_users_under_either_name_else_the_configs(allocator, monkeypatch):
    from loralab.runtime.environment import allocator_settings

    config = env(PYTORCH_CUDA_ALLOC_CONF="expandable_segments:True")
    assert allocator_settings(config) == "expandable_segments:True"
    assert allocator_settings(env()) == ""
    monkeypatch.setenv("PYTORCH_ALLOC_CONF", "expandable_segments:False")
    assert allocator_settings(config) == "expandable_segments:False"


# The order a run has: torch imported and CUDA started before the config's environment is applied.
# A fresh process, so that this one's allocator is left as it was.
IN_A_RUN = """
import json, sys
import torch
from omegaconf import OmegaConf
from loralab.runtime.environment import apply_environment

torch.zeros(1, device="cuda")
apply_environment(OmegaConf.create({"variables": json.loads(sys.argv[1]), "torch_num_threads": None}))
tensor = torch.empty(64 << 20, dtype=torch.uint8, device="cuda")   # a new segment, made after the settings
segment = next(s for s in torch.cuda.memory_snapshot()
               if s["address"] <= tensor.data_ptr() < s["address"] + s["total_size"])
print(json.dumps(segment.get("is_expandable")))
"""


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: asks the allocator itself")
@pytest.mark.parametrize(("variables", "expandable"), [
    ({"PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"}, True),
    ({}, False),   # the control: without the setting the same allocation is an ordinary segment
])
def test_on_a_gpu_the_allocator_makes_expandable_segments_after_cuda_started(variables, expandable):
    environ = {key: value for key, value in os.environ.items() if key not in ALLOCATOR_SETTINGS}
    done = subprocess.run([sys.executable, "-c", IN_A_RUN, json.dumps(variables)], env=environ,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    if shown is None:
        pytest.skip("this torch's memory snapshot does not say whether a segment is expandable")
    assert shown is expandable
