"""The config's environment block: variables set unless the user set them, and the CUDA
allocator's settings handed to torch directly, since the run has imported it (and asked for the
device) before the config is known, and torch reads the variable only once."""

from __future__ import annotations

import os

import pytest
import torch
from omegaconf import OmegaConf

from loralab.runtime.environment import apply_environment

if not hasattr(torch._C, "_accelerator_getAllocatorSettings"):
    pytest.skip("this torch cannot read its allocator settings back", allow_module_level=True)
settings = torch._C._accelerator_getAllocatorSettings
restore = torch._C._accelerator_setAllocatorSettings   # the real one, also where a test replaces it


@pytest.fixture()
def allocator(monkeypatch):
    for key in ("PYTORCH_ALLOC_CONF", "PYTORCH_CUDA_ALLOC_CONF", "LORALAB_TEST_VARIABLE"):
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


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA: checks the allocator itself took the setting")
def test_on_a_gpu_expandable_segments_take_effect_after_cuda_started(allocator):
    """The order a run has: torch imported and CUDA started before the config's environment."""
    torch.zeros(1, device="cuda")
    apply_environment(env(PYTORCH_CUDA_ALLOC_CONF="expandable_segments:True"))
    shown = torch.cuda.memory._snapshot().get("allocator_settings")
    if shown is None:
        pytest.skip("this torch's memory snapshot does not show the allocator settings")
    assert shown.get("expandable_segments") is True, shown
